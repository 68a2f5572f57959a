"""Pure: a self-contained HTML report of experiments, data in, one HTML string out.

The report opens from disk in any browser and never touches the network: the app's
CSS, the report's CSS and JS and the logo are inline, and a Content-Security-Policy
forbids every fetch and allows only the report's own script (by its hash), so even
a markup slip could not load or run anything. Each experiment shows its settings
beside its grid (the app's own cards, from ``yilab.render.grid``, so finish-reason
badges look the same); "compare" on two cards shows a word diff computed by the
inline script from data embedded as JSON. A run dict that carries a ``token_log`` (a
:class:`~yilab.experiment.token_log.TokenLog`) gets the probability view (its "probs"
toggle and the "shade by" switch are wired by the report's script, not inline handlers),
its fork from the row and its turn-end track; there is nothing to branch from in a report.

Outputs are hostile text: the grid and every setting go through ``html.escape``, the
script builds the diff with text nodes only, and the embedded JSON escapes ``<``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from yilab.experiment.scoring import checks_of, score_rows
from yilab.experiment.variables import inputs_csv
from yilab.i18n import ENGLISH, Translator, translator
from yilab.render.grid import cell_label, render_grid, state_name, view_from_runs
from yilab.render.scores import scores_html
from yilab.render.text import snippet
from yilab.render.textdiff import SPLIT_PATTERN

ASSETS = Path(__file__).resolve().parents[2] / "assets"
TOC_OPEN_MAX = 12  # longer tables of contents start folded
SWEEP_FIELDS = (
    "temperatures",
    "seeds",
    "top_ps",
    "max_tokens",
    "top_k",
    "min_p",
    "repetition_penalty",
    "extra_eos_ids",
)  # each named by report.field_<key>
# what report.js writes, in the report's language (the script stays the same, so its hash
# in the Content-Security-Policy does too)
SCRIPT_WORDS = {
    "identical": "diff.identical",
    "diff_counts": "diff.counts",
    "close": "report.js_close",
    "compare": "report.js_compare",
    "compare_title": "report.js_compare_title",
    "vs": "report.js_vs",
}


@dataclass(frozen=True)
class ReportAssets:
    """The CSS, JS and logo the report inlines."""

    css: str
    js: str
    logo: str = ""

    @classmethod
    @cache
    def load(cls) -> ReportAssets:
        """The app's ``style.css`` plus ``report.css``, ``report.js`` and ``logo.svg``."""
        css = (ASSETS / "style.css").read_text() + "\n" + (ASSETS / "report.css").read_text()
        logo = ASSETS / "logo.svg"
        return cls(
            css, (ASSETS / "report.js").read_text(), logo.read_text() if logo.exists() else ""
        )


@dataclass
class ReportMeta:
    """What the report says about itself in its header."""

    title: str = ""  # default: "yilab report" in the report's language
    generated_at: str = ""
    redaction: dict = field(default_factory=dict)
    models: list[dict] = field(default_factory=list)  # as in a bundle's "models"
    lang: str = "en"  # its labels' language (en, zh-CN); the data stay as they are


def render_report(experiments: list[dict], meta: ReportMeta, assets: ReportAssets) -> str:
    """The whole HTML document for ``experiments`` (each with its ``runs`` in cell order)."""
    tr = translator(meta.lang)
    title = meta.title or tr("report.title")
    sections = "".join(_experiment(n, e, meta.models, tr) for n, e in enumerate(experiments, 1))
    words = {word: tr(key) for word, key in SCRIPT_WORDS.items()}
    data = {"runs": _run_data(experiments, tr), "words": words, "split": SPLIT_PATTERN}
    script_hash = base64.b64encode(hashlib.sha256(assets.js.encode()).digest()).decode()
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(tr.lang)}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{assets.css}</style></head>"
        f'<body class="yr">{_header(experiments, meta, assets.logo, tr)}'
        f"{_contents(experiments, tr)}{sections}"
        f'<script type="application/json" id="yr-data">{embed_json(data)}</script>'
        f"<script>{assets.js}</script></body></html>\n"
    )


def embed_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` become escapes.

    ``embed_json({"a": "</script>"})`` → ``'{"a": "\\\\u003c/script\\\\u003e"}'``
    """
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _run_data(experiments: list[dict], tr: Translator = ENGLISH) -> dict[str, dict]:
    """Per run id: the label the diff shows and the output it compares."""
    data = {}
    for n, experiment in enumerate(experiments, 1):
        view = view_from_runs(experiment["runs"])
        for cell in view.cells:
            label = f"#{n} {cell_label(cell.settings, tr)}"
            data[cell.run_id or ""] = {"label": label, "output": cell.text}
    return data


def _header(experiments: list[dict], meta: ReportMeta, logo: str, tr: Translator) -> str:
    runs = sum(len(e["runs"]) for e in experiments)
    one = len(experiments) == 1
    facts = [
        tr("report.experiment" if one else "report.experiments", n=len(experiments)),
        tr("report.run" if runs == 1 else "report.runs", n=runs),
    ]
    if meta.generated_at:
        facts.append(tr("report.exported", when=meta.generated_at[:19].replace("T", " ")))
    notes = redaction_notes(meta.redaction, tr)
    return (
        f'<header class="yr-header"><div class="yl-header">{logo}'
        f'<span class="yl-name">{escape(meta.title or tr("report.title"))}</span>'
        f'<span class="yl-tag">{escape(" · ".join(facts))}</span></div>'
        + "".join(f'<div class="yl-notice yl-notice-warn">{escape(n)}</div>' for n in notes)
        + f'<p class="yr-hint">{escape(tr("report.hint"))}</p></header>'
    )


def redaction_notes(redaction: dict, tr: Translator = ENGLISH) -> list[str]:
    """``{"system_prompts": True}`` → ``["System prompts were left out."]``."""
    notes = []
    if redaction.get("system_prompts"):
        notes.append(tr("report.no_system"))
    if redaction.get("truncate_outputs") is not None:
        notes.append(tr("report.cut", n=redaction["truncate_outputs"]))
    return notes


def _contents(experiments: list[dict], tr: Translator) -> str:
    if len(experiments) < 2:
        return ""
    items = "".join(
        f'<li><a href="#exp-{n}">#{n}</a> {escape(snippet(e.get("prompt"), 90))}</li>'
        for n, e in enumerate(experiments, 1)
    )
    opened = " open" if len(experiments) <= TOC_OPEN_MAX else ""
    return (
        f'<nav class="yr-toc"><details{opened}>'
        f"<summary>{escape(tr('report.experiments', n=len(experiments)))}</summary>"
        f"<ol>{items}</ol></details></nav>"
    )


def _experiment(n: int, experiment: dict, models: list[dict], tr: Translator) -> str:
    runs = experiment["runs"]
    counts = Counter(r.get("finish_reason") or r.get("status") or "?" for r in runs)
    total = tr("report.run" if len(runs) == 1 else "report.runs", n=len(runs))
    status = " · ".join([total, *(f"{state_name(k, tr)} {v}" for k, v in counts.items())])
    logs = {r["id"]: r["token_log"] for r in runs if r.get("token_log") is not None}
    checks = checks_of(experiment)
    view = view_from_runs(runs, status=status, logs=logs, checks=checks, tr=tr)
    grid = render_grid(view, report=True) if runs else f"<p>{escape(tr('report.no_runs'))}</p>"
    if len(runs) > 1:
        grid = scores_html(score_rows(runs, checks), checks, tr) + grid
    return (
        f'<section class="yr-exp" id="exp-{n}"><aside class="yr-settings">'
        f'<h2>#{n} <span class="yr-when">{escape(str(experiment.get("created_at") or "")[:19].replace("T", " "))}</span></h2>'
        f"{_settings(experiment, runs, models, tr)}</aside>"
        f'<div class="yr-main">{grid}</div></section>'
    )


def _settings(experiment: dict, runs: list[dict], models: list[dict], tr: Translator) -> str:
    """The experiment's prompt, sweep and model facts as a definition list."""
    rows = [(tr("report.field_prompt"), _pre(experiment.get("prompt")))]
    if experiment.get("system_prompt"):
        rows.append((tr("report.field_system"), _pre(experiment["system_prompt"])))
    rows.append((tr("report.field_mode"), escape(str(experiment.get("mode") or "chat"))))
    sweep = _json(experiment.get("sweep_json"), {})
    sweep = sweep if isinstance(sweep, dict) else {}
    for key in SWEEP_FIELDS:
        value = sweep.get(key)
        if value not in (None, [], 0, 0.0) or key in ("temperatures", "seeds"):
            rows.append((tr(f"report.field_{key}"), escape(_plain(value))))
    if sweep.get("inputs"):
        rows.append((tr("report.field_inputs"), _pre(inputs_csv(tuple(sweep["inputs"])))))
    checks = checks_of(experiment)
    if checks:
        rows.append((tr("report.field_checks"), _pre("\n".join(c.spec() for c in checks))))
    rows += _model_rows(runs, models, tr)
    if experiment.get("note"):
        rows.append((tr("report.field_note"), escape(str(experiment["note"]))))
    rows.append(("id", f"<code>{escape(str(experiment.get('id')))}</code>"))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="yr-dl">{body}</dl>'


def _model_rows(
    runs: list[dict], models: list[dict], tr: Translator = ENGLISH
) -> list[tuple[str, str]]:
    """Model name, fingerprint, eos and stop ids, and the versions of the first run."""
    rows = []
    for name in dict.fromkeys(r.get("model") or "" for r in runs):
        run = next(r for r in runs if (r.get("model") or "") == name)
        fingerprint = run.get("model_fingerprint") or "?"
        info = next((m for m in models if m.get("name") == name), {})
        tokens = info.get("special_tokens") or {}
        eos = (tokens.get("eos") or {}).get("token")
        detail = tr("report.fingerprint", value=fingerprint)
        if eos:
            turn_end = tokens.get("turn_end") or "?"
            detail += " · " + tr("report.eos_turn_end", eos=eos, turn_end=turn_end)
        stop = _json(run.get("stop_token_ids_json"), [])
        detail += " · " + tr("report.stop_ids", ids=_plain(stop))
        model = f'{escape(name or "?")}<div class="yr-sub">{escape(detail)}</div>'
        rows.append((tr("report.field_model"), model))
    if runs:
        versions = _json(runs[0].get("versions_json"), {})
        if isinstance(versions, dict) and versions:
            text = " · ".join(f"{k} {v}" for k, v in versions.items())
            rows.append((tr("report.field_versions"), escape(text)))
    return rows


def _pre(text: Any) -> str:
    return f'<pre class="yr-pre">{escape(str(text or ""))}</pre>'


def _plain(value: Any) -> str:
    """A sweep value as text: ``_plain([0.2, 0.7])`` → ``'0.2, 0.7'``."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _json(text: Any, default: Any) -> Any:
    """Parsed ``*_json`` text, or ``default`` when missing or unreadable."""
    try:
        return json.loads(text) if isinstance(text, str) else default
    except ValueError:
        return default
