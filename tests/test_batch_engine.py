"""The batched engine on a real tiny model: every row its own sampler, stops and max_tokens."""

from yilab.events import Finished, GenerationRequest, Loading, Started, Token
from yilab.generation.worker import group_cells

CHAT = [{"role": "user", "content": "Tell me the story"}]


def batch(model_dir, *settings, **common):
    return [
        GenerationRequest(
            model_path=str(model_dir),
            messages=CHAT,
            engine="batch",
            **{"max_tokens": 30, **common, **s},
        )
        for s in settings
    ]


def results(worker, requests):
    events = list(worker.submit(requests))
    return events, {e.cell: e.result for e in events if isinstance(e, Finished)}


def test_rows_keep_their_own_settings(worker, tiny_model_dir):
    requests = batch(
        tiny_model_dir,
        {"temperature": 0.0, "seed": 1},
        {"temperature": 0.9, "seed": 1, "max_tokens": 12},
        {"temperature": 0.9, "seed": 2},
        {"temperature": 0.9, "seed": 3, "logit_bias": {2: 1e4}},  # forced eos: stops at once
    )
    events, res = results(worker, requests)
    kinds = [type(e) for e in events if not isinstance(e, Loading)]
    assert kinds[:4] == [Started] * 4  # one batch: all rows start together
    assert [res[i].finish_reason for i in range(4)] == ["length", "length", "length", "stop"]
    assert [res[i].generation_tokens for i in range(4)] == [30, 12, 30, 1]
    assert res[1].text != res[2].text and res[3].text == ""
    streamed = "".join(e.text for e in events if isinstance(e, Token) and e.cell == 2)
    assert streamed == res[2].text
    assert all(res[i].ttft_s is not None and res[i].prompt_tps for i in range(3))


def test_a_batch_reproduces_exactly(worker, tiny_model_dir):
    requests = batch(tiny_model_dir, *({"temperature": 1.0, "seed": s} for s in (5, 6, 7)))
    _, first = results(worker, requests)
    _, second = results(worker, requests)
    assert [first[i].text for i in range(3)] == [second[i].text for i in range(3)]


def test_cancel_stops_every_row_keeping_partial_text(worker, tiny_model_dir):
    requests = batch(tiny_model_dir, {"seed": 1}, {"seed": 2}, max_tokens=1500, temperature=0.8)
    job = worker.submit(requests)
    seen = []
    for event in job:
        seen.append(event)
        if isinstance(event, Token) and event.generation_tokens >= 10:
            job.cancel()
    res = {e.cell: e.result for e in seen if isinstance(e, Finished)}
    assert [res[i].finish_reason for i in range(2)] == ["cancelled", "cancelled"]
    assert all(10 <= res[i].generation_tokens < 1500 and res[i].text for i in range(2))


def test_grouping_batches_only_cells_that_share_a_prompt(tiny_model_dir):
    path = str(tiny_model_dir)
    a = GenerationRequest(model_path=path, prompt="one", engine="batch")
    b = GenerationRequest(model_path=path, prompt="two", engine="batch")
    s = GenerationRequest(model_path=path, prompt="one")
    groups = group_cells([a, b, a, s, b])
    assert [[cell for cell, _ in g] for g in groups] == [[0, 2], [1, 4], [3]]


def test_a_one_token_prompt_runs_its_batch_cells_one_by_one(worker, tmp_path):
    import json

    from tests.tinymodel import build_tiny_model

    model = build_tiny_model(tmp_path / "nobos")
    config_path = model / "tokenizer_config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "bos_token": None}))
    requests = [
        GenerationRequest(
            model_path=str(model), prompt="a", engine="batch", seed=s, temperature=0.9, max_tokens=5
        )
        for s in (1, 2)
    ]
    _, res = results(worker, requests)
    assert [res[i].prompt_tokens for i in range(2)] == [1, 1]
    assert [res[i].finish_reason for i in range(2)] == ["length", "length"]
