"""Size and time of sharing a 1,000-run history: bundle, HTML report, JSONL, CSV, import.

    python bench/share_bench.py [--experiments 100] [--cells 10] [--output-chars 1000]

Builds the run log straight through the Store API (no generation), then times each
export (best of 3) and an import of the bundle into an empty db. Not a test.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from yilab.runlog.store import Store  # noqa: E402
from yilab.share.bundle import import_bundle  # noqa: E402
from yilab.share.export import FORMATS, export_experiments  # noqa: E402

TEXT = "the model answered with a short and careful sentence about Paris, France, its river"
WORDS = (TEXT + " Seine, museums, cafés and <b>markup</b> that must stay text").split(" ")


def fake_output(rng: random.Random, chars: int) -> str:
    """About ``chars`` characters of words (~256 tokens at the default 1,000)."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(WORDS))
    return " ".join(words)


def build_db(path: Path, experiments: int, cells: int, chars: int) -> int:
    """A run log of ``experiments`` × ``cells`` finished runs; returns the run count."""
    rng = random.Random(0)
    store = Store(path)
    for e in range(experiments):
        prompt = f"Question {e}: tell me about Paris in a few sentences."
        exp = store.create_experiment(
            model="smollm2-135m-instruct",
            prompt=prompt,
            sweep={"temperatures": [0.2, 0.7], "seeds": list(range(cells // 2))},
            system_prompt="You are a concise tutor.",
        )
        for i in range(cells):
            run = store.start_run(
                experiment_id=exp,
                cell_index=i,
                settings={
                    "model": "smollm2-135m-instruct",
                    "model_path": "/models/smollm2",
                    "model_fingerprint": "0123456789abcdef",
                    "temperature": (0.2, 0.7)[i % 2],
                    "seed": i // 2,
                    "top_p": 1.0,
                    "max_tokens": 256,
                    "stop_token_ids": [2],
                    "messages": [{"role": "user", "content": prompt}],
                    "rendered_prompt": prompt,
                    "versions": {"mlx": "0.32.4", "mlx-lm": "0.32.2", "yilab": "0.1.0"},
                },
            )
            store.finish_run(
                run,
                status="done",
                finish_reason=rng.choice(("stop", "length")),
                output=fake_output(rng, chars),
                metrics={
                    "generation_tokens": 256,
                    "generation_tps": 15.0,
                    "ttft_s": 0.3,
                    "prompt_tokens": 30,
                },
            )
    store.close()
    return experiments * cells


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=100)
    parser.add_argument("--cells", type=int, default=10)
    parser.add_argument("--output-chars", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = build_db(folder / "experiments.db", args.experiments, args.cells, args.output_chars)
        store = Store(folder / "experiments.db")
        print(f"{runs} runs in {args.experiments} experiments, ~{args.output_chars} chars each")
        print(f"{'format':<8} {'size':>10} {'export':>9}")
        for fmt in FORMATS:
            out = folder / f"export.{fmt}"
            seconds = best_of(3, lambda f=fmt, o=out: export_experiments(store, None, f, o))
            print(f"{fmt:<8} {out.stat().st_size / 2**20:>7.2f} MiB {seconds:>8.2f}s")
        seconds = best_of(
            1, lambda: import_bundle(Store(folder / "empty.db"), folder / "export.bundle")
        )
        print(f"import of the bundle into an empty db: {seconds:.2f}s")
        seconds = best_of(
            1, lambda: import_bundle(Store(folder / "empty.db"), folder / "export.bundle")
        )
        print(f"import again (all {runs} runs skipped): {seconds:.2f}s")


if __name__ == "__main__":
    main()
