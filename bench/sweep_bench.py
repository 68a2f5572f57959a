"""A 3 temperatures × 3 seeds sweep: yilab vs the seed story's ways, in one run.

    python bench/sweep_bench.py [--model SPEC] [--prompt-tokens 500] [--max-tokens 64]
                                [--repeats 3] [--process-repeats 1] [--skip-processes]

Methods, each timed wall-clock for the whole 9-cell grid:
- ``processes``: nine ``python -m mlx_lm generate --temp T --seed S`` processes, one after
  another, as a person at a shell would run them (each imports MLX, loads the model and
  reads the prompt; no LD_PRELOAD, so the wheel's own BLAS);
- ``loop``: an in-process loop of ``mlx_lm.stream_generate`` (the model loaded once; each
  cell reads the prompt), seeding MLX's global state per cell as the mlx-lm CLI does;
- ``yilab batch`` (the default), ``yilab single``: a yilab sweep through the service (run
  log included) with each engine and row-invariant numerics (the default): the prompt read
  once, the cells decoding together or one at a time. ``yilab single`` runs every cell
  alone, so "batch rows identical to their single runs" is the identity check;
- ``yilab single plain``: one at a time with mlx-lm's own numerics (the default before
  issue 16), the cost of row-invariance beside it.

The loop and yilab run in this process, so they share its BLAS (BLIS when yilab's fast path
applies; see ``blas`` in the header). Prints medians and ratios against the baselines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from yilab.generation.fastpath import reexec_with_fast_blas  # noqa: E402

TEMPS = (0.2, 0.7, 1.0)
SEEDS = (1, 2, 3)
STORY = (
    "The lighthouse keeper climbed the spiral stairs every evening at dusk, counting the steps "
    "as his father had, and lit the great lamp that swept the grey water. Ships passed far out, "
    "their lights small and patient. One winter a bottle washed onto the rocks below the tower, "
    "green glass crusted with salt, a rolled letter inside written in a hand he almost knew. "
)


def long_prompt(tokenizer, target: int) -> str:
    """A user message whose chat-rendered prompt is about ``target`` tokens."""
    text = ""
    while True:
        candidate = text + STORY
        rendered = render(tokenizer, candidate + "\nSummarise the story in one sentence.")
        if len(tokenizer.encode(rendered)) > target:
            return text + "\nSummarise the story in one sentence."
        text = candidate


def benchmark_prompt(model_spec: str | None, prompt_tokens: int, max_tokens: int):
    """Load the model, build the ~``prompt_tokens`` user message and say so; returns the
    model's path, model, tokenizer and the message."""
    from mlx_lm import load

    from yilab.models.resolve import resolve_model

    path = str(resolve_model(model_spec).path)
    model, tokenizer = load(path)
    user = long_prompt(tokenizer, prompt_tokens)
    n_prompt = len(tokenizer.encode(render(tokenizer, user)))
    print(f"model {path}\nprompt {n_prompt} tokens, {max_tokens} new tokens, 3×3 grid")
    return path, model, tokenizer, user


def render(tokenizer, user: str) -> str:
    messages = [{"role": "user", "content": user}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def run_processes(model_path: str, user: str, max_tokens: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "YILAB_BLAS_ACTIVE")}
    start = time.perf_counter()
    for temp in TEMPS:
        for seed in SEEDS:
            cmd = [sys.executable, "-m", "mlx_lm", "generate", "--model", model_path]
            cmd += ["--prompt", user, "--temp", str(temp), "--seed", str(seed)]
            cmd += ["--max-tokens", str(max_tokens)]
            subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def run_loop(model, tokenizer, user: str, max_tokens: int) -> float:
    import mlx.core as mx
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    prompt = render(tokenizer, user)
    start = time.perf_counter()
    for temp in TEMPS:
        for seed in SEEDS:
            mx.random.seed(seed)
            for _ in stream_generate(
                model, tokenizer, prompt, max_tokens=max_tokens, sampler=make_sampler(temp=temp)
            ):
                pass
    return time.perf_counter() - start


def timed_sweep(
    service, model_path: str, user: str, max_tokens: int, engine: str, **spec
) -> tuple[float, list[dict]]:
    """The 3×3 sweep through the service (``spec``: more SweepSpec fields): seconds, runs."""
    from yilab.experiment.sweep import SweepSpec

    spec = SweepSpec(
        prompt=user,
        models=(model_path,),
        temperatures=TEMPS,
        seeds=SEEDS,
        max_tokens=(max_tokens,),
        engine=engine,
        **spec,
    )
    start = time.perf_counter()
    _, runs = service.run_sweep(spec)
    elapsed = time.perf_counter() - start
    assert all(r["status"] == "done" for r in runs), [r["error"] for r in runs]
    return elapsed, runs


VARIANTS = {  # name -> (engine, numerics)
    "batch": ("batch", "row-invariant-wt"),
    "single": ("single", "row-invariant-wt"),
    "single plain": ("single", "plain"),
}


def run_yilab(
    service, model_path: str, user: str, max_tokens: int, variant: str, outputs: dict | None = None
) -> float:
    engine, numerics = VARIANTS[variant]
    elapsed, runs = timed_sweep(service, model_path, user, max_tokens, engine, numerics=numerics)
    if outputs is not None:
        outputs.setdefault(variant, []).append([r["output"] for r in runs])
    return elapsed


def main() -> None:
    reexec_with_fast_blas()
    args = parse_args()
    from yilab.generation.fastpath import blas_in_use
    from yilab.service import Service

    path, model, tokenizer, user = benchmark_prompt(args.model, args.prompt_tokens, args.max_tokens)
    print(f"blas (this process): {blas_in_use()}; cores: {os.cpu_count()}")
    times: dict[str, list[float]] = {}
    outputs: dict[str, list[list[str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp) / "bench.db")
        run_yilab(service, path, "Warm up.", 4, "single")  # load + compile outside the timing
        for i in range(args.repeats):
            for variant in VARIANTS:
                times.setdefault(f"yilab {variant}", []).append(
                    run_yilab(service, path, user, args.max_tokens, variant, outputs)
                )
            times.setdefault("loop", []).append(run_loop(model, tokenizer, user, args.max_tokens))
            print(f"  repeat {i + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()))
        service.close()
    if not args.skip_processes:
        for _ in range(args.process_repeats):
            times.setdefault("processes", []).append(run_processes(path, user, args.max_tokens))
            print(f"  processes: {times['processes'][-1]:.1f}s")
    report(times)
    report_outputs(outputs)


def report_outputs(outputs: dict[str, list[list[str]]]) -> None:
    """Reproducibility per mode, and how many batched rows equal their single-run twins."""
    for engine, repeats in outputs.items():
        same = all(r == repeats[0] for r in repeats)
        print(f"{engine}: outputs identical across {len(repeats)} repeats: {same}")
    if "single" in outputs and "batch" in outputs:
        pairs = zip(outputs["single"][0], outputs["batch"][0], strict=True)
        equal = sum(a == b for a, b in pairs)
        print(f"batch rows identical to their single runs: {equal}/{len(outputs['single'][0])}")
    if "single plain" in outputs and "batch" in outputs:
        pairs = zip(outputs["single plain"][0], outputs["batch"][0], strict=True)
        equal = sum(a == b for a, b in pairs)
        print(f"batch rows identical to plain single runs: {equal}/{len(outputs['batch'][0])}")


def report(times: dict[str, list[float]]) -> None:
    medians = {k: statistics.median(v) for k, v in times.items()}
    print("\nmethod           median s   runs")
    for name, median in medians.items():
        print(f"{name:<16} {median:>8.1f}   {[round(t, 1) for t in times[name]]}")
    for variant in VARIANTS:
        ours = f"yilab {variant}"
        # issue 16: the default (batch) engine ≥ 4× the loop; the first round's goals else
        for base, goal in (("processes", 5), ("loop", 4 if variant == "batch" else 2)):
            if base in medians:
                ratio = medians[base] / medians[ours]
                print(f"{base} / {ours}: {ratio:.1f}x  (goal >= {goal}x)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model spec (default: the default model)")
    parser.add_argument("--prompt-tokens", type=int, default=500)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--process-repeats", type=int, default=1)
    parser.add_argument("--skip-processes", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    main()
