"""``show RUN --tokens``: a run's tokens as a terminal table, one line per token.

Columns: position (from 1, as the dashboard's "at token N" counts), the token (quoted, control characters escaped: ``"\\n"``), ``p`` (the
model's probability), ``p drawn`` (under the distribution it was drawn from; ``given`` for
a branch's given tokens), the entropy (nats), a mark on turn-end tokens, and the likeliest
alternatives. Wide characters (CJK) count two columns, so the table stays aligned.
"""

from __future__ import annotations

import json
import math
import unicodedata

from yilab.experiment.token_log import TokenLog

TOKEN_WIDTH = 18  # columns for the token; a longer one is cut with "…"
ALTERNATIVES_SHOWN = 5
TURN_END_MARK = "⏎"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format, surrogate, unassigned…


def escape_token(text: str) -> str:
    """A token's text quoted, with what a terminal would not show escaped.

    >>> escape_token("Hi\\n\\x1b")
    '"Hi\\\\n\\\\x1b"'
    """
    return '"' + "".join(_escape(ch) for ch in text) + '"'


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    if unicodedata.category(ch) not in _HIDDEN:
        return ch
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def display_width(text: str) -> int:
    """Terminal columns: ``display_width("童话 ok")`` → 7 (wide characters take two)."""
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def clip(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` terminal columns (a wide character that would
    straddle the edge goes): ``clip("写一首歌", 5)`` → ``"写一"``."""
    out, used = [], 0
    for ch in text:
        used += _char_width(ch)
        if used > width:
            break
        out.append(ch)
    return "".join(out)


def fit(text: str, width: int) -> str:
    """``text`` padded (or cut, ending with "…") to exactly ``width`` terminal columns."""
    if display_width(text) > width:
        out, used = "", 0
        for ch in text:
            if used + _char_width(ch) > width - 1:
                break
            out, used = out + ch, used + _char_width(ch)
        text = out + "…"
    return text + " " * (width - display_width(text))


def percent(logprob: float | None) -> str:
    """A log-probability as a percentage: ``percent(-0.105)`` → ``'90.0%'``; None → ``'-'``."""
    if logprob is None or math.isnan(logprob):
        return "-"
    p = 100 * math.exp(logprob)
    if p >= 1:
        return f"{p:.1f}%"
    return f"{p:.2f}%" if p >= 0.01 else "<0.01%"


def token_lines(log: TokenLog, *, branch_at: int | None = None) -> list[str]:
    """The table: a header, then one line per token (see the module's docstring)."""
    ends = set(log.turn_end_ids)
    lines = [
        f"{'pos':>5}  {fit('token', TOKEN_WIDTH)} {'p':>7} {'p drawn':>7} {'entropy':>7} end  top"
    ]
    for n, step in enumerate(log.steps):
        given = branch_at is not None and n <= branch_at  # the branch did not draw these
        drawn = "given" if given else percent(step.logprob)
        entropy = "-" if step.entropy is None else f"{step.entropy:.2f}"
        mark = TURN_END_MARK if step.token in ends else ""
        alternatives = "  ".join(
            f"{escape_token(log.piece(t))} {percent(lp)}" for t, lp in step.top[:ALTERNATIVES_SHOWN]
        )
        token = fit(escape_token(log.piece(step.token)), TOKEN_WIDTH)
        lines.append(
            f"{n + 1:>5}  {token} {percent(step.raw_logprob):>7} {drawn:>7} {entropy:>7} "
            f"{mark:<3}  {alternatives}".rstrip()
        )
    return lines


def summary(log: TokenLog) -> str:
    """One line on what the log holds, e.g. ``12 tokens (mlx), 5 alternatives each; turn
    ends: "<|im_end|>"``."""
    ends = ", ".join(escape_token(log.piece(t)) for t in log.turn_end_ids) or "none"
    source = "as the server returned them" if log.source == "server" else log.source
    return (
        f"{len(log.steps)} tokens ({source}), {log.top_k} alternatives each; "
        f"turn ends {TURN_END_MARK}: {ends}"
    )


def no_record(run: dict, sweep_json: str | None) -> str:
    """Why a run has no token log, in one sentence."""
    try:
        sweep = json.loads(sweep_json or "{}")
    except ValueError:
        sweep = {}
    if "top_logprobs" not in sweep:
        why = "token probabilities are recorded from yilab 0.1.0 on; this run is older"
    elif sweep["top_logprobs"] is None:
        why = "recording was off for its sweep"
    elif run.get("engine_mode") == "remote":
        why = "its server returned no token probabilities"
    else:
        why = f"none was kept: the run ended as {run.get('finish_reason') or run.get('status')}"
    return f"no token record for this run ({why})"
