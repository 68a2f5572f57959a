"""Compiled RMSNorm, RoPE and draws give the same bits as MLX's uncompiled ops.

The tiny model's logits, bit for bit, fused and not: a prompt read in one chunk, then
decode steps alone (``KVCache``, an int offset) and in a batch (``BatchKVCache``, per-row
offsets); and the seeded sampler's draws with the compiled categorical, filters included.
"""

from __future__ import annotations

import copy

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from mlx_lm import load
from mlx_lm.generate import _merge_caches
from mlx_lm.models.cache import make_prompt_cache

from yilab.generation import fusion, sampling
from yilab.generation.sampling import SeededSampler

PROMPT = [1, 40, 41, 42, 60, 61, 70, 80, 90, 100, 2, 1, 50]


def decode(model, rows: int, steps: int = 4) -> list[np.ndarray]:
    """The prompt's logits, then ``steps`` decode steps of ``rows`` rows (each row feeds
    its own greedy token; rows start from different tokens)."""
    cache = make_prompt_cache(model)
    out = [np.array(model(mx.array([PROMPT]), cache=cache))]
    if rows > 1:
        cache = _merge_caches([copy.deepcopy(cache) for _ in range(rows)])
    tokens = mx.array([[60 + r] for r in range(rows)])
    for _ in range(steps):
        logits = model(tokens, cache=cache)[:, -1]
        out.append(np.array(logits))
        tokens = mx.argmax(logits, axis=-1)[:, None]
    return out


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load(str(tiny_model_dir))[0]


def classes(model) -> set[str]:
    return {type(m).__name__ for _, m in model.named_modules()}


@pytest.mark.parametrize("rows", [1, 3])
def test_fused_model_gives_the_same_logits(model, rows):
    plain = decode(model, rows)
    assert fusion.fuse_cpu_ops(model) == 2 * 2 + 1 + 2  # 2 norms per layer, final, 2 ropes
    assert {"FusedRMSNorm", "FusedRoPE"} <= classes(model)
    fused = decode(model, rows)
    for a, b in zip(plain, fused, strict=True):
        assert np.array_equal(a, b)
    for _, module in model.named_modules():  # back, for the next case
        module.__class__ = {fusion.FusedRMSNorm: nn.RMSNorm, fusion.FusedRoPE: nn.RoPE}.get(
            type(module), type(module)
        )


@pytest.mark.parametrize(
    "settings",
    [
        {"temperature": 0.7},
        {"temperature": 1.5, "top_p": 0.9, "min_p": 0.05, "top_k": 20},
        {"temperature": 0.2, "top_k": 3},
    ],
)
def test_compiled_draw_gives_the_same_tokens(settings):
    logits = mx.random.normal((40, 1, 500), key=mx.random.key(7)) * 4
    logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    compiled, plain = (SeededSampler(seed=3, **settings) for _ in range(2))
    got = [compiled.draw(lp) for lp in logprobs]
    sampling_compiled = sampling._compiled_categorical
    sampling._compiled_categorical = sampling._categorical
    try:
        want = [plain.draw(lp) for lp in logprobs]
    finally:
        sampling._compiled_categorical = sampling_compiled
    for (token, scaled), (token2, scaled2) in zip(got, want, strict=True):
        assert token.item() == token2.item()
        assert np.array_equal(np.array(scaled), np.array(scaled2))
