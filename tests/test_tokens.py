"""The token view: ids, pieces, special tokens and the double-bos warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tinymodel import CHATML_TEMPLATE, build_tiny_model
from yilab.errors import BadInputError, ModelLoadError
from yilab.inspector import token_view as tokens
from yilab.inspector.diagnose import inspect_model
from yilab.inspector.token_view import render_chat, tokenize_chat, tokenize_text

CHAT = [{"role": "user", "content": "the"}]


def double_bos_model(path: Path) -> Path:
    """The tiny model with bos ``<|endoftext|>`` added by tokenizer.json's post-processor
    and written again by the template."""
    model = build_tiny_model(path)
    tok = json.loads((model / "tokenizer.json").read_text())
    bos = {"id": "<|endoftext|>", "type_id": 0}
    tok["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": bos}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [
            {"SpecialToken": bos},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {
            "<|endoftext|>": {"id": "<|endoftext|>", "ids": [0], "tokens": ["<|endoftext|>"]}
        },
    }
    (model / "tokenizer.json").write_text(json.dumps(tok))
    config = json.loads((model / "tokenizer_config.json").read_text())
    config.update(bos_token="<|endoftext|>", chat_template="{{ bos_token }}" + CHATML_TEMPLATE)
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    return model


def test_tokenize_text(tiny_model_dir):
    view = tokenize_text(tiny_model_dir, "<|im_start|> the<|im_end|>")
    assert view.ids == [1, 261, 2] and view.count == 3
    assert view.pieces == ["<|im_start|>", "Ġthe", "<|im_end|>"]
    assert view.special == [True, False, True]
    assert view.warnings == []


def test_pieces_and_texts_differ_for_byte_level(tiny_model_dir):
    view = tokenize_text(tiny_model_dir, "a the")
    assert view.pieces[-1] == "Ġthe" and view.texts[-1] == " the"


def test_tokenize_chat(tiny_model_dir):
    text = render_chat(tiny_model_dir, CHAT)
    assert text == "<|im_start|>user\nthe<|im_end|>\n<|im_start|>assistant\n"
    view = tokenize_chat(tiny_model_dir, CHAT)
    assert view.text == text and view.ids[0] == 1 and view.ids.count(2) == 1
    assert sum(view.special) == 3 and view.warnings == []


def test_double_bos_warning(tmp_path):
    model = double_bos_model(tmp_path / "double")
    view = tokenize_chat(model, CHAT)
    assert view.ids[:2] == [0, 0]
    assert view.warnings and "double bos" in view.warnings[0]
    report = inspect_model(model)
    assert report.adds_bos is True and "double_bos" in {p.code for p in report.problems}
    assert tokenize_text(model, " the").ids == [0, 261]


def test_falls_back_to_tokenizer_json(tiny_model_dir, monkeypatch):
    import transformers

    def refuse(*args, **kwargs):
        raise OSError("no transformers today")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", refuse)
    tokens._load.cache_clear()
    try:
        view = tokenize_text(tiny_model_dir, "<|im_start|> the")
    finally:
        tokens._load.cache_clear()
    assert view.ids == [1, 261] and view.special == [True, False]


def test_errors_are_yilab_errors(tmp_path, tiny_model_dir):
    with pytest.raises(ModelLoadError):
        tokenize_text(tmp_path / "missing", "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError):
        tokenize_text(tmp_path / "empty", "x")
    with pytest.raises(BadInputError, match="no chat template"):
        render_chat(tmp_path / "empty", CHAT)
    with pytest.raises(BadInputError):
        render_chat(tiny_model_dir, "not a list")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="refused"):
        render_chat(tiny_model_dir, [{"role": "user"}])


def test_reloads_after_the_files_change(tmp_path):
    model = build_tiny_model(tmp_path / "tiny")
    assert tokenize_text(model, " the").ids == [261]
    double_bos_model(tmp_path / "tiny")
    assert tokenize_text(model, " the").ids == [0, 261]
