"""The Plots tab: Gradio's native plots over the run log.

Per experiment: output length by temperature (colored by finish reason), tokens/s
per cell, and against temperature the share of runs passing every check and the
outputs' diversity (distinct-2), one line per input. Across history: tokens/s by
model over time. The frames are built by pure
functions; the handlers only fetch runs and hand frames to the plots.

Times go to the browser as true instants (UTC) and Vega-Lite shows them in the browser's
local time. Its default time labels print only the finest changing unit: ``.800`` for a
tick 800 ms past a second, ``09 AM`` with no day. So the time axis gets its own format
(``Dec 1 14:05``) and limits at least two hours wide (a sweep's runs are seconds apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

import gradio as gr
import pandas as pd
from gradio.context import get_render_context

from yilab.errors import YilabError
from yilab.experiment.scoring import RowScore
from yilab.i18n import ENGLISH, Translator, said_state
from yilab.render.text import short_time, snippet
from yilab.ui.i18n import current as reader_language
from yilab.ui.i18n import error_text, refusal, t, tr

EXPERIMENT_LIMIT = 50
HISTORY_LIMIT = 1000
EXPERIMENT_COLUMNS = ["cell", "T", "seed", "finish", "tokens", "tok/s"]
HISTORY_COLUMNS = ["time", "model", "tok/s", "tokens", "finish"]
SCORE_COLUMNS = ["T", "input", "pass %", "distinct-2", "similarity", "runs"]
# A column's name where the reader sees it (axis titles, legends, tooltips): the frames keep
# these English names, and each plot update renames them (``shown``) and says which
# column goes where (``fields``), in the reader's words.
COLUMN_KEYS = {
    "cell": "plots.col_cell",
    "T": "plots.col_t",
    "seed": "plots.col_seed",
    "finish": "plots.col_finish",
    "tokens": "plots.col_tokens",
    "tok/s": "plots.col_tps",
    "time": "plots.col_time",
    "model": "plots.col_model",
    "input": "plots.col_input",
    "pass %": "plots.col_pass",
    "distinct-2": "plots.col_distinct_2",
    "similarity": "plots.col_similarity",
    "runs": "plots.col_runs",
}
FINISH_COLORS = {
    "stop": "#16a34a",
    "length": "#d97706",
    "cancelled": "#6b7280",
    "error": "#dc2626",
    "interrupted": "#7c3aed",
    "running": "#2563eb",
}
# d3 time formats (Vega-Lite reads the axis format of a datetime column as one)
# (English; each catalog has its own: plots.minute_format, plots.day_format)
MINUTE_FORMAT = "%b %-d %H:%M"  # Dec 1 14:05
DAY_FORMAT = "%b %-d, %Y"  # Dec 1, 2026
MIN_TIME_SPAN_S = 2 * 3600.0  # ticks 5 or 10 minutes apart, labels with room between
# Vega-Lite puts a tick every ~40 px; past this span even a 2,000 px wide plot puts its
# ticks a day or more apart, so the hour can go.
DAY_FORMAT_SPAN_S = 60 * 86400.0
TIME_MARGIN = 0.03  # of the span, each side, so that points at the ends aren't cut in half


@dataclass
class PlotsTab:
    experiment: gr.Dropdown
    refresh: gr.Button
    length: gr.ScatterPlot
    speed: gr.BarPlot
    passing: gr.LinePlot
    diversity: gr.LinePlot
    history: gr.ScatterPlot


@dataclass(frozen=True)
class TimeAxis:
    """A datetime x axis: limits in epoch seconds (as ``x_lim`` takes them), tick format."""

    lim: list[float] | None
    format: str


def experiment_frame(runs: list[dict], tr: Translator = ENGLISH) -> pd.DataFrame:
    """One row per cell: its label, temperature, seed, finish (in the reader's words),
    tokens and tokens/s.

    ``experiment_frame([{"temperature": 0.7, "seed": 1, "finish_reason": "stop",
    "generation_tokens": 12, "generation_tps": 30.5}])`` has one row
    ``["T=0.7 · seed 1", "0.7", 1, "stop", 12, 30.5]`` (T is a category: a sweep's few values).
    """
    labels = unique_labels([_cell_label(run) for run in runs])
    rows = [
        [
            label,
            f"{run['temperature']:g}",
            run["seed"],
            tr.say(said_state(run.get("finish_reason") or run.get("status") or "?")),
            run.get("generation_tokens") or 0,
            run.get("generation_tps"),
        ]
        for label, run in zip(labels, runs, strict=True)
    ]
    return pd.DataFrame(rows, columns=EXPERIMENT_COLUMNS)


def scores_frame(scores: list[RowScore]) -> pd.DataFrame:
    """One row per grid row: temperature, its line (the input, and the model or top_p when
    they vary), the share passing every check (%), distinct-2, similarity and runs.

    Rows with no finished run are left out; ``pass %`` is empty without checks.
    """
    vary_model = len({s.model for s in scores}) > 1
    vary_top_p = len({s.top_p for s in scores}) > 1
    vary_max = len({s.max_tokens for s in scores}) > 1
    rows = []
    for score in scores:
        if not score.runs:
            continue
        line = [score.label] if score.input_index is not None else []
        line += [score.model.rstrip("/").rsplit("/", 1)[-1]] if vary_model else []
        line += [f"top_p {score.top_p:g}"] if vary_top_p else []
        line += [tr("grid.max", n=score.max_tokens)] if vary_max else []
        rate = score.all_pass_rate
        rows.append(
            [
                score.temperature,
                " · ".join(line) or tr("plots.all"),
                None if rate is None else round(100 * rate, 1),
                score.diversity.distinct_2,
                score.diversity.similarity,
                score.runs,
            ]
        )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _cell_label(run: dict) -> str:
    """``T=0.7 · seed 1``, after ``in 2 · `` when the run filled its prompt from input row 2."""
    label = f"T={run['temperature']:g} · {tr('grid.seed', seed=run['seed'])}"
    index = run.get("input_index")
    return label if index is None else f"{tr('plots.input_n', n=index + 1)} · {label}"


def unique_labels(labels: list[str]) -> list[str]:
    """Number repeated labels (cells that differ only in top_p or max_tokens), so that
    bar plots, which sum bars with equal labels, keep them apart.

    ``unique_labels(["a", "b", "a"])`` → ``["a", "b", "a #2"]``
    """
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def history_frame(runs: list[dict], tr: Translator = ENGLISH) -> pd.DataFrame:
    """Finished runs with a speed, oldest first: time (UTC), model, tokens/s, tokens, finish.

    The time must stay a true instant: the browser turns it into its local time, so a
    naive local time would be shifted a second time.
    """
    rows = [
        [
            datetime.fromisoformat(run["created_at"]).astimezone(timezone.utc),
            run.get("model") or "?",
            run["generation_tps"],
            run.get("generation_tokens") or 0,
            tr.say(said_state(run.get("finish_reason") or run.get("status") or "?")),
        ]
        for run in runs
        if run.get("generation_tps") is not None and run.get("created_at")
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS).sort_values("time", ignore_index=True)


def time_axis(times: pd.Series, reader: Translator = ENGLISH) -> TimeAxis:
    """Limits around ``times`` at least two hours wide, labelled to the minute, or to the
    day once the span is long.

    Two runs a second apart at 14:05:00 UTC get ``lim`` 13:05:00.5 to 15:05:00.5 (as
    epoch seconds) and ``format`` ``"%b %-d %H:%M"`` (``"%-m月%-d日 %H:%M"`` for a Chinese
    reader); no runs get ``lim`` None.
    """
    minute, day = reader("plots.minute_format"), reader("plots.day_format")
    if times.empty:
        return TimeAxis(None, minute)
    start, end = times.min().timestamp(), times.max().timestamp()
    span = end - start
    margin = max((MIN_TIME_SPAN_S - span) / 2, span * TIME_MARGIN)
    fmt = day if span >= DAY_FORMAT_SPAN_S else minute
    return TimeAxis([start - margin, end + margin], fmt)


def shown(frame: pd.DataFrame, reader: Translator) -> pd.DataFrame:
    """``frame`` with its columns named in ``reader``'s words (``seed`` → ``种子``)."""
    return frame.rename(columns={name: reader(COLUMN_KEYS[name]) for name in frame.columns})


def fields(reader: Translator, **roles: str) -> dict[str, str]:
    """The plot's roles named as :func:`shown` names the columns:
    ``fields(zh, x="cell", y="tok/s")`` → ``{"x": "格", "y": "tok/s"}``."""
    return {role: reader(COLUMN_KEYS[name]) for role, name in roles.items()}


def experiment_choices(experiments: list[dict]) -> list[tuple[str, str]]:
    """(label, id) for the picker: ``"01-31 12:00:00 · tiny · What is… (4)"``."""
    return [(_experiment_label(e), e["id"]) for e in experiments]


def _experiment_label(e: dict) -> str:
    when, prompt = short_time(e["created_at"]), snippet(e["prompt"], 40)
    return f"{when} · {e['model']} · {prompt} ({e.get('run_count', '?')})"


def headroom(values) -> int:
    """A y-axis top a little above the highest value, so the top points aren't cut in half.

    ``headroom([12, 40])`` → ``44``; ``headroom([])`` → ``1``
    """
    return max(1, math.ceil(max(values, default=0) * 1.08))


def experiment_plots(service, experiment_id: str | None) -> tuple:
    """For one experiment: the length plot (with its y range), the speed plot's frame, the
    pass-rate plot (titled by whether it has checks) and the diversity plot's frame."""
    runs, checks, scores = [], (), []
    if experiment_id:
        try:
            runs = service.get_experiment(experiment_id)["runs"]
            checks, scores = service.scores(experiment_id)
        except YilabError as err:
            raise refusal(error_text(err)) from None
    reader = reader_language()
    frame, colors = experiment_frame(runs, reader), finish_colors(reader)
    # Every title is said here, in the reader's words, with the columns: an update that
    # re-colours a plot can leave the build's gr.I18n marker untranslated in the browser.
    legend = {"color_map": colors, "color_title": reader("plots.finish")}
    length = gr.ScatterPlot(
        value=shown(frame, reader),
        **fields(reader, x="T", y="tokens", color="finish"),
        y_lim=[0, headroom(frame["tokens"])],
        y_title=reader("plots.length_y"),
        **legend,
    )
    speed = gr.BarPlot(
        value=shown(frame.dropna(subset=["tok/s"]), reader),
        **fields(reader, x="cell", y="tok/s", color="finish"),
        **legend,
    )
    judged = scores_frame(scores)
    by_input = {"color_title": reader("plots.input")}
    passing = gr.LinePlot(
        value=shown(judged.dropna(subset=["pass %"]), reader),
        **fields(reader, x="T", y="pass %", color="input"),
        title=reader("plots.passing" if checks else "plots.passing_none"),
        y_title=reader("plots.passing_y"),
        **by_input,
    )
    diversity = gr.LinePlot(
        value=shown(judged.dropna(subset=["distinct-2"]), reader),
        **fields(reader, x="T", y="distinct-2", color="input"),
        **by_input,
    )
    return length, speed, passing, diversity


def finish_colors(tr: Translator = ENGLISH) -> dict[str, str]:
    """:data:`FINISH_COLORS` keyed by the finish reasons as the plots show them."""
    return {tr.say(said_state(reason)): color for reason, color in FINISH_COLORS.items()}


def all_plots(service, current: str | None) -> tuple:
    """The picker (keeping ``current`` if it still exists, else the newest) and all three plots."""
    experiments = service.list_experiments(limit=EXPERIMENT_LIMIT)
    ids = [e["id"] for e in experiments]
    picked = current if current in ids else (ids[0] if ids else None)
    reader = reader_language()
    frame = history_frame(service.list_runs(limit=HISTORY_LIMIT), reader)
    axis = time_axis(frame["time"], reader)
    history = gr.ScatterPlot(
        value=shown(frame, reader),
        **fields(reader, x="time", y="tok/s", color="model"),
        x_lim=axis.lim,
        x_axis_format=axis.format,
        x_title=reader("plots.time"),  # titles said here too, like the columns
        color_title=reader("plots.model"),
        y_lim=[0, headroom(frame["tok/s"])],
    )
    picker = gr.Dropdown(choices=experiment_choices(experiments), value=picked)
    return picker, *experiment_plots(service, picked), history


def by_temperature(y: str, top: float, title: str, elem_id: str, y_title=None) -> gr.LinePlot:
    """A score of :func:`scores_frame` against temperature, one line per input."""
    return gr.LinePlot(
        x="T",
        y=y,
        color="input",
        y_lim=[0, top],
        title=title,
        y_title=y_title,
        color_title=t("plots.input"),
        height=240,
        tooltip="all",
        elem_id=elem_id,
    )


def build_plots_tab(service) -> PlotsTab:
    """Lay out the tab (inside a ``gr.Tab``) and wire it to ``service``."""
    parent = get_render_context()
    with gr.Row(elem_classes="yl-hrow"):
        experiment = gr.Dropdown(
            [], label=t("plots.experiment"), scale=5, elem_id="yl-plots-experiment"
        )
        refresh = gr.Button(t("plots.refresh"), scale=0, min_width=90, elem_id="yl-plots-refresh")
    with gr.Row():
        length = gr.ScatterPlot(
            x="T",
            y="tokens",
            color="finish",
            color_map=FINISH_COLORS,
            y_lim=[0, None],
            title=t("plots.length"),
            y_title=t("plots.length_y"),
            color_title=t("plots.finish"),
            height=260,
            tooltip="all",
            elem_id="yl-plot-length",
        )
        speed = gr.BarPlot(
            x="cell",
            y="tok/s",
            color="finish",
            color_map=FINISH_COLORS,
            sort=None,
            title=t("plots.speed"),
            color_title=t("plots.finish"),
            x_label_angle=-30,
            height=260,
            tooltip="all",
            elem_id="yl-plot-speed",
        )
    with gr.Row():
        passing = by_temperature(
            "pass %", 105, t("plots.passing"), "yl-plot-pass", t("plots.passing_y")
        )
        diversity = by_temperature("distinct-2", 1.05, t("plots.diversity"), "yl-plot-diversity")
    history = gr.ScatterPlot(
        x="time",
        y="tok/s",
        color="model",
        x_axis_format=MINUTE_FORMAT,
        title=t("plots.history"),
        color_title=t("plots.model"),
        x_title=t("plots.time"),
        height=240,
        tooltip="all",
        elem_id="yl-plot-history",
    )
    tab = PlotsTab(experiment, refresh, length, speed, passing, diversity, history)
    per_experiment = [length, speed, passing, diversity]
    everything = [experiment, *per_experiment, history]
    shown = [parent.select] if isinstance(parent, gr.Tab) else []
    quiet = {"api_visibility": "private"}
    gr.on(None, lambda: all_plots(service, None), outputs=everything, **quiet)  # page load
    gr.on([refresh.click, *shown], lambda e: all_plots(service, e), experiment, everything, **quiet)
    experiment.input(lambda e: experiment_plots(service, e), experiment, per_experiment, **quiet)
    return tab
