"""Sharing: bundle round trips and merges, hostile bundles, redaction, JSONL/CSV, the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.sharedata import SYSTEM, XSS, add_experiment, swept_log
from yilab.cli.main import main
from yilab.errors import BadInputError, BundleError
from yilab.runlog.store import Store, StoreError
from yilab.share.bundle import import_bundle
from yilab.share.export import export_experiments
from yilab.share.report import embed_json
from yilab.share.validate import MAX_LONG_TEXT


@pytest.fixture
def store(tmp_path) -> Store:
    """A run log with two experiments, one of which has an XSS attempt as an output."""
    s = Store(tmp_path / "mine.db")
    add_experiment(s, ["Paris.", "Paris is nice.", XSS, "Lyon, then Paris, then on and on"])
    add_experiment(s, ["Tokyo.", "Osaka."], system=None, prompt="Name a city in Japan.")
    return s


@pytest.fixture(scope="module")
def swept_db(tmp_path_factory, tiny_model_dir) -> Path:
    """A run log filled by a real sweep on the tiny model."""
    return swept_log(tmp_path_factory.mktemp("swept") / "swept.db", tiny_model_dir)


def rows(store: Store) -> dict[str, list[dict]]:
    """Every row of both tables, by id (rowids differ between dbs and are left out)."""
    with sqlite3.connect(store.path) as conn:
        conn.row_factory = sqlite3.Row
        return {
            t: [dict(r) for r in conn.execute(f"select * from {t} order by id")]
            for t in ("experiments", "runs")
        }


def export_bundle(store: Store, tmp_path: Path, **kw) -> Path:
    return export_experiments(store, None, "bundle", tmp_path / "out.yilab.json", **kw)


# -- round trips and merging ------------------------------------------------------


@pytest.mark.parametrize("source", ["synthetic", "swept"])
def test_export_then_import_into_an_empty_db_gives_identical_rows(
    source, store, swept_db, tmp_path
):
    src = store if source == "synthetic" else Store(swept_db)
    result = import_bundle(Store(tmp_path / "empty.db"), export_bundle(src, tmp_path))
    assert rows(Store(tmp_path / "empty.db")) == rows(src)
    assert result.runs.added == len(rows(src)["runs"]) and result.conflicts == []
    word = "Paris" if source == "synthetic" else "story"
    assert Store(tmp_path / "empty.db").list_runs(search=word)  # full-text index kept current


def test_importing_twice_adds_nothing(store, tmp_path):
    bundle = export_bundle(store, tmp_path)
    target = Store(tmp_path / "theirs.db")
    first, second = import_bundle(target, bundle), import_bundle(target, bundle)
    assert (first.experiments.added, first.runs.added) == (2, 6)
    assert (second.experiments.added, second.runs.added) == (0, 0)
    assert (second.experiments.skipped, second.runs.skipped) == (2, 6)
    assert len(rows(target)["runs"]) == 6
    # and into the db it came from: everything is already there
    assert import_bundle(store, bundle).runs.skipped == 6


def test_conflicts_are_reported_and_never_overwritten(store, tmp_path):
    bundle = export_bundle(store, tmp_path)
    target = Store(tmp_path / "theirs.db")
    import_bundle(target, bundle)
    doc = json.loads(bundle.read_text())
    changed = doc["runs"][0]
    changed["output"], changed["starred"] = "Marseille.", 1
    bundle.write_text(json.dumps(doc))
    before = rows(target)
    result = import_bundle(target, bundle)
    assert result.runs.conflicts == 1 and result.runs.skipped == 5
    assert [(c.table, c.id, c.columns) for c in result.conflicts] == [
        ("runs", changed["id"], ["output", "starred"])
    ]
    assert rows(target) == before


def test_a_merge_that_fails_halfway_leaves_the_db_unchanged(store, tmp_path):
    bundle = export_bundle(store, tmp_path)
    target = Store(tmp_path / "theirs.db")
    last_run = json.loads(bundle.read_text())["runs"][-1]["id"]
    with sqlite3.connect(target.path) as conn:  # experiments go in first, then this run fails
        conn.execute(
            f"create trigger boom before insert on runs when new.id = '{last_run}' "
            "begin select raise(abort, 'disk on fire'); end"
        )
    with pytest.raises(StoreError, match="disk on fire"):
        import_bundle(target, bundle)
    assert rows(target) == {"experiments": [], "runs": []}


# -- hostile bundles ----------------------------------------------------------------


def _set(table: str, column: str, value):
    def mutate(doc):
        doc[table][0][column] = value

    return mutate


HOSTILE = {
    "not a bundle": (lambda d: d.update(format="zip"), "not a yilab bundle"),
    "newer version": (lambda d: d.update(version=2), "upgrade yilab"),
    "version as text": (lambda d: d.update(version="1"), "bad bundle version"),
    "runs not a list": (lambda d: d.update(runs={"a": 1}), 'no "runs" list'),
    "row not an object": (lambda d: d["runs"].append("x"), "expected an object"),
    "unknown column": (_set("runs", "owner_shell", "rm -rf /"), "unknown column"),
    "bad uuid": (_set("runs", "id", "../../etc/passwd"), "not a UUID"),
    "temperature as text": (_set("runs", "temperature", "hot"), "expected a number"),
    "seed as float": (_set("runs", "seed", 1.5), "expected a whole number"),
    "seed as bool": (_set("runs", "seed", True), "expected a whole number"),
    "seed too big": (_set("runs", "seed", 2**70), "expected a whole number"),
    "output as list": (_set("runs", "output", ["a"]), "expected text"),
    "huge output": (_set("runs", "output", "x" * (MAX_LONG_TEXT + 1)), "more than"),
    "NUL in a model name": (_set("runs", "model", "ti\x00ny"), "NUL"),
    "path with ..": (_set("runs", "model_path", "/models/../../etc"), "'..'"),
    "relative path": (_set("runs", "model_path", "someone/evil-model"), "not an absolute"),
    "url with credentials": (
        _set("runs", "model_path", "https://ada:pw@example.com/v1"),
        "not a local path",
    ),
    "file url": (_set("runs", "model_path", "file:///etc/passwd"), "not a local path"),
    "unc path": (_set("runs", "model_path", "\\\\server\\share\\m"), "not a local path"),
    "newline in path": (_set("runs", "model_path", "/models/a\nb"), "control characters"),
    "bad time": (_set("runs", "created_at", "yesterday"), "ISO-8601"),
    "bad status": (_set("runs", "status", "pwned"), "not one of"),
    "markup finish reason": (_set("runs", "finish_reason", "<b>stop</b>"), "finish reason"),
    "messages not json": (_set("runs", "messages_json", "[{"), "not valid JSON"),
    "stop ids as text": (_set("runs", "stop_token_ids_json", '["2"]'), "list of token ids"),
    "nested versions": (_set("runs", "versions_json", '{"mlx": {"x": 1}}'), "object of versions"),
    "missing temperature": (_set("runs", "temperature", None), "missing"),
    "dangling experiment": (
        _set("runs", "experiment_id", "00000000-0000-4000-8000-000000000000"),
        "no experiment with that id",
    ),
    "duplicate run": (lambda d: d["runs"].append(dict(d["runs"][0])), "appears twice"),
    "starred 7": (_set("runs", "starred", 7), "0 or 1"),
    "bad mode": (_set("experiments", "mode", "shell"), "not one of"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_bundles_are_rejected_and_the_db_is_unchanged(case, store, tmp_path):
    mutate, message = HOSTILE[case]
    doc = json.loads(export_bundle(store, tmp_path).read_text())
    mutate(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    target = Store(tmp_path / "theirs.db")
    add_experiment(target, ["Rome."])
    before = rows(target)
    with pytest.raises(BundleError, match=re.escape(message)):
        import_bundle(target, bad)
    assert rows(target) == before


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"SQLite format 3\x00rest", "is a SQLite database"),
        (b'{"format": "yilab-bundle", "version": 1, "runs": [NaN]}', "NaN is not allowed"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b"[1, 2, 3]", "not a yilab bundle"),
    ],
    ids=["empty", "binary", "sqlite", "nan", "deep", "list"],
)
def test_unreadable_files_are_rejected(content, message, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_bytes(content)
    with pytest.raises(BundleError, match=message):
        import_bundle(Store(tmp_path / "t.db"), path)


def test_odd_bundle_paths_are_rejected(tmp_path):
    target = Store(tmp_path / "t.db")
    with pytest.raises(BundleError, match="not a regular file"):
        import_bundle(target, tmp_path)
    with pytest.raises(BundleError, match="cannot read"):
        import_bundle(target, tmp_path / "missing.json")


def test_markup_in_outputs_is_stored_as_text_and_escaped_in_the_report(store, tmp_path):
    target = Store(tmp_path / "theirs.db")
    import_bundle(target, export_bundle(store, tmp_path))
    assert any(r["output"] == XSS for r in rows(target)["runs"])  # stored as the text it is
    html = export_experiments(target, None, "html", tmp_path / "r.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html
    assert "Content-Security-Policy" in html


# -- redaction ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["bundle", "jsonl", "csv", "html"])
def test_redact_system_leaves_no_trace_of_the_system_prompt(fmt, store, tmp_path):
    plain = export_experiments(store, None, fmt, tmp_path / "plain").read_text()
    redacted = export_experiments(store, None, fmt, tmp_path / "red", redact_system=True)
    assert "secret pirate" in plain
    assert "secret pirate" not in redacted.read_text()


def test_truncate_cuts_outputs_and_the_bundle_says_so(store, tmp_path):
    bundle = export_bundle(store, tmp_path, truncate=6)
    doc = json.loads(bundle.read_text())
    assert doc["redaction"] == {"system_prompts": False, "truncate_outputs": 6}
    outputs = {r["output"] for r in doc["runs"]}
    assert "Paris." in outputs and "Paris …" in outputs and "Lyon, …" in outputs
    assert all(len(o) <= 7 for o in outputs)
    html = export_experiments(store, None, "html", tmp_path / "r.html", truncate=6).read_text()
    assert "Outputs were cut to 6 characters" in html


# -- JSONL and CSV --------------------------------------------------------------------------


def test_jsonl_has_one_run_per_line_with_decoded_json(store, tmp_path):
    lines = export_experiments(store, None, "jsonl", tmp_path / "r.jsonl").read_text().splitlines()
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 6
    first = docs[0]
    assert first["messages"][0] == {"role": "system", "content": SYSTEM}
    assert first["stop_token_ids"] == [2] and first["versions"]["mlx"] == "0.32.4"
    assert first["prompt"] == "Name a city." and "messages_json" not in first
    assert {d["output"] for d in docs} >= {XSS, "Lyon, then Paris, then on and on"}


def test_csv_loads_in_pandas_with_the_right_dtypes(store, tmp_path):
    pd = pytest.importorskip("pandas")
    path = export_experiments(store, None, "csv", tmp_path / "r.csv")
    frame = pd.read_csv(path)
    assert len(frame) == 6
    for column in ("temperature", "top_p", "generation_tps", "ttft_s"):
        assert frame[column].dtype == "float64", column
    for column in ("seed", "generation_tokens", "prompt_tokens", "max_tokens", "cell_index"):
        assert frame[column].dtype == "int64", column
    assert set(frame["finish_reason"]) == {"stop", "length"}
    assert XSS in set(frame["output"])
    assert frame.groupby("temperature")["generation_tps"].mean().index.tolist() == [0.0, 0.7]


# -- selection and the CLI ---------------------------------------------------------------------


def test_search_and_ids_select_experiments(store, tmp_path):
    japan = store.list_experiments(search="Japan")[0]["id"]
    out = export_experiments(store, None, "jsonl", tmp_path / "a.jsonl", search="Osaka")
    assert {json.loads(line)["experiment_id"] for line in out.read_text().splitlines()} == {japan}
    out = export_experiments(store, [japan[:8]], "jsonl", tmp_path / "b.jsonl")
    assert len(out.read_text().splitlines()) == 2
    with pytest.raises(BadInputError, match="Nothing to export"):
        export_experiments(store, [japan], "csv", tmp_path / "c.csv", search="Paris")


def test_export_refuses_to_overwrite_the_run_log_or_write_nowhere(store, tmp_path):
    with pytest.raises(BadInputError, match="the run log itself"):
        export_experiments(store, None, "bundle", store.path)
    with pytest.raises(BadInputError, match="does not exist"):
        export_experiments(store, None, "bundle", tmp_path / "no" / "such" / "file")
    with pytest.raises(BadInputError, match="is a folder"):
        export_experiments(store, None, "bundle", tmp_path)


def test_bundle_carries_model_metadata_and_versions(swept_db, tiny_model_dir, tmp_path):
    doc = json.loads(export_bundle(Store(swept_db), tmp_path).read_text())
    (model,) = doc["models"]
    assert model["name"] == "tiny" and model["path"] == str(tiny_model_dir)
    assert model["stop_token_ids"] == [2] and len(model["fingerprint"]) == 16
    assert model["special_tokens"]["eos"]["token"] == "<|im_end|>"
    assert model["special_tokens"]["turn_end"] == "<|im_end|>"
    assert set(doc["exported_by"]) == {"yilab", "python", "sqlite"}
    assert len(doc["runs"]) == 4
    assert all("mlx-lm" in json.loads(r["versions_json"]) for r in doc["runs"])


def cli(capsys, *args) -> tuple[int, dict]:
    status = main([*args, "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out)


def test_cli_export_and_import_json_contracts(store, capsys, tmp_path):
    out = tmp_path / "b.yilab.json"
    options = ["--out", str(out), "--db", store.path, "--truncate", "100"]
    status, doc = cli(capsys, "export", "--all", "--format", "bundle", *options)
    assert status == 0
    assert doc == {
        "path": str(out),
        "format": "bundle",
        "experiments": 2,
        "runs": 6,
        "bytes": out.stat().st_size,
        "redaction": {"system_prompts": False, "truncate_outputs": 100},
    }
    other = str(tmp_path / "other.db")
    status, doc = cli(capsys, "import", str(out), "--db", other)
    assert status == 0
    assert doc["experiments"] == {"added": 2, "skipped": 0, "conflicts": 0}
    assert doc["runs"] == {"added": 6, "skipped": 0, "conflicts": 0}
    assert doc["conflicts"] == [] and doc["models"] == ["tiny"]
    status, doc = cli(capsys, "import", str(out), "--db", other)
    assert doc["runs"] == {"added": 0, "skipped": 6, "conflicts": 0}


def test_cli_errors_are_one_json_document(store, capsys, tmp_path):
    options = ["--out", str(tmp_path / "x.csv"), "--db", store.path]
    status, doc = cli(capsys, "export", "--experiment", "ffffffff", "--format", "csv", *options)
    assert status == 2 and "No experiment" in doc["error"]
    (tmp_path / "bad.json").write_text('{"format": "yilab-bundle", "version": 9}')
    status, doc = cli(capsys, "import", str(tmp_path / "bad.json"), "--db", store.path)
    assert status == 2 and "upgrade yilab" in doc["error"]


def test_cli_export_prints_a_summary_without_json(store, capsys, tmp_path):
    options = ["--out", str(tmp_path / "r.html"), "--db", store.path]
    assert main(["export", "--all", "--format", "html", *options]) == 0
    assert "wrote 2 experiment(s), 6 run(s)" in capsys.readouterr().out


def test_embedded_json_cannot_close_its_script_element():
    text = embed_json({"output": "</script><script>alert(1)</script><!--"})
    assert "<" not in text and ">" not in text
    assert json.loads(text) == {"output": "</script><script>alert(1)</script><!--"}


def test_every_setting_in_the_report_is_escaped(tmp_path):
    store = Store(tmp_path / "x.db")
    evil = "<script>alert(1)</script>"
    exp = add_experiment(store, [XSS], system=evil, prompt=f"{XSS} {evil}")
    with sqlite3.connect(store.path) as conn:
        conn.execute(
            "update experiments set note = ?, sweep_json = ? where id = ?",
            (evil, json.dumps({"seeds": [evil], "top_k": XSS}), exp),
        )
        conn.execute("update runs set model = ?, finish_reason = ?", (XSS, 'x" onclick="y'))
    html = export_experiments(store, None, "html", tmp_path / "r.html").read_text()
    assert html.count("<script") == 2  # the JSON data block and the report's own script
    assert "<img" not in html and "alert(1)</script>" not in html
    assert 'onclick="y' not in html


def test_a_remote_run_s_endpoint_url_imports(store, tmp_path):
    doc = json.loads(export_bundle(store, tmp_path).read_text())
    for run in doc["runs"]:
        run["model_path"] = "http://127.0.0.1:8080/v1"
    bundle = tmp_path / "remote.json"
    bundle.write_text(json.dumps(doc))
    target = Store(tmp_path / "theirs.db")
    import_bundle(target, bundle)
    assert {r["model_path"] for r in target.list_runs()} == {"http://127.0.0.1:8080/v1"}
