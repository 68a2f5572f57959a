"""Pure HTML for the Tokenizer tab: the verdict banner, Ollama's stops beside mlx-lm's (for a
model imported from Ollama), the special-token table, tokens as coloured spans, the fix diff
and the before/after panes. Every string is escaped here."""

from __future__ import annotations

import json
from html import escape

from yilab.i18n import ENGLISH, Translator
from yilab.inspector.chat_template import TOKEN_LIKE
from yilab.inspector.diagnose import InspectionReport, label, summary_in
from yilab.inspector.fix import FileEdit
from yilab.inspector.ollama_stops import VERDICT_TITLES as OLLAMA_TITLES
from yilab.inspector.ollama_stops import OllamaStops, fix_lines
from yilab.inspector.token_view import TokenView
from yilab.inspector.wording import (
    runtime_lines,
    stop_set_line,
    turn_end_lines,
    verdict_title,
)
from yilab.render.grid import GridView, render_grid

VERDICT_KIND = {"ok": "ok", "tokenizer_eos_mismatch": "warn", "no_chat_template": "info"}


def notice(message: str, kind: str = "info") -> str:
    return f'<div class="yl-notice yl-notice-{escape(kind)}">{escape(message)}</div>'


def verdict_summary(report: InspectionReport, tr: Translator = ENGLISH) -> str:
    """The report's summary in ``tr``'s language (the report keeps the English one)."""
    return report.summary if tr.lang == ENGLISH.lang else summary_in(report, tr)


def render_verdict(report: InspectionReport, tr: Translator = ENGLISH) -> str:
    """The coloured banner: the verdict in plain words, the summary, the stop set."""
    kind = VERDICT_KIND.get(report.verdict, "error")
    title = verdict_title(report.verdict, tr)
    summary = verdict_summary(report, tr)
    problems = "".join(
        f'<li class="yl-tk-sev-{escape(p.severity)}"><b>{escape(p.code)}</b>'
        f"{escape(f' [{p.file}]' if p.file else '')}: {escape(tr.say(p.message))}</li>"
        for p in report.problems
        if p.code != report.verdict
    )
    return (
        f'<div class="yl-tk-verdict yl-tk-verdict-{escape(kind)}" data-verdict="{escape(report.verdict)}">'
        f'<div class="yl-tk-verdict-title">{escape(title)}'
        f'<code class="yl-tk-verdict-code">{escape(report.verdict)}</code></div>'
        f"<div>{escape(summary)}</div>"
        f'<div class="yl-tk-verdict-stop">'
        f"{escape(tr('tok.stops_at', stops=stop_set_line(report, tr)))}</div>"
        + (f'<ul class="yl-tk-problems">{problems}</ul>' if problems else "")
        + f'<div class="yl-tk-verdict-path">{escape(report.path)}</div></div>'
    )


def render_ollama(ollama: OllamaStops | None, tr: Translator = ENGLISH) -> str:
    """Ollama's stops beside the GGUF's eos and mlx-lm's stop set, the verdict in plain
    words, the fix, and Ollama's template, system prompt and params; ``""`` for a model
    that did not come from Ollama."""
    if ollama is None:
        return ""
    kind = "error" if ollama.missing_ids else "ok"
    rows = "".join(_ollama_row(s, tr) for s in ollama.stops)
    eos = ollama.gguf_eos
    known = eos.token or eos.id is not None
    gguf_eos = label(eos.token, eos.id) if known else tr("tok.ollama_unknown")
    in_force = ", ".join(label(s.token, s.id) for s in ollama.mlx_stop_tokens)
    in_force = in_force or tr("tok.nothing")
    fixes = "".join(f"<li><code>{escape(line)}</code></li>" for line in fix_lines(ollama))
    also = (
        tr("tok.ollama_also", names=", ".join(ollama.also_imported_as))
        if ollama.also_imported_as
        else ""
    )
    verdict = (
        tr(f"ollama_verdict.{ollama.verdict}")
        if ollama.verdict in OLLAMA_TITLES
        else ollama.verdict
    )
    return (
        f'<div class="yl-tk-verdict yl-tk-verdict-{kind}" data-ollama-verdict="{escape(ollama.verdict)}">'
        f'<div class="yl-tk-verdict-title">'
        f"{escape(tr('tok.ollama_title', name=ollama.name, title=verdict))}"
        f'<code class="yl-tk-verdict-code">{escape(ollama.verdict)}</code></div>'
        f"<div>{escape(tr.say(ollama.summary))}</div>"
        + (
            f'<table class="yl-tk-table"><thead><tr><th>{escape(tr("tok.ollama_col_stop"))}</th>'
            f"<th>id</th><th>{escape(tr('tok.ollama_col_stops'))}</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            if rows
            else ""
        )
        + f'<div class="yl-tk-verdict-stop">'
        f"{escape(tr('tok.ollama_eos', eos=gguf_eos, stops=in_force))}{escape(also)}</div>"
        + (
            f'<div class="yl-tk-meta">{escape(tr("tok.ollama_fix"))}</div>'
            f'<ul class="yl-tk-runtime">{fixes}</ul>'
            if fixes
            else ""
        )
        + _ollama_layers(ollama, tr)
        + "</div>"
    )


def _ollama_row(stop, tr: Translator = ENGLISH) -> str:
    """One Ollama stop: its text, its id, whether mlx-lm stops there (missing: highlighted)."""
    missing = stop.id is not None and not stop.mlx_stops
    key = "yes" if stop.mlx_stops else "no" if stop.id is not None else "tokens_only"
    stops = tr(f"tok.ollama_{key}")
    cls = ' class="yl-tk-conflict"' if missing else ""
    a_text = tr("tok.ollama_a_text")
    return (
        f"<tr{cls}><td>{escape(stop.text)}</td>"
        f"<td>{escape(str(stop.id) if stop.id is not None else a_text)}</td>"
        f"<td>{escape(stops)}</td></tr>"
    )


def _ollama_layers(ollama: OllamaStops, tr: Translator = ENGLISH) -> str:
    """The template, system and params layers, folded."""
    params = json.dumps(ollama.params, ensure_ascii=False, indent=1)
    parts = [
        (tr("tok.ollama_template"), ollama.template),
        (tr("tok.ollama_system"), ollama.system),
        (tr("tok.ollama_params"), params),
    ]
    body = "".join(
        f'<div class="yl-tk-meta">{escape(name)}</div><pre class="yl-tk-tokens">{escape(text)}</pre>'
        for name, text in parts
        if text
    )
    return f"<details><summary>{escape(tr('tok.ollama_layers'))}</summary>{body}</details>"


def render_specials(report: InspectionReport, tr: Translator = ENGLISH) -> str:
    """The special tokens file by file; settings that conflict are highlighted."""
    rows = []
    for file, settings in report.files.items():
        for s in settings:
            cls = ' class="yl-tk-conflict"' if s.conflict else ""
            mark = "✗ " if s.conflict else ""
            rows.append(
                f"<tr{cls}><td>{escape(file)}</td><td>{escape(s.key)}</td>"
                f"<td>{escape(mark + (s.token if s.token is not None else '?'))}</td>"
                f"<td>{escape(str(s.id) if s.id is not None else '?')}</td></tr>"
            )
    t = report.chat_template
    end = label(t.turn_end, t.turn_end_id) if t.turn_end else tr("tok.none_found")
    heads = "".join(
        f"<th>{escape(tr(key))}</th>"
        for key in ("tok.col_file", "tok.col_setting", "tok.col_token")
    )
    meta = tr("tok.template_meta", source=t.source or tr("tok.none"), end=end)
    return (
        f'<div class="yl-tk-h">{escape(tr("tok.specials"))}</div>'
        f'<table class="yl-tk-table"><thead><tr>{heads}'
        f"<th>id</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<div class="yl-tk-meta">{escape(meta)}</div>'
        + "".join(
            f'<div class="yl-tk-meta">{escape(line)}</div>' for line in turn_end_lines(report, tr)
        )
    )


def render_template(
    report: InspectionReport,
    view: TokenView | None,
    example: str | None,
    tr: Translator = ENGLISH,
) -> str:
    """The chat template rendered on a short conversation (``example``: the report's, or
    the same in the reader's words), token by token when a tokenizer is there (``view``),
    else with special-token strings highlighted."""
    head = f'<div class="yl-tk-h">{escape(tr("tok.template"))}</div>'
    t = report.chat_template
    if example is None:
        return head + notice(tr("tok.no_template"))
    if view is not None:
        return head + render_tokens(
            view, turn_end_id=t.turn_end_id, stop_ids=report.stop_ids, tr=tr
        )
    return head + _highlight_strings(example, t.turn_end, report.stop_tokens, tr)


def _highlight_strings(
    text: str, turn_end: str | None, stop_tokens, tr: Translator = ENGLISH
) -> str:
    """Special-token-looking strings highlighted in plain text (no tokenizer at hand)."""
    stop_strings = {s.token for s in stop_tokens}
    out, pos = [], 0
    for match in TOKEN_LIKE.finditer(text):
        out.append(escape(text[pos : match.start()]))
        out.append(
            _special_span(
                match.group(),
                match.group() == turn_end,
                match.group() in stop_strings,
                title=match.group(),
                tr=tr,
            )
        )
        pos = match.end()
    out.append(escape(text[pos:]))
    return f'<pre class="yl-tk-tokens">{"".join(out)}</pre>'


def _special_span(
    text: str, is_turn_end: bool, stops: bool, *, title: str, tr: Translator = ENGLISH
) -> str:
    cls = "yl-tk-t yl-tk-special"
    if is_turn_end:
        cls += " yl-tk-stops" if stops else " yl-tk-runs-on"
        title += " · " + tr("tok.turn_end_stops" if stops else "tok.turn_end_runs_on")
    return f'<span class="{cls}" title="{escape(title)}">{escape(text)}</span>'


def render_tokens(
    view: TokenView,
    *,
    turn_end_id: int | None,
    stop_ids: list[int],
    summary: bool = False,
    tr: Translator = ENGLISH,
) -> str:
    """Tokens as coloured spans (special ones highlighted, the turn end green when it stops
    generation, red when it does not); with ``summary``, the count, ids and warnings."""
    spans = []
    for i, (tid, piece, text, special) in enumerate(
        zip(view.ids, view.pieces, view.texts, view.special, strict=True)
    ):
        title = f"id {tid} · {piece}"
        if special:
            spans.append(
                _special_span(text, tid == turn_end_id, tid in stop_ids, title=title, tr=tr)
            )
            continue
        shown = text.replace("\n", "↵\n")  # a newline token stays visible
        spans.append(
            f'<span class="yl-tk-t yl-tk-c{i % 4}" title="{escape(title)}">{escape(shown)}</span>'
        )
    html = f'<pre class="yl-tk-tokens">{"".join(spans)}</pre>'
    if summary:
        ids = " ".join(str(i) for i in view.ids)
        html += (
            f'<div class="yl-tk-meta">{escape(tr("tok.count_ids", n=view.count))} '
            f"<code>{escape(ids)}</code></div>"
        )
    return html + "".join(notice(f"⚠ {tr.say(w)}", "warn") for w in view.warnings)


def render_fix(
    report: InspectionReport, edits: list[FileEdit], saved: list[str], tr: Translator = ENGLISH
) -> str:
    """The fix as a unified diff, its runtime equivalents, and what Undo would restore."""
    head = f'<div class="yl-tk-h">{escape(tr("tok.fix"))}</div>'
    parts = []
    if edits:
        lines = "".join(_diff_line(line) for e in edits for line in e.diff.splitlines())
        parts.append(f'<pre class="yl-tk-diff">{lines}</pre>')
    elif report.verdict == "ok":
        parts.append(notice(tr("tok.nothing_to_fix"), "ok"))
    else:
        parts.append(notice(tr("tok.no_change")))
    runtime = runtime_lines(report)
    if runtime:
        items = "".join(f"<li><code>{escape(line)}</code></li>" for line in runtime)
        parts.append(
            f'<div class="yl-tk-meta">{escape(tr("tok.runtime"))}</div>'
            f'<ul class="yl-tk-runtime">{items}</ul>'
        )
    if saved:
        names = ", ".join(f"{n}.yilab-bak" for n in saved)
        parts.append(f'<div class="yl-tk-meta">{escape(tr("tok.backups", names=names))}</div>')
    return head + "".join(parts)


def _diff_line(line: str) -> str:
    kind = "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
    if line.startswith(("+++", "---", "@@")):
        kind = "hunk"
    return f'<span class="yl-tk-diff-{kind}">{escape(line)}</span>\n'


def render_before_after(
    before: GridView | None,
    after: GridView | None,
    stops: dict[str, list[int]],
    tr: Translator = ENGLISH,
) -> str:
    """Two panes side by side, and the outcome once both are done."""
    panes = []
    for side, view in (("before", before), ("after", after)):
        ids = ", ".join(str(i) for i in stops[side]) or tr("tok.nothing")
        waiting = f'<div class="yl-status">{escape(tr("tok.waiting"))}</div>'
        body = render_grid(view) if view is not None else waiting
        panes.append(
            f'<div class="yl-tk-ba-pane" data-side="{side}"><div class="yl-tk-ba-title">'
            f"{escape(tr(f'tok.{side}', ids=ids))}</div>"
            f"{body}</div>"
        )
    return f'<div class="yl-tk-ba">{"".join(panes)}</div>{_outcome(before, after, tr)}'


def _outcome(before: GridView | None, after: GridView | None, tr: Translator = ENGLISH) -> str:
    """``length → stop``: say whether the fix did what it should."""
    states = [v.cells[0].state if v and v.cells else None for v in (before, after)]
    if None in states or {"waiting", "running"} & set(states):
        return ""
    if states == ["length", "stop"]:
        return notice(tr("tok.fixed_outcome"), "ok")
    return notice(f"{states[0]} → {states[1]}", "warn" if states[1] != "stop" else "info")
