"""Each token's recorded probabilities, checked against a direct computation from the
model's logits for the same prefix (tiny real model), in both engines; and branching."""

from __future__ import annotations

import math

import mlx.core as mx
import numpy as np
import pytest
from mlx_lm import load
from mlx_lm.sample_utils import apply_top_p

from yilab.errors import BadInputError
from yilab.events import Finished, GenerationRequest
from yilab.experiment.sweep import SweepSpec
from yilab.experiment.token_log import TokenLog, TokenStep
from yilab.generation.worker import encode_prompt, render_prompt

CHAT = [{"role": "user", "content": "Tell me the story"}]


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load(str(tiny_model_dir))


def run_cells(worker, model_dir, *, engine="single", **settings) -> list:
    """One job; the results in cell order. ``settings`` values that are lists make cells."""
    cells = settings.pop("cells")
    base = {"model_path": str(model_dir), "messages": CHAT, "watch_ids": (0, 2), "engine": engine}
    requests = [GenerationRequest(**{**base, **settings, **cell}) for cell in cells]
    finished = {e.cell: e.result for e in worker.submit(requests) if isinstance(e, Finished)}
    return [finished[i] for i in range(len(requests))]


def direct_logprobs(model, prompt: list[int], output: list[int]) -> np.ndarray:
    """log-softmax of the model's logits after each output prefix, by one full forward pass."""
    logits = model(mx.array(prompt + output)[None])[
        0, len(prompt) - 1 : len(prompt) + len(output) - 1
    ]
    logits = logits.astype(mx.float32)
    return np.array(logits - mx.logsumexp(logits, axis=-1, keepdims=True))


def sampling_logprob(raw: np.ndarray, token: int, temperature: float, top_p: float) -> float:
    logprobs = mx.array(raw)[None]
    if top_p < 1:
        logprobs = apply_top_p(logprobs, top_p)
    scaled = logprobs * (1 / temperature)
    return float((scaled - mx.logsumexp(scaled, axis=-1, keepdims=True))[0, token])


@pytest.mark.parametrize("engine", ["single", "batch"])
def test_recorded_probabilities_equal_a_direct_computation(worker, tiny_model_dir, loaded, engine):
    model, tokenizer = loaded
    cells = [
        {"temperature": 0.0, "seed": 1},
        {"temperature": 1.3, "seed": 2},
        {"temperature": 0.8, "seed": 3, "top_p": 0.7},
    ]
    results = run_cells(worker, tiny_model_dir, engine=engine, cells=cells, max_tokens=24)
    prompt = encode_prompt(tokenizer, render_prompt(tokenizer, GenerationRequest("", CHAT)))
    for cell, result in zip(cells, results, strict=True):
        log = result.token_log
        assert len(log.steps) == result.generation_tokens == 24
        assert log.text == result.text and log.top_k == 5 and log.turn_end_ids == (0, 2)
        direct = direct_logprobs(model, prompt, log.ids())
        for step, raw in zip(log.steps, direct, strict=True):
            assert step.raw_logprob == pytest.approx(float(raw[step.token]), abs=2e-5)
            best = np.argsort(-raw)[:5]
            assert [t for t, _ in step.top] == best.tolist()
            assert [lp for _, lp in step.top] == pytest.approx(raw[best].tolist(), abs=2e-5)
            assert step.turn_end == pytest.approx([raw[0], raw[2]], abs=2e-5)
            entropy = -float(np.sum(np.exp(raw) * raw))
            assert step.entropy == pytest.approx(entropy, abs=1e-4)
            if cell["temperature"] == 0:
                assert step.logprob == 0 and step.token == best[0]
            else:
                expected = sampling_logprob(
                    raw, step.token, cell["temperature"], cell.get("top_p", 1)
                )
                assert step.logprob == pytest.approx(expected, abs=5e-5)


def test_the_model_distribution_is_taken_before_a_logit_bias(worker, tiny_model_dir, loaded):
    model, tokenizer = loaded
    (result,) = run_cells(
        worker, tiny_model_dir, cells=[{"temperature": 0.0}], logit_bias={40: 30.0}, max_tokens=4
    )
    prompt = encode_prompt(tokenizer, render_prompt(tokenizer, GenerationRequest("", CHAT)))
    direct = direct_logprobs(model, prompt, result.token_log.ids())
    assert result.token_log.ids() == [40] * 4  # the bias decided every token...
    for step, raw in zip(result.token_log.steps, direct, strict=True):
        assert step.raw_logprob == pytest.approx(float(raw[40]), abs=2e-5)  # ...not the model
        assert step.raw_logprob < math.log(0.5)


def test_recording_changes_no_token_and_can_be_off(worker, tiny_model_dir):
    cells = [{"temperature": 1.0, "seed": s} for s in (1, 2)]
    on = run_cells(worker, tiny_model_dir, cells=cells, max_tokens=30)
    off = run_cells(worker, tiny_model_dir, cells=cells, max_tokens=30, top_logprobs=None)
    none = run_cells(worker, tiny_model_dir, cells=cells, max_tokens=30, top_logprobs=0)
    assert [r.text for r in on] == [r.text for r in off] == [r.text for r in none]
    assert all(r.token_log is None for r in off)
    assert all(s.top == () and s.raw_logprob is not None for r in none for s in r.token_log.steps)


def test_a_stopped_run_records_its_eos_step(worker, tiny_model_dir):
    (result,) = run_cells(
        worker, tiny_model_dir, cells=[{"temperature": 0.0}], logit_bias={2: 1e4}, max_tokens=9
    )
    assert result.finish_reason == "stop"
    (step,) = result.token_log.steps
    assert step.token == 2 and step.text == "" and result.token_log.piece(2) == "<|im_end|>"


def test_the_stored_form_round_trips():
    log = TokenLog(
        steps=(
            TokenStep(7, "Hi", -0.25, -0.5, 1.5, ((7, -0.5), (8, -1.25)), (-3.0, -9.5)),
            TokenStep(70_000, " 童", None, None, None, ((70_000, -2.0),), (-1.0, -2.0)),
            TokenStep(2, "", 0.0, -0.125, 0.0, ((2, -0.125), (9, -4.0)), (-7.0, -0.125)),
        ),
        top_k=2,
        turn_end_ids=(0, 2),
        pieces={0: "<|endoftext|>", 2: "<|im_end|>", 7: "Hi", 8: "Hey", 9: "\\xe5", 70_000: "童"},
    )
    back = TokenLog.from_blob(log.to_blob())
    assert back == log  # float16 keeps these values exactly
    assert TokenLog.from_json(log.to_json()) == log
    with pytest.raises(BadInputError, match="damaged token log"):
        TokenLog.from_blob(log.to_blob()[:-3])
    with pytest.raises(BadInputError, match="damaged token log"):
        TokenLog.from_blob(b"YLT1" + b"\xff" * 12)


def test_branching_continues_exactly_from_the_chosen_token(service, tiny_model_dir):
    spec = SweepSpec(
        prompt="Tell me the story",
        models=(str(tiny_model_dir),),
        temperatures=(0.0, 1.0),
        seeds=(4,),
        max_tokens=(20,),
    )
    _, (greedy, sampled) = service.run_sweep(spec)
    parent = service.token_log(greedy["id"])
    # the parent's own token at 6: a greedy branch must give back the parent's output
    same = service.branch(greedy["id"], 6, parent.steps[6].token)
    same.wait()
    twin = service.sweep_runs(same)[0]
    assert twin["output"] == greedy["output"] and twin["branch_of"] == greedy["id"]
    assert twin["branch_at"] == 6 and twin["generation_tokens"] == 20
    # the second alternative at 6: the first 6 tokens kept, then that token, then new ones
    other = parent.steps[6].top[1][0]
    fork = service.branch(greedy["id"], 6, other)
    fork.wait()
    child = service.sweep_runs(fork)[0]
    log = service.token_log(child["id"])
    assert log.ids()[:7] == [*parent.ids()[:6], other]
    assert log.steps[6].logprob is None  # given, not drawn
    assert log.steps[6].raw_logprob == pytest.approx(parent.steps[6].top[1][1])
    assert log.steps[:6] == parent.steps[:6] and len(log.steps) == 20
    assert child["output"] == log.text and child["output"] != greedy["output"]
    assert service.branches(greedy["id"]) == service.branches(greedy["id"][:8])
    assert [r["id"] for r in service.branches(greedy["id"])] == [twin["id"], child["id"]]
    # a branch replays exactly, and a sampled branch keeps the parent's settings
    replay = service.replay(child["id"])
    assert replay.identical
    sampled_branch = service.branch(
        sampled["id"], 3, service.token_log(sampled["id"]).steps[3].top[0][0]
    )
    sampled_branch.wait()
    run = service.sweep_runs(sampled_branch)[0]
    assert (run["temperature"], run["seed"], run["max_tokens"]) == (1.0, 4, 20)


def test_a_branch_that_cannot_be_is_refused(service, tiny_model_dir):
    spec = SweepSpec(prompt="Hi", models=(str(tiny_model_dir),), max_tokens=(5,), top_logprobs=None)
    _, (run,) = service.run_sweep(spec)
    with pytest.raises(BadInputError, match="no token record"):
        service.branch(run["id"], 0, 5)
    _, (recorded,) = service.run_sweep(
        SweepSpec(prompt="Hi", models=(str(tiny_model_dir),), max_tokens=(5,))
    )
    with pytest.raises(BadInputError, match="has no token 9"):
        service.branch(recorded["id"], 9, 5)
    with pytest.raises(BadInputError, match="leaves nothing to generate"):
        sweep = service.branch(recorded["id"], 4, 5)
        sweep.wait()
        raise BadInputError(service.sweep_runs(sweep)[0]["error"])


@pytest.mark.parametrize(
    ("flags", "top_k"), [([], 5), (["--logprobs", "2"], 2), (["--no-logprobs"], None)]
)
def test_the_cli_records_as_many_alternatives_as_asked(
    capsys, tiny_model_dir, tmp_path, flags, top_k
):
    import json

    from yilab.cli.main import main
    from yilab.service import Service

    db = str(tmp_path / "cli.db")
    args = ["compare", "Hi", "--model", str(tiny_model_dir), "--max-tokens", "6", "--db", db]
    assert main([*args, *flags, "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    log = Service(db).token_log(run["id"])
    assert (log.top_k if log else None) == top_k


def test_a_bad_number_of_alternatives_is_refused(capsys, tiny_model_dir, tmp_path):
    from yilab.cli.main import main

    args = ["compare", "Hi", "--model", str(tiny_model_dir), "--db", str(tmp_path / "c.db")]
    assert main([*args, "--logprobs", "21", "--json"]) == 2
    assert "between 0 and 20" in capsys.readouterr().out
