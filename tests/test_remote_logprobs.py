"""Token logs of remote runs: what a sweep asks a server for, and what it keeps of the answer.

The scripted server (:mod:`tests.remoteservers`) streams logprobs in OpenAI's chat shape and
the legacy completions one, none, malformed ones, or refuses the fields with a 400; the real
``mlx_lm.server`` 0.32.2 takes the chat fields and streams no logprobs at all.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.remoteservers import LOGPROB_TOKENS
from yilab.experiment.sweep import SweepSpec
from yilab.remote.logprobs import ServerLogprobs

# what each scripted token adds to "Hi 你好": 你 comes whole with its second byte, and the
# end of turn adds nothing
STEP_TEXTS = ["Hi", " ", "", "你", "好", ""]


def run_one(service, model: str, **kw) -> tuple[dict, object]:
    """One run on ``model``: its row and its token log (None when it has none)."""
    spec = SweepSpec(**{"prompt": "Hi", "models": (model,), "max_tokens": (8,), **kw})
    _, runs = service.run_sweep(spec)
    return runs[0], service.token_log(runs[0]["id"])


@pytest.mark.parametrize("k", [2, 3, 20])
def test_openai_chat_logprobs_become_steps(service, recorder, k):
    run, log = run_one(service, f"openai+{recorder.url}#logprobs", top_logprobs=k)
    body = recorder.recorded.requests[0]["body"]
    assert (body["logprobs"], body["top_logprobs"]) == (True, k)
    assert run["status"] == "done" and run["output"] == "Hi 你好"
    assert log.source == "server" and log.top_k == k and log.turn_end_ids == ()
    assert [s.text for s in log.steps] == STEP_TEXTS and log.text == run["output"]
    assert [log.piece(s.token) for s in log.steps][2:4] == ["\\xe4\\xbd", "\\xa0"]
    for step, (_, _, _, logprob, top) in zip(log.steps, LOGPROB_TOKENS, strict=True):
        assert step.raw_logprob == pytest.approx(logprob, abs=1e-6)  # stored as float32
        assert step.logprob is None and step.entropy is None and step.turn_end == ()
        likeliest = sorted(top[:k], key=lambda alt: -alt[1])  # the server's are not sorted
        assert [log.piece(t) for t, _ in step.top] == [
            t.removeprefix("bytes:") for t, _ in likeliest
        ]
        values = [lp for _, lp in step.top]  # stored as float16
        assert values == pytest.approx([lp for _, lp in likeliest], abs=2e-3)
    # the drawn token and the same alternative get the same id
    assert log.steps[0].top[0][0] == log.steps[0].token


def test_legacy_completions_logprobs_become_steps(service, recorder):
    raw = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    run, log = run_one(service, f"openai+{recorder.url}#logprobs", prompt=raw, raw=True)
    seen = recorder.recorded.requests[0]
    assert seen["path"] == "/v1/completions" and seen["body"]["logprobs"] == 5
    assert "top_logprobs" not in seen["body"]
    assert run["status"] == "done" and run["output"] == "Hi 你好"
    assert [s.text for s in log.steps] == STEP_TEXTS  # 你's bytes read from "bytes:\xe4\xbd"
    assert [len(s.top) for s in log.steps] == [3, 3, 2, 1, 3, 2]
    assert all(s.top == tuple(sorted(s.top, key=lambda a: -a[1])) for s in log.steps)


def test_zero_alternatives_asks_for_the_drawn_tokens_only(service, recorder):
    run, log = run_one(service, f"openai+{recorder.url}#logprobs", top_logprobs=0)
    body = recorder.recorded.requests[0]["body"]
    assert body["logprobs"] is True and "top_logprobs" not in body
    assert log.text == run["output"] and all(s.top == () for s in log.steps)
    assert [s.raw_logprob for s in log.steps][:2] == [-0.25, -0.5]


def test_no_record_asked_sends_no_fields_and_keeps_no_log(service, recorder):
    run, log = run_one(service, f"openai+{recorder.url}#logprobs", top_logprobs=None)
    body = recorder.recorded.requests[0]["body"]
    assert "logprobs" not in body and "top_logprobs" not in body
    assert run["status"] == "done" and log is None


@pytest.mark.parametrize("model", ["echo", "malformed"])
def test_a_server_without_usable_logprobs_gives_no_log(service, recorder, model):
    run, log = run_one(service, f"openai+{recorder.url}#{model}")
    assert recorder.recorded.requests[0]["body"]["top_logprobs"] == 5
    assert (run["status"], run["output"], run["error"]) == ("done", "Hello world", None)
    assert log is None


def test_a_server_refusing_the_fields_is_asked_again_without_them(service, recorder):
    run, log = run_one(service, f"openai+{recorder.url}#picky", top_logprobs=20)
    first, second = (r["body"] for r in recorder.recorded.requests)
    assert first["top_logprobs"] == 20 and "logprobs" not in second
    assert (run["status"], run["output"], run["error"]) == ("done", "Hello world", None)
    assert log is None


def test_a_server_refusing_every_request_gives_its_own_message(service, recorder):
    run, _ = run_one(service, f"openai+{recorder.url}#refuse")
    assert [("logprobs" in r["body"]) for r in recorder.recorded.requests] == [True, False]
    assert run["status"] == "error"
    assert run["error"] == (
        f"{recorder.url}/chat/completions answered HTTP 400 Bad Request: "
        "this server takes no requests"
    )
    run, _ = run_one(service, f"openai+{recorder.url}#refuse", top_logprobs=None)
    assert len(recorder.recorded.requests) == 3 and run["status"] == "error"


@pytest.mark.parametrize(
    "logprobs",
    [
        "high",
        {"content": "x"},
        {"content": [7]},
        {"content": [{"token": 7, "logprob": -1.0}]},
        {"content": [{"token": "a", "logprob": "-1"}]},
        {"content": [{"token": "a", "logprob": True}]},
        {"content": [{"token": "a", "logprob": math.nan}]},
        {"content": [{"token": "a", "logprob": -1.0, "bytes": [300]}]},
        {"content": [{"token": "a", "logprob": -1.0, "top_logprobs": [["a", -1.0]]}]},
        {"tokens": ["a", "b"], "token_logprobs": [-1.0]},
        {"tokens": ["a"], "token_logprobs": [-1.0], "top_logprobs": [["a"]]},
    ],
)
def test_malformed_logprobs_give_no_log(logprobs):
    collected = ServerLogprobs(top_k=2)
    collected.add({"content": [{"token": "ok", "logprob": -0.5}]})
    collected.add(logprobs)
    collected.add({"content": [{"token": "!", "logprob": -0.5}]})
    assert collected.broken and collected.token_log("ok?!", "stop") is None


def test_texts_that_do_not_join_keep_the_servers_strings():
    collected = ServerLogprobs(top_k=0)
    collected.add({"content": [{"token": "Hel", "logprob": -1.0}, {"token": "p", "logprob": -2}]})
    log = collected.token_log("Hello", "length")
    assert [s.text for s in log.steps] == ["Hel", "p"] and log.pieces == {0: "Hel", 1: "p"}


def test_the_real_mlx_server_takes_the_fields_and_streams_no_logprobs(service, mlx_server):
    """mlx_lm.server 0.32.2 accepts logprobs/top_logprobs (0–11) but writes logprobs only
    into non-streamed answers: remote runs on it have no token log. If this fails because a
    newer mlx_lm streams them, check their shape here and update the README."""
    models, temperatures = (mlx_server.spec(),), (0, 0.8)
    spec = SweepSpec("Tell me a story", models=models, max_tokens=(8,), temperatures=temperatures)
    for k in (5, 0, 20):  # 20: refused with a 400 ("at most 11"), so asked again without
        _, runs = service.run_sweep(replace(spec, top_logprobs=k))
        assert [(r["status"], r["error"]) for r in runs] == [("done", None)] * 2
        assert all(r["output"] and r["generation_tokens"] == 8 for r in runs)
        assert service.token_logs([r["id"] for r in runs]) == {}
    # completions: mlx_lm refuses the legacy integer "logprobs" with a 400; asked again
    raw = "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
    _, runs = service.run_sweep(replace(spec, prompt=raw, raw=True))
    assert [(r["status"], r["error"]) for r in runs] == [("done", None)] * 2
    assert service.token_logs([r["id"] for r in runs]) == {}
