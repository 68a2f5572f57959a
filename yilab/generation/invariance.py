"""Row-invariant numerics: a run's tokens do not depend on the batch it decodes in.

MLX's CPU backend sends every float32 matmul to BLAS ``sgemm`` with the batch folded into
M. BLIS routes a one-row call (M = 1) to ``sgemv``, which sums over k in another order
than its gemm kernels; every M from 2 to 200 shares one set of bits (measured in
``bench/batch_invariance.py``, bench/RESULTS.md "Where batched rows part"). So a row
alone — a single run, or the last row of a batch whose others have finished — got other
bits than the same row in a batch, and a seeded run could change its tokens with the grid
it ran in.

The fix, applied to a loaded model while it generates: every float linear layer (and a
tied lm_head, ``Embedding.as_linear``) that is called with one row sees it twice and keeps
the first result, so BLAS always takes its gemm path. Nothing else in the model depends
on the batch: norms, RoPE with per-row offsets, attention with the batch mask, the
logprobs and the seeded sampler were measured bit-identical at every batch size.

Where it applies (:func:`padding_needed`): on the CPU with a BLAS other than the wheel's
bundled reference BLAS (that one takes the same path for every M, so it is row-invariant
without help). Quantized layers keep MLX's own kernel, row-invariant on the CPU. GPUs are
left as they are: nothing there has been measured yet (see bench/RESULTS.md).

Runs record which numerics produced them (``row-invariant``, or ``plain``: mlx-lm as it
is), so a run logged before this existed replays with the numerics it had.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

from yilab.experiment.sweep import NUMERICS, ROW_INVARIANT
from yilab.generation.fastpath import blas_in_use
from yilab.generation.mlx_thread import compute_device


def _padded(call, x: mx.array) -> mx.array:
    """``call(x)``, with a one-row ``x`` fed as two identical rows (first result kept)."""
    if x.size != x.shape[-1]:
        return call(x)
    return call(mx.broadcast_to(x[None], (2, *x.shape)))[0]


class RowInvariantLinear(nn.Linear):
    """An ``nn.Linear`` whose one-row calls take BLAS's gemm path, like batched ones."""

    def __call__(self, x: mx.array) -> mx.array:
        return _padded(super().__call__, x)


class RowInvariantEmbedding(nn.Embedding):
    """An ``nn.Embedding`` whose ``as_linear`` (a tied lm_head) pads one row like above."""

    def as_linear(self, x: mx.array) -> mx.array:
        return _padded(super().as_linear, x)


_SWAPS = {nn.Linear: RowInvariantLinear, nn.Embedding: RowInvariantEmbedding}
_BACK = {new: old for old, new in _SWAPS.items()}


def padding_needed() -> bool:
    """Whether one-row matmuls here take another path than batched ones (see the module)."""
    return compute_device() == "cpu" and blas_in_use() != "bundled"


def set_numerics(model: nn.Module, numerics: str) -> int:
    """Give ``model``'s float linear layers the numerics asked for; how many layers changed.

    Swaps each layer's class in place (its weights stay where they are), so switching
    between runs costs a walk over the modules. Only exact ``nn.Linear``/``nn.Embedding``
    instances change: quantized layers and a model's own subclasses are left alone.
    """
    if numerics not in NUMERICS:
        raise ValueError(f"numerics must be one of {', '.join(NUMERICS)}, not {numerics!r}")
    return swap_classes(model, _SWAPS if numerics == ROW_INVARIANT and padding_needed() else _BACK)


def swap_classes(model: nn.Module, swaps: dict[type, type]) -> int:
    """Give each of ``model``'s modules whose exact class is a key of ``swaps`` the class it
    maps to, in place (its weights stay where they are); how many modules changed."""
    changed = 0
    for _, module in model.named_modules():
        new = swaps.get(type(module))
        if new is not None:
            module.__class__ = new
            changed += 1
    return changed
