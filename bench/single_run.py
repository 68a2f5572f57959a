"""One run: yilab's tokens/s ÷ raw ``mlx_lm.stream_generate``'s, same model, prompt and process.

    python bench/single_run.py [--model SPEC] [--max-tokens 64] [--repeats 5]

Prints the median generation tokens/s of each and their ratio (goal: ≥ 0.95).
Both sides sample at the same temperature; the order rotates to spread warm-up.
yilab runs four ways: ``alone`` (the default: a 1×1 sweep is a batch of one through the
batch engine, row-invariant numerics with weights stored transposed), ``alone W`` (the
same with weights as loaded: ``row-invariant``, the default before 2026-12-02),
``single`` (the single engine, the default numerics) and ``single plain`` (the single
engine with mlx-lm's own numerics: raw's work plus yilab's).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def raw_tps(model, tokenizer, prompt: str, max_tokens: int) -> float:
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    responses = stream_generate(
        model, tokenizer, prompt, max_tokens=max_tokens, sampler=make_sampler(temp=0.7)
    )
    *_, last = responses
    return last.generation_tps


VARIANTS = {  # name -> (engine, numerics)
    "alone": ("batch", "row-invariant-wt"),
    "alone W": ("batch", "row-invariant"),
    "single": ("single", "row-invariant-wt"),
    "single plain": ("single", "plain"),
}


def yilab_tps(worker, model_path: str, max_tokens: int, seed: int, variant: str) -> float:
    from yilab.events import Finished, GenerationRequest

    engine, numerics = VARIANTS[variant]
    request = GenerationRequest(
        model_path=model_path,
        messages=[{"role": "user", "content": PROMPT}],
        temperature=0.7,
        seed=seed,
        max_tokens=max_tokens,
        engine=engine,
        numerics=numerics,
    )
    (result,) = [e.result for e in worker.submit([request]) if isinstance(e, Finished)]
    return result.generation_tps


def main() -> None:
    from yilab.generation.fastpath import reexec_with_fast_blas

    reexec_with_fast_blas()  # as the app runs (YILAB_BLAS=bundled: the wheel's BLAS)
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from mlx_lm import load

    from yilab.generation.fastpath import blas_in_use
    from yilab.generation.worker import GenerationWorker
    from yilab.models.resolve import resolve_model

    path = str(resolve_model(args.model).path)
    model, tokenizer = load(path)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True, tokenize=False
    )
    worker = GenerationWorker()
    for variant in VARIANTS:  # load + warm up every path
        yilab_tps(worker, path, 8, 0, variant)
    raw_tps(model, tokenizer, prompt, 8)
    names = ["raw", *VARIANTS]
    tps: dict[str, list[float]] = {name: [] for name in names}
    t0 = time.perf_counter()
    for i in range(args.repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            if name == "raw":
                tps[name].append(raw_tps(model, tokenizer, prompt, args.max_tokens))
            else:
                tps[name].append(yilab_tps(worker, path, args.max_tokens, i, name))
    medians = {name: statistics.median(values) for name, values in tps.items()}
    print(f"model: {path}; blas: {blas_in_use()}")
    print(f"max_tokens {args.max_tokens}, {args.repeats} repeats, {time.perf_counter() - t0:.1f} s")
    for name in names:
        values = [round(x, 2) for x in tps[name]]
        ratio = medians[name] / medians["raw"]
        print(f"{name:<13} median {medians[name]:6.2f} tokens/s  ratio {ratio:.3f}  {values}")
    print("goal: ratio >= 0.95")
    worker.close()


if __name__ == "__main__":
    main()
