"""Integration: the Yi eos mistake reproduced on the real default model (SmolLM2-135M),
diagnosed, and fixed both ways: in the files and at run time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from yilab.experiment.sweep import SweepSpec
from yilab.experiment.turn_end import missed_turn_end, percent
from yilab.inspector.diagnose import inspect_model
from yilab.inspector.fix import apply_fix, runtime_override, undo_fix
from yilab.models.resolve import resolve_model
from yilab.service import Service

pytestmark = pytest.mark.slow
PROMPT = "What is the capital of France?"  # SmolLM2 answers in one sentence, then <|im_end|>
ENDOFTEXT, IM_END = 0, 2  # SmolLM2's ids


@pytest.fixture
def default_dir(default_model_home) -> Path:
    return resolve_model(None).path  # converted once per test session


@pytest.fixture
def yi_like_copy(default_dir, tmp_path) -> Path:
    """The default model with Yi's mistake: eos ``<|endoftext|>`` in the tokenizer and the
    configs. Config files are copied, the weights linked."""
    path = tmp_path / "smollm2-yi-eos"
    path.mkdir()
    for file in default_dir.iterdir():
        if file.suffix == ".safetensors":
            (path / file.name).symlink_to(file)
        elif file.is_file():
            shutil.copy2(file, path / file.name)
    edit_json(path / "tokenizer_config.json", eos_token="<|endoftext|>")
    # A list: mlx-lm ignores a falsy eos_token_id, and 0 alone would be falsy.
    edit_json(path / "generation_config.json", eos_token_id=[ENDOFTEXT])
    edit_json(path / "config.json", eos_token_id=ENDOFTEXT)
    return path


def edit_json(path: Path, **values) -> None:
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, **values}, indent=2) + "\n")


def generate(service: Service, path: Path, extra_eos_ids=(), max_tokens: int = 40) -> dict:
    """One greedy run through the service; its logged row."""
    spec = SweepSpec(
        prompt=PROMPT,
        models=(str(path),),
        temperatures=(0.0,),
        max_tokens=(max_tokens,),
        extra_eos_ids=tuple(extra_eos_ids),
    )
    _, (run,) = service.run_sweep(spec)
    return run


def test_the_converted_default_model_is_ok(default_dir):
    report = inspect_model(default_dir)
    assert report.verdict == "ok"
    assert (report.chat_template.turn_end, report.chat_template.turn_end_id) == ("<|im_end|>", 2)
    assert IM_END in report.stop_ids and not report.fix.needed


def test_yi_eos_runs_to_length_and_both_fixes_make_it_stop(yi_like_copy, tmp_path):
    report = inspect_model(yi_like_copy)
    assert report.verdict == "eos_mismatch" and report.stop_ids == [ENDOFTEXT]
    assert runtime_override(report) == [IM_END]
    original = {p.name: p.read_bytes() for p in yi_like_copy.glob("*.json")}

    service = Service(tmp_path / "e2e.db")
    try:
        before = generate(service, yi_like_copy)
        assert before["finish_reason"] == "length" and before["generation_tokens"] == 40
        assert "Paris" in before["output"] and "<|im_end|>" in before["output"]
        assert json.loads(before["stop_token_ids_json"]) == [ENDOFTEXT]
        # the run says why: the model wanted <|im_end|>, which is not a stop token
        log = service.token_log(before["id"])
        assert set(log.turn_end_ids) == {ENDOFTEXT, IM_END}
        missed = missed_turn_end(log, [ENDOFTEXT], before["finish_reason"])
        ends_at = before["output"].index("<|im_end|>")
        assert missed.position == next(
            i for i, step in enumerate(log.steps) if step.token == IM_END
        )
        assert "".join(s.text for s in log.steps[: missed.position]) == before["output"][:ends_at]
        assert missed.probability > 0.5
        assert missed.sentence == (
            f"<|im_end|> was {percent(missed.probability)} likely at token "
            f"{missed.position + 1}, but it is not a stop token"
        )

        runtime = generate(service, yi_like_copy, runtime_override(report))  # files untouched
        assert runtime["finish_reason"] == "stop" and runtime["generation_tokens"] < 40
        assert "Paris" in runtime["output"] and "<|im_end|>" not in runtime["output"]
        assert json.loads(runtime["stop_token_ids_json"]) == [ENDOFTEXT, IM_END]
    finally:
        service.close()

    apply_fix(yi_like_copy)
    fixed = inspect_model(yi_like_copy)
    assert fixed.verdict == "ok" and IM_END in fixed.stop_ids
    service = Service(tmp_path / "e2e.db")  # a new process would load the fixed files
    try:
        after = generate(service, yi_like_copy)
        assert after["finish_reason"] == "stop" and after["output"] == runtime["output"]
    finally:
        service.close()
    undo_fix(yi_like_copy)
    assert {p.name: p.read_bytes() for p in yi_like_copy.glob("*.json")} == original


def test_a_file_fix_is_seen_by_the_running_service(yi_like_copy, tmp_path):
    service = Service(tmp_path / "live.db")
    try:
        generate(service, yi_like_copy, max_tokens=1)  # the model is loaded and cached
        apply_fix(yi_like_copy)
        assert generate(service, yi_like_copy)["finish_reason"] == "stop"
    finally:
        service.close()
