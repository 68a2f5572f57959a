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
from yilab.render.grid import cell_label, render_grid, view_from_runs
from yilab.render.scores import scores_html
from yilab.render.text import snippet

ASSETS = Path(__file__).resolve().parents[2] / "assets"
TOC_OPEN_MAX = 12  # longer tables of contents start folded
SWEEP_FIELDS = (
    ("temperatures", "temperatures"),
    ("seeds", "seeds"),
    ("top_ps", "top_p"),
    ("max_tokens", "max_tokens"),
    ("top_k", "top_k"),
    ("min_p", "min_p"),
    ("repetition_penalty", "repetition penalty"),
    ("extra_eos_ids", "extra eos ids"),
)


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

    title: str = "yilab report"
    generated_at: str = ""
    redaction: dict = field(default_factory=dict)
    models: list[dict] = field(default_factory=list)  # as in a bundle's "models"


def render_report(experiments: list[dict], meta: ReportMeta, assets: ReportAssets) -> str:
    """The whole HTML document for ``experiments`` (each with its ``runs`` in cell order)."""
    sections = "".join(_experiment(n, e, meta.models) for n, e in enumerate(experiments, 1))
    data = {"runs": _run_data(experiments)}
    script_hash = base64.b64encode(hashlib.sha256(assets.js.encode()).digest()).decode()
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(meta.title)}</title><style>{assets.css}</style></head>"
        f'<body class="yr">{_header(experiments, meta, assets.logo)}'
        f"{_contents(experiments)}{sections}"
        f'<script type="application/json" id="yr-data">{embed_json(data)}</script>'
        f"<script>{assets.js}</script></body></html>\n"
    )


def embed_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` become escapes.

    ``embed_json({"a": "</script>"})`` → ``'{"a": "\\\\u003c/script\\\\u003e"}'``
    """
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _run_data(experiments: list[dict]) -> dict[str, dict]:
    """Per run id: the label the diff shows and the output it compares."""
    data = {}
    for n, experiment in enumerate(experiments, 1):
        view = view_from_runs(experiment["runs"])
        for cell in view.cells:
            label = f"#{n} {cell_label(cell.settings)}"
            data[cell.run_id or ""] = {"label": label, "output": cell.text}
    return data


def _header(experiments: list[dict], meta: ReportMeta, logo: str) -> str:
    runs = sum(len(e["runs"]) for e in experiments)
    facts = [
        f"{len(experiments)} experiment{'s' * (len(experiments) != 1)}",
        f"{runs} run{'s' * (runs != 1)}",
    ]
    if meta.generated_at:
        facts.append(f"exported {meta.generated_at[:19].replace('T', ' ')} UTC")
    notes = redaction_notes(meta.redaction)
    return (
        f'<header class="yr-header"><div class="yl-header">{logo}'
        f'<span class="yl-name">{escape(meta.title)}</span>'
        f'<span class="yl-tag">{escape(" · ".join(facts))}</span></div>'
        + "".join(f'<div class="yl-notice yl-notice-warn">{escape(n)}</div>' for n in notes)
        + '<p class="yr-hint">Press <b>compare</b> on two cards (in one experiment or across'
        " experiments) to see their outputs side by side, word by word.</p></header>"
    )


def redaction_notes(redaction: dict) -> list[str]:
    """``{"system_prompts": True}`` → ``["System prompts were left out."]``."""
    notes = []
    if redaction.get("system_prompts"):
        notes.append("System prompts were left out.")
    if redaction.get("truncate_outputs") is not None:
        notes.append(
            f"Outputs were cut to {redaction['truncate_outputs']} characters (… marks a cut)."
        )
    return notes


def _contents(experiments: list[dict]) -> str:
    if len(experiments) < 2:
        return ""
    items = "".join(
        f'<li><a href="#exp-{n}">#{n}</a> {escape(snippet(e.get("prompt"), 90))}</li>'
        for n, e in enumerate(experiments, 1)
    )
    opened = " open" if len(experiments) <= TOC_OPEN_MAX else ""
    return (
        f'<nav class="yr-toc"><details{opened}><summary>{len(experiments)} experiments</summary>'
        f"<ol>{items}</ol></details></nav>"
    )


def _experiment(n: int, experiment: dict, models: list[dict]) -> str:
    runs = experiment["runs"]
    counts = Counter(r.get("finish_reason") or r.get("status") or "?" for r in runs)
    status = " · ".join([f"{len(runs)} runs", *(f"{k} {v}" for k, v in counts.items())])
    logs = {r["id"]: r["token_log"] for r in runs if r.get("token_log") is not None}
    checks = checks_of(experiment)
    view = view_from_runs(runs, status=status, logs=logs, checks=checks)
    grid = render_grid(view, report=True) if runs else "<p>No runs.</p>"
    if len(runs) > 1:
        grid = scores_html(score_rows(runs, checks), checks) + grid
    return (
        f'<section class="yr-exp" id="exp-{n}"><aside class="yr-settings">'
        f'<h2>#{n} <span class="yr-when">{escape(str(experiment.get("created_at") or "")[:19].replace("T", " "))}</span></h2>'
        f"{_settings(experiment, runs, models)}</aside>"
        f'<div class="yr-main">{grid}</div></section>'
    )


def _settings(experiment: dict, runs: list[dict], models: list[dict]) -> str:
    """The experiment's prompt, sweep and model facts as a definition list."""
    rows = [("prompt", _pre(experiment.get("prompt")))]
    if experiment.get("system_prompt"):
        rows.append(("system", _pre(experiment["system_prompt"])))
    rows.append(("mode", escape(str(experiment.get("mode") or "chat"))))
    sweep = _json(experiment.get("sweep_json"), {})
    sweep = sweep if isinstance(sweep, dict) else {}
    for key, name in SWEEP_FIELDS:
        value = sweep.get(key)
        if value not in (None, [], 0, 0.0) or key in ("temperatures", "seeds"):
            rows.append((name, escape(_plain(value))))
    if sweep.get("inputs"):
        rows.append(("inputs", _pre(inputs_csv(tuple(sweep["inputs"])))))
    checks = checks_of(experiment)
    if checks:
        rows.append(("checks", _pre("\n".join(c.spec() for c in checks))))
    rows += _model_rows(runs, models)
    if experiment.get("note"):
        rows.append(("note", escape(str(experiment["note"]))))
    rows.append(("id", f"<code>{escape(str(experiment.get('id')))}</code>"))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="yr-dl">{body}</dl>'


def _model_rows(runs: list[dict], models: list[dict]) -> list[tuple[str, str]]:
    """Model name, fingerprint, eos and stop ids, and the versions of the first run."""
    rows = []
    for name in dict.fromkeys(r.get("model") or "" for r in runs):
        run = next(r for r in runs if (r.get("model") or "") == name)
        fingerprint = run.get("model_fingerprint") or "?"
        info = next((m for m in models if m.get("name") == name), {})
        tokens = info.get("special_tokens") or {}
        eos = (tokens.get("eos") or {}).get("token")
        detail = f"fingerprint {fingerprint}"
        if eos:
            detail += f" · eos {eos} · turn end {tokens.get('turn_end') or '?'}"
        stop = _json(run.get("stop_token_ids_json"), [])
        detail += f" · stop ids {_plain(stop)}"
        rows.append(("model", f'{escape(name or "?")}<div class="yr-sub">{escape(detail)}</div>'))
    if runs:
        versions = _json(runs[0].get("versions_json"), {})
        if isinstance(versions, dict) and versions:
            rows.append(("versions", escape(" · ".join(f"{k} {v}" for k, v in versions.items()))))
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
