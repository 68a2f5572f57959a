"""The generation worker on a real (tiny, random-weight) MLX model."""

import json
import subprocess
import sys
import threading

from yilab.events import Finished, GenerationRequest, JobDone, Loading, Queued, Started, Token
from yilab.generation.worker import GenerationWorker

CHAT = [{"role": "user", "content": "Tell me the story"}]


def run(worker, *requests):
    """Submit one job; return (events, results by cell)."""
    events = list(worker.submit(list(requests)))
    results = {e.cell: e.result for e in events if isinstance(e, Finished)}
    return events, results


def req(model_dir, **kw):
    base = {"model_path": str(model_dir), "messages": CHAT, "max_tokens": 24}
    return GenerationRequest(**{**base, **kw})


def test_events_come_in_order_and_stream(worker, tiny_model_dir):
    events, results = run(worker, req(tiny_model_dir, temperature=0.8, seed=3))
    kinds = [type(e) for e in events]
    assert kinds[-1] is JobDone
    started = kinds.index(Started)
    assert Loading not in kinds[started:]
    tokens = [e for e in events if isinstance(e, Token)]
    assert len(tokens) >= 2  # streamed, not one lump
    result = results[0]
    assert result.finish_reason == "length" and result.generation_tokens == 24
    assert "".join(t.text for t in tokens) == result.text
    assert result.ttft_s > 0 and result.generation_tps > 0 and result.prompt_tokens > 0
    assert result.stop_token_ids == [2]  # <|im_end|>
    assert result.rendered_prompt.startswith("<|im_start|>user\nTell me the story<|im_end|>")


def test_same_seed_same_tokens_other_seed_differs(worker, tiny_model_dir):
    a = req(tiny_model_dir, temperature=1.0, seed=7, max_tokens=40)
    b = req(tiny_model_dir, temperature=1.0, seed=8, max_tokens=40)
    _, first = run(worker, a, b)
    _, second = run(worker, a)
    assert first[0].text == second[0].text
    assert first[0].text != first[1].text


def test_seed_is_not_disturbed_by_global_random_state(worker, tiny_model_dir):
    import mlx.core as mx

    request = req(tiny_model_dir, temperature=1.0, seed=11)
    _, before = run(worker, request)
    mx.random.seed(12345)
    mx.random.uniform(shape=(1000,))
    _, after = run(worker, request)
    assert before[0].text == after[0].text


def test_seed_reproduces_in_another_process(worker, tiny_model_dir):
    request = req(tiny_model_dir, temperature=0.9, seed=42, max_tokens=30)
    _, here = run(worker, request)
    script = (
        "import json, sys\n"
        "from yilab.generation.worker import GenerationWorker\nfrom yilab.events import GenerationRequest\n"
        "from yilab.events import Finished\n"
        "w = GenerationWorker()\n"
        f"r = GenerationRequest(model_path={str(tiny_model_dir)!r}, messages={CHAT!r},"
        " temperature=0.9, seed=42, max_tokens=30)\n"
        "res = [e.result for e in w.submit([r]) if isinstance(e, Finished)][0]\n"
        "print(json.dumps(res.text))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == here[0].text


def test_temperature_zero_ignores_the_seed(worker, tiny_model_dir):
    _, results = run(
        worker,
        req(tiny_model_dir, temperature=0, seed=1),
        req(tiny_model_dir, temperature=0, seed=2),
    )
    assert results[0].text == results[1].text


def test_stop_finish_on_eos(worker, tiny_model_dir):
    _, results = run(worker, req(tiny_model_dir, logit_bias={2: 1e4}))
    assert results[0].finish_reason == "stop"
    assert results[0].text == ""


def test_extra_eos_override_applies_for_one_run_only(worker, tiny_model_dir):
    # <|endoftext|> (0) is forced; only the runtime override makes it a stop token.
    forced = {"logit_bias": {0: 1e4}, "max_tokens": 5}
    _, results = run(
        worker,
        req(tiny_model_dir, **forced),
        req(tiny_model_dir, extra_eos_ids=(0,), **forced),
        req(tiny_model_dir, **forced),
    )
    assert [results[i].finish_reason for i in range(3)] == ["length", "stop", "length"]
    assert results[1].stop_token_ids == [0, 2]
    assert results[2].stop_token_ids == [2]
    assert "<|endoftext|>" in results[0].text


def test_raw_prompt_is_sent_as_is(worker, tiny_model_dir):
    _, results = run(worker, req(tiny_model_dir, messages=None, prompt="the the the"))
    assert results[0].rendered_prompt == "the the the"
    assert results[0].prompt_tokens == 4  # bos (it doesn't start with one) + "the" "Ġthe" "Ġthe"
    assert results[0].finish_reason == "length"


def test_cancel_stops_at_the_next_token_and_skips_the_rest(worker, tiny_model_dir):
    long = req(tiny_model_dir, max_tokens=1500, temperature=0.7)
    job = worker.submit([long, long])
    seen = []
    for event in job:
        seen.append(event)
        if isinstance(event, Token) and event.generation_tokens >= 20:
            job.cancel()
    results = {e.cell: e.result for e in seen if isinstance(e, Finished)}
    assert results[0].finish_reason == "cancelled"
    assert 20 <= results[0].generation_tokens < 200
    assert results[0].text  # the partial text is kept
    assert results[1].finish_reason == "cancelled" and not results[1].started


def test_errors_come_back_as_results(worker, tmp_path, tiny_model_dir):
    _, results = run(
        worker,
        req(tmp_path / "nothing-here"),
        req(tiny_model_dir, max_tokens=5000),  # over the 2048-token context
        req(tiny_model_dir, max_tokens=3),
    )
    assert results[0].finish_reason == "error"
    assert "Could not load the model" in results[0].error
    assert "context length (2048)" in results[1].error
    assert results[2].finish_reason == "length"  # the worker keeps serving


def test_a_second_job_is_queued_behind_the_first(worker, tiny_model_dir):
    first = worker.submit([req(tiny_model_dir, max_tokens=400)])
    second = worker.submit([req(tiny_model_dir, max_tokens=3)])
    collected = []
    t = threading.Thread(target=lambda: collected.extend(second))
    t.start()
    list(first)
    t.join(60)
    assert isinstance(collected[0], Queued) and collected[0].position == 1
    assert isinstance(collected[-1], JobDone)


def test_a_changed_eos_in_the_files_is_seen_without_a_restart(worker, tmp_path):
    import json

    from tests.tinymodel import build_tiny_model

    model = build_tiny_model(tmp_path / "broken", eos_token="<|endoftext|>")
    forced = {"logit_bias": {2: 1e4}, "max_tokens": 4}  # the model says <|im_end|>
    _, before = run(worker, req(model, **forced))
    config_path = model / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "eos_token": "<|im_end|>"}))
    _, after = run(worker, req(model, **forced))
    assert (before[0].finish_reason, after[0].finish_reason) == ("length", "stop")


def test_a_loaded_model_is_warmed_up_without_changing_its_output(tiny_model_dir):
    cold = GenerationWorker(warm_up=False)
    try:
        _, cold_results = run(cold, req(tiny_model_dir, temperature=0.8, seed=11))
    finally:
        cold.close()
    warm = GenerationWorker(warm_up=True)  # the default only where MLX computes on a GPU
    try:
        _, warm_results = run(warm, req(tiny_model_dir, temperature=0.8, seed=11))
        (loaded,) = warm._models.values()
    finally:
        warm.close()
    assert loaded.warm_up_s is not None and 0 < loaded.warm_up_s < 2
    assert warm_results[0].text == cold_results[0].text
