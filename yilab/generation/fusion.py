"""Fewer ops per decode step on the CPU, with the same bits: RMSNorm and RoPE compiled.

On the CPU, MLX's "fast" RMSNorm and RoPE are not kernels of their own: each call is
built from its fallback's primitive ops (RoPE rebuilds its cos/sin table in every layer),
and MLX's CPU stream runs every op as a task of its own, each costing scheduling time
whatever its size (a decode step of SmolLM2-135M is ~4,000 ops at one row, ~5,700 at nine).
Compiled with ``mx.compile``, each call's elementwise chains run as a few fused kernels:
the same operations in the same order, so the same bits (checked bitwise on the default
model's logits, the 3×3 sweep's outputs and token logs, and in tests/test_fusion.py),
in fewer, cheaper ops (measured in bench/decode_floor.py; bench/RESULTS.md, "The floor
of the 3×3 sweep").

Applied where yilab loads a model for generation, on the CPU only: on a GPU these ops
are single kernels already. Only exact ``nn.RMSNorm``/``nn.RoPE`` instances change; a
model's own subclasses (scaled RoPE variants) keep theirs.
"""

from __future__ import annotations

from functools import cache

import mlx.core as mx
import mlx.nn as nn

from yilab.generation.invariance import swap_classes
from yilab.generation.mlx_thread import compute_device


@mx.compile
def _rms_norm(x: mx.array, weight: mx.array, eps: float) -> mx.array:
    return mx.fast.rms_norm(x, weight, eps)


@cache
def _rope(dims: int, traditional: bool, base: float | None, scale: float):
    """The compiled RoPE of one configuration; the offset is an array input, so a new
    position does not trace it again (an int offset would be a constant of the trace)."""

    def rope(x: mx.array, offset: mx.array) -> mx.array:
        return mx.fast.rope(x, dims, traditional=traditional, base=base, scale=scale, offset=offset)

    return mx.compile(rope)


class FusedRMSNorm(nn.RMSNorm):
    """An ``nn.RMSNorm`` whose call runs compiled."""

    def __call__(self, x: mx.array) -> mx.array:
        return _rms_norm(x, self["weight"], self.eps)


class FusedRoPE(nn.RoPE):
    """An ``nn.RoPE`` whose call runs compiled (an int offset is passed as an array:
    the same bits, measured in bench/batch_invariance.py)."""

    def __call__(self, x: mx.array, offset: int | mx.array = 0) -> mx.array:
        rope = _rope(self.dims, self.traditional, self.base, self.scale)
        return rope(x, offset if isinstance(offset, mx.array) else mx.array(offset))


_SWAPS = {nn.RMSNorm: FusedRMSNorm, nn.RoPE: FusedRoPE}


def fuse_cpu_ops(model: nn.Module) -> int:
    """Compile ``model``'s RMSNorm and RoPE layers on the CPU; how many layers changed.

    Swaps each layer's class in place (its weights stay), as :mod:`invariance` does.
    """
    return swap_classes(model, _SWAPS) if compute_device() == "cpu" else 0
