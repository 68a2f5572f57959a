"""The History tab: every experiment and run in the log, newest first, searchable.

Open an experiment (a table row, its id in the box, or ``/?experiment=ID``) to see
its grid again as it was; re-run it; diff two runs word by word; star and note a run.

Contract for other tabs: set ``HistoryTab.experiment_box`` to an experiment id (also
programmatically) and that experiment opens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

import gradio as gr
from gradio.context import get_render_context

from yilab.errors import BadInputError, YilabError
from yilab.experiment.checks import parse_checks
from yilab.experiment.scoring import score_rows
from yilab.i18n import ENGLISH
from yilab.render.grid import GridView, render_grid, view_from_runs
from yilab.render.history import (
    ANY,
    EXPERIMENT_HEADERS,
    RUN_HEADERS,
    experiment_headers,
    experiment_html,
    experiments_table,
    filter_choices,
    filter_values,
    grid_status,
    message_html,
    run_choices,
    run_headers,
    run_label,
    runs_table,
)
from yilab.render.scores import scores_html
from yilab.render.textdiff import render_diff_html
from yilab.service import FINISH_REASONS, STATUSES
from yilab.ui.common import readable_errors
from yilab.ui.compare import GENERATION, stream_grid
from yilab.ui.i18n import current, error_text, marked, refusal, said_by, t, tr
from yilab.ui.share_panel import build_share_panel

TABLE_LIMIT = 200
STAR, UNSTAR = ENGLISH("history.star"), ENGLISH("history.starred")  # as the API sees them


@dataclass
class HistoryTab:
    search: gr.Textbox
    model: gr.Dropdown
    temperature: gr.Dropdown
    finish: gr.Dropdown
    status: gr.Dropdown
    variable: gr.Textbox  # name=value: runs whose input row gave that value
    refresh: gr.Button
    experiments: gr.Dataframe
    runs: gr.Dataframe
    experiment_box: gr.Textbox  # set it (also programmatically) to open an experiment
    rerun: gr.Button
    summary: gr.HTML
    checks: gr.Textbox  # the open experiment's checks, editable
    rejudge: gr.Button
    grid: gr.HTML
    diff_a: gr.Dropdown
    diff_b: gr.Dropdown
    diff: gr.HTML
    run: gr.Dropdown  # the run that star and note apply to
    star: gr.Button
    note: gr.Textbox
    save_note: gr.Button
    log_banner: gr.HTML  # the run log's trouble (runs waiting in a spill) or a recovery


# -- pure shaping -------------------------------------------------------------


def log_banner(service) -> dict:
    """The banner at the top of History: runs that wait in a spill file because the run
    log could not be written (merged now if it can be), or runs just recovered."""
    notice = service.log_notice()
    if notice is None:
        return gr.update(value="", visible=False)
    kind, sentence = notice
    icon = "⚠" if kind == "warning" else "✓"
    sentence = current().say(sentence)
    html = f'<div class="yl-log-banner yl-log-{kind}" role="status">{icon} {escape(sentence)}</div>'
    return gr.update(value=html, visible=True)


def deep_link(request: gr.Request) -> tuple:
    """For ``demo.load``: ``/?experiment=ID`` selects the History tab and opens ID."""
    experiment_id = (request.query_params.get("experiment") or "").strip() if request else ""
    if not experiment_id:
        return gr.skip(), gr.skip()
    return gr.Tabs(selected="history"), experiment_id


def any_choice(values: list) -> list:
    """Filter choices with "any" in the reader's words (its value stays ``"any"``)."""
    return [(t("history.any"), ANY) if v == ANY else v for v in values]


def state_choices(states) -> list:
    """A filter's finish reasons or statuses, named in the reader's words."""
    return any_choice([ANY]) + [(t(f"state.{s}"), s) for s in states]


def shown_tables(experiments, ids, runs, keys) -> tuple:
    """:func:`load_tables`' rows as the two tables, their headings in the reader's language
    (Gradio does not translate a Dataframe's headers, and resets them to the build's on
    every plain update)."""
    return (
        gr.Dataframe(value=experiments, headers=experiment_headers(current())),
        ids,
        gr.Dataframe(value=runs, headers=run_headers(current())),
        keys,
    )


# -- layout ---------------------------------------------------------------------


def build_history_tab(service) -> HistoryTab:
    """Lay out the tab (inside a ``gr.Tab``) and wire it to ``service``."""
    banner = gr.HTML("", visible=False, elem_id="yl-history-log")
    with gr.Row(elem_classes="yl-hrow"):
        search = gr.Textbox(
            label=t("history.search"),
            placeholder=t("history.search_placeholder"),
            info=t("history.search_info"),
            scale=3,
            elem_id="yl-history-search",
        )
        model = gr.Dropdown(
            any_choice([ANY]),
            value=ANY,
            label=t("history.model"),
            allow_custom_value=True,
            scale=2,
            elem_id="yl-history-model",
        )
        temperature = gr.Dropdown(
            any_choice([ANY]),
            value=ANY,
            label=t("history.temperature"),
            allow_custom_value=True,
            min_width=90,
            elem_id="yl-history-temp",
        )
        finish = gr.Dropdown(
            state_choices(FINISH_REASONS),
            value=ANY,
            label=t("history.finish"),
            min_width=110,
            elem_id="yl-history-finish",
        )
        status = gr.Dropdown(
            state_choices(STATUSES),
            value=ANY,
            label=t("history.status"),
            min_width=110,
            elem_id="yl-history-status",
        )
        variable = gr.Textbox(
            label=t("history.input"),
            placeholder="name=value",
            min_width=120,
            elem_id="yl-history-var",
        )
        refresh = gr.Button(
            t("history.refresh"), scale=0, min_width=90, elem_id="yl-history-refresh"
        )
    with gr.Row():
        experiments = gr.Dataframe(
            headers=EXPERIMENT_HEADERS,  # in the reader's language from page load on
            label=t("history.experiments"),
            interactive=False,
            max_height=250,
            column_widths=["21%", "20%", "47%", "12%"],
            scale=2,
            elem_id="yl-history-experiments",
            elem_classes="yl-table",
        )
        runs = gr.Dataframe(
            headers=RUN_HEADERS,
            label=t("history.runs"),
            interactive=False,
            max_height=250,
            scale=4,
            column_widths=["3%", "9%", "9%", "6%", "6%", "7%", "7%", "7%", "34%", "12%"],
            elem_id="yl-history-runs",
            elem_classes="yl-table",
        )
    with gr.Row(elem_classes="yl-hrow"):
        experiment_box = gr.Textbox(
            label=t("history.experiment_id"),
            scale=4,
            elem_id="yl-history-experiment",
            placeholder=t("history.experiment_placeholder"),
        )
        rerun = gr.Button(
            t("history.rerun"), variant="primary", scale=0, min_width=110, elem_id="yl-rerun"
        )
    summary = gr.HTML(marked(message_html, "history.select"), elem_id="yl-history-summary")
    with gr.Row(elem_classes="yl-hrow"):
        checks = gr.Textbox(
            label=t("history.checks"),
            lines=1,
            max_lines=8,
            scale=4,
            placeholder="regex:^Paris",
            elem_id="yl-history-checks",
            elem_classes=["yl-mono"],
        )
        rejudge = gr.Button(
            t("history.rejudge"), scale=0, min_width=110, elem_id="yl-history-rejudge"
        )
    grid = gr.HTML(render_grid(GridView([])), elem_id="yl-history-grid")
    with gr.Row(elem_classes="yl-hrow"):
        run = gr.Dropdown(
            [],
            label=t("history.run_picker"),
            allow_custom_value=True,
            scale=2,
            elem_id="yl-history-run",
        )
        star = gr.Button(t("history.star"), scale=0, min_width=110, elem_id="yl-star")
        note = gr.Textbox(
            label=t("history.note"),
            placeholder=t("history.note_placeholder"),
            scale=3,
            elem_id="yl-note",
        )
        save_note = gr.Button(
            t("history.save_note"), scale=0, min_width=110, elem_id="yl-save-note"
        )
    with gr.Row(elem_classes="yl-hrow"):
        diff_a = gr.Dropdown(
            [], label=t("history.diff_a"), allow_custom_value=True, elem_id="yl-diff-a"
        )
        diff_b = gr.Dropdown(
            [], label=t("history.diff_b"), allow_custom_value=True, elem_id="yl-diff-b"
        )
    diff = gr.HTML("", elem_id="yl-diff")
    tab = HistoryTab(
        search=search,
        model=model,
        temperature=temperature,
        finish=finish,
        status=status,
        variable=variable,
        refresh=refresh,
        experiments=experiments,
        runs=runs,
        experiment_box=experiment_box,
        rerun=rerun,
        summary=summary,
        checks=checks,
        rejudge=rejudge,
        grid=grid,
        diff_a=diff_a,
        diff_b=diff_b,
        diff=diff,
        run=run,
        star=star,
        note=note,
        save_note=save_note,
        log_banner=banner,
    )
    _wire(tab, service, get_render_context())
    return tab


# -- handlers (service in, component values out) ------------------------------


@readable_errors
def load_tables(service, search, model, temperature, finish, status, variable="") -> tuple:
    """Both tables for the current search and filters, and the full ids behind their rows."""
    filters = filter_values(model, temperature, finish, status, variable)
    query = (search or "").strip() or None
    runs = service.list_runs(search=query, limit=TABLE_LIMIT, **filters)
    experiments = service.list_experiments(search=query, limit=TABLE_LIMIT)
    if any(value is not None for value in filters.values()):
        wanted = {run["experiment_id"] for run in runs}
        experiments = [e for e in experiments if e["id"] in wanted]
    run_keys = [(run["id"], run["experiment_id"]) for run in runs]
    return (
        experiments_table(experiments),
        [e["id"] for e in experiments],
        runs_table(runs, current()),
        run_keys,
    )


def load_choices(service) -> tuple:
    """The model and temperature filters' choices, from recent runs."""
    models, temps = filter_choices(service.list_runs(limit=500))
    return gr.Dropdown(choices=any_choice(models)), gr.Dropdown(choices=any_choice(temps))


def open_experiment(service, experiment_id: str | None, current_run: str | None = None) -> tuple:
    """Summary, grid, diff pickers (first two runs), their diff and the star/note picker.

    Errors show in the summary (this fires on every keystroke in the id box).
    """
    experiment_id = (experiment_id or "").strip()
    if not experiment_id:
        return _closed(message_html(tr("history.select")))
    try:
        experiment = service.get_experiment(experiment_id)
    except YilabError as err:
        return _closed(message_html(error_text(err), error=True))
    runs = experiment["runs"]
    choices, ids = run_choices(runs, current()), [r["id"] for r in runs]
    a, b = (ids + [None, None])[:2]
    checks = service.checks(experiment["id"])
    grid = judged_grid(service, experiment, checks)
    diff = _diff_html(runs[0], runs[1]) if len(runs) > 1 else ""
    picked = current_run if current_run in ids else a
    return (
        experiment_html(experiment, current()),
        "\n".join(c.spec() for c in checks),
        grid,
        gr.Dropdown(choices=choices, value=a),
        gr.Dropdown(choices=choices, value=b),
        diff,
        gr.Dropdown(choices=choices, value=picked),
    )


def _closed(summary: str) -> tuple:
    empty = gr.Dropdown(choices=[], value=None)
    return summary, "", render_grid(GridView([])), empty, empty, "", empty


def judged_grid(service, experiment: dict, checks) -> str:
    """An experiment's scores table (for more than one run) above its grid, as ``checks``
    judge it."""
    runs = experiment["runs"]
    logs = service.token_logs([r["id"] for r in runs])
    tr_ = current()
    table = scores_html(score_rows(runs, checks), checks, tr_) if len(runs) > 1 else ""
    status = grid_status(runs, tr_)
    view = view_from_runs(runs, status=status, logs=logs, checks=checks, tr=tr_)
    return table + render_grid(view)


@readable_errors
def rejudge_experiment(service, experiment_id: str | None, text: str | None) -> str:
    """Store the edited checks with the open experiment and judge its runs again (nothing
    is generated): the new scores table and grid."""
    experiment_id = (experiment_id or "").strip()
    if not experiment_id:
        raise BadInputError(tr("history.open_first"))
    checks = service.set_checks(experiment_id, parse_checks(text or ""))
    return judged_grid(service, service.get_experiment(experiment_id), checks)


def _diff_html(a: dict, b: dict) -> str:
    labels = (run_label(a, current()), run_label(b, current()))
    return render_diff_html(
        a.get("output") or "", b.get("output") or "", labels=labels, tr=current()
    )


@readable_errors
def diff_runs(service, run_a: str | None, run_b: str | None) -> str:
    """The word diff of two runs (ids or prefixes), side by side."""
    if not run_a or not run_b:
        raise BadInputError(tr("history.pick_two"))
    return _diff_html(service.get_run(run_a), service.get_run(run_b))


@readable_errors
def pick_run(service, run_id: str | None) -> tuple:
    """The picked run's note and the star button's label."""
    if not run_id:
        return "", tr("history.star")
    run = service.get_run(run_id)
    return run.get("note") or "", tr("history.starred" if run.get("starred") else "history.star")


@readable_errors
def toggle_star(service, run_id: str | None, *filters) -> tuple:
    """Star or unstar a run; returns the button's new label and the refreshed tables."""
    run = service.get_run(_need(run_id))
    service.set_star(run["id"], not run["starred"])
    label = tr("history.star" if run["starred"] else "history.starred")
    return (label, *load_tables(service, *filters))


@readable_errors
def save_note(service, run_id: str | None, note: str | None, *filters) -> tuple:
    """Save a run's note; returns the refreshed tables."""
    service.set_note(_need(run_id), (note or "").strip())
    gr.Info(tr("history.note_saved"))
    return load_tables(service, *filters)


def _need(run_id: str | None) -> str:
    if not run_id:
        raise BadInputError(tr("history.pick_run"))
    return run_id


def rerun_experiment(service, experiment_id: str | None, progress) -> Iterator[tuple]:
    """Stream the re-run's grid; the last yield puts its new experiment id in the box."""
    experiment_id = (experiment_id or "").strip()
    if not experiment_id:
        raise refusal(tr("history.rerun_first"))
    try:
        sweep = service.rerun(experiment_id, progress=said_by(progress))
    except YilabError as err:
        raise refusal(error_text(err)) from None
    for html in stream_grid(sweep):
        yield html, gr.skip()
    yield gr.skip(), sweep.experiment_id


def _wire(tab: HistoryTab, service, parent) -> None:
    exp_ids = gr.State([])  # full ids behind the experiments table's rows
    run_keys = gr.State([])  # (run id, experiment id) behind the runs table's rows
    filters = [tab.search, tab.model, tab.temperature, tab.finish, tab.status, tab.variable]
    tables = [tab.experiments, exp_ids, tab.runs, run_keys]
    quiet = {"api_visibility": "private"}
    shown = [parent.select] if isinstance(parent, gr.Tab) else []

    def reload(*values):
        banner = log_banner(service)  # first: it merges runs waiting in a spill, if it can
        return *shown_tables(*load_tables(service, *values)), *load_choices(service), banner

    def refresh(*values):
        return shown_tables(*load_tables(service, *values))

    reloaded = [*tables, tab.model, tab.temperature, tab.log_banner]
    gr.on(None, lambda: reload("", ANY, ANY, ANY, ANY, ""), outputs=reloaded, **quiet)  # page load
    gr.on([tab.refresh.click, *shown], reload, filters, reloaded, **quiet)
    edited = [tab.search.submit, tab.variable.submit, *(f.input for f in filters[1:-1])]
    gr.on(edited, refresh, filters, tables, **quiet)
    tab.experiments.select(_row_experiment, exp_ids, tab.experiment_box, **quiet)
    tab.runs.select(_row_run, run_keys, [tab.experiment_box, tab.run], **quiet)
    tab.experiment_box.change(
        lambda e, r: open_experiment(service, e, r),
        [tab.experiment_box, tab.run],
        [tab.summary, tab.checks, tab.grid, tab.diff_a, tab.diff_b, tab.diff, tab.run],
        **quiet,
    )
    gr.on(
        [tab.diff_a.input, tab.diff_b.input],
        lambda a, b: diff_runs(service, a, b),
        [tab.diff_a, tab.diff_b],
        tab.diff,
        **quiet,
    )
    tab.run.change(lambda r: pick_run(service, r), tab.run, [tab.note, tab.star], **quiet)
    tab.rejudge.click(
        lambda e, c: rejudge_experiment(service, e, c),
        [tab.experiment_box, tab.checks],
        tab.grid,
        **quiet,
    )

    def star(run_id, *values):
        label, *rows = toggle_star(service, run_id, *values)
        return label, *shown_tables(*rows)

    tab.star.click(star, [tab.run, *filters], [tab.star, *tables], **quiet)
    tab.save_note.click(
        lambda r, n, *f: shown_tables(*save_note(service, r, n, *f)),
        [tab.run, tab.note, *filters],
        tables,
        **quiet,
    )

    def rerun(experiment_id, progress=gr.Progress()):
        yield from rerun_experiment(service, experiment_id, progress)

    tab.rerun.click(
        rerun,
        tab.experiment_box,
        [tab.grid, tab.experiment_box],
        **GENERATION,
        **quiet,
    ).then(refresh, filters, tables, **quiet)
    # the Share accordion lays out here, at the tab's foot; an import reloads the tables
    build_share_panel(
        service,
        experiment_box=tab.experiment_box,
        search=tab.search,
        refresh={"fn": reload, "inputs": filters, "outputs": reloaded},
    )


def _row_experiment(ids: list[str], evt: gr.SelectData) -> str:
    return ids[evt.index[0]] if evt.index[0] < len(ids) else gr.skip()


def _row_run(keys: list[tuple[str, str]], evt: gr.SelectData) -> tuple:
    if evt.index[0] >= len(keys):
        return gr.skip(), gr.skip()
    run_id, experiment_id = keys[evt.index[0]]
    return experiment_id, run_id
