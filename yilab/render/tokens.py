"""Pure: a run's token log as HTML for a card — the probability view, the fork mark in
the plain output and the turn-end track.

Token texts, pieces and alternatives are model output, hence hostile: every one goes
through ``html.escape``; attributes carry only numbers yilab computed. Nothing here needs
a script to show: a token's tip is a hidden child shown by CSS on ``:hover`` and
``:focus`` (``tabindex=0`` makes it reachable by keyboard and tap), and each token carries
both shades (``--p``: the model's probability of it, ``--h``: the entropy there, scaled)
so that one class on a container (``yl-shade-entropy``) switches between them.
"""

from __future__ import annotations

import math
from html import escape

from yilab.experiment.forks import Fork
from yilab.experiment.token_log import TokenLog, TokenStep
from yilab.experiment.turn_end import MissedTurnEnd, percent, turn_end_track
from yilab.i18n import ENGLISH, Translator

ENTROPY_SCALE = 3.0  # nats: an entropy this high or higher gets the full shade


def quoted(piece: str) -> str:
    r"""A token's text as it reads in a tip: quoted, with newlines and tabs shown (a
    piece already written as bytes, ``\xe5``, stays as it is).

    >>> print(quoted(" the"), quoted(chr(10)), quoted(r"\xe5"))
    ' the' '\n' '\xe5'
    """
    return "'" + piece.translate(_VISIBLE) + "'"


_VISIBLE = str.maketrans({"\n": "\\n", "\t": "\\t", "\r": "\\r"})


def probability_view(
    log: TokenLog, *, greedy: bool = False, branch: bool = False, tr: Translator = ENGLISH
) -> str:
    """The probability view: one focusable ``<span class="yl-tok">`` per token, shaded,
    with its tip. With ``branch``, each alternative in a tip is a button that calls
    ``yilabBranch(this)`` (assets/cards.js) with its ``data-pos`` and ``data-token``;
    without, it is plain text (the report). Only MLX logs branch: their ids are the model's.
    """
    branch = branch and log.source == "mlx"
    tokens = "".join(_token(log, i, step, greedy, branch, tr) for i, step in enumerate(log.steps))
    return f'<div class="yl-probs">{tokens}</div>'


def _token(
    log: TokenLog, position: int, step: TokenStep, greedy: bool, branch: bool, tr: Translator
) -> str:
    p = 1.0 if step.probability is None else step.probability
    h = 0.0 if step.entropy is None else min(step.entropy / ENTROPY_SCALE, 1.0)
    shades = f"--p:{p:.3f};--h:{h:.3f}"
    classes = ["yl-tok"]
    if step.logprob is None:
        classes.append("yl-given")
    if not step.text:
        classes.append("yl-tok-special")
    shown = step.text or log.piece(step.token)
    return (
        f'<span class="{" ".join(classes)}" tabindex="0" style="{shades}">{escape(shown)}'
        f'<span class="yl-tip" role="tooltip">{_tip(log, position, step, greedy, branch, tr)}'
        "</span></span>"
    )


def _tip(
    log: TokenLog, position: int, step: TokenStep, greedy: bool, branch: bool, tr: Translator
) -> str:
    given = step.logprob is None
    head = [tr("tokens.given") if given else percent(step.probability or 0.0)]
    if step.entropy is not None:
        head.append(tr("tokens.entropy", value=f"{step.entropy:.2f}"))
    if greedy and len(step.top) >= 2:
        (_, first), (second, runner) = step.top[0], step.top[1]
        margin = f"{(_exp(first) - _exp(runner)) * 100:.1f}"
        head.append(tr("tokens.margin", margin=margin, token=quoted(log.piece(second))))
    rows = [(token, _exp(lp)) for token, lp in step.top]
    if step.token not in {t for t, _ in rows}:
        rows.append((step.token, step.probability))
    alternatives = "".join(
        _alternative(log, position, token, p, token == step.token, given, branch, tr)
        for token, p in rows
    )
    hint = f'<span class="yl-tip-hint">{escape(tr("tokens.branch_hint"))}</span>' if branch else ""
    return f'<span class="yl-tip-head">{escape(" · ".join(head))}</span>{alternatives}{hint}'


def _alternative(
    log: TokenLog,
    position: int,
    token: int,
    p: float | None,
    drawn: bool,
    given: bool,
    branch: bool,
    tr: Translator = ENGLISH,
) -> str:
    note = tr("tokens.given" if given else "tokens.drawn") if drawn else ""
    inner = (
        f'<span class="yl-alt-t">{escape(quoted(log.piece(token)))}</span>'
        f'<span class="yl-alt-p">{"?" if p is None else percent(p)}</span>'
        + (f'<span class="yl-alt-note">{escape(note)}</span>' if note else "")
    )
    cls = "yl-alt yl-alt-drawn" if drawn else "yl-alt"
    if not branch:
        return f'<span class="{cls}">{inner}</span>'
    return (
        f'<button type="button" class="{cls}" data-pos="{int(position)}" data-token="{int(token)}"'
        ' onclick="yilabBranch(this)">'
        f"{inner}</button>"
    )


def shade_switch(*, handlers: bool = True, tr: Translator = ENGLISH) -> str:
    """The grid's "shade by probability / entropy" switch: it sets one class on the page
    (``yilabShade``, assets/cards.js; without ``handlers`` the report's script wires it)."""
    handler = ' onclick="yilabShade(this)"' if handlers else ""
    buttons = "".join(
        f'<button type="button" class="yl-act yl-shade-by-{mode}" data-shade="{mode}"{handler}>'
        f"{escape(tr(f'tokens.mode_{mode}'))}</button>"
        for mode in ("probability", "entropy")
    )
    return f'<span class="yl-shade-switch">{escape(tr("tokens.shade_by"))} {buttons}</span>'


def fork_title(fork: Fork, labels: dict[str, str], tr: Translator = ENGLISH) -> str:
    """What a fork mark says: ``parts from seed 2 here: ' the' 45% (this run) · ' a' 30%
    (seed 2)``; ``labels`` names sibling run ids (else their first 8 characters)."""
    names = [labels.get(s.run_id, s.run_id[:8]) for s in fork.siblings]
    this = tr("tokens.this_run")
    parts = [f"{quoted(fork.text)} {_maybe_percent(fork.probability)} ({this})"]
    for sibling, name in zip(fork.siblings, names, strict=True):
        if sibling.token is None:
            parts.append(tr("tokens.ended", name=name))
        else:
            parts.append(f"{quoted(sibling.text)} {_maybe_percent(sibling.probability)} ({name})")
    return tr("tokens.parts_from", names=", ".join(names), parts=" · ".join(parts))


def fork_marked_text(
    text: str, fork: Fork, labels: dict[str, str], tr: Translator = ENGLISH
) -> str:
    """The plain output as HTML: the prefix shared with the siblings dimmed, the fork
    token in ``<mark class="yl-fork">`` (its glyph is CSS ``::before``, so ``innerText``
    stays the output). A fork that does not fit the text leaves it unmarked."""
    start, end = fork.offset, fork.offset + fork.length
    if end > len(text):
        return escape(text)
    return (
        f'<span class="yl-shared">{escape(text[:start])}</span>'
        f'<mark class="yl-fork" title="{escape(fork_title(fork, labels, tr))}">'
        f"{escape(text[start:end])}</mark>{escape(text[end:])}"
    )


def turn_end_html(
    log: TokenLog,
    stop_ids: list[int],
    missed: MissedTurnEnd | None,
    *,
    link: bool = True,
    tr: Translator = ENGLISH,
) -> str:
    """The turn-end track (a sparkline of :func:`turn_end_track`, each candidate with
    whether it stops the run) and, when the model wanted a turn end it was not allowed,
    the note; ``link`` makes "fix it" a link to the Tokenizer tab (the app, not the report).
    """
    if not log.turn_end_ids or not log.steps:
        return ""
    track = turn_end_track(log)
    stops = set(stop_ids)
    candidates = " ".join(
        f'<code class="{"yl-stops" if t in stops else "yl-no-stop"}"'
        f' title="{escape(tr("tokens.stops" if t in stops else "tokens.no_stop"))}">'
        f"{escape(log.piece(t))}</code>"
        for t in log.turn_end_ids
    )
    html = (
        f'<div class="yl-turn"><span class="yl-turn-label">{escape(tr("tokens.turn_end"))}</span>'
        f"{sparkline(track, missed.position if missed else None, tr)}{candidates}</div>"
    )
    if missed is not None:
        fix = (
            '<a href="#" class="yl-to-tokenizer" onclick="return yilabCardLink(this)">'
            f"{escape(tr('tokens.fix_link'))}</a>"
            if link
            else escape(tr("tokens.fix_text"))
        )
        sentence = tr(
            "tokens.missed",
            token=missed.text,
            p=percent(missed.probability),
            n=missed.position + 1,
        )
        html += f'<div class="yl-note yl-missed">{escape(sentence)} · {fix}</div>'
    return html


def sparkline(values: list[float], mark: int | None = None, tr: Translator = ENGLISH) -> str:
    """An inline SVG line of probabilities (0–1) per step; ``mark`` draws a rule at a step.

    >>> sparkline([0.0, 1.0]).count("<polyline")
    1
    """
    n = max(len(values), 2)
    points = " ".join(f"{i},{1 - min(max(v, 0.0), 1.0):.3f}" for i, v in enumerate(values))
    peak = max(range(len(values)), key=values.__getitem__) if values else 0
    title = (
        tr("tokens.spark_title", p=percent(values[peak]), n=peak + 1)
        if values
        else tr("tokens.no_tokens")
    )
    rule = (
        f'<line class="yl-spark-mark" x1="{mark}" x2="{mark}" y1="0" y2="1"'
        ' vector-effect="non-scaling-stroke"></line>'
        if mark is not None
        else ""
    )
    return (
        f'<svg class="yl-spark" viewBox="0 -0.05 {n - 1} 1.1" preserveAspectRatio="none"'
        f' role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<line class="yl-spark-half" x1="0" x2="{n - 1}" y1="0.5" y2="0.5"'
        ' vector-effect="non-scaling-stroke"></line>'
        f'{rule}<polyline points="{points}" vector-effect="non-scaling-stroke"></polyline></svg>'
    )


def _maybe_percent(p: float | None) -> str:
    return "?" if p is None else percent(p)


def _exp(logprob: float) -> float:
    return math.exp(logprob)
