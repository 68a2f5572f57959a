"""Where batched rows part: which operations give a row other bits in a batch than alone (issue 16).

    python bench/batch_invariance.py [--model SPEC] [--prompt-tokens 200] [--repeats 5]
                                     [--steps 8] [--skip-timing] [--skip-archs]
                                     [--end-to-end] [--e2e-tokens 200]

On the model's real weights and real activations (a chat prompt read once, then 16 rows that
each took a different first token, as the cells of a sweep do), every check feeds one row
alone (as ``stream_generate`` does: a ``KVCache``, one row) and the same row inside batches of
1, 2, 3, 4, 8, 9 and 16 (as ``BatchGenerator`` does: a merged ``BatchKVCache``, per-row
offsets, a mask), at the first, middle and last position, beside other rows each time. A cell
of the table is ``=`` when the row's result is bitwise identical to the row alone in every
placement, otherwise the largest absolute difference; "B≥2 agree" says whether all the batched
results (B ≥ 2, every placement) are bitwise identical to each other.

1. the linear layers, one per projection shape (layers 0, 15, 29; the tied lm_head), and
   ``mx.quantized_matmul`` (not used on CPU, where yilab stores float32 weights);
2. RMSNorm, RoPE (int offset alone, per-row offsets batched), attention
   (``mx.fast.scaled_dot_product_attention``, no mask alone, the batch's mask batched; also a
   row left-padded beside longer rows);
3. the whole model's logits for one decode step, as is and with the candidate fixes;
4. the logits → logprobs normalisation and yilab's ``SeededSampler``.

Before the tables: which BLIS path a one-row matmul takes (``cblas_sgemm`` with M = 1 against
``cblas_sgemv``) and which row counts M share one set of bits. After them: the same matmul
check under each x86 BLIS sub-configuration (``BLIS_ARCH_TYPE``) and the wheel's bundled BLAS
(child processes), the per-step cost of each candidate fix (see ``linear_rows``) at B = 1, 3, 9
(median of ``--repeats``; timings are noisy on a shared machine), and with ``--end-to-end`` a
3×3 sweep (T 0.5/1.0/1.5, seeds 1–3) through yilab's single and batch engines, as is and with
the fixes patched in, counting the cells whose outputs are identical. ~3 minutes here;
``--end-to-end`` adds ~6.

    --matmul-only    (internal) print the matmul check as JSON: one child per BLAS
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from yilab.generation.fastpath import reexec_with_fast_blas  # noqa: E402

SIZES = (1, 2, 3, 4, 8, 9, 16)
POOL = 16  # rows with distinct histories; batches draw from them
ROWS_TESTED = (0, 7)  # each check follows these rows through every placement
LAYERS = (0, 15, 29)
BLIS_ARCHS = {"skx": 0, "haswell": 3, "zen3": 6, "zen2": 7, "zen": 8}  # BLIS 0.9 arch_t ids
PROJECTIONS = {  # name -> the block holding it
    **dict.fromkeys(("q_proj", "k_proj", "v_proj", "o_proj"), "self_attn"),
    **dict.fromkeys(("gate_proj", "up_proj", "down_proj"), "mlp"),
}


# ---------------------------------------------------------------- rows and decode steps


@dataclass
class Row:
    """One sequence: its KV cache (prompt + its own tokens) and the token it feeds next."""

    cache: list
    token: int


def build_pool(model, tokenizer, prompt_tokens: int) -> tuple[list[Row], Row]:
    """``POOL`` rows that read the prompt then each took a different likely first token,
    and a shorter row (the prompt only, about to take its first step)."""
    import mlx.core as mx

    from bench.sweep_bench import long_prompt, render
    from yilab.generation.prefill import prefill

    ids = tokenizer.encode(render(tokenizer, long_prompt(tokenizer, prompt_tokens)))
    prefix = prefill(model, ids[:-1]).cache
    first = Row(prefix, ids[-1])
    logits = step_alone(model, first)
    rows = []
    for token in mx.argsort(-mx.array(logits))[:POOL].tolist():
        cache = copy.deepcopy(prefix)
        model(mx.array([[ids[-1]]]), cache=cache)
        nxt = model(mx.array([[token]]), cache=cache)[0, -1].argmax().item()
        rows.append(Row(cache, nxt))
    print(
        f"prompt {len(ids)} tokens; {POOL} rows with {len(ids) + 1} cached, one with {len(ids) - 1}"
    )
    return rows, first


def step_alone(model, row: Row):
    """One decode step as ``stream_generate`` takes it: the row's own KVCache, shape [1, 1]."""
    import mlx.core as mx

    logits = model(mx.array([[row.token]]), cache=copy.deepcopy(row.cache))[0, -1]
    return np.array(logits)


def step_batch(model, rows: list[Row]):
    """One decode step as ``BatchGenerator`` takes it: the rows' caches merged (left-padded
    where shorter) into ``BatchKVCache``s, tokens [B, 1]. Logits [B, vocab]."""
    import mlx.core as mx
    from mlx_lm.generate import _merge_caches  # what BatchGenerator calls

    cache = _merge_caches([copy.deepcopy(r.cache) for r in rows])
    return np.array(model(mx.array([[r.token] for r in rows]), cache=cache)[:, -1])


# ---------------------------------------------------------------- comparing bits


@dataclass
class Outcome:
    """Over all placements of a row in batches of one size: bit-identical? largest diff."""

    equal: bool = True
    max_diff: float = 0.0

    def add(self, ref, got) -> None:
        import numpy as np

        same = ref == got  # infinities (filtered logits) compare equal to themselves
        self.equal &= bool(same.all())
        if not same.all():
            self.max_diff = max(self.max_diff, float(np.abs(ref - got)[~same].max()))

    def merge(self, other: Outcome) -> None:
        self.equal &= other.equal
        self.max_diff = max(self.max_diff, other.max_diff)

    def __str__(self) -> str:
        return "=" if self.equal else f"{self.max_diff:.1e}"


@dataclass
class Check:
    """One operation's row: outcome per batch size, and whether batched results agree."""

    name: str
    by_size: dict[int, Outcome]
    batched_agree: bool = True

    def merge(self, other: Check) -> None:
        for size, outcome in other.by_size.items():
            self.by_size.setdefault(size, Outcome()).merge(outcome)
        self.batched_agree &= other.batched_agree


def placements(size: int, row: int, pool: int = POOL) -> Iterator[tuple[list[int], int]]:
    """Batches of ``size`` holding ``row`` at the first, middle and last position, each time
    beside other rows: ``(indices, position)``."""
    others = [r for r in range(pool) if r != row]
    for turn, position in enumerate(sorted({0, size // 2, size - 1})):
        shift = 5 * turn
        chosen = (others[shift:] + others[:shift])[: size - 1]
        yield chosen[:position] + [row] + chosen[position:], position


def check(name: str, alone: Callable, batched: Callable, rows=ROWS_TESTED) -> Check:
    """``alone(i)``: row i's result computed alone; ``batched(indices, p)``: the result of the
    batch ``indices`` for its row p."""
    result = Check(name, {})
    for row in rows:
        ref, first_batched = alone(row), None
        for size in SIZES:
            for indices, position in placements(size, row):
                got = batched(indices, position)
                result.by_size.setdefault(size, Outcome()).add(ref, got)
                if size >= 2:
                    first_batched = got if first_batched is None else first_batched
                    result.batched_agree &= bool(np.array_equal(got, first_batched))
    return result


def merged(parts: list[Check]) -> Check:
    """One row for the same operation checked at several layers."""
    first, *rest = parts
    for part in rest:
        first.merge(part)
    return first


def print_table(title: str, checks: list[Check]) -> None:
    print(f"\n{title}")
    width = max(len(c.name) for c in checks) + 2
    head = "".join(f"{'B=' + str(s):>9}" for s in SIZES)
    print(f"{'operation':<{width}}{head}   B≥2 agree")
    for c in checks:
        cells = "".join(f"{str(c.by_size[s]):>9}" for s in SIZES)
        print(f"{c.name:<{width}}{cells}   {'yes' if c.batched_agree else 'NO'}")


# ---------------------------------------------------------------- capturing real activations


@dataclass
class Captured:
    """The inputs each operation saw in one batched decode step of all ``POOL`` rows."""

    linear: dict[str, object]  # module name -> input [B, 1, d_in]
    norm: dict[str, object]  # module name -> input [B, 1, d]
    rope: dict[str, tuple]  # module name -> (queries [B, H, 1, D], offsets [B])
    sdpa: list[tuple]  # per layer: (q, k, v, mask, scale)
    logits: object  # [B, vocab]


@contextlib.contextmanager
def patched(target, name: str, replacement) -> Iterator[None]:
    original = getattr(target, name)
    setattr(target, name, replacement)
    try:
        yield
    finally:
        setattr(target, name, original)


def capture(model, rows: list[Row]) -> Captured:
    """Run one batched step of ``rows`` and keep every operation's inputs."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx_lm.models import llama

    names = {id(m): n for n, m in model.named_modules()}
    seen = Captured({}, {}, {}, [], None)
    linear, as_linear, norm = nn.Linear.__call__, nn.Embedding.as_linear, nn.RMSNorm.__call__
    rope, sdpa = nn.RoPE.__call__, llama.scaled_dot_product_attention

    def keep(store, fn):
        def call(self, x, *args, **kwargs):
            store.setdefault(names[id(self)], (x, *args, *kwargs.values()))
            return fn(self, x, *args, **kwargs)

        return call

    def keep_sdpa(q, k, v, cache, scale, mask, **kw):
        seen.sdpa.append((q, k, v, mask, scale))
        return sdpa(q, k, v, cache=cache, scale=scale, mask=mask, **kw)

    with contextlib.ExitStack() as stack:
        stack.enter_context(patched(nn.Linear, "__call__", keep(seen.linear, linear)))
        stack.enter_context(patched(nn.Embedding, "as_linear", keep(seen.linear, as_linear)))
        stack.enter_context(patched(nn.RMSNorm, "__call__", keep(seen.norm, norm)))
        stack.enter_context(patched(nn.RoPE, "__call__", keep(seen.rope, rope)))
        stack.enter_context(patched(llama, "scaled_dot_product_attention", keep_sdpa))
        from mlx_lm.generate import _merge_caches

        cache = _merge_caches([copy.deepcopy(r.cache) for r in rows])
        seen.logits = model(mx.array([[r.token] for r in rows]), cache=cache)[:, -1]
    seen.linear = {k: v[0] for k, v in seen.linear.items()}
    seen.norm = {k: v[0] for k, v in seen.norm.items()}
    mx.eval(seen.linear, seen.norm, seen.rope, seen.sdpa, seen.logits)
    return seen


# ---------------------------------------------------------------- 1. matmuls


def matmul_checks(model, seen: Captured) -> list[Check]:
    """Every projection shape: ``nn.Linear`` on [B, 1, d] rows (layers 0, 15, 29), ``x @ W.T``
    on 2-D rows, the tied lm_head, and a 4-bit ``mx.quantized_matmul``."""
    import mlx.core as mx

    checks = []
    for kind, block in PROJECTIONS.items():
        parts = []
        for layer in LAYERS:
            module = getattr(getattr(model.model.layers[layer], block), kind)
            label = f"nn.Linear {kind} {module.weight.shape[1]}→{module.weight.shape[0]}"
            x = seen.linear[f"model.layers.{layer}.{block}.{kind}"]
            parts.append(check(label, *on_rows(module, x)))
        checks.append(merged(parts))
    embed = model.model.embed_tokens
    head = seen.linear["model.embed_tokens"]
    label = f"lm_head (tied) 576→{embed.weight.shape[0]}"
    checks.append(check(label, *on_rows(embed.as_linear, head)))
    q = model.model.layers[15].self_attn.q_proj.weight
    x2 = seen.linear["model.layers.15.self_attn.q_proj"][:, 0, :]
    checks.append(check("x @ W.T, 2-D (q_proj 15)", *on_rows(lambda x: x @ q.T, x2)))
    wq, scales, biases = mx.quantize(q, group_size=32, bits=4)

    def qmm(x):
        return mx.quantized_matmul(x, wq, scales, biases, transpose=True, group_size=32, bits=4)

    checks.append(check("mx.quantized_matmul 4-bit g32", *on_rows(qmm, x2)))
    return checks


def on_rows(fn: Callable, x) -> tuple[Callable, Callable]:
    """``check``'s two functions for an operation applied row-wise to the captured ``x``."""
    import mlx.core as mx

    return (
        lambda i: np.array(fn(x[i : i + 1]))[0],
        lambda indices, p: np.array(fn(x[mx.array(indices)]))[p],
    )


def row_count_classes(model, seen: Captured) -> str:
    """For gate_proj (576→1536), which row counts M give row 0 the bits it gets at M = 2
    (rows tiled from the real ones: a row's result never depends on the others' values)."""
    import mlx.core as mx

    module = model.model.layers[15].mlp.gate_proj
    x = seen.linear["model.layers.15.mlp.gate_proj"][:, 0, :]
    ref = np.array(module(x[:2]))[0]
    counts = [*range(1, 33), 64, 128, 200, 201, 256, 400, 401, 512]
    same = []
    for m in counts:
        tiled = mx.concatenate([x] * (m // POOL + 1))[:m]
        same.append(bool(np.array_equal(np.array(module(tiled))[0], ref)))
    runs: list[list] = []
    for m, s in zip(counts, same, strict=True):
        if runs and runs[-1][2] == s:
            runs[-1][1] = m
        else:
            runs.append([m, m, s])
    return ", ".join(f"M {a}–{b}: {'= M2' if s else 'other bits'}" for a, b, s in runs)


def blis_routing(model, seen: Captured) -> str:
    """Which BLIS path a one-row matmul takes: ``cblas_sgemm`` called directly (as MLX calls
    it) on gate_proj with M = 1 vs ``cblas_sgemv``, and vs the same row with M = 2."""
    import ctypes

    from yilab.generation.fastpath import ACTIVE_ENV

    library = os.environ.get(ACTIVE_ENV)
    if not library:
        return "not BLIS (the wheel's bundled BLAS)"
    blis = ctypes.CDLL(library)
    for name in ("bli_info_get_version_str", "bli_arch_string"):
        getattr(blis, name).restype = ctypes.c_char_p
    w = np.array(model.model.layers[15].mlp.gate_proj.weight)
    x = np.array(seen.linear["model.layers.15.mlp.gate_proj"][:2, 0, :])
    n, k = w.shape
    ptr, one, zero = ctypes.c_void_p, ctypes.c_float(1.0), ctypes.c_float(0.0)

    def gemm(rows):  # row-major (101), x as is (111), W transposed (112): x @ W.T
        out = np.zeros((len(rows), n), np.float32)
        args = (len(rows), n, k, one, rows.ctypes.data_as(ptr), k, w.ctypes.data_as(ptr), k)
        blis.cblas_sgemm(101, 111, 112, *args, zero, out.ctypes.data_as(ptr), n)
        return out[0]

    gemv = np.zeros(n, np.float32)
    args = (n, k, one, w.ctypes.data_as(ptr), k, x[0].ctypes.data_as(ptr), 1, zero)
    blis.cblas_sgemv(101, 111, *args, gemv.ctypes.data_as(ptr), 1)
    single, pair = gemm(np.ascontiguousarray(x[:1])), gemm(x)
    version = blis.bli_info_get_version_str().decode()
    arch = blis.bli_arch_string(blis.bli_arch_query_id()).decode()
    return (
        f"BLIS {version}, sub-configuration {arch}: sgemm M=1 == sgemv "
        f"{np.array_equal(single, gemv)}; sgemm M=1 == row 0 of M=2 {np.array_equal(single, pair)}"
    )


# ---------------------------------------------------------------- 2. norms, RoPE, attention


def layer_op_checks(model, seen: Captured) -> list[Check]:
    import mlx.core as mx

    norms = [
        check(
            "RMSNorm (mx.fast.rms_norm)",
            *on_rows(
                model.model.layers[layer].input_layernorm,
                seen.norm[f"model.layers.{layer}.input_layernorm"],
            ),
        )
        for layer in LAYERS
    ]
    checks = [merged(norms)]
    checks.append(check("final RMSNorm", *on_rows(model.model.norm, seen.norm["model.norm"])))
    ropes = []
    for layer in LAYERS:
        module = model.model.layers[layer].self_attn.rope
        x, offsets = seen.rope[f"model.layers.{layer}.self_attn.rope"]

        def alone(i, module=module, x=x, offsets=offsets):
            return np.array(module(x[i : i + 1], offset=offsets[i].item()))[0]

        def batched(indices, p, module=module, x=x, offsets=offsets):
            picked = mx.array(indices)
            return np.array(module(x[picked], offset=offsets[picked]))[p]

        ropes.append(check("RoPE (mx.fast.rope): int offset vs per-row", alone, batched))
    checks.append(merged(ropes))
    checks.append(_sdpa_check(seen, padding=0))
    checks.append(_sdpa_check(seen, padding=5))
    return checks


def _sdpa_check(seen: Captured, padding: int) -> Check:
    """Attention for one query: alone with no mask; batched with the mask BatchKVCache makes.
    With ``padding``, the row's first positions are dropped alone and left-padded (zeros,
    masked) in the batch, as for a shorter row beside longer ones."""
    import mlx.core as mx
    from mlx_lm.models.base import create_causal_mask

    sdpa = mx.fast.scaled_dot_product_attention
    label = "SDPA: no mask vs batch mask" if not padding else f"SDPA: row left-padded by {padding}"
    parts = []
    for layer in LAYERS:
        q, k, v, _, scale = seen.sdpa[layer]
        length = k.shape[2]

        def alone(i, q=q, k=k, v=v, scale=scale):
            kk, vv = k[i : i + 1, :, padding:], v[i : i + 1, :, padding:]
            return np.array(sdpa(q[i : i + 1], kk, vv, scale=scale, mask=None))[0]

        def batched(indices, p, q=q, k=k, v=v, scale=scale, length=length):
            picked = mx.array(indices)
            kk, vv = k[picked], v[picked]
            keep = (mx.arange(len(indices)) != p)[:, None, None, None]
            keep = keep | (mx.arange(length) >= padding)[None, None, :, None]
            kk, vv = mx.where(keep, kk, 0.0), mx.where(keep, vv, 0.0)
            pads = mx.array([padding if j == p else 0 for j in range(len(indices))])
            mask = create_causal_mask(1, offset=length - 1, left_padding=pads)
            return np.array(sdpa(q[picked], kk, vv, scale=scale, mask=mask))[p]

        parts.append(check(label, alone, batched))
    return merged(parts)


# ---------------------------------------------------------------- 3. the whole model


@contextlib.contextmanager
def linear_rows(mode: str | None) -> Iterator[None]:
    """A candidate fix for every linear layer and the tied lm_head, while the block runs
    (the default model's layers have no bias, so the prototype ignores one).

    ``pad2``: a call with one row sees it twice (``broadcast_to``, copied into a 2-row matrix
    by the matmul), and keeps the first: BLAS takes its gemm path, as for any batch;
    ``rowloop``: a decode batch is split into one matmul per row: BLAS takes its gemv path, as
    for a row alone; ``broadcast``: the same per-row gemv in one op, the weight broadcast over
    the batch, so MLX calls sgemm once per row with M = 1.
    """
    import mlx.core as mx
    import mlx.nn as nn

    if mode is None:
        yield
        return
    linear, as_linear = nn.Linear.__call__, nn.Embedding.as_linear

    def wrap(fn):
        def call(self, x):
            rows = x.size // x.shape[-1]
            if mode == "pad2" and rows == 1:
                return fn(self, mx.broadcast_to(x, (2, *x.shape[1:])))[:1]
            if mode == "rowloop" and rows > 1 and x.shape[-2] == 1:
                return mx.concatenate([fn(self, x[i : i + 1]) for i in range(x.shape[0])])
            if mode == "broadcast" and rows > 1 and x.shape[-2] == 1:
                w = self.weight.T
                return x @ mx.broadcast_to(w, (x.shape[0], *w.shape))
            return fn(self, x)

        return call

    with (
        patched(nn.Linear, "__call__", wrap(linear)),
        patched(nn.Embedding, "as_linear", wrap(as_linear)),
    ):
        yield


def model_checks(model, rows: list[Row], short: Row) -> list[Check]:
    """One decode step's logits, the row alone vs in a batch, as is and with each fix."""
    checks = []
    for mode, label in (
        (None, "logits, as is"),
        ("pad2", "logits, fix pad2 (alone and batched)"),
        ("rowloop", "logits, fix rowloop"),
        ("broadcast", "logits, fix broadcast"),
    ):
        with linear_rows(mode):
            checks.append(
                check(
                    label,
                    lambda i: step_alone(model, rows[i]),
                    lambda indices, p: step_batch(model, [rows[j] for j in indices])[p],
                )
            )
    for mode in (None, "pad2"):
        pool = [short, *rows[1:]]  # row 0: the shorter row, left-padded by 2 in a batch

        def batched(indices, p, pool=pool):
            return step_batch(model, [pool[j] for j in indices])[p]

        with linear_rows(mode):
            label = f"logits, shorter row left-padded, {'as is' if mode is None else mode}"
            checks.append(check(label, lambda i: step_alone(model, short), batched, rows=(0,)))
    return checks


# ---------------------------------------------------------------- 4. logprobs and the sampler


def sampler_checks(seen: Captured) -> list[Check]:
    """generate_step's normalisation of one row vs BatchGenerator's of the batch, and
    SeededSampler drawing 8 tokens from a row alone vs from the batch's row slice."""
    import mlx.core as mx

    from yilab.generation.sampling import SeededSampler

    logits = seen.logits

    def single_lp(i):
        row = logits[i : i + 1]
        return row - mx.logsumexp(row, keepdims=True)  # generate_step: all axes, one row

    def batch_lp(indices):
        rows = logits[mx.array(indices)]
        return rows - mx.logsumexp(rows, axis=-1, keepdims=True)  # BatchGenerator

    checks = [
        check(
            "logits − logsumexp",
            lambda i: np.array(single_lp(i))[0],
            lambda indices, p: np.array(batch_lp(indices))[p],
        ),
        check(
            "mx.softmax over the vocabulary",
            lambda i: np.array(mx.softmax(logits[i : i + 1], axis=-1))[0],
            lambda indices, p: np.array(mx.softmax(logits[mx.array(indices)], axis=-1))[p],
        ),
    ]
    for settings in (
        {"temperature": 0.0},
        {"temperature": 0.7},
        {"temperature": 1.5, "top_p": 0.9, "top_k": 50, "min_p": 0.05},
    ):

        def draws(logprobs, settings=settings):
            sampler = SeededSampler(seed=3, **settings)
            out = []
            for _ in range(8):
                token, scaled = sampler.draw(logprobs)
                out.append(np.array(token, dtype=np.float32).reshape(-1))
                out.append(np.array(scaled).reshape(-1) if scaled is not None else out[-1])
            return np.concatenate(out)

        label = "SeededSampler " + " ".join(f"{k}={v}" for k, v in settings.items())
        checks.append(
            check(
                label.replace("temperature", "T"),
                lambda i, draws=draws: draws(single_lp(i)),
                lambda indices, p, draws=draws: draws(batch_lp(indices)[p : p + 1]),
            )
        )
    return checks


# ---------------------------------------------------------------- cost of the fixes


def step_costs(model, rows: list[Row], repeats: int, steps: int) -> dict[tuple[str, int], float]:
    """Median ms per decode step for each fix at B = 1, 3, 9 (B = 1: the single engine's
    KVCache; otherwise a merged BatchKVCache). Variants interleave within each repeat."""
    import mlx.core as mx
    from mlx_lm.generate import _merge_caches

    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(repeats):
        for mode in ("as is", "pad2", "rowloop", "broadcast"):
            for size in (1, 3, 9):
                chosen = rows[:size]
                with linear_rows(None if mode == "as is" else mode):
                    if size == 1:
                        cache = copy.deepcopy(chosen[0].cache)
                    else:
                        cache = _merge_caches([copy.deepcopy(r.cache) for r in chosen])
                    tokens = mx.array([[r.token] for r in chosen])
                    mx.eval(model(tokens, cache=cache))  # warm
                    start = time.perf_counter()
                    for _ in range(steps):
                        mx.eval(model(tokens, cache=cache))
                    elapsed = (time.perf_counter() - start) / steps * 1000
                times.setdefault((mode, size), []).append(elapsed)
    return {k: statistics.median(v) for k, v in times.items()}


def print_costs(costs: dict[tuple[str, int], float], repeats: int, steps: int) -> None:
    print(f"\nms per decode step (median of {repeats} repeats × {steps} steps; noisy machine)")
    print(f"{'fix':<12}{'B=1':>9}{'B=3':>9}{'B=9':>9}   vs as is")
    for mode in ("as is", "pad2", "rowloop", "broadcast"):
        values = [costs[(mode, s)] for s in (1, 3, 9)]
        ratios = " ".join(
            f"{v / costs[('as is', s)]:.2f}×" for v, s in zip(values, (1, 3, 9), strict=True)
        )
        print(f"{mode:<12}" + "".join(f"{v:>9.1f}" for v in values) + f"   {ratios}")


# ---------------------------------------------------------------- BLAS configurations


def arch_matrix(model_spec: str | None) -> None:
    """The matmul check in child processes, one per BLIS sub-configuration and bundled."""
    print("\nmatmuls per BLAS (child processes; = : row bit-identical to the row alone)")
    configs = [(name, {"BLIS_ARCH_TYPE": str(i)}) for name, i in BLIS_ARCHS.items()]
    configs.append(("bundled (reference BLAS)", {"YILAB_BLAS": "bundled"}))
    for name, extra in configs:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "YILAB_BLAS_ACTIVE")}
        cmd = [sys.executable, __file__, "--matmul-only"]
        if model_spec:
            cmd += ["--model", model_spec]
        done = subprocess.run(cmd, env={**env, **extra}, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{name}: failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"\n[{name}] {result['routing']}\n  row counts: {result['classes']}")
        for row in result["checks"]:
            print(f"  {row}")


def matmul_only(args: argparse.Namespace) -> None:
    from mlx_lm import load

    from yilab.generation.fastpath import blas_in_use
    from yilab.models.resolve import resolve_model

    model, tokenizer = load(str(resolve_model(args.model).path))
    rows, _ = build_pool(model, tokenizer, 40)
    seen = capture(model, rows)
    checks = matmul_checks(model, seen)
    lines = [
        f"{c.name:<38}"
        + " ".join(f"B{s}:{c.by_size[s]}" for s in SIZES)
        + f"  B≥2 agree: {'yes' if c.batched_agree else 'NO'}"
        for c in checks
    ]
    routing = f"{blas_in_use()}: {blis_routing(model, seen)}"
    print(
        json.dumps({"routing": routing, "classes": row_count_classes(model, seen), "checks": lines})
    )


# ---------------------------------------------------------------- end to end


def end_to_end(path: str, tokens: int) -> None:
    """The issue's 3×3 sweep through yilab's engines: as is, with ``pad2`` (both engines) and
    with ``broadcast`` (changes only batches, so only the batch engine runs)."""
    from yilab.experiment.sweep import SweepSpec
    from yilab.service import Service

    user = "Write a short story about a lighthouse keeper who finds a message in a bottle."
    print(f"\nend to end: 3×3 sweep (T 0.5/1.0/1.5 × seeds 1–3), {tokens} tokens")
    outputs: dict[tuple[str, str], list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp) / "bench.db")
        runs = (
            ("as is", ("single", "batch")),
            ("pad2", ("single", "batch")),
            ("broadcast", ("batch",)),
        )
        for mode, engines in runs:
            for engine in engines:
                spec = SweepSpec(
                    prompt=user,
                    models=(path,),
                    temperatures=(0.5, 1.0, 1.5),
                    seeds=(1, 2, 3),
                    max_tokens=(tokens,),
                    engine=engine,
                )
                start = time.perf_counter()
                with linear_rows(None if mode == "as is" else mode):
                    outputs[(mode, engine)] = [r["output"] for r in service.run_sweep(spec)[1]]
                print(f"  {mode} {engine}: {time.perf_counter() - start:.1f}s")
        service.close()
    outputs[("broadcast", "single")] = outputs[("as is", "single")]
    for label, a, b in (
        ("as is: batch vs single", ("as is", "batch"), ("as is", "single")),
        ("pad2: batch vs single", ("pad2", "batch"), ("pad2", "single")),
        ("broadcast: batch vs single", ("broadcast", "batch"), ("broadcast", "single")),
        ("single: pad2 vs as is", ("pad2", "single"), ("as is", "single")),
    ):
        pairs = list(zip(outputs[a], outputs[b], strict=True))
        parted = [_common_prefix(x, y) for x, y in pairs if x != y]
        same = len(pairs) - len(parted)
        print(f"  {label}: {same}/9 cells identical; the others part after {parted} characters")


def _common_prefix(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


# ---------------------------------------------------------------- main


def main() -> None:
    reexec_with_fast_blas()
    args = parse_args()
    if args.matmul_only:
        matmul_only(args)
        return
    from mlx_lm import load

    from yilab.generation.fastpath import blas_in_use
    from yilab.models.resolve import resolve_model

    path = str(resolve_model(args.model).path)
    model, tokenizer = load(path)
    kinds = sorted({type(m).__name__ for _, m in model.named_modules()})
    print(f"model {path}\nmodule types: {', '.join(kinds)}\nblas: {blas_in_use()}")
    rows, short = build_pool(model, tokenizer, args.prompt_tokens)
    seen = capture(model, rows)
    print(blis_routing(model, seen))
    print("row counts (gate_proj):", row_count_classes(model, seen))
    print_table(
        "1. matmuls (= : bit-identical to the row alone; else max |diff|)",
        matmul_checks(model, seen),
    )
    print_table("2. norms, RoPE, attention", layer_op_checks(model, seen))
    print_table("3. the whole model, one decode step", model_checks(model, rows, short))
    print_table("4. logprobs and the sampler (same logits in)", sampler_checks(seen))
    if not args.skip_timing:
        print_costs(step_costs(model, rows, args.repeats, args.steps), args.repeats, args.steps)
    if not args.skip_archs:
        arch_matrix(args.model)
    if args.end_to_end:
        end_to_end(path, args.e2e_tokens)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model spec (default: the default model)")
    parser.add_argument("--prompt-tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--skip-archs", action="store_true")
    parser.add_argument("--end-to-end", action="store_true")
    parser.add_argument("--e2e-tokens", type=int, default=200)
    parser.add_argument("--matmul-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
