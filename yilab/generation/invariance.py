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

**Which gemm** (``row-invariant-wt``, the default, or ``row-invariant``): mlx-lm keeps a
linear weight W as loaded (out × in) and computes ``x @ W.T``, so BLAS is handed a
transposed B, and BLIS's small-M kernels for that case run a padded lone row ~25 % slower
than gemv in the model's chain of dependent matmuls. Stored transposed (Wt, in × out,
contiguous, with ``weight`` a view ``Wt.T``: the same values, the same modules, the same
bytes), the same ``x @ W.T`` hands BLAS a plain row-major B, whose kernels run the padded
row close to gemv speed and nine rows ~9 % faster too. Its bits are not the other's, so
the two are distinct numerics, recorded apart: ``row-invariant`` is what runs logged
before 2026-12-02 had (weights as loaded), and they replay with it. As loaded, M rows share
the 2-row bits for M = 2–200; transposed, only while 16·M < 6·N for a layer of N outputs
(the bits change exactly where M/6 reaches N/16, the counts of BLIS's 6 × 16 micro-tiles:
measured on its ``haswell`` sub-configuration for K 256–896, N 128–512). So a layer is stored transposed only when that holds for a sweep's largest batch
(:data:`MAX_CELLS` rows: N ≥ 171); a narrower one (SmolLM2's k/v projections, N = 192, are
wide enough; a 2-KV-head × 64 projection is not) keeps its weights as loaded.
Switching layout copies each float weight once (~0.5 s for SmolLM2-135M), one at a time.
Measured in bench/weight_layout.py (bench/RESULTS.md, "Row-invariant numerics in yilab").

Runs record which numerics produced them (``row-invariant-wt``, ``row-invariant``, or
``plain``: mlx-lm as it is), so a run logged before replays with the numerics it had.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

from yilab.experiment.sweep import MAX_CELLS, NUMERICS, PLAIN, ROW_INVARIANT, ROW_INVARIANT_WT
from yilab.generation.fastpath import blas_in_use
from yilab.generation.mlx_thread import compute_device


def _padded(call, x: mx.array) -> mx.array:
    """``call(x)``, with a one-row ``x`` fed as two identical rows (first result kept).

    The rows go in as a 2-D (2, k) array and the first comes back as a slice and a reshape
    (views): indexing ``[0]`` would add a gather (a copy) and a squeeze to each of a step's
    ~200 calls, ~4 % of a lone row's tokens/s (bench/RESULTS.md); the bits are the same.
    """
    if x.size != x.shape[-1]:
        return call(x)
    k = x.shape[-1]
    y = call(mx.broadcast_to(x.reshape(1, k), (2, k)))
    return y[:1].reshape(*x.shape[:-1], y.shape[-1])


class RowInvariantLinear(nn.Linear):
    """An ``nn.Linear`` whose one-row calls take BLAS's gemm path, like batched ones."""

    def __call__(self, x: mx.array) -> mx.array:
        return _padded(super().__call__, x)


class RowInvariantEmbedding(nn.Embedding):
    """An ``nn.Embedding`` whose ``as_linear`` (a tied lm_head) pads one row like above."""

    def as_linear(self, x: mx.array) -> mx.array:
        return _padded(super().as_linear, x)


class TransposedRowInvariantLinear(RowInvariantLinear):
    """A :class:`RowInvariantLinear` whose weight is stored transposed (see the module)."""


class TransposedRowInvariantEmbedding(RowInvariantEmbedding):
    """A :class:`RowInvariantEmbedding` whose weight is stored transposed (the lookup reads
    a row of the view, the tied lm_head multiplies by the stored, contiguous Wt)."""


_CLASSES = {  # numerics -> (the linear class, the embedding class)
    PLAIN: (nn.Linear, nn.Embedding),
    ROW_INVARIANT: (RowInvariantLinear, RowInvariantEmbedding),
    ROW_INVARIANT_WT: (TransposedRowInvariantLinear, TransposedRowInvariantEmbedding),
}
# a class -> its kind: 0 a linear layer, 1 an embedding
_KIND = {cls: kind for pair in _CLASSES.values() for kind, cls in enumerate(pair)}
_TRANSPOSED = {TransposedRowInvariantLinear, TransposedRowInvariantEmbedding}


def padding_needed() -> bool:
    """Whether one-row matmuls here take another path than batched ones (see the module)."""
    return compute_device() == "cpu" and blas_in_use() != "bundled"


def set_numerics(model: nn.Module, numerics: str) -> int:
    """Give ``model``'s float linear layers the numerics asked for; how many layers changed.

    Swaps each layer's class in place, and stores its weight transposed or as loaded when
    the layout changes (one weight at a time, so memory grows by one weight at most).
    Only exact ``nn.Linear``/``nn.Embedding`` instances (and yilab's own classes for them)
    change: quantized layers and a model's own subclasses are left alone.
    """
    if numerics not in NUMERICS:
        raise ValueError(f"numerics must be one of {', '.join(NUMERICS)}, not {numerics!r}")
    classes = _CLASSES[numerics if padding_needed() else PLAIN]
    changed = 0
    for _, module in model.named_modules():
        kind = _KIND.get(type(module))
        if kind is None:
            continue
        new = classes[kind]
        if new in _TRANSPOSED and not transposable(module.weight.shape[0]):
            new = _CLASSES[ROW_INVARIANT][kind]
        if type(module) is new:
            continue
        if (type(module) in _TRANSPOSED) != (new in _TRANSPOSED):
            module.weight = _relaid(module.weight, transposed=new in _TRANSPOSED)
            mx.eval(module.weight)
        module.__class__ = new
        changed += 1
    return changed


def transposable(outputs: int, rows: int = MAX_CELLS) -> bool:
    """Whether BLIS gives every batch of up to ``rows`` rows of a transposed-weight matmul
    with ``outputs`` columns the 2-row bits (the measured rule, see the module):
    ``transposable(192)`` → True (64 rows), ``transposable(128)`` → False (from 48 rows).
    """
    return 16 * rows < 6 * outputs


def _relaid(weight: mx.array, *, transposed: bool) -> mx.array:
    """``weight``'s values stored as ``Wt`` (returned as the view ``Wt.T``), or as loaded."""
    return mx.contiguous(weight.T).T if transposed else mx.contiguous(weight)


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
