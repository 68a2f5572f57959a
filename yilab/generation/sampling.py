"""Samplers that carry their own random key, so a seed reproduces a run exactly.

mlx-lm's samplers draw from MLX's process-global random state: anything else that
draws random numbers meanwhile (another run, another thread) changes the output.
Here the filters are mlx-lm's own (top-p, min-p, top-k); only the final draw
uses a per-run key, split once per token.
"""

from __future__ import annotations

from collections.abc import Callable

import mlx.core as mx
from mlx_lm.sample_utils import apply_min_p, apply_top_k, apply_top_p

Sampler = Callable[[mx.array], mx.array]


def _categorical(logits: mx.array, key: mx.array) -> mx.array:
    return mx.random.categorical(logits, key=key)


# A draw is a chain of small MLX ops (max, exp, select, cumsum, the uniform from the key,
# a search), each scheduled on MLX's CPU stream on its own; compiled, the elementwise
# chains run fused (nine rows' sampling: 392 ops → 167), ~0.2 ms less per row and step on
# this CPU (bench/RESULTS.md, "The floor of the 3×3 sweep"). The same operations in the
# same order, so the same bits: tokens and scaled logits are identical (tests/test_fusion.py).
_compiled_categorical = mx.compile(_categorical)


class SeededSampler:
    """A sampler for ``generate_step``/``BatchGenerator`` that draws with its own key.

    At temperature 0 it takes the most likely token and the seed has no effect.

    Two samplers with the same seed draw the same tokens:

    >>> logits = mx.log(mx.array([[0.1, 0.6, 0.3]]))
    >>> draw, again = (SeededSampler(temperature=0.7, seed=1) for _ in range(2))
    >>> [draw(logits).item() for _ in range(8)]
    [1, 1, 1, 2, 1, 2, 2, 1]
    >>> [again(logits).item() for _ in range(8)]
    [1, 1, 1, 2, 1, 2, 2, 1]
    """

    def __init__(
        self, *, temperature: float, seed: int, top_p: float = 1.0, min_p: float = 0.0, top_k=0
    ) -> None:
        self.greedy = temperature == 0
        self.filters: list[Callable[[mx.array], mx.array]] = []
        if 0 < top_p < 1.0:
            self.filters.append(lambda x: apply_top_p(x, top_p))
        if min_p != 0.0:
            self.filters.append(lambda x: apply_min_p(x, min_p, 1))
        if top_k > 0:
            self.filters.append(lambda x: apply_top_k(x, top_k) if top_k < x.shape[-1] else x)
        self.inverse_temp = 0.0 if self.greedy else 1.0 / temperature
        self.key = mx.random.key(seed)

    def __call__(self, logprobs: mx.array) -> mx.array:
        return self.draw(logprobs)[0]

    def draw(self, logprobs: mx.array) -> tuple[mx.array, mx.array | None]:
        """The token, and the scaled and filtered logits it was drawn from (None at T=0,
        where the draw is the most likely token: a distribution with all its mass there)."""
        if self.greedy:
            return mx.argmax(logprobs, axis=-1), None
        for keep in self.filters:
            logprobs = keep(logprobs)
        self.key, draw = mx.random.split(self.key)
        scaled = logprobs * self.inverse_temp
        return _compiled_categorical(scaled, draw), scaled
