"""Share run history: export experiments as a bundle, JSONL, CSV or an HTML report;
import a bundle back (:func:`yilab.share.bundle.import_bundle`).

What the UI and the CLI call::

    export_experiments(store, ["3f2a…"], "html", "report.html", truncate=2000)  # → Path
    import_bundle(store, "colleague.yilab.json")  # → ImportResult

Formats: ``bundle`` (a JSON document, see :mod:`yilab.share.bundle`), ``jsonl`` (one run per
line, ``*_json`` columns decoded, ``tokens``: the run's token log, readable), ``csv`` (one run
per row, for pandas and spreadsheets: of the token log only ``tokens_recorded`` and
``mean_logprob``), ``html`` (one self-contained file, see :mod:`yilab.share.report`; each run
carries its :class:`TokenLog` as ``run["token_log"]``, None without one).
Redaction applies to all of them: leave out system prompts, cut outputs to N characters
(and the token logs with them, see :mod:`yilab.share.tokens`).
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from yilab.errors import BadInputError
from yilab.experiment.scoring import RowScore, judged_runs
from yilab.experiment.token_log import TokenLog
from yilab.files import write_atomic
from yilab.i18n import Message
from yilab.runlog.rows import utc_now
from yilab.runlog.store import Store
from yilab.share.bundle import (
    ImportResult,
    build_bundle,
    dump_bundle,
    import_bundle,
    model_metadata,
)
from yilab.share.report import ReportAssets, ReportMeta, render_report
from yilab.share.tokens import (
    bundle_rows,
    mean_logprob,
    read_logs,
    redact_token_rows,
    token_rows,
)

FORMATS = ("bundle", "jsonl", "csv", "html")
# columns of the experiment repeated on each run's line / row
EXPERIMENT_FIELDS = ("prompt", "system_prompt", "mode")
REDACTED = "[system prompt left out]"

__all__ = [
    "FORMATS",
    "ExportResult",
    "Redaction",
    "export",
    "export_experiments",
    "import_bundle",
    "ImportResult",
    "select_experiments",
    "redact",
]


@dataclass(frozen=True)
class Redaction:
    """What to leave out: system prompts, and output beyond ``truncate`` characters."""

    system: bool = False
    truncate: int | None = None

    def to_dict(self) -> dict:
        """As a bundle records it: ``{"system_prompts": False, "truncate_outputs": None}``."""
        return {"system_prompts": self.system, "truncate_outputs": self.truncate}


@dataclass
class ExportResult:
    """A written export; ``to_dict()`` is the ``export --json`` document."""

    path: str
    format: str
    experiments: int
    runs: int
    bytes: int
    redaction: dict

    def to_dict(self) -> dict:
        return asdict(self)


def select_experiments(
    store: Store, ids: Sequence[str] | None = None, *, search: str | None = None
) -> list[dict]:
    """Experiments (each with ``runs``) oldest first: ``ids`` (full or 6+ character
    prefixes), or all of them when ``ids`` is None; ``search`` keeps those whose prompt
    or any output matches. Raises ``BadInputError`` when nothing is selected."""
    matching = None
    if search and search.split():
        matching = [e["id"] for e in store.list_experiments(limit=-1, search=search)]
    if ids is None:
        chosen = (
            matching
            if matching is not None
            else [e["id"] for e in store.list_experiments(limit=-1)]
        )
        chosen = chosen[::-1]
    else:
        chosen = list(dict.fromkeys(store.get_experiment(i)["id"] for i in ids))
        if matching is not None:
            found = set(matching)
            chosen = [i for i in chosen if i in found]
    if not chosen:
        matching = f" {search!r}" if search else ""
        raise BadInputError(Message("share.nothing_to_export", matching=matching))
    return [store.get_experiment(i) for i in chosen]


def redact(experiments: list[dict], redaction: Redaction) -> list[dict]:
    """Copies of ``experiments`` with system prompts and long outputs taken out.

    A left-out system prompt is removed from the experiment, its sweep, each run's
    messages, and each run's rendered prompt (replaced by a marker). A cut output
    ends with "…".
    """
    if redaction == Redaction():
        return experiments
    out = copy.deepcopy(experiments)
    for experiment in out:
        system = experiment.get("system_prompt")
        if redaction.system:
            _drop_system(experiment)
        for run in experiment["runs"]:
            if redaction.system:
                _drop_system_from_run(run, system)
            if redaction.truncate is not None:
                run["output"] = _cut(run.get("output"), redaction.truncate)
    return out


def _drop_system(experiment: dict) -> None:
    experiment["system_prompt"] = None
    sweep = json.loads(experiment.get("sweep_json") or "{}")
    if sweep.get("system") is not None:
        sweep["system"] = None
        experiment["sweep_json"] = json.dumps(sweep, ensure_ascii=False)


def _drop_system_from_run(run: dict, system: str | None) -> None:
    if run.get("messages_json"):
        messages = json.loads(run["messages_json"])
        system = system or next((m["content"] for m in messages if m["role"] == "system"), None)
        kept = [m for m in messages if m["role"] != "system"]
        run["messages_json"] = json.dumps(kept, ensure_ascii=False)
    rendered, system = run.get("rendered_prompt"), (system or "").strip()
    if system and rendered:  # a template that reworded it leaves no safe way to cut it out
        run["rendered_prompt"] = rendered.replace(system, REDACTED) if system in rendered else None


def _cut(text: str | None, limit: int) -> str | None:
    """``_cut("abcdef", 3)`` → ``'abc…'``; shorter text is kept as it is."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + "…"


def flat_runs(experiments: list[dict]) -> list[dict]:
    """One dict per run: the run's columns, then its experiment's prompt, system prompt, mode."""
    rows = []
    for experiment in experiments:
        extra = {f: experiment.get(f) for f in EXPERIMENT_FIELDS}
        rows += [{**run, **extra} for run in experiment["runs"]]
    return rows


def judgements(experiments: list[dict]) -> dict[str, tuple[dict, RowScore]]:
    """Each run's check verdicts and its grid row's scores, by run id."""
    return {i: j for e in experiments for i, j in judged_runs(e).items()}


def to_jsonl(experiments: list[dict], token_logs: dict[str, TokenLog] | None = None) -> str:
    """One JSON object per run per line; ``messages_json`` becomes ``messages`` (decoded), etc.,
    and a run with a token log gains ``tokens`` (:meth:`TokenLog.to_json`)."""
    lines = []
    token_logs = token_logs or {}
    judged = judgements(experiments)
    for row in flat_runs(experiments):
        decoded = {
            (k[:-5] if k.endswith("_json") else k): (
                json.loads(v) if k.endswith("_json") and v else v
            )
            for k, v in row.items()
        }
        verdicts, score = judged[row["id"]]
        decoded["checks"] = {name: v.passed for name, v in verdicts.items()}
        decoded["row_scores"] = score.to_dict()
        if row["id"] in token_logs:
            decoded["tokens"] = token_logs[row["id"]].to_json()
        lines.append(json.dumps(decoded, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def to_csv(experiments: list[dict], token_logs: dict[str, TokenLog] | None = None) -> str:
    """One run per row with a header; numbers stay numbers, None is an empty cell. No token
    log, but two columns from it: ``tokens_recorded`` (its steps) and ``mean_logprob`` (see
    :func:`yilab.share.tokens.mean_logprob`), empty for a run without one. Then a column per
    check (``check:NAME``: 1 passed, 0 failed, empty when it could not judge) and the run's
    grid-row scores (``row_*``: pass rate, distinct outputs, distinct-1/2, similarity, length)."""
    token_logs = token_logs or {}
    judged = judgements(experiments)
    rows = []
    for row in flat_runs(experiments):
        log = token_logs.get(row["id"])
        verdicts, score = judged[row["id"]]
        rows.append(
            {
                **row,
                "tokens_recorded": None if log is None else len(log.steps),
                "mean_logprob": None if log is None else mean_logprob(log),
                **{f"check:{n}": _flag(v.passed) for n, v in verdicts.items()},
                **_row_columns(score),
            }
        )
    buffer = io.StringIO()
    if rows:
        fields = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _flag(passed: bool | None) -> int | None:
    return None if passed is None else int(passed)


def _row_columns(score: RowScore) -> dict:
    values = score.to_dict()
    keep = ("all_pass_rate", "distinct_outputs", "distinct_1", "distinct_2", "similarity")
    return {f"row_{k}": values.get(k) for k in (*keep, "length_mean", "length_sd")}


def export(
    store: Store,
    ids: Sequence[str] | None,
    fmt: str,
    out_path: str | Path,
    *,
    search: str | None = None,
    redaction: Redaction = Redaction(),
    lang: str = "en",
) -> ExportResult:
    """Select, redact, render and write atomically; see :func:`export_experiments`.
    ``lang`` is the HTML report's language (its labels; the data stay as they are)."""
    if fmt not in FORMATS:
        formats = ", ".join(FORMATS)
        raise BadInputError(Message("share.unknown_format", format=repr(fmt), formats=formats))
    if redaction.truncate is not None and redaction.truncate < 0:
        raise BadInputError(Message("share.truncate_negative"))
    out = _check_out_path(store, Path(out_path))
    experiments = select_experiments(store, ids, search=search)
    tokens = redact_token_rows(token_rows(store, experiments), redaction.truncate)
    experiments = redact(experiments, redaction)
    text = render(experiments, fmt, redaction, tokens, lang=lang)
    _write_atomic(out, text)
    runs = sum(len(e["runs"]) for e in experiments)
    return ExportResult(
        str(out), fmt, len(experiments), runs, out.stat().st_size, redaction.to_dict()
    )


def export_experiments(
    store: Store,
    ids: Sequence[str] | None,
    fmt: str,
    out_path: str | Path,
    *,
    search: str | None = None,
    redact_system: bool = False,
    truncate: int | None = None,
    lang: str = "en",
) -> Path:
    """Write experiments ``ids`` (None: all) to ``out_path`` as ``fmt``; returns the path.

    ``export_experiments(store, [exp_id], "html", "report.html")`` → ``Path("report.html")``
    """
    redaction = Redaction(system=redact_system, truncate=truncate)
    result = export(store, ids, fmt, out_path, search=search, redaction=redaction, lang=lang)
    return Path(result.path)


def render(
    experiments: list[dict],
    fmt: str,
    redaction: Redaction,
    tokens: dict[str, dict] | None = None,
    *,
    lang: str = "en",
) -> str:
    """The export's text in ``fmt``; ``tokens``: the runs' ``run_tokens`` rows, by run id."""
    tokens = tokens or {}
    if fmt in ("jsonl", "csv"):
        to_text = to_jsonl if fmt == "jsonl" else to_csv
        return to_text(experiments, read_logs(tokens))
    runs = [run for e in experiments for run in e["runs"]]
    now, models = utc_now(), model_metadata(runs)
    if fmt == "html":
        meta = ReportMeta(generated_at=now, redaction=redaction.to_dict(), models=models, lang=lang)
        return render_report(
            with_token_logs(experiments, read_logs(tokens)), meta, ReportAssets.load()
        )
    doc = build_bundle(
        experiments,
        models=models,
        redaction=redaction.to_dict(),
        exported_at=now,
        run_tokens=bundle_rows(tokens),
    )
    return dump_bundle(doc)


def with_token_logs(experiments: list[dict], token_logs: dict[str, TokenLog]) -> list[dict]:
    """Copies of ``experiments`` whose runs carry ``token_log``: their :class:`TokenLog`, or None."""
    return [
        {**e, "runs": [{**run, "token_log": token_logs.get(run["id"])} for run in e["runs"]]}
        for e in experiments
    ]


def _check_out_path(store: Store, out: Path) -> Path:
    """The output file: its folder must exist, and it must not be the run log itself."""
    out = out.expanduser()
    if out.is_dir():
        raise BadInputError(Message("share.out_is_folder", out=out))
    if not out.parent.is_dir():
        raise BadInputError(Message("share.no_folder", out=out, folder=out.parent))
    if store.path != ":memory:" and out.resolve() == Path(store.path).resolve():
        raise BadInputError(Message("share.out_is_log", out=out))
    return out


def _write_atomic(path: Path, text: str) -> None:
    """Write atomically (no half-written export is ever left); a failure is the user's to fix."""
    try:
        write_atomic(path, text)
    except OSError as err:
        said = Message("share.cannot_write", path=path, error=err.strerror or str(err))
        raise BadInputError(said) from None
