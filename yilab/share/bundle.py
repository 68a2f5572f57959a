"""Bundles: experiments with their runs in one JSON file, to send, keep and merge back.

Layout (version 1)::

    {"format": "yilab-bundle", "version": 1, "exported_at": "2025-…",
     "exported_by": {"yilab": "0.1.0", "python": "3.11.2", "sqlite": "3.40.1"},
     "redaction": {"system_prompts": false, "truncate_outputs": null},
     "models": [{"name", "path", "fingerprint", "stop_token_ids", "special_tokens"}],
     "experiments": [one experiments row per line],
     "runs": [one runs row per line],
     "run_tokens": [one run_tokens row per line: a run's token log, "data" in base64]}

Rows are the run log's rows column for column (``*_json`` columns stay JSON text, a blob
is base64 text), so an import writes back exactly what was exported; each run's
``versions_json`` says which mlx, mlx-lm and yilab produced it. ``run_tokens`` came later
in version 1: a bundle without it imports as before, and a yilab from before reads the rest.
Reading trusts nothing (:mod:`yilab.share.validate`) and merging is one transaction
(``Store.merge_rows``), token logs after their runs. A token log whose run is already here
with other content (a note, a star) is added all the same when that run has none: a run id
is a fresh UUID, so it is the same run and the same tokens.
"""

from __future__ import annotations

import json
import platform
import sqlite3
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from yilab import __version__
from yilab.errors import BundleError, YilabError
from yilab.files import model_fingerprint
from yilab.i18n import Message
from yilab.inspector.diagnose import inspect_model
from yilab.runlog.store import MergeOutcome, Store
from yilab.share.validate import FORMAT, TABLES, VERSION, validate_bundle

MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # ~125,000 runs of ~1,000 characters
ROLES = ("bos", "eos", "pad", "unk")


@dataclass
class TableCounts:
    """Rows of one table: new ones added, identical ones skipped, conflicting ones kept as they were."""

    added: int = 0
    skipped: int = 0
    conflicts: int = 0


@dataclass
class Conflict:
    """A row whose id is already in the run log with other content (it was not overwritten)."""

    table: str
    id: str
    columns: list[str]


@dataclass
class ImportResult:
    """What ``import_bundle`` did; ``to_dict()`` is the ``import --json`` document."""

    path: str
    experiments: TableCounts
    runs: TableCounts
    conflicts: list[Conflict] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    run_tokens: TableCounts = field(default_factory=TableCounts)  # token logs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def exporter_versions() -> dict[str, str]:
    """The versions of what wrote a bundle (runs carry their own in ``versions_json``)."""
    return {
        "yilab": __version__,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def build_bundle(
    experiments: list[dict],
    *,
    models: list[dict],
    redaction: dict,
    exported_at: str,
    run_tokens: list[dict] | None = None,
) -> dict:
    """The bundle document for ``experiments`` (each with its ``runs``) and the runs' token
    logs (``run_tokens`` rows, ``data`` as base64 text), already redacted."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": exported_at,
        "exported_by": exporter_versions(),
        "redaction": redaction,
        "models": models,
        "experiments": [{k: v for k, v in e.items() if k != "runs"} for e in experiments],
        "runs": [run for e in experiments for run in e["runs"]],
        "run_tokens": run_tokens or [],
    }


def dump_bundle(doc: dict) -> str:
    """The bundle as JSON text with one row per line, so it greps and diffs well.

    ``json.loads(dump_bundle(doc)) == doc`` always holds.
    """
    lines = ["{"]
    keys = list(doc)
    for n, key in enumerate(keys):
        end = "," if n < len(keys) - 1 else ""
        value = doc[key]
        if key in TABLES and value:
            rows = ",\n  ".join(json.dumps(row, ensure_ascii=False) for row in value)
            lines.append(f' "{key}": [\n  {rows}\n ]{end}')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{end}")
    return "\n".join(lines) + "\n}\n"


def model_metadata(runs: list[dict]) -> list[dict]:
    """One entry per model the runs used: name, path, fingerprint, stop ids, special tokens.

    Special tokens are read from the model folder only while it still has the logged
    fingerprint (files changed since → ``None``); a missing folder gives ``None`` too.
    """
    models: dict[tuple, dict] = {}
    for run in runs:
        key = (run.get("model"), run.get("model_path"), run.get("model_fingerprint"))
        entry = models.setdefault(
            key, {"name": key[0], "path": key[1], "fingerprint": key[2], "stop_token_ids": []}
        )
        for token_id in json.loads(run.get("stop_token_ids_json") or "[]"):
            if token_id not in entry["stop_token_ids"]:
                entry["stop_token_ids"].append(token_id)
    for entry in models.values():
        entry["special_tokens"] = special_tokens(entry["path"], entry["fingerprint"])
    return list(models.values())


def special_tokens(path: str | None, fingerprint: str | None) -> dict | None:
    """bos/eos/pad/unk, the template's turn end and the verdict of the model at ``path``."""
    if not path or not Path(path).is_dir():
        return None

    try:
        if fingerprint and model_fingerprint(Path(path)) != fingerprint:
            return None
        report = inspect_model(path)
    except (OSError, YilabError):
        return None
    tokens: dict[str, Any] = {r: asdict(getattr(report, r)) for r in ROLES}
    tokens["turn_end"] = report.chat_template.turn_end
    tokens["adds_bos"] = report.adds_bos
    tokens["verdict"] = report.verdict
    return tokens


def read_bundle_file(path: str | Path) -> Any:
    """The parsed JSON of a bundle file, refusing what is not a plain, sane-sized JSON file."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as err:
        said = Message("bundle.cannot_read", path=path, error=str(err.strerror or err))
        raise BundleError(said) from None  # the system's own English
    if not stat.S_ISREG(info.st_mode):
        raise BundleError(Message("bundle.not_a_file", path=path))
    with path.open("rb") as f:
        data = f.read(MAX_BUNDLE_BYTES + 1)
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(Message("bundle.too_large", path=path, mib=MAX_BUNDLE_BYTES // 2**20))
    if data.startswith(b"SQLite format 3"):
        raise BundleError(Message("bundle.sqlite", path=path))
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise BundleError(Message("bundle.not_utf8", path=path)) from None
    except (ValueError, RecursionError) as err:  # json's own English
        raise BundleError(Message("bundle.bad_json", path=path, error=str(err)[:200])) from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in a bundle")


def import_bundle(store: Store, path: str | Path) -> ImportResult:
    """Merge the bundle at ``path`` into ``store`` in one transaction.

    New ids are added; ids already present are skipped when identical and reported
    as conflicts otherwise (never overwritten). Any problem raises ``BundleError``
    before a single row is written.
    """
    doc = read_bundle_file(path)
    checked = validate_bundle(doc, {table: store.columns(table) for table in TABLES})
    outcomes = store.merge_rows(
        {"experiments": checked.experiments, "runs": checked.runs, "run_tokens": checked.run_tokens}
    )
    return ImportResult(
        path=str(path),
        experiments=_counts(outcomes["experiments"]),
        runs=_counts(outcomes["runs"]),
        conflicts=[
            Conflict(t, i, cols) for t in TABLES for i, cols in outcomes[t].conflicts.items()
        ],
        models=checked.models,
        run_tokens=_counts(outcomes["run_tokens"]),
    )


def _counts(outcome: MergeOutcome) -> TableCounts:
    return TableCounts(len(outcome.added), len(outcome.same), len(outcome.conflicts))
