"""Pure: the compare grid's state, fed by sweep events, rendered as escaped HTML.

Model output is always text: every string that reaches the page goes through
``html.escape`` here, so an output like ``<img src=x onerror=alert(1)>`` shows as
those characters and never runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape

from yilab.events import Finished, Loading, Queued, Started, Token
from yilab.experiment.checks import Check, Verdict
from yilab.experiment.forks import Fork, find_forks
from yilab.experiment.scoring import ROW_KEYS, RowScore, row_key, score_rows, verdicts
from yilab.experiment.sweep import CellSettings
from yilab.experiment.token_log import TokenLog
from yilab.experiment.turn_end import MissedTurnEnd, missed_turn_end
from yilab.experiment.variables import section_label
from yilab.i18n import ENGLISH, Translator, said_state
from yilab.i18n.stored import recognize
from yilab.render.scores import row_summary
from yilab.render.tokens import (
    fork_marked_text,
    probability_view,
    shade_switch,
    turn_end_html,
)

TURN_END_MARKERS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "</s>")


@dataclass
class CellView:
    settings: CellSettings
    text: str = ""
    tokens: int = 0
    state: str = "waiting"  # waiting, running, stop, length, cancelled, error
    tps: float | None = None
    ttft_s: float | None = None
    error: str | None = None
    run_id: str | None = None
    token_log: TokenLog | None = None  # each token's probabilities, once finished
    stop_ids: list[int] = field(default_factory=list)  # the stop set in force
    values: dict[str, str] | None = None  # its input row's values (None without inputs)

    def as_run(self) -> dict:
        """The cell as the run log would hold it, for :mod:`yilab.experiment.scoring`."""
        s = self.settings
        return {
            "cell_index": s.index,
            "status": "done" if self.state in ("stop", "length") else self.state,
            "output": self.text,
            "finish_reason": self.state,
            "vars_json": None if self.values is None else json.dumps(self.values),
            **{k: getattr(s, k) for k in ROW_KEYS},
        }


@dataclass
class GridView:
    """Everything the grid shows, updated event by event."""

    cells: list[CellView]
    status: str = ""
    same_as: dict[int, int] = field(default_factory=dict)
    engine: str = "single"
    log_warning: str = ""  # the run log could not be written: where the runs went
    forks: dict[int, Fork] = field(default_factory=dict)  # cell → where it parts from its row
    # The sweep is over: probability views render only then, since they are large (~1 kB a
    # token) and the grid is re-sent whole up to ten times a second while it streams.
    settled: bool = False
    checks: tuple[Check, ...] = ()  # how outputs are judged (scores render once settled)
    tr: Translator = ENGLISH  # the reader's language, for every word the grid writes

    @classmethod
    def for_cells(
        cls,
        cells: list[CellSettings],
        engine: str = "single",
        *,
        inputs: tuple[dict, ...] = (),
        checks: tuple[Check, ...] = (),
        tr: Translator = ENGLISH,
    ) -> GridView:
        views = [
            CellView(c, values=None if c.input_index is None else dict(inputs[c.input_index]))
            for c in cells
        ]
        return cls(views, tr("grid.starting"), engine=engine, checks=tuple(checks), tr=tr)

    def scores(self) -> list[RowScore]:
        """Each grid row's pass rates and diversity (see :func:`score_rows`)."""
        return score_rows([c.as_run() for c in self.cells], self.checks)

    def apply(self, event, run_ids: dict[int, str] | None = None) -> None:
        """Fold one worker event into the view; ``run_ids`` maps cells to logged runs."""
        cell_index = getattr(event, "cell", None)
        if run_ids and cell_index in run_ids:
            self.cells[cell_index].run_id = run_ids[cell_index]
        if isinstance(event, Queued):
            self.status = self.tr("grid.queued", n=event.position)
        elif isinstance(event, Loading):
            self.status = (
                self.tr("grid.loading", model=event.model) if event.model else event.message
            )
        elif isinstance(event, Started):
            self.cells[event.cell].state = "running"
            self.cells[event.cell].stop_ids = list(event.stop_token_ids)
            self.status = self.tr("grid.running", cell=event.cell + 1, n=len(self.cells))
        elif isinstance(event, Token):
            cell = self.cells[event.cell]
            cell.text += event.text
            cell.tokens = event.generation_tokens
        elif isinstance(event, Finished):
            self._finish(self.cells[event.cell], event.result)

    def _finish(self, cell: CellView, result) -> None:
        cell.state = result.finish_reason
        cell.text = result.text
        cell.tokens = result.generation_tokens
        cell.tps, cell.ttft_s, cell.error = result.generation_tps, result.ttft_s, result.error
        cell.token_log = result.token_log
        cell.stop_ids = list(result.stop_token_ids) or cell.stop_ids
        self.same_as = find_duplicates(self.cells)
        self.forks = row_forks(self.cells)

    def done(self) -> None:
        self.settled = True
        self.status = self.tr(
            "grid.done", counts=state_counts([c.state for c in self.cells], self.tr)
        )


def state_counts(states: list[str], tr: Translator = ENGLISH) -> str:
    """``["stop", "length", "stop"]`` → ``"2 stop, 1 length"`` (in order of first sight)."""
    counts = {s: states.count(s) for s in dict.fromkeys(states)}
    return tr("grid.list_sep").join(f"{n} {state_name(s, tr)}" for s, n in counts.items())


def state_name(state: str, tr: Translator = ENGLISH) -> str:
    """A finish reason or status in the reader's words (unknown ones as they are)."""
    key = f"state.{state}"
    try:
        return tr(key)
    except KeyError:
        return state


def view_from_runs(
    runs: list[dict],
    status: str = "",
    logs: dict[str, TokenLog] | None = None,
    checks: tuple[Check, ...] = (),
    tr: Translator = ENGLISH,
) -> GridView:
    """An experiment's grid again, as it was, from its logged runs (in cell order) and
    their token logs by run id (``logs``; a run without one shows as before), judged by
    ``checks`` (the experiment's, as they stand now)."""
    cells, logs = [], logs or {}
    for i, run in enumerate(runs):
        settings = CellSettings(
            index=i,
            model=run.get("model") or "",
            temperature=run["temperature"],
            seed=run["seed"],
            top_p=run["top_p"] if run.get("top_p") is not None else 1.0,
            max_tokens=run["max_tokens"],
            input_index=run.get("input_index"),
        )
        cells.append(
            CellView(
                settings,
                text=run.get("output") or "",
                tokens=run.get("generation_tokens") or 0,
                state=run.get("finish_reason") or run.get("status") or "waiting",
                tps=run.get("generation_tps"),
                ttft_s=run.get("ttft_s"),
                error=recognize(run.get("error")),  # said again in the reader's words
                run_id=run.get("id"),
                token_log=logs.get(run.get("id") or ""),
                stop_ids=_ids(run.get("stop_token_ids_json")),
                values=json.loads(run["vars_json"]) if run.get("vars_json") else None,
            )
        )
    engine = (runs[0].get("engine_mode") if runs else None) or "single"
    view = GridView(cells, status=status, engine=engine, settled=True, checks=tuple(checks), tr=tr)
    view.same_as = find_duplicates(cells)
    view.forks = row_forks(cells)
    return view


def row_forks(cells: list[CellView]) -> dict[int, Fork]:
    """Where each finished cell with a token log parts from the others of its grid row
    (same settings, another seed): cell index → :class:`Fork` (sibling ids are indexes)."""
    runs, logs = [], {}
    for i, cell in enumerate(cells):
        if cell.token_log is not None and cell.state not in ("waiting", "running"):
            s = cell.settings
            runs.append(
                {
                    "id": str(i),
                    "model": s.model,
                    "temperature": s.temperature,
                    "seed": s.seed,
                    "top_p": s.top_p,
                    "max_tokens": s.max_tokens,
                    "stop_token_ids_json": tuple(cell.stop_ids),
                }
            )
            logs[str(i)] = cell.token_log
    return {int(i): fork for i, fork in find_forks(runs, logs, vary="seed").items()}


def _ids(text: str | None) -> list[int]:
    """A ``*_json`` list of token ids, or [] when missing or unreadable."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [int(v) for v in value if isinstance(v, int)] if isinstance(value, list) else []


def find_duplicates(cells: list[CellView]) -> dict[int, int]:
    """Finished cells whose output equals an earlier cell's: index → first index."""
    first: dict[str, int] = {}
    same: dict[int, int] = {}
    for i, cell in enumerate(cells):
        if cell.state in ("stop", "length") and cell.text:
            same[i] = first.setdefault(cell.text, i)
    return {i: j for i, j in same.items() if i != j}


def runs_off_the_end(cell: CellView) -> bool:
    """A ``length`` finish whose text shows a turn-end token: the model probably doesn't stop."""
    return cell.state == "length" and any(m in cell.text for m in TURN_END_MARKERS)


def render_grid(view: GridView, *, actions: bool = False, report: bool = False) -> str:
    """The grid as HTML: rows are temperatures, columns seeds (other axes label the cards).
    With ``actions``, finished cards get copy / replay / history / diff buttons and their
    probability tips offer to branch. Cards with a token log get a "probs" toggle and the
    grid a "shade by" switch; with ``report`` these carry no inline handlers (the report's
    script wires them) and the turn-end note links nowhere."""
    seeds = list(dict.fromkeys(c.settings.seed for c in view.cells))
    columns = max(1, min(len(seeds), 4))
    cards = _rows_html(view, actions, report)
    engine = (
        f'<span class="yl-engine">{escape(view.tr("grid.engine", engine=view.tr.say(said_state(view.engine))))}</span>'
        if view.cells
        else ""
    )
    if view.settled and any(c.token_log is not None for c in view.cells):
        engine += shade_switch(handlers=not report, tr=view.tr)
    warning = (
        f'<div class="yl-log-warning" role="alert">⚠ {escape(view.tr.say(view.log_warning))}</div>'
        if view.log_warning
        else ""
    )
    return (
        f'<div class="yl-status">{escape(view.status)}{engine}</div>{warning}'
        f'<div class="yl-grid" style="grid-template-columns: repeat({columns}, minmax(0, 1fr))">'
        f"{cards}</div>"
    )


def _rows_html(view: GridView, actions: bool, report: bool) -> str:
    """The cards, grouped: a heading per input row (section) and per grid row (the cells
    that differ only by seed), the row's scores beside it once the sweep is over."""
    scores = view.scores() if view.settled and view.cells else []
    by_row = {row_key(s): s for s in scores}
    rows: dict[tuple, list[int]] = {}
    for i, cell in enumerate(view.cells):
        rows.setdefault(row_key(cell.settings), []).append(i)
    sections = len({key[0] for key in rows}) > 1 or any(key[0] is not None for key in rows)
    out, section = [], object()
    for key, members in rows.items():
        first = view.cells[members[0]]
        if sections and key[0] != section:
            section = key[0]
            label = section_label(first.values or {}, width=120)
            heading = view.tr("grid.section", n=section + 1, label=label)
            out.append(f'<div class="yl-section" data-input="{section}">{escape(heading)}</div>')
        out.append(_row_head(first.settings, view, by_row.get(key)))
        out += [_card(i, view.cells[i], view, actions, report) for i in members]
    return "".join(out)


def _row_head(settings: CellSettings, view: GridView, score: RowScore | None) -> str:
    label = [f"T={settings.temperature:g}"]
    if len({c.settings.top_p for c in view.cells}) > 1:
        label.append(f"top_p {settings.top_p:g}")
    if len({c.settings.max_tokens for c in view.cells}) > 1:
        label.append(view.tr("grid.max", n=settings.max_tokens))
    if len({c.settings.model for c in view.cells}) > 1:
        label.append(_model_name(settings.model, view.tr))
    summary = (
        f'<span class="yl-row-score">{escape(row_summary(score, view.checks, view.tr))}</span>'
        if score is not None and score.runs
        else ""
    )
    return f'<div class="yl-row-head"><b>{escape(" · ".join(label))}</b>{summary}</div>'


def _model_name(model: str, tr: Translator = ENGLISH) -> str:
    return model.rstrip("/").rsplit("/", 1)[-1] or tr("grid.default_model")


def _checks_html(cell: CellView, checks: tuple[Check, ...], tr: Translator = ENGLISH) -> str:
    """A finished card's verdict per check: ✓ / ✗ / – with the reason on hover."""
    found: dict[str, Verdict] = verdicts(checks, cell.as_run()) if checks else {}
    if not found:
        return ""
    marks = {True: ("✓", "pass"), False: ("✗", "fail"), None: ("–", "na")}
    badges = "".join(
        f'<span class="yl-check yl-check-{marks[v.passed][1]}" title="{escape(tr.say(v.detail))}">'
        f"{marks[v.passed][0]} {escape(name)}</span>"
        for name, v in found.items()
    )
    return f'<div class="yl-checks">{badges}</div>'


def cell_label(settings: CellSettings, tr: Translator = ENGLISH) -> str:
    """``T=0.7 · seed 1`` (``T=0.7 · 种子 1`` in Chinese)."""
    return f"T={settings.temperature:g} · {tr('grid.seed', seed=settings.seed)}"


# Buttons call yilabCard() (assets/cards.js): it reads the card's data-run itself, so no
# data is ever interpolated into JavaScript. Names and tips are in the reader's language;
# data-act (what the button does) is not.
_ACTIONS = ("copy", "replay", "history", "diff")


def _buttons(cell: CellView, view: GridView, actions: bool, report: bool) -> str:
    kinds = ["probs"] if cell.token_log is not None and view.settled else []
    if actions and cell.state not in ("waiting", "running") and cell.run_id:
        kinds += _ACTIONS
    handler = "" if report else ' onclick="yilabCard(this)"'
    copy = (
        f' data-done="{escape(view.tr("grid.copied"))}"'
        f' data-failed="{escape(view.tr("grid.copy_failed"))}"'
    )
    buttons = "".join(
        f'<button type="button" class="yl-act" data-act="{kind}"'
        f' title="{escape(view.tr(f"grid.act_{kind}"))}"{copy if kind == "copy" else ""}'
        f"{handler}>{escape(view.tr(f'grid.btn_{kind}'))}</button>"
        for kind in kinds
    )
    return f'<div class="yl-actions">{buttons}</div>' if buttons else ""


def _card(index: int, cell: CellView, view: GridView, actions: bool, report: bool) -> str:
    s, tr = cell.settings, view.tr
    title = cell_label(s, tr)
    extras = []
    if s.top_p != 1.0:
        extras.append(f"top_p {s.top_p:g}")
    extras.append(tr("grid.max", n=s.max_tokens))
    if len({c.settings.model for c in view.cells}) > 1:  # name the model only when it varies
        extras.append(_model_name(s.model, tr))
    notes = []
    if s.greedy:
        notes.append(tr("grid.greedy"))
    if index in view.same_as:
        other = view.cells[view.same_as[index]].settings
        notes.append(tr("grid.same_as", temperature=f"{other.temperature:g}", seed=other.seed))
    log = cell.token_log
    missed = missed_turn_end(log, cell.stop_ids, cell.state) if log else None
    if runs_off_the_end(cell) and missed is None:
        notes.append(tr("grid.no_stop"))
    return (
        f'<div class="yl-card yl-{escape(cell.state)}" data-cell="{index}"'
        f' data-run="{escape(cell.run_id or "")}">'
        f'<div class="yl-head"><span class="yl-title">{escape(title)}</span>'
        f'<span class="yl-badge yl-badge-{escape(cell.state)}">'
        f"{escape(state_name(cell.state, tr))}</span></div>"
        f'<div class="yl-sub">{escape(" · ".join(extras))}</div>'
        f'<pre class="yl-out">{_body(index, cell, view)}</pre>'
        + _token_parts(
            cell, view.settled, missed, branch=actions and not report, link=not report, tr=tr
        )
        + (_checks_html(cell, view.checks, view.tr) if view.settled else "")
        + f'<div class="yl-metrics">{escape(_metrics(cell, tr))}</div>'
        + "".join(f'<div class="yl-note">{escape(n)}</div>' for n in notes)
        + _buttons(cell, view, actions, report)
        + "</div>"
    )


def _body(index: int, cell: CellView, view: GridView) -> str:
    """The plain output, escaped; with its fork from the row marked when it has one."""
    fork = view.forks.get(index)
    if cell.error:
        return escape(view.tr.say(cell.error))
    if fork is None:
        return escape(cell.text)
    labels = {str(j): view.tr("grid.seed", seed=c.settings.seed) for j, c in enumerate(view.cells)}
    return fork_marked_text(cell.text, fork, labels, view.tr)


def _token_parts(
    cell: CellView,
    settled: bool,
    missed: MissedTurnEnd | None,
    *,
    branch: bool,
    link: bool,
    tr: Translator = ENGLISH,
) -> str:
    """A card's turn-end track and, once the sweep is over, its probability view (hidden
    until "probs"), if it has a log."""
    if cell.token_log is None:
        return ""
    track = turn_end_html(cell.token_log, cell.stop_ids, missed, link=link, tr=tr)
    if not settled:
        return track
    branch = branch and bool(cell.run_id)
    view = probability_view(cell.token_log, greedy=cell.settings.greedy, branch=branch, tr=tr)
    return view + track


def _metrics(cell: CellView, tr: Translator = ENGLISH) -> str:
    parts = [tr("grid.tokens", n=cell.tokens)]
    if cell.tps is not None:
        parts.append(f"{cell.tps:.1f} tok/s")
    if cell.ttft_s is not None:
        parts.append(f"TTFT {cell.ttft_s:.2f} s")
    return " · ".join(parts)
