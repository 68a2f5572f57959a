"""Samplers that carry their own random key, so a seed reproduces a run exactly.

mlx-lm's samplers draw from MLX's process-global random state: anything else that
draws random numbers meanwhile (another run, another thread) changes the output.
Here the filters are mlx-lm's own (top-p, min-p, top-k); only the final draw
uses a per-run key, split once per token.
"""

from __future__ import annotations

from collections.abc import Callable

import mlx.core as mx
from mlx_lm.sample_utils import apply_min_p, apply_top_k, apply_top_p, greedy_sampler

Sampler = Callable[[mx.array], mx.array]


def make_seeded_sampler(
    *, temperature: float, seed: int, top_p: float = 1.0, min_p: float = 0.0, top_k: int = 0
) -> Sampler:
    """A sampler for ``generate_step``/``BatchGenerator`` that draws with its own key.

    At temperature 0 it is mlx-lm's greedy sampler and the seed has no effect.

    Two samplers with the same seed draw the same tokens:

    >>> logits = mx.log(mx.array([[0.1, 0.6, 0.3]]))
    >>> draw, again = (make_seeded_sampler(temperature=0.7, seed=1) for _ in range(2))
    >>> [draw(logits).item() for _ in range(8)]
    [1, 1, 1, 2, 1, 2, 2, 1]
    >>> [again(logits).item() for _ in range(8)]
    [1, 1, 1, 2, 1, 2, 2, 1]
    """
    if temperature == 0:
        return greedy_sampler
    filters: list[Callable[[mx.array], mx.array]] = []
    if 0 < top_p < 1.0:
        filters.append(lambda x: apply_top_p(x, top_p))
    if min_p != 0.0:
        filters.append(lambda x: apply_min_p(x, min_p, 1))
    if top_k > 0:
        filters.append(lambda x: apply_top_k(x, top_k) if top_k < x.shape[-1] else x)
    inverse_temp = 1.0 / temperature
    state = {"key": mx.random.key(seed)}

    def sampler(logprobs: mx.array) -> mx.array:
        for keep in filters:
            logprobs = keep(logprobs)
        state["key"], draw = mx.random.split(state["key"])
        return mx.random.categorical(logprobs * inverse_temp, key=draw)

    return sampler
