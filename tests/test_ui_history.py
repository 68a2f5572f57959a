"""History and Plots handlers and data shaping, without a browser, on a real service."""

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import gradio as gr
import pandas as pd
import pytest

from yilab.errors import BadInputError
from yilab.experiment.sweep import SweepSpec
from yilab.i18n import ENGLISH, Translator
from yilab.render.text import short_time, snippet
from yilab.service import Service
from yilab.ui import history as h
from yilab.ui.plots import (
    DAY_FORMAT,
    MINUTE_FORMAT,
    SCORE_COLUMNS,
    all_plots,
    experiment_choices,
    experiment_frame,
    headroom,
    history_frame,
    scores_frame,
    time_axis,
    unique_labels,
)

PROBE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def logged(tmp_path_factory, tiny_model_dir):
    """A service whose log holds one real 2×2 sweep and one hand-made hostile experiment."""
    service = Service(tmp_path_factory.mktemp("history") / "runs.db")
    spec = SweepSpec(
        prompt="zebra crossing",
        models=(str(tiny_model_dir),),
        temperatures=(0, 0.7),
        seeds=(1, 2),
        max_tokens=(6,),
    )
    sweep, runs = service.run_sweep(spec)
    hostile = _hostile_experiment(service.store)
    yield SimpleNamespace(
        service=service, experiment_id=sweep.experiment_id, runs=runs, hostile=hostile
    )
    service.close()


def _hostile_experiment(store) -> str:
    """An experiment whose prompt and outputs are HTML, logged without a model."""
    eid = store.create_experiment(model="evil", prompt=PROBE, sweep={"temperatures": [0.5]})
    for i, text in enumerate([PROBE + " one", PROBE + " two"]):
        rid = store.start_run(
            experiment_id=eid,
            cell_index=i,
            settings={"model": "evil", "temperature": 0.5, "seed": i, "max_tokens": 8},
        )
        store.finish_run(
            rid,
            status="done",
            finish_reason="stop",
            output=text,
            metrics={"generation_tokens": 3, "generation_tps": 99.0},
        )
    return eid


# -- pure shaping ---------------------------------------------------------------


def test_snippet_and_short_time():
    assert snippet("a\n  b", 10) == "a b"
    assert snippet("x" * 100, 10) == "x" * 9 + "…"
    assert short_time(None) == ""
    iso = "2025-01-31T12:00:00.123456+00:00"
    local = datetime.fromisoformat(iso).astimezone()
    assert short_time(iso, now=local) == local.strftime("%H:%M:%S")
    assert short_time(iso, now=local + timedelta(days=2)) == local.strftime("%m-%d %H:%M")


def test_runs_table_is_compact_and_in_order(logged):
    rows = h.runs_table(logged.runs)
    assert len(rows) == 4 and all(len(r) == len(h.RUN_HEADERS) for r in rows)
    star, _, model, temp, seed, finish, tokens, tps, output, note = rows[2]
    assert (star, model, temp, seed, finish, tokens) == ("", "tiny", 0.7, 1, "length", 6)
    assert tps > 0 and "\n" not in output and note == ""


def test_filter_values_turn_any_into_none():
    assert h.filter_values("any", " 0.7 ", "stop", None) == {
        "model": None,
        "temperature": 0.7,
        "finish_reason": "stop",
        "status": None,
        "variable": None,
    }
    assert h.filter_values("any", 0, "any", "any", " city = Oslo ")["variable"] == ("city", "Oslo")
    with pytest.raises(BadInputError, match="name=value"):
        h.filter_values("any", 0, "any", "any", "Oslo")
    assert h.filter_values("any", 0, "any", "any")["temperature"] == 0.0
    with pytest.raises(BadInputError, match="'hot' is not a number"):
        h.filter_values("any", "hot", "any", "any")


def test_filter_choices_list_what_was_seen(logged):
    models, temps = h.filter_choices(logged.runs)
    assert models == ["any", "tiny"] and temps == ["any", "0", "0.7"]


def test_run_choices_name_cells_with_short_ids(logged):
    label, run_id = h.run_choices(logged.runs)[3]
    assert label == f"T=0.7 · seed 2 ({run_id[:6]})" and run_id == logged.runs[3]["id"]


# -- handlers ---------------------------------------------------------------------


def test_search_and_filters_narrow_both_tables(logged):
    exps, exp_ids, runs, keys = h.load_tables(logged.service, "zebra", "any", "any", "any", "any")
    assert exp_ids == [logged.experiment_id] and len(runs) == 4
    assert keys[0][1] == logged.experiment_id and exps[0][2] == "zebra crossing"
    _, exp_ids, runs, _ = h.load_tables(logged.service, "", "evil", "any", "stop", "done")
    assert exp_ids == [logged.hostile] and len(runs) == 2
    _, _, runs, _ = h.load_tables(logged.service, "", "any", "0.7", "any", "any")
    assert {r[3] for r in runs} == {0.7} and len(runs) == 2
    with pytest.raises(gr.Error, match="not a number"):
        h.load_tables(logged.service, "", "any", "warm", "any", "any")


def test_tables_are_newest_first(logged):
    _, exp_ids, _, keys = h.load_tables(logged.service, "", "any", "any", "any", "any")
    assert exp_ids == [logged.hostile, logged.experiment_id]
    assert keys[0][1] == logged.hostile


def test_opening_an_experiment_shows_its_grid_again(logged):
    summary, checks, grid, a, b, diff, run = h.open_experiment(
        logged.service, logged.experiment_id[:8]
    )
    assert checks == ""  # logged without checks
    assert "zebra crossing" in summary and "temperatures 0, 0.7" in summary
    assert 'class="yl-scores"' in grid  # 4 runs: the scores table leads
    assert grid.count('class="yl-card') == 4 and "As logged: 4 length" in grid
    for r in logged.runs:
        assert f'data-run="{r["id"]}"' in grid
    ids = [r["id"] for r in logged.runs]
    assert (a.value, b.value, run.value) == (ids[0], ids[1], ids[0])
    assert [c[1] for c in a.choices] == ids
    assert 'class="yl-diff"' in diff
    *_, run = h.open_experiment(logged.service, logged.experiment_id, ids[2])
    assert run.value == ids[2]  # a run picked in the table stays picked


def test_hostile_text_stays_text(logged):
    summary, _, grid, *_, diff, _ = h.open_experiment(logged.service, logged.hostile)
    for html in (summary, grid, diff):
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_an_unknown_or_empty_id_says_so_in_the_page(logged):
    summary, _, grid, a, *_ = h.open_experiment(logged.service, "ffffffff-0000")
    assert "No experiment with id" in summary and "yl-exp-error" in summary
    assert "yl-card" not in grid and a.choices == []
    summary, *_ = h.open_experiment(logged.service, "  ")
    assert "Select an experiment" in summary


def test_checks_edited_in_history_judge_the_logged_runs_again(logged):
    before = logged.service.get_experiment(logged.experiment_id)["runs"]
    grid = h.rejudge_experiment(logged.service, logged.experiment_id, "stop\nlong=contains:§§")
    assert grid.count('class="yl-check yl-check-fail"') == 8  # 4 length runs, 2 checks each
    assert "<th>long</th>" in grid and "pass 0%" in grid  # no output has §§
    assert logged.service.get_experiment(logged.experiment_id)["runs"] == before
    _, checks, *_ = h.open_experiment(logged.service, logged.experiment_id)
    assert checks == "stop\nlong=contains:§§"
    with pytest.raises(gr.Error, match="regex"):
        h.rejudge_experiment(logged.service, logged.experiment_id, "regex:(")
    with pytest.raises(gr.Error, match="Open an experiment"):
        h.rejudge_experiment(logged.service, " ", "stop")
    h.rejudge_experiment(logged.service, logged.experiment_id, "")  # no checks again
    assert logged.service.checks(logged.experiment_id) == ()


def test_diff_runs_marks_changed_words(logged):
    a, b = (r["id"] for r in logged.service.store.get_experiment(logged.hostile)["runs"])
    html = h.diff_runs(logged.service, a[:8], b)
    assert '<del class="yl-del">one</del>' in html and '<ins class="yl-ins">two</ins>' in html
    with pytest.raises(gr.Error, match="Pick two runs"):
        h.diff_runs(logged.service, a, None)
    with pytest.raises(gr.Error, match="No run with id"):
        h.diff_runs(logged.service, a, "0000000000")


def test_star_toggles_and_shows_in_the_table(logged):
    run_id = logged.runs[1]["id"]
    filters = ("zebra", "any", "any", "any", "any")
    label, _, _, runs, keys = h.toggle_star(logged.service, run_id, *filters)
    row = runs[[k[0] for k in keys].index(run_id)]
    assert label == h.UNSTAR and row[0] == "★"
    assert h.pick_run(logged.service, run_id)[1] == h.UNSTAR
    label, _, _, runs, keys = h.toggle_star(logged.service, run_id, *filters)
    assert label == h.STAR and runs[[k[0] for k in keys].index(run_id)][0] == ""
    with pytest.raises(gr.Error, match="Pick a run first"):
        h.toggle_star(logged.service, "", *filters)


def test_a_note_is_saved_and_shown(logged):
    run_id = logged.runs[2]["id"]
    _, _, runs, keys = h.save_note(
        logged.service, run_id, " keeps repeating ", "zebra", "any", "any", "any", "any"
    )
    assert runs[[k[0] for k in keys].index(run_id)][-1] == "keeps repeating"
    assert h.pick_run(logged.service, run_id) == ("keeps repeating", h.STAR)
    assert h.pick_run(logged.service, None) == ("", h.STAR)


def test_rerun_streams_a_new_experiment(tmp_path, tiny_model_dir):
    service = Service(tmp_path / "rerun.db")
    try:
        spec = SweepSpec(
            prompt="again", models=(str(tiny_model_dir),), seeds=(3, 4), max_tokens=(5,)
        )
        sweep, runs = service.run_sweep(spec)
        frames = list(h.rerun_experiment(service, sweep.experiment_id, lambda *a, **k: None))
        assert "Done: 2 length" in frames[-2][0]
        new_id = frames[-1][1]
        new = service.store.get_experiment(new_id)
        assert new_id != sweep.experiment_id and new["note"] == f"re-run of {sweep.experiment_id}"
        assert [r["output"] for r in new["runs"]] == [r["output"] for r in runs]  # same seeds
        with pytest.raises(gr.Error, match="Open an experiment first"):
            next(h.rerun_experiment(service, "", None))
        with pytest.raises(gr.Error, match="No experiment"):
            next(h.rerun_experiment(service, "abcdef99", None))
    finally:
        service.close()


def test_deep_link_selects_history_and_opens_the_id():
    tabs, box = h.deep_link(SimpleNamespace(query_params={"experiment": " abc123 "}))
    assert isinstance(tabs, gr.Tabs) and tabs.selected == "history" and box == "abc123"
    skipped = h.deep_link(SimpleNamespace(query_params={}))
    assert len(skipped) == 2 and all(isinstance(x, dict) for x in skipped)


# -- plots --------------------------------------------------------------------------


def test_experiment_frame_has_a_row_per_cell(logged):
    frame = experiment_frame(logged.runs)
    assert list(frame["cell"]) == [
        "T=0 · seed 1",
        "T=0 · seed 2",
        "T=0.7 · seed 1",
        "T=0.7 · seed 2",
    ]
    assert list(frame["tokens"]) == [6] * 4 and set(frame["finish"]) == {"length"}
    assert (frame["tok/s"] > 0).all()
    assert list(frame["T"]) == ["0", "0", "0.7", "0.7"]
    assert experiment_frame([]).empty
    assert unique_labels(["a", "b", "a"]) == ["a", "b", "a #2"]


def test_history_frame_is_oldest_first_and_skips_runs_without_speed(logged):
    runs = logged.service.store.list_runs(limit=100)
    unfinished = {**runs[0], "generation_tps": None}
    frame = history_frame([unfinished, *runs[1:]])
    assert len(frame) == len(runs) - 1 and frame["time"].is_monotonic_increasing
    assert set(frame["model"]) == {"tiny", "evil"}


def test_history_frame_keeps_true_instants_for_the_browser_to_localize():
    runs = [
        {"created_at": "2026-12-01T14:05:00+05:30", "model": "a", "generation_tps": 9.0},
        {"created_at": "2026-12-01T08:00:00+00:00", "model": "b", "generation_tps": 7.0},
    ]
    frame = history_frame(runs)
    assert str(frame["time"].dtype) == "datetime64[us, UTC]"  # gr.ScatterPlot: temporal
    assert [t.isoformat() for t in frame["time"]] == [
        "2026-12-01T08:00:00+00:00",
        "2026-12-01T08:35:00+00:00",
    ]


def test_time_axis_spans_at_least_two_hours_labelled_to_the_minute():
    t0 = pd.Timestamp("2026-12-01 14:05:00", tz="UTC")
    sweep = time_axis(pd.Series([t0, t0 + pd.Timedelta(seconds=1)]))
    assert sweep.format == "%b %-d %H:%M"
    assert sweep.lim == [t0.timestamp() - 3599.5, t0.timestamp() + 3600.5]
    days = time_axis(pd.Series([t0, t0 + pd.Timedelta(days=2)]))
    margin = 0.03 * 2 * 86400  # wide spans get a small margin each side
    assert days.lim == pytest.approx([t0.timestamp() - margin, t0.timestamp() + 2 * 86400 + margin])
    assert days.format == "%b %-d %H:%M"
    assert time_axis(pd.Series([t0, t0 + pd.Timedelta(days=90)])).format == "%b %-d, %Y"
    assert time_axis(history_frame([])["time"]).lim is None
    assert time_axis(pd.Series([t0]), Translator("zh-CN")).format == "%-m月%-d日 %H:%M"
    assert time_axis(pd.Series([t0, t0 + pd.Timedelta(days=90)]), Translator("zh-CN")).format == (
        "%Y年%-m月%-d日"
    )
    assert (
        ENGLISH("plots.minute_format") == MINUTE_FORMAT
        and ENGLISH("plots.day_format") == DAY_FORMAT
    )


def test_all_plots_default_to_the_newest_experiment(logged):
    picker, length, speed, passing, diversity, history = all_plots(logged.service, None)
    assert picker.value == logged.hostile and len(speed.value["data"]) == 2
    assert passing.title == "Passing (no checks yet)" and passing.value["data"] == []
    assert diversity.value["columns"] == list(SCORE_COLUMNS)
    assert (speed.x, speed.y, speed.color, speed.color_title) == (
        "cell",
        "tok/s",
        "finish",
        "finish",
    )
    assert history.y_lim[0] == 0 and history.y_lim[1] >= max(r[2] for r in history.value["data"])
    assert len(history.value["data"]) == 6 and history.value["datatypes"]["time"] == "temporal"
    assert history.x_axis_format == "%b %-d %H:%M" and len(history.x_lim) == 2
    assert len(length.value["data"]) == 2 and length.y_lim == [0, 4]  # 3 tokens + headroom
    picker, length, *_ = all_plots(logged.service, logged.experiment_id)
    assert picker.value == logged.experiment_id and len(length.value["data"]) == 4
    assert headroom([12, 40]) == 44 and headroom([]) == 1
    label = experiment_choices(logged.service.store.list_experiments())[1][0]
    assert "tiny · zebra crossing (4)" in label


def test_scores_frame_draws_one_line_per_input():
    from yilab.experiment.checks import parse_checks
    from yilab.experiment.scoring import score_rows

    def run(cell, t, text, country):
        return {
            "id": str(cell),
            "cell_index": cell,
            "status": "done",
            "output": text,
            "finish_reason": "stop",
            "vars_json": json.dumps({"country": country}),
            "input_index": int(country == "Peru"),
            "model": "m",
            "top_p": 1.0,
            "max_tokens": 8,
            "temperature": t,
            "seed": cell % 2,
        }

    runs = [
        run(0, 0.0, "Paris", "France"),
        run(1, 0.0, "Paris", "France"),
        run(2, 1.0, "Paris is", "France"),
        run(3, 1.0, "Lyon", "France"),
        run(4, 0.0, "Lima", "Peru"),
        run(5, 0.0, "Cusco", "Peru"),
    ]
    frame = scores_frame(score_rows(runs, parse_checks("contains:Paris")))
    rows = [[None if v != v else v for v in row] for row in frame.values.tolist()]  # NaN: none
    assert rows == [
        [0.0, "country=France", 100.0, None, 1.0, 2],  # "Paris" twice: no word pairs
        [1.0, "country=France", 50.0, 1.0, 0.0, 2],
        [0.0, "country=Peru", 0.0, None, 0.0, 2],
    ]


def test_experiment_frame_names_the_input_row_of_each_cell():
    runs = [
        {"temperature": 0.0, "seed": 1, "input_index": i, "finish_reason": "stop"} for i in (0, 1)
    ]
    assert experiment_frame(runs)["cell"].tolist() == ["in 1 · T=0 · seed 1", "in 2 · T=0 · seed 1"]


def test_the_summary_shows_the_inputs_table():
    experiment = {
        "id": "e1",
        "prompt": "Capital of {{country}}?",
        "sweep_json": json.dumps({"inputs": [{"country": "France"}, {"country": "<b>"}]}),
        "runs": [],
    }
    html = h.experiment_html(experiment)
    assert "inputs</div>" in html and "country\nFrance\n&lt;b&gt;\n" in html
