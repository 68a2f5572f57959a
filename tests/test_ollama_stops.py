"""Ollama as it ran a model, beside mlx-lm: the inspector's ``ollama`` comparison, on
folders with a hand-written ``ollama.json`` (pure cases) and on real conversions of tiny
GGUFs from a fake Ollama store, ending with the Yi story told end to end: Ollama's ``stop``
has ``<|im_end|>``, the GGUF's eos is ``<|endoftext|>``, yilab's run goes to max_tokens,
the inspector says why, and the fix (runtime or files) makes generation stop."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from tests.test_ollama import (
    YI_PARAMS,
    YI_TEMPLATE,
    cli_json,
    write_ollama_model,
    write_yi,
    yi_gguf,
)
from yilab.cli.main import main
from yilab.experiment.sweep import SweepSpec
from yilab.files import OLLAMA_RECORD
from yilab.inspector.diagnose import inspect_model
from yilab.inspector.model_files import read_model_files
from yilab.inspector.ollama_stops import compare_ollama_stops, read_ollama_records

PROMPT = "What is the capital of France?"
CHATML_PROMPT = f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture
def ollama_root(tmp_path):
    return tmp_path / "ollama"  # what the autouse fixture set OLLAMA_MODELS to


def record(name: str = "yi:6b-chat", **params) -> dict:
    """An ``ollama.json`` entry as importing writes it (the GGUF's eos: <|endoftext|>)."""
    return {
        "name": name,
        "template": YI_TEMPLATE,
        "system": None,
        "params": params,
        "gguf": {"eos_token": "<|endoftext|>", "eos_id": 0},
    }


def imported(tmp_path: Path, tiny_model_dir: Path, *records: dict) -> Path:
    """The tiny ChatML model (eos <|im_end|>) as if imported from Ollama under these records."""
    folder = Path(shutil.copytree(tiny_model_dir, tmp_path / "imported"))
    models = {r["name"]: r for r in records}
    (folder / OLLAMA_RECORD).write_text(json.dumps({"models": models}))
    return folder


def compare(folder: Path, name: str | None = None):
    return compare_ollama_stops(
        inspect_model(folder), read_model_files(folder), read_ollama_records(folder), name
    )


def greedy(service, model: str, *, raw: bool = False, extra: tuple[int, ...] = ()) -> dict:
    """One greedy run of the France prompt, 48 tokens at most."""
    spec = SweepSpec(
        prompt=CHATML_PROMPT if raw else PROMPT,
        raw=raw,
        models=(model,),
        temperatures=(0.0,),
        max_tokens=(48,),
        extra_eos_ids=extra,
    )
    _, runs = service.run_sweep(spec)
    return runs[0]


# --- the comparison, pure ----------------------------------------------------------------------


def test_stops_mlx_lm_also_has_are_ok(tmp_path, tiny_model_dir):
    found = compare(imported(tmp_path, tiny_model_dir, record(stop=["<|im_end|>"])))
    assert found.verdict == "ok" and found.missing_ids == []
    assert [(s.text, s.id, s.mlx_stops) for s in found.stops] == [("<|im_end|>", 2, True)]
    assert found.summary == (
        "mlx-lm stops at every token `ollama run yi:6b-chat` stopped at: <|im_end|> (id 2)."
    )
    assert found.fix.changes == [] and found.fix.extra_eos_ids == []


def test_a_stop_mlx_lm_lacks_is_missing_and_the_fix_adds_it(tmp_path, tiny_model_dir):
    folder = imported(tmp_path, tiny_model_dir, record(stop=["<|im_start|>", "<|im_end|>"]))
    found = compare(folder)
    assert found.verdict == "missing_stops" and found.missing_ids == [1]
    assert "stopped at <|im_start|> (id 1) (its params' stop list)" in found.summary
    assert "the GGUF's eos is <|endoftext|> (id 0)" in found.summary
    assert "mlx-lm stops only at <|im_end|> (id 2)" in found.summary
    [change] = found.fix.changes
    assert (change.file, change.key, change.old, change.new) == (
        "generation_config.json",
        ["eos_token_id"],
        None,
        [2, 1],
    )
    assert found.fix.extra_eos_ids == [1] and found.fix.needed is True
    assert found.fix.mlx_lm_cli.endswith("--extra-eos-token '<|im_start|>'")


def test_a_text_stop_is_named_and_no_fix_pretends_to_cover_it(tmp_path, tiny_model_dir):
    found = compare(imported(tmp_path, tiny_model_dir, record(stop=["User:", "<|im_end|>"])))
    assert [(s.text, s.id) for s in found.stops] == [("User:", None), ("<|im_end|>", 2)]
    assert found.verdict == "ok" and found.fix.changes == []
    assert 'also stopped at the text "User:", which is not one token' in found.summary


def test_no_stop_in_the_params(tmp_path, tiny_model_dir):
    found = compare(imported(tmp_path, tiny_model_dir, record(temperature=0.7)))
    assert (found.verdict, found.stops, found.params) == ("ok", [], {"temperature": 0.7})
    assert found.summary.startswith("Ollama's params name no stop token for yi:6b-chat")


def test_the_named_model_is_picked_and_the_others_are_listed(tmp_path, tiny_model_dir):
    folder = imported(
        tmp_path,
        tiny_model_dir,
        record("yi:6b-chat", stop=["<|im_start|>"]),
        record("myyi:latest", stop=["<|im_end|>"]),
    )
    assert compare(folder, "yi:6b-chat").missing_ids == [1]
    assert compare(folder, "yi:6b-chat").also_imported_as == ["myyi:latest"]
    assert compare(folder, "myyi:latest").missing_ids == []
    assert compare(folder).name == "myyi:latest"  # no name: the first by name
    assert compare(folder, "other:latest") is None


@pytest.mark.parametrize("content", ["", "{broken", "[]", '{"models": []}'])
def test_an_unreadable_record_is_no_record(tmp_path, tiny_model_dir, content):
    folder = Path(shutil.copytree(tiny_model_dir, tmp_path / "m"))
    (folder / OLLAMA_RECORD).write_text(content)
    assert read_ollama_records(folder) == {}
    assert compare(folder) is None


def test_inspect_json_has_an_ollama_key_that_is_null_for_other_models(capsys, tiny_model_dir):
    status, doc, _ = cli_json(capsys, "inspect", str(tiny_model_dir))
    assert status == 0 and doc["ollama"] is None and doc["verdict"] == "ok"


# --- the Yi story, end to end on a real conversion ---------------------------------------------


def test_the_yi_story_inspector_says_so_and_the_fix_makes_generation_stop(
    ollama_root, tmp_path, capsys, service
):
    write_yi(ollama_root, tmp_path)
    status, doc, _ = cli_json(capsys, "inspect", "yi:6b-chat")
    assert status == 0 and doc["verdict"] == "eos_mismatch"
    ollama = doc["ollama"]
    assert ollama["name"] == "yi:6b-chat" and ollama["verdict"] == "missing_stops"
    assert [(s["text"], s["id"], s["mlx_stops"]) for s in ollama["stops"]] == [
        ("<|im_start|>", 1, False),
        ("<|im_end|>", 2, False),
    ]
    assert ollama["gguf_eos"] == {
        "token": "<|endoftext|>",
        "id": 0,
        "source": "GGUF tokenizer.ggml.eos_token_id",
    }
    assert [(s["token"], s["id"]) for s in ollama["mlx_stop_tokens"]] == [("<|endoftext|>", 0)]
    assert ollama["missing_ids"] == [1, 2] and ollama["template"] == YI_TEMPLATE
    assert ollama["summary"].startswith(
        "`ollama run yi:6b-chat` stopped at <|im_start|> (id 1) and <|im_end|> (id 2)"
    )
    assert ollama["fix"]["extra_eos_ids"] == [2, 1]
    assert doc["fix"]["extra_eos_ids"] == [2]  # the inspector's own fix: the turn end

    assert main(["inspect", "yi:6b-chat"]) == 0
    text = capsys.readouterr().out
    assert "Ollama (yi:6b-chat, as `ollama run` ran it):" in text
    assert "<|im_end|> (id 2) ✗ mlx-lm does not stop there" in text
    assert "GGUF eos: <|endoftext|> (id 0)" in text
    assert "python -m yilab fix yi:6b-chat" in text
    assert "--extra-eos-id 1 --extra-eos-id 2" in text
    assert "    | {{ end }}<|im_start|>assistant" in text

    before = greedy(service, "yi:6b-chat")
    assert before["finish_reason"] == "length" and "<|im_end|>" in before["output"]
    at_run_time = greedy(service, "yi:6b-chat", extra=tuple(ollama["missing_ids"]))
    assert at_run_time["finish_reason"] == "stop"
    assert at_run_time["generation_tokens"] < before["generation_tokens"]

    status, fixed, _ = cli_json(capsys, "fix", "yi:6b-chat")
    assert status == 0 and fixed["verdict"] == "ok" and fixed["ollama_missing_ids"] == []
    assert sorted(fixed["files"]) == ["generation_config.json", "tokenizer_config.json"]
    folder = Path(fixed["path"])
    generation = json.loads((folder / "generation_config.json").read_text())
    assert generation["eos_token_id"] == [0, 1, 2]
    after = greedy(service, "yi:6b-chat")
    assert after["finish_reason"] == "stop" and "<|im_end|>" not in after["output"]
    assert after["output"] == at_run_time["output"]

    status, doc, _ = cli_json(capsys, "inspect", "yi:6b-chat")
    assert doc["verdict"] == "ok" and doc["ollama"]["verdict"] == "ok"
    status, undone, _ = cli_json(capsys, "fix", "--undo", "yi:6b-chat")
    assert undone["verdict"] == "eos_mismatch" and undone["ollama_missing_ids"] == [1, 2]


def test_without_a_template_in_the_gguf_ollamas_stops_are_the_fix(
    ollama_root, tmp_path, capsys, service
):
    gguf = yi_gguf(tmp_path / "g" / "yi.gguf", chat_template=False)
    write_ollama_model(ollama_root, gguf.read_bytes(), template=YI_TEMPLATE, params=YI_PARAMS)
    status, doc, _ = cli_json(capsys, "inspect", "yi:6b-chat")
    assert doc["verdict"] == "no_chat_template" and doc["fix"]["changes"] == []
    assert doc["ollama"]["missing_ids"] == [1, 2]
    [change] = doc["ollama"]["fix"]["changes"]
    assert (change["file"], change["new"]) == ("generation_config.json", [0, 1, 2])

    before = greedy(service, "yi:6b-chat", raw=True)
    assert before["finish_reason"] == "length" and "<|im_end|>" in before["output"]
    status, dry, _ = cli_json(capsys, "fix", "yi:6b-chat", "--dry-run")
    assert (
        dry["files"] == ["generation_config.json"] and '+  "eos_token_id": [0, 1, 2]' in dry["diff"]
    )
    status, fixed, _ = cli_json(capsys, "fix", "yi:6b-chat")
    assert fixed["files"] == ["generation_config.json"] and fixed["ollama_missing_ids"] == []
    assert greedy(service, "yi:6b-chat", raw=True)["finish_reason"] == "stop"


def test_the_service_hands_the_tab_the_ollama_aware_fix(ollama_root, tmp_path, service):
    write_yi(ollama_root, tmp_path)
    path = service.model_dir("yi:6b-chat")
    seen = service.inspection(path, "yi:6b-chat")
    assert seen.ollama is not None and seen.ollama.missing_ids == [1, 2]
    assert seen.runtime_extra == [2, 1]
    assert [e.file for e in seen.edits] == ["tokenizer_config.json", "generation_config.json"]
    assert service.inspection(path).ollama.name == "yi:6b-chat"  # the folder's only record
    plain = dataclasses.replace(seen, ollama=None)
    assert plain.plan is seen.report.fix and seen.plan is seen.ollama.fix
