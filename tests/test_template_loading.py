"""Loader parity: the inspector shows the chat template that mlx-lm really renders with.

transformers 5 (which mlx-lm's loader calls) reads ``chat_template.jinja`` and
``additional_chat_templates/`` over ``tokenizer_config.json``'s ``chat_template``, and never
reads ``chat_template.json``. Every case here is checked against a real
``AutoTokenizer.from_pretrained`` load or a real ``mlx_lm.load`` of a tiny folder, and the
fix for a template mlx-lm ignores is applied, checked by a real load, and undone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.tinymodel import CHATML_TEMPLATE, _byte_level_tokenizer_json, build_tiny_model
from yilab.errors import BadInputError, FixError
from yilab.events import GenerationRequest
from yilab.generation.worker import render_prompt
from yilab.inspector.diagnose import inspect_model
from yilab.inspector.fix import CREATED_SUFFIX, apply_fix, backups, preview_fix, undo_fix
from yilab.inspector.token_view import render_chat

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]
OTHER = CHATML_TEMPLATE.replace("<|im_end|>", "<|endoftext|>")


def tokenizer_folder(path: Path, config_template=None, **files) -> Path:
    """A tokenizer-only folder: the tiny byte-level tokenizer.json, a tokenizer_config.json
    (with ``config_template`` as its chat_template when given) and extra files by name
    (``chat_template_jinja=...``; ``additional/NAME`` for additional_chat_templates)."""
    path.mkdir(parents=True)
    (path / "tokenizer.json").write_text(json.dumps(_byte_level_tokenizer_json()))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>"}
    if config_template is not None:
        config["chat_template"] = config_template
    (path / "tokenizer_config.json").write_text(json.dumps(config))
    for key, text in files.items():
        if key.startswith("additional_"):
            (path / "additional_chat_templates").mkdir(exist_ok=True)
            (path / "additional_chat_templates" / f"{key[11:]}.jinja").write_bytes(text)
        elif key == "chat_template_json":
            (path / "chat_template.json").write_text(json.dumps({"chat_template": text}))
        else:
            (path / key.replace("_jinja", ".jinja")).write_bytes(text)
    return path


def transformers_template(path: Path) -> str | None:
    """The template a real transformers load uses without tools (None: it has none or
    refuses to pick one; an empty template counts as none)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path)).get_chat_template() or None
    except ValueError:
        return None


LAYOUTS = {
    "tokenizer_config only": dict(config_template=CHATML_TEMPLATE),
    "jinja over tokenizer_config": dict(
        config_template=OTHER, chat_template_jinja=CHATML_TEMPLATE.encode()
    ),
    "chat_template.json is never read": dict(chat_template_json=CHATML_TEMPLATE),
    "chat_template.json loses to tokenizer_config": dict(
        config_template=CHATML_TEMPLATE, chat_template_json=OTHER
    ),
    "additional templates without a default": dict(
        config_template=CHATML_TEMPLATE, additional_tool_use=OTHER.encode()
    ),
    "additional templates with a jinja default": dict(
        chat_template_jinja=CHATML_TEMPLATE.encode(), additional_tool_use=OTHER.encode()
    ),
    "named list without a default": dict(config_template=[{"name": "x", "template": OTHER}]),
    "named list with a default": dict(
        config_template=[
            {"name": "x", "template": OTHER},
            {"name": "default", "template": CHATML_TEMPLATE},
        ]
    ),
    "an empty jinja still wins": dict(config_template=CHATML_TEMPLATE, chat_template_jinja=b""),
    "a BOM is kept": dict(chat_template_jinja=b"\xef\xbb\xbf" + CHATML_TEMPLATE.encode()),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_inspector_shows_the_template_transformers_loads(tmp_path, layout):
    folder = tokenizer_folder(tmp_path / "m", **LAYOUTS[layout])
    report = inspect_model(folder)
    assert report.chat_template.template == transformers_template(folder)


def test_a_template_only_in_chat_template_json_is_a_problem_with_a_fix(tmp_path):
    folder = tokenizer_folder(tmp_path / "m", chat_template_json=CHATML_TEMPLATE)
    report = inspect_model(folder)
    assert report.verdict == "no_chat_template" and report.chat_template.source is None
    assert report.chat_template.ignored == ["chat_template.json"]
    problem = next(p for p in report.problems if p.code == "template_not_loaded")
    assert problem.severity == "error" and problem.file == "chat_template.json"
    assert "chat_template.json" in report.summary
    [change] = report.fix.changes
    assert (change.kind, change.file, change.new) == (
        "create",
        "chat_template.jinja",
        CHATML_TEMPLATE,
    )
    assert report.fix.needed


def test_the_fix_writes_chat_template_jinja_and_undo_removes_it(tmp_path):
    folder = tokenizer_folder(tmp_path / "m", chat_template_json=CHATML_TEMPLATE)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    [edit] = preview_fix(folder)
    assert edit.created and edit.diff.startswith("--- /dev/null\n+++ b/chat_template.jinja\n")
    assert not (folder / "chat_template.jinja").exists()  # a preview writes nothing

    result = apply_fix(folder)
    assert result.created == ["chat_template.jinja"] and result.backups == []
    assert (folder / "chat_template.jinja").read_text() == CHATML_TEMPLATE
    assert transformers_template(folder) == CHATML_TEMPLATE  # a real load now finds it
    report = inspect_model(folder)
    assert report.verdict == "ok" and report.chat_template.source == "chat_template.jinja"
    assert backups(folder) == ["chat_template.jinja"]

    undo_fix(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert inspect_model(folder).verdict == "no_chat_template"


def test_the_fix_never_overwrites_a_jinja_that_appeared(tmp_path):
    folder = tokenizer_folder(tmp_path / "m", chat_template_json=CHATML_TEMPLATE)
    plan = inspect_model(folder).fix
    (folder / "chat_template.jinja").write_text("mine")
    with pytest.raises(FixError, match="inspect it again"):
        apply_fix(folder, plan)
    assert (folder / "chat_template.jinja").read_text() == "mine"
    assert not (folder / ("chat_template.jinja" + CREATED_SUFFIX)).exists()


def test_the_fix_refuses_to_write_through_a_symlinked_jinja(tmp_path):
    folder = tokenizer_folder(tmp_path / "m", chat_template_json=CHATML_TEMPLATE)
    plan = inspect_model(folder).fix
    (folder / "chat_template.jinja").symlink_to(tmp_path / "elsewhere.jinja")
    with pytest.raises(FixError, match="symlink"):
        apply_fix(folder, plan)
    assert not (tmp_path / "elsewhere.jinja").exists()


# ---- a real mlx-lm load renders what the inspector shows ---------------------------------

THINKING = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n"
    "{% endif %}{% endif %}"
)


def _move_template(folder: Path, to: str, template: str = CHATML_TEMPLATE) -> None:
    """Take the chat template out of tokenizer_config.json and put it in ``to``."""
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config.pop("chat_template")
    path.write_text(json.dumps(config))
    text = json.dumps({"chat_template": template}) if to.endswith(".json") else template
    (folder / to).write_text(text)


def _add_think_tokens(folder: Path) -> None:
    """Give the tiny tokenizer ``<think>`` and ``</think>`` (ids 262 and 263)."""
    from tokenizers import AddedToken, Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.add_tokens([AddedToken(t, special=False) for t in ("<think>", "</think>")])
    tokenizer.save(str(folder / "tokenizer.json"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _variant(tiny: Path, tmp_path: Path, name: str) -> Path:
    """A copy of the tiny model with its template moved or changed."""
    folder = Path(shutil.copytree(tiny, tmp_path / name))
    if name == "jinja":
        _move_template(folder, "chat_template.jinja")
    elif name == "jinja over tokenizer_config":
        (folder / "chat_template.jinja").write_text(OTHER)
    elif name.startswith("thinking"):
        _move_template(folder, "chat_template.jinja", THINKING)
        if name == "thinking, with think tokens":
            _add_think_tokens(folder)
    return folder


@pytest.mark.parametrize(
    "name",
    [
        "tokenizer_config",
        "jinja",
        "jinja over tokenizer_config",
        "thinking, no think tokens",
        "thinking, with think tokens",
    ],
)
def test_yilab_renders_the_prompt_mlx_lm_renders(tiny, tmp_path, name):
    from mlx_lm import load

    folder = _variant(tiny, tmp_path, name)
    _, tokenizer = load(str(folder))
    expected = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    report = inspect_model(folder)
    assert report.chat_template.template == tokenizer.chat_template
    assert render_chat(folder, MESSAGES) == expected
    assert render_prompt(tokenizer, GenerationRequest(str(folder), messages=MESSAGES)) == expected
    assert report.chat_template.enable_thinking is (name == "thinking, with think tokens")


def test_mlx_lm_has_no_template_when_only_chat_template_json_has_one(tiny, tmp_path):
    from mlx_lm import load

    folder = Path(shutil.copytree(tiny, tmp_path / "legacy"))
    _move_template(folder, "chat_template.json")
    _, tokenizer = load(str(folder))
    assert tokenizer.chat_template is None
    with pytest.raises(BadInputError):
        render_prompt(tokenizer, GenerationRequest(str(folder), messages=MESSAGES))
    with pytest.raises(BadInputError):
        render_chat(folder, MESSAGES)
    assert inspect_model(folder).verdict == "no_chat_template"

    apply_fix(folder)
    _, tokenizer = load(str(folder))
    expected = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    assert render_chat(folder, MESSAGES) == expected
    assert expected.endswith("<|im_start|>assistant\n")


def test_an_empty_jinja_hides_every_other_template_and_is_not_overwritten(tmp_path):
    folder = tokenizer_folder(
        tmp_path / "m", config_template=CHATML_TEMPLATE, chat_template_jinja=b"\n"
    )
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": OTHER}))
    report = inspect_model(folder)
    assert report.verdict == "no_chat_template" and "empty" in report.summary
    found = {p.code: p.message for p in report.problems}
    assert {"empty_template", "template_ignored"} <= set(found)
    assert found["template_ignored"].endswith("which mlx-lm ignores")
    assert report.fix.changes == []
    assert transformers_template(folder).strip() == ""  # transformers uses it: blank prompts
