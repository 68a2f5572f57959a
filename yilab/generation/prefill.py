"""Shared prompt prefill: read a sweep's prompt once, copy the KV cache per cell.

The cells of a sweep usually share model and prompt. Reading the prompt is most of
the work on a CPU (a 500-token prompt takes ~60 s on the stock mlx-cpu wheel, 64
new tokens ~5 s), so the worker computes the prompt's cache once and gives each
cell a deep copy. The prefill runs in the same chunks ``generate_step`` would use
(all but the last prompt token, ``prefill_step_size`` at a time), so each cell's
tokens are identical to a run that read the prompt itself.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import mlx.core as mx
from mlx_lm.generate import generation_stream
from mlx_lm.models.cache import make_prompt_cache

PREFILL_STEP = 2048  # mlx-lm's default prefill_step_size: keep them equal


@dataclass
class Prefix:
    """A prompt's KV cache (all tokens but the last) and what reading it cost."""

    tokens: tuple[int, ...]
    cache: list
    seconds: float
    used: int = 0

    @property
    def prompt_tps(self) -> float | None:
        return len(self.tokens) / self.seconds if self.seconds > 0 else None

    def copy_cache(self) -> list:
        """A private copy for one cell (``generate_step`` updates a cache in place)."""
        self.used += 1
        return copy.deepcopy(self.cache)


class PrefixCache:
    """The prefixes of one job, keyed by model and prompt tokens."""

    def __init__(self) -> None:
        self._prefixes: dict[tuple[int, tuple[int, ...]], Prefix] = {}

    def get(self, model, tokens: list[int]) -> Prefix:
        """The prefix for ``tokens`` on ``model``, computed on first use."""
        key = (id(model), tuple(tokens[:-1]))
        if key not in self._prefixes:
            self._prefixes[key] = prefill(model, tokens[:-1])
        return self._prefixes[key]


def prefill(model, tokens: list[int]) -> Prefix:
    """Run ``tokens`` through ``model`` into a fresh cache, in ``generate_step``'s chunks."""
    cache = make_prompt_cache(model)
    start = time.perf_counter()
    with mx.stream(generation_stream):
        for at in range(0, len(tokens), PREFILL_STEP):
            chunk = mx.array(tokens[at : at + PREFILL_STEP])
            model(chunk[None], cache=cache)
            mx.eval([c.state for c in cache])
    return Prefix(tuple(tokens), cache, time.perf_counter() - start)
