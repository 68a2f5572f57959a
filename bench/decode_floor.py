"""The floor of the 3×3 sweep: the best time this machine allows, beside the measured one.

    python bench/decode_floor.py [--model SPEC] [--prompt-tokens 500] [--max-tokens 64]
                                 [--rows 9] [--repeats 2] [--skip-sweep]
                                 [--outputs FILE] [--compare FILE]

1. This machine: sustained read bandwidth (an MLX sum and a NumPy sum over 1 GiB of
   float32, more than the L3 cache; one thread, as MLX's CPU stream and serial BLIS are)
   and float32 GFLOP/s (a 2048³ sgemm through MLX on BLIS, NumPy's for comparison; every
   matmul of the model at M = 1 and M = rows, each against its own weights, so they come
   from memory as in a step).
2. The model's work, counted from its config and weights: bytes and FLOPs of one decode
   step at B = 1 and B = rows (every weight read once, the tied lm_head included; the KV
   cache read at the sweep's context lengths; attention's QKᵀ and AV) and of the prefill
   (all prompt tokens but the last; its logits are never evaluated, so no lm_head).
3. The floor: prefill FLOPs at MLX's sgemm GFLOP/s + Σ over the decode steps of
   max(bytes / bandwidth, FLOPs / GFLOP/s).
4. Where a measured decode step goes (B = 1 and B = rows, real caches from the sweep's
   prompt): the graph's op count; the whole forward; the forward with every linear layer
   and the lm_head made free (what is left is attention, norms, RoPE, cache updates and
   per-op scheduling); the linear layers alone (BLAS); logsumexp and the rows' seeded
   samplers with recording, as ``BatchGenerator`` calls them. Each as yilab runs it and
   ``unfused()`` (RMSNorm, RoPE and the draw uncompiled: yilab before issue 16 part 4),
   interleaved.
5. ``BatchGenerator`` as ``run_batch`` drives it, fused and unfused alternating (``--repeats``
   + 3 runs each): ms per step, and whether the tokens are the same.
6. The batch-engine sweep through ``Service.run_sweep`` (as ``sweep_bench.py`` times it),
   fused and unfused alternating, ``--repeats`` each: seconds against the floor, and whether
   outputs and token logs are the same (``--compare``: also against a saved ``--outputs``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sweep_bench import SEEDS, TEMPS, benchmark_prompt, render, timed_sweep  # noqa: E402
from yilab.generation.fastpath import reexec_with_fast_blas  # noqa: E402

GIB = 1 << 30
OUTPUT_SEPARATOR = "\n---\n"
FLOAT = 4  # bytes: the default model runs in float32 on the CPU


def best_ms(fn: Callable[[], object], repeats: int = 5) -> float:
    """The fastest of ``repeats`` evaluated calls, in ms (a shared machine only adds time)."""
    import mlx.core as mx

    mx.eval(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        mx.eval(fn())
        times.append(time.perf_counter() - start)
    return min(times) * 1000


# ---------------------------------------------------------------- the machine


def bandwidth() -> dict[str, float]:
    """Read bandwidth in GB/s: sums over 1 GiB of float32 (MLX, NumPy), and a 1 GiB copy."""
    import mlx.core as mx

    a = mx.ones((GIB // FLOAT,), dtype=mx.float32)
    mx.eval(a)
    n = np.ones(GIB // FLOAT, dtype=np.float32)
    out = {
        "mlx sum": GIB / best_ms(lambda: mx.sum(a)) / 1e6,
        "numpy sum": GIB / _numpy_ms(lambda: n.sum()) / 1e6,
        "mlx copy (read + write)": 2 * GIB / best_ms(lambda: a + 0) / 1e6,
    }
    return out


def _numpy_ms(fn: Callable[[], object], repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def gflops(model, rows: int) -> dict[str, float]:
    """float32 GFLOP/s: a large sgemm (MLX on BLIS, NumPy) and the decode shapes."""
    import mlx.core as mx

    n = 2048
    a, b = mx.random.normal((n, n)), mx.random.normal((n, n))
    an, bn = np.array(a), np.array(b)
    out = {
        f"mlx sgemm {n}³": 2 * n**3 / best_ms(lambda: a @ b) / 1e6,
        f"numpy sgemm {n}³ (its BLAS, all cores)": 2 * n**3 / _numpy_ms(lambda: an @ bn) / 1e6,
    }
    weights = [m.weight for _, m in model.named_modules() if type(m).__name__.endswith("Linear")]
    weights.append(model.model.embed_tokens.weight)  # the tied lm_head
    params = sum(w.size for w in weights)
    for m in (1, rows):
        xs = {w.shape[1]: mx.random.normal((m, w.shape[1])) for w in weights}

        def every_layer(xs=xs):
            return [xs[w.shape[1]] @ w.T for w in weights]

        out[f"all the model's matmuls, M = {m}"] = 2 * m * params / best_ms(every_layer) / 1e6
    return out


# ---------------------------------------------------------------- the model's work


@dataclass
class Work:
    """Bytes moved and FLOPs done by one forward pass."""

    bytes: float
    flops: float

    def seconds(self, gb_s: float, gflop_s: float) -> float:
        """The roofline time: whichever of memory and arithmetic takes longer."""
        return max(self.bytes / gb_s / 1e9, self.flops / gflop_s / 1e9)


@dataclass
class Shape:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    linear_params: int  # the layers' projections (no lm_head)
    other_params: int  # norms (the embedding is counted as the lm_head)

    @classmethod
    def of(cls, model) -> Shape:
        args = model.args
        linear = sum(
            m.weight.size for _, m in model.named_modules() if type(m).__name__.endswith("Linear")
        )
        total = sum(v.size for _, v in _leaves(model.parameters()))
        vocab, hidden = model.model.embed_tokens.weight.shape
        heads = args.num_attention_heads
        head_dim = getattr(args, "head_dim", None) or hidden // heads
        return cls(
            layers=args.num_hidden_layers,
            hidden=hidden,
            heads=heads,
            kv_heads=args.num_key_value_heads,
            head_dim=head_dim,
            vocab=vocab,
            linear_params=linear,
            other_params=total - linear - vocab * hidden,
        )

    def decode_step(self, rows: int, context: int) -> Work:
        """One step of ``rows`` rows, each attending over ``context`` cached keys (its own
        cache: rows of a sweep share a prefix but each holds a copy)."""
        lm_head = self.vocab * self.hidden
        weights = (self.linear_params + lm_head + self.other_params) * FLOAT
        kv_row = 2 * self.layers * self.kv_heads * self.head_dim * FLOAT  # K and V, one position
        kv = rows * kv_row * (context + 1)  # read the context, write the new position
        attention = 4 * rows * self.layers * self.heads * self.head_dim * context
        flops = 2 * rows * (self.linear_params + lm_head) + attention
        return Work(bytes=weights + kv, flops=flops)

    def prefill(self, tokens: int) -> Work:
        """Reading ``tokens`` prompt tokens into the cache (causal attention; no lm_head)."""
        weights = (self.linear_params + self.other_params) * FLOAT
        kv = 2 * self.layers * self.kv_heads * self.head_dim * FLOAT * tokens
        pairs = tokens * (tokens + 1) // 2
        attention = 4 * self.layers * self.heads * self.head_dim * pairs
        return Work(bytes=weights + kv, flops=2 * tokens * self.linear_params + attention)


def _leaves(tree, prefix=""):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, f"{prefix}{k}.")
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _leaves(v, f"{prefix}{i}.")
    else:
        yield prefix, tree


# ---------------------------------------------------------------- a measured step


@contextlib.contextmanager
def free_linears() -> Iterator[None]:
    """Every linear layer and the tied lm_head return a ready zeros array of their output's
    shape plus the input's first column: one cheap add that keeps the rest of the graph
    depending on it (a ready array alone would leave the layers below unevaluated)."""
    import mlx.core as mx
    import mlx.nn as nn

    ready: dict[tuple, mx.array] = {}

    def free(self, x):
        shape = (*x.shape[:-1], self.weight.shape[0])
        if shape not in ready:
            ready[shape] = mx.zeros(shape, dtype=x.dtype) + 0
            mx.eval(ready[shape])
        return ready[shape] + x[..., :1]

    saved = nn.Linear.__call__, nn.Embedding.as_linear
    nn.Linear.__call__, nn.Embedding.as_linear = free, free
    try:
        yield
    finally:
        nn.Linear.__call__, nn.Embedding.as_linear = saved


@contextlib.contextmanager
def unfused() -> Iterator[None]:
    """yilab as before part 4: RMSNorm and RoPE uncompiled, the draw uncompiled."""
    import mlx.nn as nn

    from yilab.generation import fusion, sampling

    saved = (
        fusion.FusedRMSNorm.__call__,
        fusion.FusedRoPE.__call__,
        sampling._compiled_categorical,
    )
    fusion.FusedRMSNorm.__call__ = nn.RMSNorm.__call__
    fusion.FusedRoPE.__call__ = nn.RoPE.__call__
    sampling._compiled_categorical = sampling._categorical
    try:
        yield
    finally:
        (
            fusion.FusedRMSNorm.__call__,
            fusion.FusedRoPE.__call__,
            sampling._compiled_categorical,
        ) = saved


def step_breakdown(model, prefix, token: int, rows: int, repeats: int = 5, steps: int = 6):
    """Median ms per part of a decode step of ``rows`` rows (variants interleaved)."""
    import mlx.core as mx
    from mlx_lm.generate import _merge_caches

    from yilab.generation.recording import Recorder
    from yilab.generation.sampling import SeededSampler

    samplers = [
        Recorder(SeededSampler(temperature=t, seed=s), top_k=5, watch=[2])
        for t in TEMPS
        for s in SEEDS
    ][:rows]
    tokens = mx.array([[token]] * rows)

    def cache():
        if rows == 1:
            return copy.deepcopy(prefix)
        return _merge_caches([copy.deepcopy(prefix) for _ in range(rows)])

    def forward(c):
        return model(tokens, cache=c)[:, -1, :]

    logits = forward(cache())
    mx.eval(logits)

    def sample():
        logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        drawn = [s(logprobs[e : e + 1]) for e, s in enumerate(samplers)]
        return mx.concatenate(drawn), list(logprobs)

    def timed(fn, c=None):
        mx.eval(fn(c))
        start = time.perf_counter()
        for _ in range(steps):
            mx.eval(fn(c))
        return (time.perf_counter() - start) / steps * 1000

    def ready_cache():
        c = cache()
        mx.eval([layer.state for layer in c])
        return c

    parts: dict[str, list[float]] = {}
    for mode in ("", " unfused"):
        with unfused() if mode else contextlib.nullcontext():
            parts[f"ops: forward{mode}"] = [graph_ops(forward(ready_cache()))]
            parts[f"ops: sampling{mode}"] = [graph_ops(*sample())]
    for _ in range(repeats):
        parts.setdefault("forward", []).append(timed(forward, cache()))
        with free_linears():
            parts.setdefault("forward, linears free", []).append(timed(forward, cache()))
        parts.setdefault("logsumexp + samplers", []).append(timed(lambda _: sample()))
        with unfused():
            parts.setdefault("forward unfused", []).append(timed(forward, cache()))
            with free_linears():
                parts.setdefault("forward unfused, linears free", []).append(
                    timed(forward, cache())
                )
            parts.setdefault("logsumexp + samplers unfused", []).append(timed(lambda _: sample()))
    return {k: statistics.median(v) for k, v in parts.items()}


def graph_ops(*outputs) -> int:
    """How many primitive ops MLX would run to evaluate ``outputs`` (views included)."""
    import io

    import mlx.core as mx

    dot = io.StringIO()
    mx.export_to_dot(dot, *outputs)
    return dot.getvalue().count('label ="')


def linears_alone(model, rows: int, repeats: int = 5) -> float:
    """ms for every linear layer and the lm_head at M = ``rows``, one after another (each
    fed the previous output's first columns, so they run as a chain, as in a step)."""
    import mlx.core as mx

    layers = [m for _, m in model.named_modules() if type(m).__name__.endswith("Linear")]
    lm_head = model.model.embed_tokens

    widths = [layer.weight.shape[1] for layer in layers[1:]] + [lm_head.weight.shape[1]]

    def chain():
        x = mx.random.normal((rows, 1, layers[0].weight.shape[1]))
        for layer, width in zip(layers, widths, strict=True):
            x = _fit(layer(x), width)
        return lm_head.as_linear(x)

    return statistics.median([best_ms(chain, 1) for _ in range(repeats)])


def _fit(x, width: int):
    """``x`` cut or tiled to ``width`` columns (the next layer's input; values don't matter)."""
    import mlx.core as mx

    if x.shape[-1] >= width:
        return x[..., :width]
    return mx.concatenate([x] * -(-width // x.shape[-1]), axis=-1)[..., :width]


# ---------------------------------------------------------------- the sweep


def engine_steps(model, prefix, ids: list[int], max_tokens: int, repeats: int) -> dict:
    """``BatchGenerator`` as ``run_batch`` drives it (the sweep's nine recording samplers,
    copies of the prefix), as is and ``unfused()`` alternating: per mode, (median ms per
    step, seconds for the whole decode, the tokens)."""
    from mlx_lm.generate import BatchGenerator

    from yilab.generation.recording import Recorder
    from yilab.generation.sampling import SeededSampler

    def decode():
        samplers = [
            Recorder(SeededSampler(temperature=t, seed=s), top_k=5, watch=[2])
            for t in TEMPS
            for s in SEEDS
        ]
        rows = len(samplers)
        generator = BatchGenerator(
            model, stop_tokens=[[2]], completion_batch_size=rows, prefill_batch_size=rows
        )
        generator.insert(
            [ids[-1:]] * rows,
            max_tokens=[max_tokens] * rows,
            caches=[prefix.copy_cache() for _ in range(rows)],
            all_tokens=[list(ids[:-1])] * rows,
            samplers=samplers,
            logits_processors=[[] for _ in range(rows)],
        )
        steps, tokens, done = [], {}, 0
        start = last = time.perf_counter()
        while done < rows:
            for response in generator.next_generated():
                tokens.setdefault(response.uid, []).append(response.token)
                done += response.finish_reason is not None
            steps.append(time.perf_counter() - last)
            last = time.perf_counter()
        generator.close()
        return statistics.median(steps[2:]) * 1000, last - start, tokens

    results: dict[str, list] = {}
    for _ in range(repeats):
        for mode in ("fused", "unfused"):
            with unfused() if mode == "unfused" else contextlib.nullcontext():
                results.setdefault(mode, []).append(decode())
    return results


def measured_sweeps(path: str, user: str, max_tokens: int, repeats: int) -> dict[str, list]:
    """Batch-engine sweeps through the service, yilab as is and ``unfused()`` alternating:
    per mode, (seconds, outputs, token logs) of each repeat."""
    import hashlib

    from yilab.service import Service

    results: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp) / "bench.db")
        timed_sweep(service, path, "Warm up.", 4, "batch")
        for _ in range(repeats):
            for mode in ("fused", "unfused"):
                with unfused() if mode == "unfused" else contextlib.nullcontext():
                    elapsed, runs = timed_sweep(service, path, user, max_tokens, "batch")
                logs = service.store.get_token_logs([r["id"] for r in runs])
                digest = hashlib.sha256(b"".join(logs[r["id"]] for r in runs)).hexdigest()
                results.setdefault(mode, []).append((elapsed, [r["output"] for r in runs], digest))
                print(f"  sweep {mode}: {elapsed:.2f} s", flush=True)
        service.close()
    return results


def main() -> None:
    reexec_with_fast_blas()
    args = parse_args()
    import mlx.core as mx

    from yilab.generation.fastpath import blas_in_use
    from yilab.generation.fusion import fuse_cpu_ops
    from yilab.generation.invariance import set_numerics
    from yilab.generation.prefill import prefill

    path, model, tokenizer, user = benchmark_prompt(args.model, args.prompt_tokens, args.max_tokens)
    set_numerics(model, "row-invariant-wt")  # as the sweep runs it
    fuse_cpu_ops(model)
    ids = tokenizer.encode(render(tokenizer, user))
    print(f"blas: {blas_in_use()}; rows: {args.rows}")

    print("\n1. this machine (best of 5; one thread)")
    bw = bandwidth()
    for name, value in bw.items():
        print(f"  bandwidth {name:<28} {value:7.1f} GB/s")
    flops = gflops(model, args.rows)
    for name, value in flops.items():
        print(f"  GFLOP/s   {name:<28} {value:7.1f}")
    # MLX's peak: one thread of serial BLIS (NumPy's BLAS may use every core)
    peak_bw, peak = max(bw["mlx sum"], bw["numpy sum"]), flops["mlx sgemm 2048³"]

    shape = Shape.of(model)
    context = len(ids)  # the first step attends over the whole prompt
    steps = range(args.max_tokens)
    print(f"\n2. the model's work ({shape})")
    pre = shape.prefill(len(ids) - 1)
    print(
        f"  prefill of {len(ids) - 1} tokens: {pre.flops / 1e9:.1f} GFLOP, {pre.bytes / 1e6:.0f} MB"
    )
    for b in (1, args.rows):
        for ctx in (context, context + args.max_tokens - 1):
            w = shape.decode_step(b, ctx)
            print(
                f"  decode step B={b}, context {ctx}: {w.bytes / 1e6:.0f} MB, "
                f"{w.flops / 1e9:.2f} GFLOP ({w.flops / w.bytes:.2f} FLOP/byte)"
            )

    prefill_s = pre.flops / peak / 1e9
    decode_s = sum(shape.decode_step(args.rows, context + t).seconds(peak_bw, peak) for t in steps)
    floor = prefill_s + decode_s
    print(
        f"\n3. floor at {peak_bw:.1f} GB/s and {peak:.1f} GFLOP/s: prefill {prefill_s:.2f} s + "
        f"{len(steps)} steps {decode_s:.2f} s ({decode_s / len(steps) * 1000:.1f} ms/step) "
        f"= {floor:.2f} s"
    )

    print(f"\n4. a measured decode step (ms; median of 5 × 6 steps; context {context})")
    prefix = prefill(model, ids[:-1])
    print(f"  prefill measured: {prefix.seconds:.2f} s ({prefix.prompt_tps:.0f} tokens/s)")
    for b in (1, args.rows):
        parts = step_breakdown(model, prefix.cache, ids[-1], b)
        parts["linears alone (chain)"] = linears_alone(model, b)
        floor_step = shape.decode_step(b, context).seconds(peak_bw, peak) * 1000
        print(
            f"  B={b}: floor {floor_step:.1f}; "
            + "; ".join(
                f"{k} {v:.0f}" if k.startswith("ops") else f"{k} {v:.1f}" for k, v in parts.items()
            )
        )
        print(
            f"        BLAS (forward − free) {parts['forward'] - parts['forward, linears free']:.1f}"
        )
    mx.clear_cache()

    print(f"\n5. BatchGenerator, {args.rows} recording rows, {args.max_tokens} tokens, alternating")
    engine = engine_steps(model, prefix, ids, args.max_tokens, args.repeats + 3)
    for mode, runs in engine.items():
        print(
            f"  {mode:<8} {statistics.median(r[0] for r in runs):6.1f} ms/step, "
            f"decode {statistics.median(r[1] for r in runs):.2f} s "
            f"(steps {[round(r[0], 1) for r in runs]}); tokens = the first run's: "
            f"{all(r[2] == engine['fused'][0][2] for r in runs)}"
        )
    paired = [u[0] - f[0] for f, u in zip(engine["fused"], engine["unfused"], strict=True)]
    print(f"  unfused − fused, paired: {[round(p, 1) for p in paired]} ms/step")

    if args.skip_sweep:
        return
    print(f"\n6. the batch-engine sweep (service, {args.repeats} × each mode, alternating)")
    results = measured_sweeps(path, user, args.max_tokens, args.repeats)
    first = results["fused"][0]
    for mode, runs in results.items():
        measured = statistics.median(t for t, _, _ in runs)
        same = all(o == first[1] and d == first[2] for _, o, d in runs)
        print(
            f"  {mode:<8} {measured:6.2f} s (runs {[round(t, 2) for t, _, _ in runs]}); "
            f"floor {floor:.2f} s; measured / floor {measured / floor:.1f}×; "
            f"outputs and token logs = the first fused run's: {same}"
        )
    if args.compare:
        before = Path(args.compare).read_text().split(OUTPUT_SEPARATOR)
        print(f"  outputs = {args.compare}'s: {before == first[1]}")
    if args.outputs:
        Path(args.outputs).write_text(OUTPUT_SEPARATOR.join(first[1]))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model spec (default: the default model)")
    parser.add_argument("--prompt-tokens", type=int, default=500)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rows", type=int, default=len(TEMPS) * len(SEEDS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--outputs", default=None, help="write the sweep's outputs here")
    parser.add_argument("--compare", default=None, help="compare the outputs with this file's")
    return parser.parse_args()


if __name__ == "__main__":
    main()
