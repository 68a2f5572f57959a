"""What recording each token's probabilities costs: the 3×3 sweep with recording on and off.

    python bench/logprobs_bench.py [--model SPEC] [--prompt-tokens 500] [--max-tokens 64]
                                   [--repeats 3] [--top-k 5]

For each engine (single, batch) the same sweep as ``sweep_bench.py`` (3 temperatures × 3
seeds, a ~480-token prompt) runs through the service with ``top_logprobs=None`` (off) and
``top_logprobs=K`` (on), alternating, in one process. Prints the median wall-clock time of
each, the mean decode speed (tokens/s per run, as logged) and the ratios on / off (the
issue's goal: speed with recording ≥ 0.95× without), and whether the outputs are the same
(recording must change no token).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sweep_bench import benchmark_prompt, timed_sweep  # noqa: E402
from yilab.generation.fastpath import reexec_with_fast_blas  # noqa: E402


def run(service, path: str, user: str, max_tokens: int, engine: str, top_k: int | None):
    """One sweep: seconds, mean decode tokens/s per run, outputs."""
    elapsed, runs = timed_sweep(service, path, user, max_tokens, engine, top_logprobs=top_k)
    tps = statistics.mean(r["generation_tps"] for r in runs)
    return elapsed, tps, [r["output"] for r in runs]


def main() -> None:
    reexec_with_fast_blas()
    args = parse_args()
    from yilab.generation.fastpath import blas_in_use
    from yilab.service import Service

    path, _, _, user = benchmark_prompt(args.model, args.prompt_tokens, args.max_tokens)
    print(f"blas: {blas_in_use()}; alternatives recorded per token when on: {args.top_k}")
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    outputs: dict[tuple[str, str], list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp) / "bench.db")
        run(service, path, "Warm up.", 4, "single", args.top_k)
        for i in range(args.repeats):
            for engine in ("single", "batch"):
                for mode, k in (("off", None), ("on", args.top_k)):
                    elapsed, tps, outs = run(service, path, user, args.max_tokens, engine, k)
                    results.setdefault((engine, mode), []).append((elapsed, tps))
                    outputs[(engine, mode)] = outs
            print(
                f"  repeat {i + 1}: "
                + ", ".join(f"{e} {m} {v[-1][0]:.1f}s" for (e, m), v in results.items())
            )
        service.close()
    print("\nengine  recording  median s  decode tok/s (mean per run)")
    for (engine, mode), values in results.items():
        wall = statistics.median(v[0] for v in values)
        tps = statistics.median(v[1] for v in values)
        print(f"{engine:<7} {mode:<10} {wall:>8.2f}  {tps:>8.2f}")
    for engine in ("single", "batch"):
        off, on = results[(engine, "off")], results[(engine, "on")]
        wall = statistics.median(v[0] for v in off) / statistics.median(v[0] for v in on)
        tps = statistics.median(v[1] for v in on) / statistics.median(v[1] for v in off)
        same = outputs[(engine, "on")] == outputs[(engine, "off")]
        print(
            f"{engine}: speed on/off {wall:.3f}x (sweep wall clock), {tps:.3f}x (decode "
            f"tokens/s) (goal >= 0.95x); outputs identical: {same}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model spec (default: the default model)")
    parser.add_argument("--prompt-tokens", type=int, default=500)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top-k", type=int, default=5)
    return parser.parse_args()


if __name__ == "__main__":
    main()
