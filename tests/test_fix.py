"""Fixing files: preview, atomic apply with a pristine backup, undo, refusals, and a
real generation that runs to max_tokens before the fix and stops after it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tinymodel import build_tiny_model
from yilab.inspector.diagnose import inspect_model
from yilab.inspector.fix import (
    BACKUP_SUFFIX,
    FixError,
    apply_fix,
    backups,
    edit_json_text,
    preview_fix,
    runtime_override,
    undo_fix,
)
from yilab.inspector.fix_plan import FileChange, FixPlan

YI = Path(__file__).parent / "fixtures" / "yi-6b-chat-2023"


def copy_model(src: Path, dst: Path, crlf: bool = False) -> Path:
    """A writable copy of a model dir, optionally with CRLF line ends."""
    dst.mkdir(parents=True)
    for path in src.iterdir():
        data = path.read_bytes()
        (dst / path.name).write_bytes(data.replace(b"\n", b"\r\n") if crlf else data)
    return dst


def snapshot(model: Path) -> dict[str, bytes]:
    """Every file's bytes."""
    return {p.name: p.read_bytes() for p in sorted(model.iterdir())}


@pytest.fixture
def yi(tmp_path):
    return copy_model(YI, tmp_path / "yi")


def test_preview_is_a_unified_diff(yi):
    edits = {e.file: e.diff for e in preview_fix(yi)}
    assert set(edits) == {"tokenizer_config.json", "generation_config.json"}
    diff = edits["tokenizer_config.json"]
    assert diff.startswith("--- a/tokenizer_config.json\n+++ b/tokenizer_config.json\n")
    assert '-    "content": "<|endoftext|>",\n+    "content": "<|im_end|>",\n' in diff
    assert sum(line.startswith("+") for line in diff.splitlines()) == 2  # +++ and one line
    assert '+  "eos_token_id": [2, 7],' in edits["generation_config.json"]


def test_yi_apply_then_undo(yi):
    before = snapshot(yi)
    result = apply_fix(yi)
    assert sorted(result.files) == ["generation_config.json", "tokenizer_config.json"]
    report = inspect_model(yi)
    assert report.verdict == "ok" and 7 in report.stop_ids
    assert report.eos.token == "<|im_end|>"
    for name in result.files:
        assert (yi / (name + BACKUP_SUFFIX)).read_bytes() == before[name]
    assert snapshot(yi)["config.json"] == before["config.json"]
    assert backups(yi) == ["generation_config.json", "tokenizer_config.json"]
    undo_fix(yi)
    assert snapshot(yi) == before
    assert inspect_model(yi).verdict == "eos_mismatch"


def test_backup_keeps_the_pristine_original(yi):
    original = (yi / "tokenizer_config.json").read_bytes()
    apply_fix(yi)
    path = yi / "tokenizer_config.json"
    path.write_text(edit_json_text(path.read_text(), ["eos_token", "content"], "<|endoftext|>"))
    apply_fix(yi)
    assert (yi / ("tokenizer_config.json" + BACKUP_SUFFIX)).read_bytes() == original
    undo_fix(yi)
    assert path.read_bytes() == original


def test_crlf_bom_and_mode_are_kept(tmp_path):
    model = copy_model(YI, tmp_path / "crlf", crlf=True)
    path = model / "tokenizer_config.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    os.chmod(path, 0o640)
    apply_fix(model)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\n") == data.count(b"\r\n") > 10
    assert (model / "tokenizer_config.json").stat().st_mode & 0o777 == 0o640
    assert inspect_model(model).verdict == "ok"


def test_nothing_to_fix_and_nothing_to_undo(tmp_path):
    model = build_tiny_model(tmp_path / "tiny")
    with pytest.raises(FixError, match="nothing to fix"):
        apply_fix(model)
    with pytest.raises(FixError, match="nothing to undo"):
        undo_fix(model)


def test_refuses_a_symlinked_file(yi, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_bytes((yi / "tokenizer_config.json").read_bytes())
    (yi / "tokenizer_config.json").unlink()
    (yi / "tokenizer_config.json").symlink_to(outside)
    before = outside.read_bytes()
    with pytest.raises(FixError, match="symlink"):
        apply_fix(yi)
    assert outside.read_bytes() == before
    assert not (yi / ("tokenizer_config.json" + BACKUP_SUFFIX)).exists()


def test_refuses_a_symlinked_backup(yi, tmp_path):
    target = tmp_path / "elsewhere"
    (yi / ("generation_config.json" + BACKUP_SUFFIX)).symlink_to(target)
    with pytest.raises(FixError, match="symlink"):
        apply_fix(yi)
    assert not target.exists()


@pytest.mark.parametrize("name", ["model.safetensors", "../tokenizer_config.json", "/etc/passwd"])
def test_refuses_files_it_does_not_own(yi, name):
    plan = FixPlan(changes=[FileChange(name, ["eos_token"], None, "<|im_end|>", "test")])
    with pytest.raises(FixError, match="only edits"):
        apply_fix(yi, plan)


def test_refuses_an_impossible_path(yi):
    plan = FixPlan(changes=[FileChange("config.json", ["model_type", "x"], None, 1, "test")])
    with pytest.raises(FixError, match="not an object"):
        apply_fix(yi, plan)


def test_refuses_a_stale_plan(yi):
    plan = inspect_model(yi).fix
    apply_fix(yi, plan)
    with pytest.raises(FixError, match="changed since"):
        apply_fix(yi, plan)


def test_runtime_override(yi):
    assert runtime_override(inspect_model(yi)) == [7]


@pytest.mark.parametrize(
    "text, key, value, expected",
    [
        ('{\n  "a": 1,\n  "b": "x"\n}\n', ["b"], "y", '{\n  "a": 1,\n  "b": "y"\n}\n'),
        ('{\n  "a": 1\n}', ["c"], [1, 2], '{\n  "a": 1,\n  "c": [1, 2]\n}'),
        ('{"a": 1}', ["c"], 2, '{"a": 1, "c": 2}'),
        ("{}", ["c"], "<s>", '{"c": "<s>"}'),
        (
            '{\n\t"e": {"content": "x", "n": 1}\n}',
            ["e", "content"],
            "y",
            '{\n\t"e": {"content": "y", "n": 1}\n}',
        ),
        ('{\n "l": [\n  1,\n  2\n ]\n}', ["l"], [1, 2, 3], '{\n "l": [\n  1,\n  2,\n  3\n ]\n}'),
        ('{"a": "\\u00e9"}', ["a"], "é", '{"a": "\\u00e9"}'),
        ('{"a": "é", "b": 1}', ["b"], "ü", '{"a": "é", "b": "ü"}'),
        ('{\n  "a": 1,\n  "a": 2\n}', ["a"], 5, '{\n  "a": 1,\n  "a": 5\n}'),
    ],
)
def test_edit_json_text_changes_only_the_value(text, key, value, expected):
    assert edit_json_text(text, key, value) == expected


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=6)
values = st.recursive(scalars, lambda v: st.lists(v, max_size=3), max_leaves=6)
objects = st.dictionaries(st.text(max_size=6), values, max_size=5)


@settings(max_examples=200, deadline=None)
@given(
    data=objects,
    key=st.text(max_size=6),
    value=values,
    indent=st.sampled_from([None, 0, 2, 4, "\t"]),
    ascii_only=st.booleans(),
)
def test_edit_json_text_round_trips(data, key, value, indent, ascii_only):
    text = json.dumps(data, indent=indent, ensure_ascii=ascii_only)
    assert json.loads(edit_json_text(text, [key], value)) == {**data, key: value}


# ---- a real generation: length before the fix, stop after it --------------------------


def _finish_reason(model, tokenizer, im_end: int) -> str:
    """Generate with ``<|im_end|>`` forced at every step; return the finish reason."""
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_logits_processors

    processors = make_logits_processors(logit_bias={im_end: 1e4})
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True
    )
    responses = stream_generate(
        model, tokenizer, prompt, max_tokens=6, logits_processors=processors
    )
    return list(responses)[-1].finish_reason


def test_generation_stops_after_file_fix_and_runtime_override(tmp_path):
    from mlx_lm import load

    model_dir = build_tiny_model(tmp_path / "broken", eos_token="<|endoftext|>")
    report = inspect_model(model_dir)
    assert report.verdict == "eos_mismatch" and report.chat_template.turn_end_id == 2
    im_end = report.chat_template.turn_end_id

    model, tokenizer = load(str(model_dir))
    assert _finish_reason(model, tokenizer, im_end) == "length"

    for token_id in runtime_override(report):  # what the generation worker does
        tokenizer.add_eos_token(token_id)
    assert _finish_reason(model, tokenizer, im_end) == "stop"

    fixed_dir = shutil.copytree(model_dir, tmp_path / "fixed")
    apply_fix(fixed_dir)
    assert inspect_model(fixed_dir).verdict == "ok"
    model, tokenizer = load(str(fixed_dir))
    assert im_end in tokenizer.eos_token_ids
    assert _finish_reason(model, tokenizer, im_end) == "stop"
    assert (
        json.loads((fixed_dir / "tokenizer_config.json").read_text())["eos_token"] == "<|im_end|>"
    )
