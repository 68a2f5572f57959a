"""Pure: a grid's scores as words — the table the CLI prints and the report and the
dashboard show (one row per grid row: input, settings, pass rates, diversity), and the
short line a row header carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from yilab.experiment.checks import Check
from yilab.experiment.diversity import SIMILARITY_METHOD
from yilab.experiment.scoring import RowScore
from yilab.i18n import ENGLISH, Translator

LEGEND = ENGLISH("scores.legend", method=SIMILARITY_METHOD)


def percent(value: float | None) -> str:
    """``0.6667`` → ``"67%"``; ``None`` (nothing to judge) → ``"–"``."""
    return "–" if value is None else f"{value:.0%}"


def _flag(value: bool | None, tr: Translator = ENGLISH) -> str:
    return "–" if value is None else tr("scores.yes" if value else "scores.no")


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def headers(
    scores: Sequence[RowScore], checks: Sequence[Check], tr: Translator = ENGLISH
) -> list[str]:
    """The columns of :func:`cells`, for these scores (input and model only when they vary)."""
    names = [tr("scores.col_input")] if _has_inputs(scores) else []
    names += [tr("scores.col_model")] if _varies(scores, "model") else []
    names += ["top_p"] if _varies(scores, "top_p") else []
    names += [tr("scores.col_max")] if _varies(scores, "max_tokens") else []
    names += ["T", tr("scores.col_runs")]
    if checks:
        names += [*(c.name for c in checks), tr("scores.col_all"), "@k", "^k"]
    return names + [
        tr("scores.col_distinct"),
        "d-1",
        "d-2",
        tr("scores.col_sim"),
        tr("scores.col_len"),
    ]


def cells(
    score: RowScore,
    scores: Sequence[RowScore],
    checks: Sequence[Check],
    tr: Translator = ENGLISH,
) -> list[str]:
    """One row of the table, as text, in the order of :func:`headers`."""
    d = score.diversity
    row = [score.label] if _has_inputs(scores) else []
    row += [score.model] if _varies(scores, "model") else []
    row += [f"{score.top_p:g}"] if _varies(scores, "top_p") else []
    row += [str(score.max_tokens)] if _varies(scores, "max_tokens") else []
    row += [f"{score.temperature:g}", str(score.runs)]
    if checks:
        row += [percent(score.pass_rates.get(c.name)) for c in checks]
        row += [percent(score.all_pass_rate), _flag(score.pass_at_k, tr)]
        row += [_flag(score.pass_all_k, tr)]
    length = "–" if d.length_mean is None else f"{d.length_mean:.0f} ± {d.length_sd or 0:.0f}"
    return row + [
        f"{d.distinct_outputs}/{d.outputs}",
        _num(d.distinct_1),
        _num(d.distinct_2),
        _num(d.similarity),
        length,
    ]


def row_summary(score: RowScore, checks: Sequence[Check], tr: Translator = ENGLISH) -> str:
    """What a grid row's header says under its temperature, e.g.
    ``pass 67% · @3 yes · ^3 no · 3/3 distinct · sim 0.42``."""
    d = score.diversity
    parts = []
    if checks and score.all_pass_rate is not None:
        k = score.runs
        parts += [
            tr("scores.pass", rate=percent(score.all_pass_rate)),
            f"@{k} {_flag(score.pass_at_k, tr)}",
            f"^{k} {_flag(score.pass_all_k, tr)}",
        ]
    parts.append(tr("scores.distinct", distinct=d.distinct_outputs, outputs=d.outputs))
    if d.similarity is not None:
        parts.append(tr("scores.sim", value=f"{d.similarity:.2f}"))
    return " · ".join(parts)


def scores_html(
    scores: Sequence[RowScore], checks: Sequence[Check], tr: Translator = ENGLISH
) -> str:
    """The table as HTML (escaped; the report's and the dashboard's ``yl-scores``)."""
    if not scores:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers(scores, checks, tr))
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells(s, scores, checks, tr)) + "</tr>"
        for s in scores
    )
    legend = tr("scores.legend", method=tr.say(SIMILARITY_METHOD))
    return (
        f'<table class="yl-scores"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        f'<p class="yl-legend">{escape(legend)}</p>'
    )


def _has_inputs(scores: Sequence[RowScore]) -> bool:
    return any(s.input_index is not None for s in scores)


def _varies(scores: Sequence[RowScore], name: str) -> bool:
    return len({getattr(s, name) for s in scores}) > 1
