"""Per-card actions in the compare grid: replay, diff against another card, open in History.

Card buttons (assets/cards.js) write ``"<action>:<run id>:<nonce>"`` into a hidden textbox
and click a hidden button; the handlers here read it. Copy never leaves the browser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

import gradio as gr

from yilab.errors import YilabError
from yilab.render.grid import CellView, cell_label, render_grid, view_from_runs
from yilab.render.textdiff import render_diff_html
from yilab.ui.common import follow_sweep
from yilab.ui.i18n import current, error_text, refusal, t, tr


@dataclass
class CardPanel:
    action: gr.Textbox
    go: gr.Button
    html: gr.HTML
    diff_against: gr.Dropdown


def build_card_panel() -> CardPanel:
    """The hidden action bridge and the panel under the grid that shows a card's result."""
    action = gr.Textbox(elem_id="yl-card-action", elem_classes=["yl-hidden"], show_label=False)
    go = gr.Button("go", elem_id="yl-card-go", elem_classes=["yl-hidden"])
    diff_against = gr.Dropdown(
        label=t("cards.diff_against"), choices=[], visible=False, elem_id="yl-diff-against"
    )
    html = gr.HTML("", elem_id="yl-card-panel")
    return CardPanel(action, go, html, diff_against)


def parse_action(value: str) -> tuple[str, str]:
    """``"replay:abc-123:1700000000"`` → ``("replay", "abc-123")``."""
    kind, _, rest = (value or "").partition(":")
    return kind, rest.split(":")[0]


def parse_branch(value: str) -> tuple[str, int, int]:
    """``"branch:abc-123:6:291:1700000000"`` → ``("abc-123", 6, 291)``: the run, the
    position and the token id chosen there."""
    parts = (value or "").split(":")
    try:
        return parts[1], int(parts[2]), int(parts[3])
    except (IndexError, ValueError):
        raise refusal(tr("cards.not_branch", value=repr(value))) from None


def branch_panel(service, value: str, state: dict):
    """Start a branch of a card and stream it beside its parent (panel HTML, dropdown)."""
    run_id, position, token = parse_branch(value)
    hidden = gr.update(visible=False)
    try:
        parent, log = service.get_run(run_id), service.token_log(run_id)
        sweep = service.branch(run_id, position, token)
    except YilabError as err:
        yield notice_html(error_text(err), kind="error"), hidden
        return
    state["branch"] = sweep
    head = notice_html(
        tr(
            "cards.branch_head",
            cell=cell_title(parent),
            position=position + 1,
            chosen=repr(log.piece(token)),
            drawn=repr(log.piece(log.steps[position].token)),
        )
    )
    for html in stream_beside(parent, log, sweep):
        yield head + html, hidden


def wire_card_panel(panel: CardPanel, service, session: gr.State, generation: dict) -> None:
    def on_action(value: str, state: dict):
        kind, run_id = parse_action(value)
        if kind == "replay":
            yield notice_html(tr("cards.replaying", run=run_id[:8])), gr.update(visible=False)
            yield replay_html(service, run_id), gr.update(visible=False)
        elif kind == "branch":
            yield from branch_panel(service, value, state)
        elif kind == "diff":
            state["diff_base"] = run_id
            choices = other_cells(state.get("view"), run_id)
            first = choices[0][1] if choices else None
            yield (
                diff_html(service, run_id, first),
                gr.update(choices=choices, value=first, visible=bool(choices)),
            )

    panel.go.click(
        on_action,
        inputs=[panel.action, session],
        outputs=[panel.html, panel.diff_against],
        api_visibility="private",
        **generation,
    )
    panel.diff_against.input(
        lambda other, state: diff_html(service, state.get("diff_base"), other),
        inputs=[panel.diff_against, session],
        outputs=panel.html,
        api_visibility="private",
    )


def open_in_history(service, value: str) -> tuple:
    """For a card's "history" button: select the History tab with the run's experiment."""
    kind, run_id = parse_action(value)
    if kind != "history":
        return gr.skip(), gr.skip()
    try:
        experiment_id = service.get_run(run_id)["experiment_id"]
    except YilabError as err:
        raise refusal(error_text(err)) from None
    return gr.Tabs(selected="history"), experiment_id


def open_in_tokenizer(service, value: str) -> tuple:
    """For a card's "turn end" link: select the Tokenizer tab with the run's model."""
    kind, run_id = parse_action(value)
    if kind != "tokenizer":
        return gr.skip(), gr.skip()
    try:
        run = service.get_run(run_id)
    except YilabError as err:
        raise refusal(error_text(err)) from None
    return gr.Tabs(selected="tokenizer"), run.get("model_path") or run["model"]


def when_asked(kind: str, fn, outputs: int):
    """``fn`` for the card action ``kind`` only (its first input is the action); else
    nothing changes."""

    def handler(value: str, *args):
        if parse_action(value)[0] != kind:
            return tuple(gr.skip() for _ in range(outputs))
        return fn(*args)

    return handler


def other_cells(view, run_id: str) -> list[tuple[str, str]]:
    """(label, run id) of the other finished cards of the grid."""
    if view is None:
        return []
    return [
        (cell_label(c.settings, current()), c.run_id)
        for c in view.cells
        if c.run_id and c.run_id != run_id and c.state not in ("waiting", "running")
    ]


def replay_html(service, run_id: str) -> str:
    try:
        replay = service.replay(run_id)
    except YilabError as err:
        return notice_html(error_text(err), kind="error")
    verdict = tr("cards.identical" if replay.identical else "cards.different")
    head = tr("cards.replay_head", run=run_id[:8], new=replay.new["id"][:8], verdict=verdict)
    if replay.identical:
        return notice_html(head, kind="ok")
    return notice_html(head, kind="warn") + render_diff_html(
        replay.original["output"] or "", replay.new["output"] or "", tr=current()
    )


def diff_html(service, base: str | None, other: str | None) -> str:
    if not base or not other:
        return notice_html(tr("cards.no_other"))
    try:
        a, b = service.get_run(base), service.get_run(other)
    except YilabError as err:
        return notice_html(error_text(err), kind="error")
    title = tr("cards.vs", a=cell_title(a), b=cell_title(b))
    return notice_html(title) + render_diff_html(a["output"] or "", b["output"] or "", tr=current())


def cell_title(run: dict) -> str:
    """``T=0.7 · seed 1`` for a logged run (``T=0.7 · 种子 1`` in Chinese)."""
    return f"T={run['temperature']:g} · {tr('grid.seed', seed=run['seed'])}"


def stream_beside(parent: dict, parent_log, sweep) -> Iterator[str]:
    """A two-card grid, ``parent`` then the sweep's one run, after each event (the branch's
    card streams in; at the end both show their token records and where they part)."""
    logs = {parent["id"]: parent_log} if parent_log else None
    view = view_from_runs([parent], logs=logs, tr=current())
    # the same model, named as the parent's card names it, so the two form one row
    view.cells.append(
        CellView(dataclasses.replace(sweep.cells[0], model=view.cells[0].settings.model))
    )
    for frame in follow_sweep(sweep, view=view):
        yield render_grid(frame, actions=True)


def notice_html(message: str, *, kind: str = "info") -> str:
    return f'<div class="yl-notice yl-notice-{kind}">{escape(message)}</div>'


def warning_html(message: str) -> str:
    return notice_html(tr("compare.no_stop_warning", message=message), kind="warn")
