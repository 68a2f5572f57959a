"""The same sweep in-process and through a local ``mlx_lm.server``: what the HTTP hop costs.

    python bench/remote_bench.py [--model SPEC|tiny] [--max-tokens 64] [--repeats 3]
                                 [--concurrency 1,4]

A 3 temperatures × 3 seeds chat sweep, timed wall-clock through the service (run log
included) each way:
- ``in-process single`` / ``in-process batch``: yilab's own worker with each engine;
- ``remote cN``: the same sweep as a remote model, ``python -m mlx_lm server`` on
  127.0.0.1 serving the same folder, at most N requests in flight.

Every cell carries a seed, and mlx_lm.server (0.32.2) serves seeded requests one at a time
(it never batches them), so concurrency only overlaps the HTTP and prompt work. The server
inherits this process's environment (and so its BLAS). Model loads and first-use costs are
paid before the timing on both sides. ``tiny`` is the test suite's random-weight model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sweep_bench import timed_sweep  # noqa: E402
from yilab.generation.fastpath import reexec_with_fast_blas  # noqa: E402

PROMPT = "Write a short story about a lighthouse keeper who finds a letter in a bottle."


def model_dir(spec: str | None, tmp: Path) -> Path:
    """The folder to serve and to load: the tiny test model, or a resolved yilab spec."""
    if spec == "tiny":
        from tests.tinymodel import build_tiny_model

        return build_tiny_model(tmp / "tiny")
    from yilab.models.resolve import resolve_model

    return Path(resolve_model(spec).path)


def timed_run(service, model: str, max_tokens: int, engine: str = "single") -> tuple[float, int]:
    """Wall seconds for the 3×3 sweep and the tokens it generated; every run must end done."""
    elapsed, runs = timed_sweep(service, model, PROMPT, max_tokens, engine)
    return elapsed, sum(r["generation_tokens"] for r in runs)


def main() -> None:
    reexec_with_fast_blas()
    args = parse_args()
    from tests.remoteservers import start_mlx_server
    from yilab.generation.fastpath import blas_in_use
    from yilab.remote.config import config_path
    from yilab.service import Service

    tmp = Path(tempfile.mkdtemp(prefix="yilab-remote-bench-"))
    path = model_dir(args.model, tmp)
    os.environ["YILAB_HOME"] = str(tmp / "home")  # remotes.json for this bench only
    concurrency = [int(c) for c in args.concurrency.split(",")]
    server = start_mlx_server(path, tmp)
    remotes = {
        f"c{n}": {"url": server.url, "model": "default_model", "max_concurrency": n}
        for n in concurrency
    }
    config_path().parent.mkdir(parents=True)
    config_path().write_text(json.dumps(remotes))
    print(
        f"model {path}\n3×3 sweep, {args.max_tokens} new tokens; blas {blas_in_use()}; "
        f"cores {os.cpu_count()}; server {server.url}"
    )
    times: dict[str, list[tuple[float, int]]] = {}
    service = Service(tmp / "bench.db")
    try:
        for name in (str(path), *(f"c{n}" for n in concurrency)):
            timed_run(service, name, 4)  # load, compile, first requests: outside the timing
        for i in range(args.repeats):
            for engine in ("single", "batch"):
                times.setdefault(f"in-process {engine}", []).append(
                    timed_run(service, str(path), args.max_tokens, engine)
                )
            for n in concurrency:
                times.setdefault(f"remote c{n}", []).append(
                    timed_run(service, f"c{n}", args.max_tokens)
                )
            print(
                f"  repeat {i + 1}: " + ", ".join(f"{k} {v[-1][0]:.2f}s" for k, v in times.items())
            )
    finally:
        service.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(times)


def report(times: dict[str, list[tuple[float, int]]]) -> None:
    """Median wall time per method, its ratio to in-process single, and tokens/s overall."""
    medians = {k: statistics.median(t for t, _ in v) for k, v in times.items()}
    base = medians["in-process single"]
    print("\nmethod               median s   / in-process single   tokens/s   runs (s)")
    for name, median in medians.items():
        tokens, seconds = sum(n for _, n in times[name]), sum(t for t, _ in times[name])
        runs = [round(t, 2) for t, _ in times[name]]
        print(
            f"{name:<20} {median:>8.2f}   {median / base:>8.2f}x"
            f"            {tokens / seconds:>8.1f}   {runs}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="model spec, or tiny (default: default model)"
    )
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", default="1,4", help="remote concurrency limits to time")
    return parser.parse_args()


if __name__ == "__main__":
    main()
