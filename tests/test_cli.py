"""The CLI's JSON contracts and its errors, in-process through ``main()``."""

import json

import pytest

from yilab.cli.main import main
from yilab.runlog.store import Store
from yilab.service.documents import RUN_JSON_FIELDS


def cli(capsys, *args):
    """Run the CLI; return (exit status, parsed stdout JSON, stderr)."""
    status = main([*args, "--json"])
    out, err = capsys.readouterr()
    return status, json.loads(out), err


def test_compare_json_contract_and_runs_show_replay(capsys, tiny_model_dir, tmp_path):
    db = str(tmp_path / "cli.db")
    options = ["--temps", "0,0.8", "--seeds", "1,2", "--max-tokens", "12", "--db", db]
    status, doc, _ = cli(capsys, "compare", "Hello there", "--model", str(tiny_model_dir), *options)
    assert status == 0
    assert set(doc) == {"experiment_id", "runs", "scores"}
    assert [(s["temperature"], s["runs"]) for s in doc["scores"]] == [(0, 2), (0.8, 2)]
    assert doc["scores"][0]["distinct_outputs"] == 1  # greedy: both seeds agree
    assert len(doc["runs"]) == 4
    for run in doc["runs"]:
        assert set(run) == set(RUN_JSON_FIELDS)
        assert run["finish_reason"] == "length" and run["status"] == "done"
        assert run["generation_tokens"] == 12 and run["max_tokens"] == 12
    assert [(r["temperature"], r["seed"]) for r in doc["runs"]] == [
        (0, 1),
        (0, 2),
        (0.8, 1),
        (0.8, 2),
    ]

    status, runs, _ = cli(capsys, "runs", "--db", db, "--limit", "3")
    assert status == 0 and len(runs) == 3 and {"id", "model", "output"} <= set(runs[0])

    run_id = doc["runs"][3]["id"]
    status, shown, _ = cli(capsys, "show", run_id[:8], "--db", db)
    assert shown["id"] == run_id and shown["rendered_prompt"].startswith("<|im_start|>user")

    status, replay, _ = cli(capsys, "replay", run_id, "--db", db)
    assert status == 0 and replay["identical"] is True
    assert replay["replay"]["output"] == doc["runs"][3]["output"]


def test_compare_prints_a_table_without_json(capsys, tiny_model_dir, tmp_path):
    args = ["compare", "Hi", "--model", str(tiny_model_dir), "--max-tokens", "5"]
    status = main([*args, "--db", str(tmp_path / "t.db")])
    out, err = capsys.readouterr()
    assert status == 0
    assert "finish" in out and "experiment " in out
    assert "[1/1] T=0.7 seed=0 length, 5 tokens" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--temps", "warm"], "is not a number"),
        (["--temps", "nan"], "not a finite number"),
        (["--temps", "-1"], "temperature must be in"),
        (["--max-tokens", "0"], "max_tokens must be between"),
        (["--max-tokens", "99999999999"], "max_tokens must be between"),
        (["--seeds", "x"], "is not a whole number"),
        (["--model", "nope/not-here"], "cannot download"),
        (["--model", "/no/such/folder"], ""),
    ],
)
def test_bad_input_is_a_json_error_and_writes_nothing(
    capsys, tiny_model_dir, tmp_path, args, message
):
    db = tmp_path / "bad.db"
    base = ["compare", "Hi", "--model", str(tiny_model_dir)]
    status, doc, err = cli(capsys, *base, *args, "--db", str(db))
    assert status == 2
    assert message in doc["error"] and "error:" in err
    # some inputs are refused before the db is opened, some after: no rows either way
    assert not db.exists() or Store(db).list_runs() == []


def test_empty_prompt_is_refused(capsys, tiny_model_dir):
    status, doc, _ = cli(capsys, "compare", " ", "--model", str(tiny_model_dir))
    assert status == 2 and "prompt is empty" in doc["error"]


def test_show_unknown_run(capsys, tmp_path):
    status, doc, _ = cli(capsys, "show", "deadbeef00", "--db", str(tmp_path / "x.db"))
    assert status == 2 and "deadbeef00" in doc["error"]


def test_models_json_lists_the_default_model(capsys):
    status, models, _ = cli(capsys, "models")
    assert status == 0
    names = {m["name"]: m for m in models}
    assert "smollm2-135m-instruct" in names
    assert all({"name", "path"} <= set(m) for m in models)


def test_db_defaults_to_yilab_db(capsys, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("YILAB_DB", str(tmp_path / "env.db"))
    status, doc, _ = cli(
        capsys, "compare", "Hi", "--model", str(tiny_model_dir), "--max-tokens", "3"
    )
    assert status == 0
    assert Store(tmp_path / "env.db").get_run(doc["runs"][0]["id"])["output"] is not None
