"""Tried for issue 16 and dropped (same bits, ~1–2 % per step; bench/RESULTS.md, "Row-invariant
numerics in yilab"): q/k/v and gate/up as one matmul each. Kept here so the measurement can
be rerun (``bench/weight_layout.py --projections``); yilab does not use it.

With row-invariant numerics (:mod:`invariance`) every one-row float matmul is fed as two
rows, and each of a llama layer's seven projections pays for its own BLAS call, its own
padding and its own slice. Three of them read the same input (q, k, v) and two more do too
(gate, up): concatenated along their output rows, each group is one sgemm on one padded
input, and the MLP's down projection takes the gate·up rows already padded. BLIS's small-M
gemm gives each output column the same bits whatever the other columns are (checked on the
default model's weights for 2–200 rows; its packed path for 201+ rows does not for q/k/v),
so the fused calls are used only for at most :data:`MAX_FUSED_ROWS` rows, and only after
:func:`fuse_projections` has checked on the model's own weights that they give the separate
calls' bits.

Memory stays as it was: each group's weights are concatenated once and the projections'
own weights become views (row slices) of it, so ``mlx_lm`` code that reads
``q_proj.weight`` still works. The fused path runs only while the projections pad (row-
invariant numerics); with ``plain`` numerics, quantized weights or more rows, a layer runs
mlx-lm's own code. Applied where yilab loads a model, on the CPU, to mlx-lm's exact llama
``Attention`` and ``MLP`` classes (the default model's); other architectures keep theirs.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.models import llama
from mlx_lm.models.activations import swiglu
from mlx_lm.models.base import scaled_dot_product_attention

from yilab.generation.invariance import RowInvariantLinear

MAX_FUSED_ROWS = 64  # yilab's cap on a sweep's cells; BLIS's small-M gemm reaches 200


def _rows(x: mx.array) -> int:
    return x.size // x.shape[-1]


def _fused(module: nn.Module, x: mx.array, names: tuple[str, ...]) -> bool:
    """Whether ``module`` takes its fused path for ``x``: its projections pad, and few rows."""
    padding = all(type(getattr(module, n)) is RowInvariantLinear for n in names)
    return padding and hasattr(module, "_fused_weight") and _rows(x) <= MAX_FUSED_ROWS


def _pad(x: mx.array) -> mx.array:
    """A one-row ``x`` as two identical rows (as :mod:`invariance` feeds BLAS); else ``x``."""
    return mx.broadcast_to(x[None], (2, *x.shape)) if _rows(x) == 1 else x


def _unpad(y: mx.array, x: mx.array) -> mx.array:
    return y[0] if _rows(x) == 1 else y


class FusedAttention(llama.Attention):
    """llama's attention with q, k and v from one matmul (see the module)."""

    def __call__(self, x: mx.array, mask=None, cache=None) -> mx.array:
        if not _fused(self, x, ("q_proj", "k_proj", "v_proj")):
            return super().__call__(x, mask, cache)
        B, L, _ = x.shape
        qkv = _unpad(_pad(x) @ self._fused_weight.T, x)
        queries, keys, values = mx.split(qkv, self._fused_splits, axis=-1)
        queries = queries.reshape(B, L, self.n_heads, -1).transpose(0, 2, 1, 3)
        keys = keys.reshape(B, L, self.n_kv_heads, -1).transpose(0, 2, 1, 3)
        values = values.reshape(B, L, self.n_kv_heads, -1).transpose(0, 2, 1, 3)
        if cache is not None:
            queries = self.rope(queries, offset=cache.offset)
            keys = self.rope(keys, offset=cache.offset)
            keys, values = cache.update_and_fetch(keys, values)
        else:
            queries = self.rope(queries)
            keys = self.rope(keys)
        output = scaled_dot_product_attention(
            queries, keys, values, cache=cache, scale=self.scale, mask=mask
        )
        return self.o_proj(output.transpose(0, 2, 1, 3).reshape(B, L, -1))


class FusedMLP(llama.MLP):
    """llama's MLP with gate and up from one matmul, and the padded rows kept through down."""

    def __call__(self, x: mx.array) -> mx.array:
        if not _fused(self, x, ("gate_proj", "up_proj", "down_proj")):
            return super().__call__(x)
        gate, up = mx.split(_pad(x) @ self._fused_weight.T, 2, axis=-1)
        return _unpad(self.down_proj(swiglu(gate, up)), x)  # two rows: down does not pad


_GROUPS = {FusedAttention: ("q_proj", "k_proj", "v_proj"), FusedMLP: ("gate_proj", "up_proj")}
_SWAPS = {llama.Attention: FusedAttention, llama.MLP: FusedMLP}


def _concatenate(module: nn.Module, names: tuple[str, ...], transposed: bool = False) -> bool:
    """Give ``module`` one weight for its ``names`` projections, theirs becoming views of it;
    False (nothing changed) when they are not plain bias-free float linear layers."""
    layers = [getattr(module, n) for n in names]
    if any(not isinstance(la, nn.Linear) or "bias" in la for la in layers):
        return False  # quantized layers are not nn.Linear
    if transposed:  # weights stored as Wt (bench/weight_layout.py): keep that layout
        fused_t = mx.concatenate([mx.contiguous(la.weight.T) for la in layers], axis=1)
        fused = fused_t.T
    else:
        fused = mx.concatenate([la.weight for la in layers])
    ends = [0]
    for la in layers:
        ends.append(ends[-1] + la.weight.shape[0])
    for la, start, end in zip(layers, ends, ends[1:], strict=False):
        la.weight = fused_t[:, start:end].T if transposed else fused[start:end]
    mx.eval(fused, *(la.weight for la in layers))
    object.__setattr__(module, "_fused_weight", fused)  # not a parameter: no double count
    object.__setattr__(module, "_fused_splits", ends[1:-1])
    return True


def same_bits(module: nn.Module, names: tuple[str, ...]) -> bool:
    """Whether the fused weight gives each projection the bits of its own matmul, here, at
    2 and :data:`MAX_FUSED_ROWS` rows (what BLIS's kernels decide, checked on real weights)."""
    dims = module._fused_weight.shape[1]
    for rows in (2, MAX_FUSED_ROWS):
        x = mx.random.normal((rows, dims), key=mx.random.key(rows))
        separate = mx.concatenate([x @ getattr(module, n).weight.T for n in names], axis=-1)
        if not mx.array_equal(separate, x @ module._fused_weight.T).item():
            return False
    return True


def fuse_projections(model: nn.Module, transposed: bool = False) -> int:
    """Fuse ``model``'s llama q/k/v and gate/up projections (see the module); how many
    attention and MLP blocks changed. Nothing changes unless the first block of each kind
    gives the same bits fused."""
    changed, verdict = 0, {}
    for _, block in model.named_modules():
        new = _SWAPS.get(type(block))
        if (
            new is None
            or verdict.get(new) is False
            or not _concatenate(block, _GROUPS[new], transposed)
        ):
            continue
        if new not in verdict:
            verdict[new] = same_bits(block, _GROUPS[new])
        if verdict[new]:
            block.__class__ = new
            changed += 1
    return changed
