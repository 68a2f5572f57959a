"""The History tab's Share area: its handlers on a real service, without a browser."""

from __future__ import annotations

import csv
import json
import sqlite3
import tempfile
from contextlib import closing
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from tests.sharedata import SYSTEM, XSS, add_experiment
from yilab.errors import BadInputError, BundleError
from yilab.experiment.sweep import SweepSpec
from yilab.service import Service
from yilab.share.bundle import Conflict, ImportResult, TableCounts
from yilab.ui import history as h
from yilab.ui import share_panel as sp

ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
DAY = date(2025, 1, 31)


@pytest.fixture(scope="module")
def logged(tmp_path_factory, tiny_model_dir):
    """A service whose log holds a real 2-run sweep (with a system prompt) and a hostile
    hand-made experiment whose outputs are markup."""
    service = Service(tmp_path_factory.mktemp("share-ui") / "mine.db")
    spec = SweepSpec(
        prompt="zebra crossing",
        system="Be brief",
        models=(str(tiny_model_dir),),
        temperatures=(0, 0.7),
        max_tokens=(6,),
    )
    sweep, runs = service.run_sweep(spec)
    hostile = add_experiment(service.store, [XSS + " one", "a fairly long second output"])
    yield SimpleNamespace(service=service, swept=sweep.experiment_id, runs=runs, hostile=hostile)
    service.close()


@pytest.fixture
def fresh(tmp_path):
    """An empty run log to import into."""
    service = Service(tmp_path / "theirs.db")
    yield service
    service.close()


@pytest.fixture
def own_tmp(tmp_path, monkeypatch) -> Path:
    """Make ``tempfile.mkdtemp`` write under this test's folder, to see what it leaves."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def export(
    logged,
    fmt="bundle",
    scope="this experiment",
    experiment_id=None,
    search="",
    redact=False,
    truncate=None,
) -> Path:
    shown = sp.export_file(
        logged.service, fmt, scope, experiment_id or logged.swept, search, redact, truncate
    )
    assert shown.visible
    return Path(shown.value["path"])


def counts(service) -> tuple[int, int]:
    experiments = service.store.list_experiments(limit=-1)
    return len(experiments), sum(e["run_count"] for e in experiments)


# -- pure helpers -------------------------------------------------------------------


def test_export_selection_per_scope():
    assert sp.export_selection("this experiment", " 3f2a9c ", "x") == (["3f2a9c"], None)
    assert sp.export_selection("search results", "3f2a9c", " zebra ") == (None, "zebra")
    assert sp.export_selection("all", "", "zebra") == (None, None)
    with pytest.raises(BadInputError, match="Open an experiment first"):
        sp.export_selection("this experiment", "  ", "")
    with pytest.raises(BadInputError, match="search box is empty"):
        sp.export_selection("search results", "3f2a9c", " ")
    with pytest.raises(BadInputError, match="Unknown scope"):
        sp.export_selection("some", "", "")


@pytest.mark.parametrize(
    "fmt, scope, experiment_id, name",
    [
        ("html", "this experiment", "82bb1b56-ed1c-494f", "yilab-82bb1b56.html"),
        ("bundle", "this experiment", "82bb1b", "yilab-82bb1b.yilab.json"),
        ("csv", "this experiment", "../../etc/passwd", "yilab-etcpassw.csv"),
        ("jsonl", "this experiment", "", "yilab-experiment.jsonl"),
        ("bundle", "all", "82bb1b56", "yilab-export-2025-01-31.yilab.json"),
        ("csv", "search results", None, "yilab-search-2025-01-31.csv"),
    ],
)
def test_export_name(fmt, scope, experiment_id, name):
    assert sp.export_name(fmt, scope, experiment_id, DAY) == name


def test_export_name_refuses_an_unknown_format():
    with pytest.raises(BadInputError, match="Unknown format 'xml'"):
        sp.export_name("xml", "all", None, DAY)


def test_truncate_value():
    assert [sp.truncate_value(v) for v in (None, "", 0, 12.0, -1)] == [None, None, None, 12, -1]


def test_import_message_counts_and_names_conflicts():
    result = ImportResult("x", TableCounts(1, 0, 0), TableCounts(4, 2, 0))
    assert sp.import_message(result, "b.json") == (
        "b.json: added 1 experiment / 4 runs · skipped 0 / 2 (already here) · no conflicts"
    )
    conflicts = [Conflict("runs", f"{i}" * 36, ["output", "note"]) for i in range(5)]
    result = ImportResult("x", TableCounts(0, 2, 0), TableCounts(0, 3, 5), conflicts)
    message = sp.import_message(result, "b.json")
    assert message.startswith("b.json: added 0 experiments / 0 runs · skipped 2 / 3")
    assert "5 conflicts, kept yours: run 00000000 (output, note); run 11111111" in message
    assert message.endswith("; 2 more")


def test_upload_error_names_the_file_not_the_cache_path():
    path = "/tmp/gradio/0a1b2c/broken.json"
    err = BundleError(f"{path} is not valid JSON: Expecting value")
    assert sp.upload_error(err, path) == "broken.json is not valid JSON: Expecting value"


# -- export -------------------------------------------------------------------------


def test_export_this_experiment_as_a_bundle(logged, own_tmp):
    path = export(logged)
    assert path.name == f"yilab-{logged.swept[:8]}.yilab.json"
    (written,) = own_tmp.glob("yilab-share-*/*")  # (gr.File shows Gradio's cached copy)
    assert written.name == path.name and written.read_bytes() == path.read_bytes()
    doc = json.loads(path.read_text())
    assert doc["format"] == "yilab-bundle" and [e["id"] for e in doc["experiments"]] == [
        logged.swept
    ]
    assert sorted(r["id"] for r in doc["runs"]) == sorted(r["id"] for r in logged.runs)


def test_each_export_gets_its_own_folder(logged, own_tmp):
    export(logged), export(logged)
    first, second = own_tmp.glob("yilab-share-*/*")
    assert first.name == second.name and first.parent != second.parent


def test_export_all_as_csv_and_search_results_as_jsonl(logged):
    with export(logged, "csv", "all").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(logged.runs) + 2
    lines = export(logged, "jsonl", "search results", search="zebra").read_text().splitlines()
    assert {json.loads(line)["experiment_id"] for line in lines} == {logged.swept}


def test_export_redacts_system_prompts_and_truncates_outputs(logged):
    path = export(logged, "jsonl", experiment_id=logged.hostile, redact=True, truncate=5)
    text = path.read_text()
    assert SYSTEM not in text
    outputs = [json.loads(line)["output"] for line in text.splitlines()]
    assert outputs == ["<img …", "a fai…"]


def test_export_as_html_escapes_outputs(logged):
    text = export(logged, "html", experiment_id=logged.hostile).read_text()
    assert ESCAPED in text and XSS not in text


@pytest.mark.parametrize(
    "scope, experiment_id, search, message",
    [
        ("this experiment", " ", "", "Open an experiment first"),
        ("this experiment", "ffffffff-0000", "", "No experiment with id"),
        ("search results", "x", "", "search box is empty"),
        ("search results", "x", "nowhere-to-be-found", "Nothing to export"),
    ],
)
def test_export_problems_are_readable_and_leave_no_folder(
    logged, own_tmp, scope, experiment_id, search, message
):
    with pytest.raises(gr.Error, match=message):
        sp.export_file(logged.service, "bundle", scope, experiment_id, search, False, None)
    assert list(own_tmp.iterdir()) == []


def test_a_negative_truncate_is_refused(logged):
    with pytest.raises(gr.Error, match="0 or more"):
        sp.export_file(logged.service, "csv", "all", "", "", False, -1)


# -- share as HTML ------------------------------------------------------------------


def test_share_html_holds_the_open_experiments_report(logged):
    button = sp.share_html(logged.service, logged.hostile, False, None)
    path = Path(button.value["path"])
    assert button.interactive and path.name == f"yilab-{logged.hostile[:8]}.html"
    text = path.read_text()
    assert ESCAPED in text and XSS not in text and SYSTEM in text
    assert "a fairly long second output" in text


def test_share_html_follows_the_redaction(logged):
    text = Path(sp.share_html(logged.service, logged.hostile, True, 8).value["path"]).read_text()
    assert SYSTEM not in text and "a fairly long second output" not in text
    assert "a fairly…" in text


@pytest.mark.parametrize("typed", ["", "  ", "82b", "ffffffff-0000-dead"])
def test_share_html_is_disabled_while_no_experiment_is_open(logged, own_tmp, typed):
    button = sp.share_html(logged.service, typed, False, None)
    assert button.value is None and button.interactive is False
    assert list(own_tmp.iterdir()) == []


# -- import -------------------------------------------------------------------------


def test_import_merges_reports_and_refills_the_tables(logged, fresh):
    bundle = export(logged, "bundle", "all")
    status = sp.import_upload(fresh, str(bundle))
    runs = len(logged.runs) + 2
    assert f"added 2 experiments / {runs} runs" in status and "no conflicts" in status
    assert bundle.name in status
    experiments, exp_ids, run_rows, _ = h.load_tables(fresh, "", h.ANY, h.ANY, h.ANY, h.ANY)
    assert set(exp_ids) == {logged.swept, logged.hostile} and len(run_rows) == runs
    status = sp.import_upload(fresh, str(bundle))
    assert f"added 0 experiments / 0 runs · skipped 2 / {runs}" in status
    assert counts(fresh) == (2, runs)


def test_import_reports_a_conflict_and_keeps_the_local_row(logged, fresh):
    bundle = export(logged, "bundle", experiment_id=logged.hostile)
    sp.import_upload(fresh, str(bundle))
    run = fresh.store.get_experiment(logged.hostile)["runs"][0]
    with closing(sqlite3.connect(fresh.db_path)) as db, db:  # edit the local copy
        db.execute("update runs set output = 'mine' where id = ?", [run["id"]])
    status = sp.import_upload(fresh, str(bundle))
    assert f"1 conflict, kept yours: run {run['id'][:8]} (output)" in status
    assert fresh.store.get_run(run["id"])["output"] == "mine"


def test_import_with_nothing_uploaded_changes_nothing(fresh):
    assert sp.import_upload(fresh, None) == gr.skip()


def test_the_status_line_escapes_the_file_name():
    assert (
        sp.status_html("<b>x</b>.json")
        == '<div class="yl-share-msg">&lt;b&gt;x&lt;/b&gt;.json</div>'
    )


BAD_BUNDLES = {
    "broken.json": (b"{not json", "broken.json is not valid JSON"),
    "binary.json": (b"\xff\xfe\x00garbage", "binary.json is not UTF-8"),
    "list.json": (b"[1, 2]", "not a yilab bundle"),
    "db.json": (b"SQLite format 3\x00...", "db.json is a SQLite database"),
    "newer.json": (b'{"format": "yilab-bundle", "version": 99}', "newer"),
}


@pytest.mark.parametrize("name", list(BAD_BUNDLES))
def test_a_bad_bundle_shows_its_message_and_writes_nothing(logged, fresh, tmp_path, name):
    sp.import_upload(fresh, str(export(logged, "bundle", experiment_id=logged.hostile)))
    before = counts(fresh)
    data, message = BAD_BUNDLES[name]
    upload = tmp_path / "gradio-cache" / name
    upload.parent.mkdir()
    upload.write_bytes(data)
    with pytest.raises(gr.Error) as caught:
        sp.import_upload(fresh, str(upload))
    assert message.lower() in caught.value.message.lower()
    assert str(upload.parent) not in caught.value.message
    assert counts(fresh) == before


def test_a_hostile_bundle_is_refused_whole(logged, fresh, tmp_path):
    doc = json.loads(export(logged, "bundle", "all").read_text())
    doc["runs"][-1]["model_path"] = "../../etc"
    upload = tmp_path / "hostile.json"
    upload.write_text(json.dumps(doc))
    with pytest.raises(gr.Error, match="hostile.json|model_path"):
        sp.import_upload(fresh, str(upload))
    assert counts(fresh) == (0, 0)


# -- layout -------------------------------------------------------------------------


def test_the_panel_sits_in_history_with_its_ids_and_no_public_api(logged):
    with gr.Blocks() as demo:
        h.build_history_tab(logged.service)
    assert demo.get_api_info()["named_endpoints"] == {}
    ids = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert {
        "yl-share",
        "yl-share-format",
        "yl-share-scope",
        "yl-share-redact",
        "yl-share-truncate",
        "yl-share-export",
        "yl-share-html",
        "yl-share-file",
        "yl-share-import",
        "yl-share-status",
    } <= ids
    states = [b for b in demo.blocks.values() if isinstance(b, gr.State)]
    assert not any(callable(s.value) for s in states)
