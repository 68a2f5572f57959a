"""From a generated token to the page: how long the browser waits behind the model.

    python bench/browser_latency.py [--model smollm2-135m-instruct] [--repeats 5]
                                    [--max-tokens 32] [--long-tokens 64]

Starts the real app (``python app.py``) on a temp db and drives the Compare tab in
headless Chromium (Playwright): one temperature, one seed, Run. A MutationObserver
installed before the click stamps, with ``performance.now()``, the click, the first
non-empty ``.yl-out`` of the first card, every change of its text, and the finish
badge. The run's own numbers come from the run log. Times are when the DOM changed
(the paint follows within a frame). Page and server share one clock, so the run's
``created_at``/``finished_at`` can be placed on the page's timeline (roughly: the
logging thread stamps ``created_at`` when it handles the run's start, a little after
the worker began, so splits marked ``~`` are estimates).

Prints medians over the repeats: click → first visible token against the model's
``ttft_s`` (the difference is UI overhead), click → finish badge against the run's
wall time, and, from a longer run, the visible token rate against ``generation_tps``
and an estimate of how long each token waits before it shows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.appserver import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402
from yilab.runlog.store import Store  # noqa: E402

DEFAULT_MODEL = "smollm2-135m-instruct"
PROMPTS = [
    "Tell me about the moon.",
    "Write a haiku about rain.",
    "What is a lighthouse for?",
    "Describe a cat in two sentences.",
    "Why do leaves change colour?",
    "Give me three tips for sleeping well.",
    "What is the capital of France?",
    "Name a few uses of salt.",
]
FINISHED = ("stop", "length", "cancelled", "error")

# Installed before the click; records into window.__yl on the page's own clock.
OBSERVER_JS = """() => {
  const rec = window.__yl = {origin: performance.timeOrigin, click: null, first: null,
                             finish: null, state: null, updates: []};
  document.addEventListener('click', (e) => {
    if (rec.click === null && e.target.closest('#yl-run')) rec.click = performance.now();
  }, true);
  let last = '';
  new MutationObserver(() => {
    const t = performance.now();
    const card = document.querySelector('#yl-grid .yl-card');
    if (!card || rec.click === null) return;
    const text = (card.querySelector('.yl-out') || {}).textContent || '';
    if (text && text !== last) {
      last = text;
      const metrics = (card.querySelector('.yl-metrics') || {}).textContent || '';
      rec.updates.push([t, text.length, parseInt(metrics, 10) || 0]);
      if (rec.first === null) rec.first = t;
    }
    const badge = card.querySelector('.yl-badge');
    const m = badge && badge.className.match(/yl-badge-(stop|length|cancelled|error)/);
    if (m && rec.finish === null) { rec.finish = t; rec.state = m[1]; }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def epoch_ms(iso: str) -> float:
    """``2025-01-31T12:00:00.5+00:00`` → milliseconds since the epoch."""
    return datetime.fromisoformat(iso).timestamp() * 1000


def one_sweep(
    page, url: str, db: Path, *, prompt: str, seed: int, max_tokens: int, timeout_s: float
) -> dict:
    """Run one cell from the page; returns the page's record plus the logged run."""
    page.goto(url, wait_until="load")
    page.wait_for_selector("#yl-run")
    page.fill("#yl-prompt textarea", prompt)
    page.fill("#yl-temps textarea", "0.7")
    page.fill("#yl-seeds textarea", str(seed))
    page.fill("#yl-max-tokens textarea", str(max_tokens))
    page.evaluate(OBSERVER_JS)
    page.click("#yl-run")
    page.wait_for_function("window.__yl.finish !== null", timeout=timeout_s * 1000)
    rec = page.evaluate("window.__yl")
    run = _logged_run(db, prompt)
    if rec["state"] not in ("stop", "length"):
        raise RuntimeError(f"the run ended {rec['state']}: {run.get('error')}")
    return {**rec, "run": run}


def _logged_run(db: Path, prompt: str, wait_s: float = 10) -> dict:
    """The newest run in the log once it has finished (it is written before the page sees it)."""
    deadline = time.monotonic() + wait_s
    with Store(db) as store:
        while True:
            (run,) = store.list_runs(limit=1)
            if run["status"] != "running" or time.monotonic() > deadline:
                assert prompt in (run["rendered_prompt"] or ""), "not the run we started"
                return run
            time.sleep(0.05)


def timings(rec: dict) -> dict:
    """Milliseconds on the page's timeline, e.g. ``{"click_first": 640.2, ...}``."""
    run, origin, click = rec["run"], rec["origin"], rec["click"]
    created = epoch_ms(run["created_at"]) - origin
    finished = epoch_ms(run["finished_at"]) - origin
    ttft = run["ttft_s"] * 1000
    return {
        "click_first": rec["first"] - click,
        "ttft": ttft,
        "ui_overhead": rec["first"] - click - ttft,
        "click_logged": created - click,
        "token_to_page": rec["first"] - (created + ttft),
        "click_finish": rec["finish"] - click,
        "run_wall": finished - created,
        "logged_finish_to_badge": rec["finish"] - finished,
        "tokens": run["generation_tokens"],
        "tps": run["generation_tps"],
    }


def token_delays(rec: dict) -> dict:
    """Visible token rate, and each update's lag behind the estimated generation time of
    its newest token (tokens assumed evenly spaced at ``generation_tps`` after the first)."""
    run, origin = rec["run"], rec["origin"]
    first_gen = epoch_ms(run["created_at"]) - origin + run["ttft_s"] * 1000
    per_token = 1000 / run["generation_tps"]
    updates = [(t, n) for t, _, n in rec["updates"] if n > 0]
    lags = [t - (first_gen + (n - 1) * per_token) for t, n in updates]
    (t0, n0), (t1, n1) = updates[0], updates[-1]
    gaps = [b[0] - a[0] for a, b in pairwise(updates)]
    return {
        "updates": len(updates),
        "tokens": run["generation_tokens"],
        "visible_tps": (n1 - n0) / ((t1 - t0) / 1000) if t1 > t0 else float("nan"),
        "generation_tps": run["generation_tps"],
        "median_gap_ms": statistics.median(gaps) if gaps else float("nan"),
        "median_lag_ms": statistics.median(lags),
        "max_lag_ms": max(lags),
    }


def row(label: str, values: list[float], unit: str = "ms") -> str:
    shown = ", ".join(f"{v:.0f}" for v in values)
    return f"  {label:<40} {statistics.median(values):8.0f} {unit}   [{shown}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--long-tokens", type=int, default=64, help="0 skips the long run")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="yilab-browser-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        with running_app(db=db, model=args.model, timeout=180) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            t0 = time.perf_counter()
            one_sweep(page, url, db, prompt="Say hello.", seed=0, max_tokens=4, timeout_s=600)
            print(
                f"model: {args.model}  (warm-up run incl. load/convert: "
                f"{time.perf_counter() - t0:.1f} s)"
            )
            recs = []
            for i in range(args.repeats):
                recs.append(
                    one_sweep(
                        page,
                        url,
                        db,
                        prompt=PROMPTS[i % len(PROMPTS)],
                        seed=i + 1,
                        max_tokens=args.max_tokens,
                        timeout_s=300,
                    )
                )
            long = None
            if args.long_tokens:
                long = one_sweep(
                    page,
                    url,
                    db,
                    prompt="Write a short story about a fox.",
                    seed=42,
                    max_tokens=args.long_tokens,
                    timeout_s=600,
                )
            browser.close()
    report(args, [timings(r) for r in recs], long)


def report(args, ts: list[dict], long: dict | None) -> None:
    print(f"{args.repeats} runs, max_tokens {args.max_tokens}, medians [each repeat]:")
    col = lambda k: [t[k] for t in ts]  # noqa: E731
    print(row("click -> first visible token", col("click_first")))
    print(row("model's own ttft_s", col("ttft")))
    print(row("UI overhead (difference)", col("ui_overhead")))
    print(row("  of which click -> run logged (start)", col("click_logged")))
    print(row("  of which first token -> in the page (~)", col("token_to_page")))
    print(row("click -> finish badge", col("click_finish")))
    print(row("run's own wall time (finished - created)", col("run_wall")))
    print(row("run logged finished -> finish badge", col("logged_finish_to_badge")))
    print(row("generation tokens", col("tokens"), "tok"))
    print(f"  {'generation tokens/s':<40} {statistics.median(col('tps')):8.1f}")
    if long is not None:
        d = token_delays(long)
        print(
            f"\nlonger run, max_tokens {args.long_tokens}: {d['tokens']} tokens in "
            f"{d['updates']} page updates (median {d['median_gap_ms']:.0f} ms apart)"
        )
        print(
            f"  visible token rate {d['visible_tps']:.1f} tok/s vs generation_tps "
            f"{d['generation_tps']:.1f} tok/s"
        )
        print(
            f"  per-update lag behind its newest token (estimate): median "
            f"{d['median_lag_ms']:.0f} ms, max {d['max_lag_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
