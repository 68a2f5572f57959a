"""One run: yilab's tokens/s ÷ raw ``mlx_lm.stream_generate``'s, same model, prompt and process.

    python bench/single_run.py [--model SPEC] [--max-tokens 64] [--repeats 5]

Prints the median generation tokens/s of each and their ratio (goal: ≥ 0.95).
Both sides sample at the same temperature; the order alternates to spread warm-up.
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


def yilab_tps(worker, model_path: str, max_tokens: int, seed: int) -> float:
    from yilab.events import Finished, GenerationRequest

    request = GenerationRequest(
        model_path=model_path,
        messages=[{"role": "user", "content": PROMPT}],
        temperature=0.7,
        seed=seed,
        max_tokens=max_tokens,
    )
    (result,) = [e.result for e in worker.submit([request]) if isinstance(e, Finished)]
    return result.generation_tps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from mlx_lm import load

    from yilab.generation.worker import GenerationWorker
    from yilab.models.resolve import resolve_model

    path = str(resolve_model(args.model).path)
    model, tokenizer = load(path)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True, tokenize=False
    )
    worker = GenerationWorker()
    yilab_tps(worker, path, 8, 0)  # load + warm up both
    raw_tps(model, tokenizer, prompt, 8)
    raw, ours = [], []
    t0 = time.perf_counter()
    for i in range(args.repeats):
        if i % 2:
            ours.append(yilab_tps(worker, path, args.max_tokens, i))
            raw.append(raw_tps(model, tokenizer, prompt, args.max_tokens))
        else:
            raw.append(raw_tps(model, tokenizer, prompt, args.max_tokens))
            ours.append(yilab_tps(worker, path, args.max_tokens, i))
    r, o = statistics.median(raw), statistics.median(ours)
    print(f"model: {path}")
    print(f"max_tokens {args.max_tokens}, {args.repeats} repeats, {time.perf_counter() - t0:.1f} s")
    print(f"raw stream_generate: median {r:.2f} tokens/s  {[round(x, 2) for x in raw]}")
    print(f"yilab worker:        median {o:.2f} tokens/s  {[round(x, 2) for x in ours]}")
    print(f"ratio yilab/raw: {o / r:.3f}  (goal >= 0.95)")
    worker.close()


if __name__ == "__main__":
    main()
