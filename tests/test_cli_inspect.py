"""``inspect``, ``fix`` and ``tokens`` through ``main()``: JSON contracts, the Yi fixture's
eos_mismatch → fix → ok → undo round trip, dry runs, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from yilab.cli.main import main

YI = Path(__file__).parent / "fixtures" / "yi-6b-chat-2023"


def cli(capsys, *args, json_out: bool = True):
    """Run the CLI; return (exit status, stdout parsed as JSON or text, stderr)."""
    status = main([*args, "--json"] if json_out else list(args))
    out, err = capsys.readouterr()
    return status, (json.loads(out) if json_out else out), err


def snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.fixture
def yi(tmp_path):
    return Path(shutil.copytree(YI, tmp_path / "yi"))


def test_inspect_json_contract(capsys, yi):
    status, doc, _ = cli(capsys, "inspect", str(yi))
    assert status == 0
    assert {"verdict", "chat_template", "bos", "eos", "stop_tokens", "problems", "fix"} <= set(doc)
    assert doc["verdict"] == "eos_mismatch"
    assert doc["chat_template"]["source"] == "tokenizer_config.json"
    assert doc["chat_template"]["turn_end"] == "<|im_end|>"
    assert doc["eos"]["token"] == "<|endoftext|>"
    assert {"token": "<|endoftext|>", "id": 2} in [
        {k: s[k] for k in ("token", "id")} for s in doc["stop_tokens"]
    ]
    assert all({"token", "id", "source"} <= set(s) for s in doc["stop_tokens"])
    assert "eos_mismatch" in {p["code"] for p in doc["problems"]}
    assert all({"code", "severity", "file", "message"} <= set(p) for p in doc["problems"])
    assert doc["fix"]["extra_eos_ids"] == [7] and doc["fix"]["needed"] is True


def test_inspect_text_names_the_verdict_conflicts_and_runtime_fixes(capsys, yi):
    status, out, _ = cli(capsys, "inspect", str(yi), json_out=False)
    assert status == 0
    assert "verdict: eos_mismatch — EOS mismatch" in out
    assert "✗ tokenizer_config.json    eos_token      <|endoftext|> (id 2)" in out
    assert "assistant turns end with <|im_end|> (id 7)" in out
    assert "stop set (mlx-lm): <|endoftext|> (id 2) ← tokenizer_config.json eos_token" in out
    assert "--extra-eos-id 7" in out and "PARAMETER stop" in out and "--extra-eos-token" in out


def test_fix_dry_run_then_fix_then_undo_restores_the_bytes(capsys, yi):
    original = snapshot(yi)
    status, dry, _ = cli(capsys, "fix", str(yi), "--dry-run")
    assert status == 0 and dry["dry_run"] is True
    assert dry["files"] == ["tokenizer_config.json", "generation_config.json"]
    assert '+    "content": "<|im_end|>",' in dry["diff"]
    assert snapshot(yi) == original  # a dry run writes nothing

    status, done, _ = cli(capsys, "fix", str(yi))
    assert status == 0
    assert (done["verdict_before"], done["verdict"]) == ("eos_mismatch", "ok")
    assert done["backups"] == [f + ".yilab-bak" for f in done["files"]]
    status, doc, _ = cli(capsys, "inspect", str(yi))
    assert doc["verdict"] == "ok" and 7 in [s["id"] for s in doc["stop_tokens"]]

    status, again, _ = cli(capsys, "fix", str(yi))  # nothing left to fix: not an error
    assert status == 0 and again["files"] == [] and again["verdict"] == "ok"

    status, undone, _ = cli(capsys, "fix", "--undo", str(yi))
    assert status == 0 and undone["verdict"] == "eos_mismatch"
    assert snapshot(yi) == original


def test_fix_and_undo_print_what_they_did(capsys, yi):
    status, out, _ = cli(capsys, "fix", str(yi), json_out=False)
    assert status == 0
    assert "changed tokenizer_config.json (original kept in tokenizer_config.json.yilab-bak)" in out
    assert "verdict: eos_mismatch → ok" in out
    status, out, _ = cli(capsys, "fix", "--undo", str(yi), json_out=False)
    assert "restored tokenizer_config.json" in out and "ok → eos_mismatch" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["inspect", "/no/such/model"], "no such file or folder"),
        (["fix", "/no/such/model"], "no such file or folder"),
        (["tokens", "/no/such/model", "hi"], "no such file or folder"),
    ],
)
def test_bad_paths_are_json_errors(capsys, args, message):
    status, doc, err = cli(capsys, *args)
    assert status == 2 and set(doc) == {"error"} and message in doc["error"]
    assert "error:" in err


def test_undo_without_backup_is_an_error(capsys, tiny_model_dir):
    status, doc, _ = cli(capsys, "fix", "--undo", str(tiny_model_dir))
    assert status == 2 and "nothing to undo" in doc["error"]


def test_tokens_on_a_config_only_folder_is_an_error_or_a_warning(capsys, yi):
    status, doc, _ = cli(capsys, "tokens", str(yi), "hello")
    assert status == 2 and "no usable tokenizer" in doc["error"]
    status, doc, _ = cli(capsys, "tokens", str(yi), "<|im_start|>hello")  # specials only
    assert status == 0 and "do not spell the text back" in doc["warnings"][0]


def test_tokens_json_marks_special_tokens_and_double_bos(capsys, tiny_model_dir):
    status, doc, _ = cli(capsys, "tokens", str(tiny_model_dir), "<|im_end|> the")
    assert status == 0
    assert set(doc) >= {"ids", "pieces", "texts", "special", "count", "warnings"}
    assert doc["ids"][0] == 2 and doc["special"][0] is True and doc["pieces"][-1] == "Ġthe"
    assert doc["count"] == len(doc["ids"]) and doc["warnings"] == []

    status, chat, _ = cli(capsys, "tokens", str(tiny_model_dir), "Hi", "--chat")
    assert chat["text"].startswith("<|im_start|>user\nHi<|im_end|>")
    assert chat["ids"][0] == 1 and chat["special"][0] is True


def test_tokens_text_lists_one_line_per_token(capsys, tiny_model_dir):
    status, out, _ = cli(capsys, "tokens", str(tiny_model_dir), "<|im_start|> the", json_out=False)
    assert status == 0
    assert out.startswith("2 tokens (* = special)")
    assert "*       1  '<|im_start|>'" in out and "ids: 1 " in out


def test_double_bos_warning_for_a_text_that_repeats_the_bos():
    from yilab.inspector.wording import double_bos_warning

    assert "double bos" in double_bos_warning([1, 1, 5], 1, "<s>")
    assert double_bos_warning([1, 5, 1], 1, "<s>") is None
    assert double_bos_warning([1, 1], None, None) is None


def test_fix_creates_chat_template_jinja_for_a_template_mlx_lm_ignores(capsys, tmp_path):
    model = Path(shutil.copytree(YI, tmp_path / "legacy"))
    config = json.loads((model / "tokenizer_config.json").read_text())
    template = config.pop("chat_template")
    (model / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (model / "chat_template.json").write_text(json.dumps({"chat_template": template}))
    original = snapshot(model)

    status, doc, _ = cli(capsys, "inspect", str(model))
    assert doc["verdict"] == "no_chat_template" and doc["chat_template"]["source"] is None
    assert "template_not_loaded" in {p["code"] for p in doc["problems"]}
    assert doc["fix"]["changes"][0]["kind"] == "create"
    status, out, _ = cli(capsys, "inspect", str(model), json_out=False)
    assert "chat_template.jinja: create it" in out

    status, out, _ = cli(capsys, "fix", str(model), json_out=False)
    assert status == 0 and "created chat_template.jinja (undo removes it)" in out
    assert (model / "chat_template.jinja").read_text() == template
    status, doc, _ = cli(capsys, "inspect", str(model))
    assert doc["chat_template"]["source"] == "chat_template.jinja"
    assert doc["verdict"] == "eos_mismatch"  # the next thing to fix shows up

    status, doc, _ = cli(capsys, "fix", "--undo", str(model))
    assert status == 0 and doc["files"] == ["chat_template.jinja"]
    assert snapshot(model) == original
