"""A lone row's cost under row-invariant numerics, by weight layout and projection fusion.

    python bench/weight_layout.py [--model SPEC] [--max-tokens 64] [--repeats 6] [--rows 9]

Three copies of the default model in one process (re-exec'd with BLIS preloaded, as the
app runs), each decoding the same chat prompt with mlx-lm's ``stream_generate``:

- ``raw``: mlx-lm as it is (gemv for a lone row);
- ``padded W``: yilab's row-invariant numerics today (RMSNorm/RoPE compiled, a one-row
  matmul fed as two rows; weights as mlx-lm loads them, ``x @ W.T``: BLAS sees a
  transposed B);
- ``padded Wt``: the same with every float weight stored transposed (``W = Wt.T``, a view:
  ``nn.Linear``'s ``x @ W.T`` becomes ``x @ Wt`` and BLAS sees a plain row-major B);
- with ``--projections``: ``padded W`` with llama's q/k/v and gate/up fused into one matmul
  each (``bench/projections.py``).

First it checks the bits: the layouts' row classes (which row counts share one set of
bits, on real weights), and for each variant whether a decode step's logits alone equal
the same row's in batches of 2, 3 and ``--rows`` (the row-invariance that yilab needs).
Then tokens/s, medians of ``--repeats`` rotated rounds, ÷ raw.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.single_run import PROMPT  # noqa: E402
from yilab.generation.fastpath import reexec_with_fast_blas  # noqa: E402


def transposed_layout(model) -> None:
    """Store every float linear weight (the tied embedding included) as ``Wt``, contiguous,
    with the module's ``weight`` a transposed view of it: the same values, another layout."""
    import mlx.core as mx
    import mlx.nn as nn

    for _, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Embedding) and "weight" in module:
            module.weight = mx.contiguous(module.weight.T).T
    mx.eval(model.parameters())


def row_classes(model, layouts: dict) -> dict[str, str]:
    """For each layout: how a row's gate_proj result compares across row counts."""
    import mlx.core as mx

    weight = model.model.layers[15].mlp.gate_proj.weight
    x = mx.random.normal((256, weight.shape[1]), key=mx.random.key(3))
    out = {}
    first = None
    for name, b in layouts.items():
        ref = np.array(x[:2] @ b(weight))[0]
        counts = (1, 2, 3, 9, 64, 200, 201, 256)
        same = [m for m in counts if np.array_equal(np.array(x[:m] @ b(weight))[0], ref)]
        first = ref if first is None else first
        same_as_first = np.array_equal(ref, first)
        out[name] = (
            f"rows with its 2-row bits: {same}; 2-row bits = the first layout's: {same_as_first}"
        )
    return out


def logits_alone_and_batched(model, prompt: list[int], rows: int) -> bool:
    """Whether row 0's logits over 4 decode steps are bitwise the same alone and in
    batches of 2, 3 and ``rows`` (BatchKVCache, as BatchGenerator runs them)."""
    import mlx.core as mx
    from mlx_lm.generate import _merge_caches
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(model)
    model(mx.array(prompt[:-1])[None], cache=cache)
    runs = {}
    for b in (1, 2, 3, rows):
        c = _merge_caches([copy.deepcopy(cache) for _ in range(b)])
        tokens = mx.array([[prompt[-1] + r] for r in range(b)])
        got = []
        for _ in range(4):
            logits = model(tokens, cache=c)[:, -1]
            got.append(np.array(logits[0]))
            tokens = mx.concatenate([mx.argmax(logits[:1], axis=-1)[:, None], tokens[1:]])
        runs[b] = got
    return all(np.array_equal(a, b) for r in runs.values() for a, b in zip(runs[1], r, strict=True))


def step_ms(models: dict, prompt: list[int], rows: int, repeats: int) -> dict[str, float]:
    """Median ms of one decode step (the forward pass, evaluated) at ``rows`` rows, each
    variant from the same prompt cache, rotated; medians of ``repeats`` × 6 steps."""
    import mlx.core as mx
    from mlx_lm.generate import _merge_caches
    from mlx_lm.models.cache import make_prompt_cache

    caches = {}
    for name, (model, _) in models.items():
        cache = make_prompt_cache(model)
        model(mx.array(prompt[:-1])[None], cache=cache)
        mx.eval([c.state for c in cache])
        caches[name] = cache
    names = list(models)
    got: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            model = models[name][0]
            cache = _merge_caches([copy.deepcopy(caches[name]) for _ in range(rows)])
            tokens = mx.array([[prompt[-1] + r] for r in range(rows)])
            times = []
            for _ in range(6):
                start = time.perf_counter()
                logits = model(tokens, cache=cache)[:, -1]
                mx.eval(logits)
                times.append(time.perf_counter() - start)
                tokens = mx.argmax(logits, axis=-1)[:, None]
            got[name].append(statistics.median(times) * 1000)
    return {name: statistics.median(v) for name, v in got.items()}


def tps(model, tokenizer, prompt: str, max_tokens: int) -> float:
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    sampler = make_sampler(temp=0.7)
    *_, last = stream_generate(model, tokenizer, prompt, max_tokens=max_tokens, sampler=sampler)
    return last.generation_tps


def main() -> None:
    reexec_with_fast_blas()
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--rows", type=int, default=9)
    parser.add_argument("--projections", action="store_true")
    args = parser.parse_args()

    from mlx_lm import load

    from yilab.generation.fastpath import blas_in_use
    from yilab.generation.fusion import fuse_cpu_ops
    from yilab.generation.invariance import set_numerics
    from yilab.models.resolve import resolve_model

    path = str(resolve_model(args.model).path)

    def variant(transposed: bool, projections: bool):
        model, tokenizer = load(path)
        fuse_cpu_ops(model)
        set_numerics(model, "row-invariant")
        if transposed:
            start = time.perf_counter()
            transposed_layout(model)
            print(f"re-layout of every float weight: {time.perf_counter() - start:.2f} s")
        if projections:
            from bench.projections import fuse_projections

            print(f"blocks fused: {fuse_projections(model, transposed=transposed)}")
        return model, tokenizer

    models = {"raw": load(path), "padded W": variant(False, False)}
    models["padded Wt"] = variant(True, False)
    if args.projections:
        models["padded W, fused q/k/v, gate/up"] = variant(False, True)
        models["padded Wt, fused q/k/v, gate/up"] = variant(True, True)
    tokenizer = models["raw"][1]
    print(f"model: {path}; blas: {blas_in_use()}")
    layouts = {"W (x @ W.T)": lambda w: w.T, "Wt (x @ Wt)": contiguous_transpose}
    for name, text in row_classes(models["raw"][0], layouts).items():
        print(f"{name}: {text}")
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True
    )
    for name, (model, _) in models.items():
        same = logits_alone_and_batched(model, ids, args.rows)
        print(f"{name}: a row's logits alone == batched (B 2, 3, {args.rows}): {same}")
    for rows in (1, args.rows):
        ms = step_ms(models, ids, rows, args.repeats)
        print(
            f"one decode step, {rows} row(s), ms: "
            + ", ".join(f"{n} {v:.1f}" for n, v in ms.items())
        )
    messages = [{"role": "user", "content": PROMPT}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    names = list(models)
    for name in names:
        tps(models[name][0], tokenizer, prompt, 8)  # warm up
    got: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    for i in range(args.repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            got[name].append(tps(models[name][0], tokenizer, prompt, args.max_tokens))
    medians = {name: statistics.median(v) for name, v in got.items()}
    print(
        f"max_tokens {args.max_tokens}, {args.repeats} rounds, {time.perf_counter() - start:.0f} s"
    )
    for name in names:
        values = [round(x, 2) for x in got[name]]
        print(
            f"{name:<32} {medians[name]:6.2f} tokens/s  ÷ raw {medians[name] / medians['raw']:.3f}  {values}"
        )


def contiguous_transpose(w):
    import mlx.core as mx

    return mx.contiguous(w.T)


if __name__ == "__main__":
    main()
