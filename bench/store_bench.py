"""The run log at scale: insert rate, full-text search, listing and file size at N runs.

    python bench/store_bench.py [--runs 100000] [--batch 5000] [--db PATH]

1. Inserts ``--batch`` runs through the real per-run path a sweep takes (``start_run``,
   one ``update_output``, ``finish_run``: three write transactions) and reports the rate.
2. Fills the db up to ``--runs`` with a bulk insert through sqlite-utils on the same db
   (same columns; the FTS triggers index every row). This is a fill, not a measured rate.
3. Times ``Store.list_runs(search=..., limit=50)`` over varied English and Chinese queries,
   median and p95 per kind of query (goal: median <= 20 ms, p95 <= 50 ms over all of them),
   ``list_runs()`` with and without a model filter, and reports the file size.

With ``--search-only`` it skips 1 and 2 and measures an existing ``--db`` as it is (opening
it applies any pending migration: its time is printed), so one db can be measured before and
after a change to the search.

Nine runs in ten have English prompts and outputs of 200-2,000 characters of words drawn from
a Zipf-like vocabulary (common English words first, then a long tail of made-up words); one
in ten has a Chinese prompt and 100-700 characters of common Chinese words
(:mod:`chinese_text`), so FTS has real work to do in both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.chinese_text import ZH_PROMPTS, ChineseText  # noqa: E402
from yilab.runlog.store import Store  # noqa: E402

COMMON_WORDS = """the of and to a in is it you that he was for on are with as I his they be at one
have this from or had by not word but what some we can out other were all there when up use
your how said an each she which do their time if will way about many then them write would
like so these her long make thing see him two has look more day could go come did number
sound no most people my over know water than call first who may down side been now find any
new work part take get place made live where after back little only round man year came show
every good me give our under name very through just form sentence great think say help low
line differ turn cause much mean before move right boy old too same tell does set three want
air well also play small end put home read hand port large spell add even land here must big
high such follow act why ask men change went light kind off need house picture try us again
animal point mother world near build self earth father head stand own page should country
found answer school grow study still learn plant cover food sun four between state keep eye
never last let thought city tree cross farm hard start might story saw far sea draw left late
run while press close night real life few north open seem together next white children begin
got walk example ease paper group always music those both mark often letter until mile river
car feet care second book carry took science eat room friend began idea fish mountain stop
once base hear horse cut sure watch color face wood main enough plain girl usual young ready
above ever red list though feel talk bird soon body dog family direct pose leave song measure
door product black short numeral class wind question happen complete ship area half rock
order fire south problem piece told knew pass since top whole king space heard best hour
better true during hundred five remember step early hold west ground interest reach fast verb
sing listen six table travel less morning ten simple several vowel toward war lay against
pattern slow center love person money serve appear road map rain rule govern pull cold notice
voice unit power town fine certain fly fall lead cry dark machine note wait plan figure star
box noun field rest correct able pound done beauty drive stood contain front teach week final
gave green oh quick develop ocean warm free minute strong special mind behind clear tail
produce fact street inch multiply nothing course stay wheel full force blue object decide
surface deep moon island foot system busy test record boat common gold possible plane stead
dry wonder laugh thousand ago ran check game shape equate hot miss brought heat snow tire
bring yes distant fill east paint language among grand ball yet wave drop heart am present
heavy dance engine position arm wide sail material size vary settle speak weight general ice
matter circle pair include divide syllable felt perhaps pick sudden count square reason length
represent art subject region energy hunt probable bed brother egg ride cell believe fraction
forest sit race window store summer train sleep prove lone leg exercise wall catch mount wish
sky board joy winter sat written wild instrument kept glass grass cow job edge sign visit past
soft fun bright gas weather month million bear finish happy hope flower clothe strange gone
jump baby eight village meet root buy raise solve metal whether push seven paragraph third
shall held hair describe cook floor either result burn hill safe cat century consider type law
bit coast copy phrase silent tall sand soil roll temperature finger industry value fight lie
beat excite natural view sense ear else quite broke case middle kill son lake moment scale loud
spring observe child straight consonant nation dictionary milk speed method organ pay age
section dress cloud surprise quiet stone tiny climb cool design poor lot experiment bottom key
iron single stick flat twenty skin smile crease hole trade melody trip office receive row mouth
exact symbol die least trouble shout except wrote seed tone join suggest clean break lady yard
rise bad blow oil blood touch grew cent mix team wire cost lost brown wear garden equal sent
choose fell fit flow fair bank collect save control decimal gentle woman captain practice
separate difficult doctor please protect noon whose locate ring character insect caught period
indicate radio spoke atom human history effect electric expect crop modern element hit student
corner party supply bone rail imagine provide agree thus capital chair danger fruit rich thick
soldier process operate guess necessary sharp wing create neighbor wash bat rather crowd corn
compare poem string bell depend meat rub tube famous dollar stream fear sight thin triangle
planet hurry chief colony clock mine tie enter major fresh search send yellow gun allow print
dead spot desert suit current lift rose continue block chart hat sell success company subtract
event particular deal swim term opposite wife shoe shoulder spread arrange camp invent cotton
born determine quart nine truck noise level chance gather shop stretch throw shine property
column molecule select wrong gray repeat require broad prepare salt nose plural anger claim
continent oxygen sugar death pretty skill women season solution magnet silver thank branch
match suffix especially fig afraid huge sister steel discuss forward similar guide experience
score apple bought led pitch coat mass card band rope slip win dream evening condition feed
tool total basic smell valley nor double seat arrive master track parent shore division sheet
substance favor connect post spend chord fat glad original share station dad bread charge
proper bar offer segment slave duck instant market degree populate chick dear enemy reply
drink occur support speech nature range steam motion path liquid log meant quotient teeth shell
neck lighthouse keeper bottle message Paris France dragon model token tokenizer prompt seed
sampling temperature answer sweep"""
PROMPTS = [
    "What is the capital of France?",
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Explain how a tokenizer splits words into tokens.",
    "List three facts about the moon.",
    "Write a poem about the sea at night.",
    "Describe a dragon who guards a library.",
    "Summarise the history of the printing press in one paragraph.",
    "Give me a recipe for bread with only four ingredients.",
    "Why is the sky blue?",
    "Translate 'good morning, friend' into French and explain each word.",
]
MODELS = [
    ("smollm2-135m-instruct", 0.6),
    ("mlx-community/Qwen2.5-0.5B-Instruct-4bit", 0.25),
    ("yi:6b-chat", 0.1),
    ("~/models/Llama-3.2-1B-Instruct-4bit", 0.05),
]
QUERIES = {
    "common": ["the", "and", "water", "people", "light", "answer", "world", "house"],
    "mid": ["lighthouse", "dragon", "Paris", "tokenizer", "molecule", "captain", "oxygen"],
    "rare": [],  # filled with tail words from the vocabulary
    "absent": ["zzyzxq", "qwertyuiopas"],
    "two words": ["capital France", "message bottle", "the sea", "water light", "dragon king"],
    "phrase": ['"lighthouse keeper"', '"the capital of France"', '"message in a bottle"'],
    "prefix": ["lightho", "tokeniz", "molec"],
    "prompt words": ["recipe bread", "printing press", "good morning"],
    "fts syntax": ["cat OR -dog", 'the "sea', "bread*", "NEAR(water light)"],
    "1-2 letters": ["of", "is", "x", "zq", "Q"],
    "zh 3+ chars": ["图书馆", "天安门", "守护人", "很久很久以前", "分词器"],
    "zh 2 chars": ["童话", "北京", "故事", "月亮", "灯塔", "巫师"],
    "zh 1 char": ["的", "龙", "爱"],
    "zh phrase": ["我爱北京天安门", "北京天安门", "灯塔 守护人", "童话 公主"],
    "zh absent": ["量子力学", "宇航员", "火锅", "鑫"],
}
GOAL_MEDIAN_MS, GOAL_P95_MS = 20.0, 50.0
CHINESE_SHARE = 0.1
SYLLABLES = "ka lo mi ne su ta ri vo ze pa qu el an or is um ba de fi go hu ja ku ly"


def vocabulary(rng: random.Random, size: int = 20000) -> list[str]:
    """Common English words, then made-up words for a long tail, e.g. ``["the", ..., "kaloze"]``."""
    words = list(dict.fromkeys(COMMON_WORDS.split()))
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choices(SYLLABLES.split(), k=rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class TextMaker:
    """Zipf-distributed word soup of a chosen length, with some punctuation and newlines."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary(rng)
        weights = [1 / (rank + 1) ** 1.05 for rank in range(len(self.words))]
        self.cum = list(_accumulate(weights))
        self.chinese = ChineseText(rng)

    def output(self, prompt: str) -> str:
        """An output in the prompt's language: Chinese for the Chinese prompts."""
        if prompt in ZH_PROMPTS:
            return self.chinese.text(self.rng.randint(100, 700))
        return self.text(self.rng.randint(200, 2000))

    def text(self, chars: int) -> str:
        """About ``chars`` characters of sentences."""
        words = self.rng.choices(self.words, cum_weights=self.cum, k=chars // 5 + 8)
        out, length = [], 0
        for i, word in enumerate(words):
            if length >= chars:
                break
            end = ". " if i % 13 == 12 else ("\n\n" if i % 61 == 60 else " ")
            out.append(word + end)
            length += len(word) + len(end)
        return "".join(out).strip()


def _accumulate(values: list[float]):
    total = 0.0
    for value in values:
        total += value
        yield total


def settings_for(rng: random.Random, prompt: str, model: str) -> dict:
    """The ``start_run`` settings a sweep logs for one cell."""
    messages = [{"role": "user", "content": prompt}]
    return {
        "model": model,
        "model_path": f"/root/.cache/yilab/models/{model.replace('/', '--')}",
        "model_fingerprint": uuid.uuid5(uuid.NAMESPACE_URL, model).hex,
        "messages": messages,
        "rendered_prompt": f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n",
        "temperature": rng.choice([0.0, 0.3, 0.7, 1.0, 1.3]),
        "seed": rng.randint(0, 2**31),
        "top_p": rng.choice([None, 0.9, 0.95, 1.0]),
        "max_tokens": rng.choice([64, 128, 256, 512]),
        "stop_token_ids": [2],
        "versions": {"mlx": "0.32.4", "mlx-lm": "0.32.2", "yilab": "0.1.0"},
        "engine_mode": rng.choice(["single", "prefill", "batch"]),
    }


def metrics_for(rng: random.Random, output: str) -> dict:
    tokens = max(1, len(output) // 4)
    return {
        "prompt_tokens": rng.randint(20, 120),
        "generation_tokens": tokens,
        "ttft_s": rng.uniform(0.05, 2.0),
        "prompt_tps": rng.uniform(50, 200),
        "generation_tps": rng.uniform(5, 20),
        "peak_memory_gb": rng.uniform(0.3, 1.2),
    }


def sweeps(rng: random.Random):
    """Endless (prompt, model, cell count) for sweeps of 1-9 cells."""
    names, weights = zip(*MODELS, strict=True)
    while True:
        prompt = rng.choice(ZH_PROMPTS if rng.random() < CHINESE_SHARE else PROMPTS)
        yield prompt, rng.choices(names, weights)[0], rng.choice([1, 2, 4, 6, 9])


def insert_real_path(store: Store, rng: random.Random, maker: TextMaker, count: int) -> float:
    """Log ``count`` runs the way a sweep does; returns runs per second."""
    done, start = 0, time.perf_counter()
    for prompt, model, cells in sweeps(rng):
        sweep = {"temperatures": [0.7], "seeds": list(range(cells))}
        exp = store.create_experiment(model=model, prompt=prompt, sweep=sweep)
        for cell in range(min(cells, count - done)):
            run_id = store.start_run(
                experiment_id=exp, cell_index=cell, settings=settings_for(rng, prompt, model)
            )
            output = maker.output(prompt)
            store.update_output(run_id, output[: len(output) // 2], len(output) // 8)
            reason = rng.choice(["stop", "stop", "length"])
            store.finish_run(
                run_id,
                status="done",
                finish_reason=reason,
                output=output,
                metrics=metrics_for(rng, output),
            )
            done += 1
        if done >= count:
            return count / (time.perf_counter() - start)
    raise AssertionError("unreachable")


def bulk_rows(rng: random.Random, maker: TextMaker, count: int, start_at: datetime):
    """(experiment rows, run rows) with every column the real path fills."""
    experiments, runs, when = [], [], start_at
    for prompt, model, cells in sweeps(rng):
        exp_id = str(uuid.uuid4())
        when += timedelta(seconds=rng.uniform(5, 600))
        experiments.append(
            {
                "id": exp_id,
                "created_at": when.isoformat(timespec="microseconds"),
                "model": model,
                "prompt": prompt,
                "sweep_json": json.dumps({"seeds": list(range(cells))}),
                "note": None,
                "system_prompt": None,
                "mode": "chat",
            }
        )
        for cell in range(min(cells, count - len(runs))):
            s = settings_for(rng, prompt, model)
            output = maker.output(prompt)
            created = when + timedelta(milliseconds=cell)
            finished = when + timedelta(seconds=rng.uniform(2, 60))
            plain = {
                k: v for k, v in s.items() if k not in ("messages", "stop_token_ids", "versions")
            }
            runs.append(
                {
                    "id": str(uuid.uuid4()),
                    "experiment_id": exp_id,
                    "cell_index": cell,
                    "created_at": created.isoformat(timespec="microseconds"),
                    "finished_at": finished.isoformat(timespec="microseconds"),
                    "status": "done",
                    "owner_host": platform.node(),
                    "owner_pid": os.getpid(),
                    "owner_started": None,
                    **plain,
                    "messages_json": json.dumps(s["messages"]),
                    "stop_token_ids_json": json.dumps(s["stop_token_ids"]),
                    "versions_json": json.dumps(s["versions"]),
                    "output": output,
                    "finish_reason": rng.choice(["stop", "stop", "length"]),
                    **metrics_for(rng, output),
                }
            )
        if len(runs) >= count:
            return experiments, runs
    raise AssertionError("unreachable")


def bulk_fill(path: str, rng: random.Random, maker: TextMaker, count: int) -> float:
    """Insert ``count`` runs with sqlite-utils ``insert_all``; returns seconds taken."""
    from sqlite_utils import Database

    db = Database(path)
    start = time.perf_counter()
    # timestamps a year back, so the measured real-path runs stay the newest
    when = datetime.now(timezone.utc) - timedelta(days=365)
    for chunk_start in range(0, count, 10000):
        n = min(10000, count - chunk_start)
        experiments, runs = bulk_rows(rng, maker, n, when)
        when = datetime.fromisoformat(runs[-1]["created_at"])
        db.table("experiments").insert_all(experiments, batch_size=500)
        db.table("runs").insert_all(runs, batch_size=500)
        print(f"  fill: {chunk_start + n:,}/{count:,} runs", file=sys.stderr)
    db.close()
    return time.perf_counter() - start


def rarest(store: Store, search: str) -> list[dict]:
    """A search combined with the model filter that keeps fewest runs."""
    return store.list_runs(search=search, model=MODELS[-1][0], limit=50)


def scalar(path: str, sql: str):
    """One value from a query on its own short-lived connection."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchone()[0]


def timed(fn, repeats: int = 1) -> tuple[list[float], object]:
    """Milliseconds per call of ``fn``, and its last result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("cores", str(cores)),
        ("cpu", cpu),
        ("python", platform.python_version()),
        ("sqlite", sqlite3.sqlite_version),
        ("load avg (1/5/15 min)", load),
    ]


def search_bench(store: Store, queries: list[tuple[str, str]], rounds: int) -> None:
    """Time every query: a first pass, then ``rounds`` more; median and p95 per kind."""
    first, warm, by_kind = [], [], {}
    for kind, q in queries:
        (t,), rows = timed(lambda q=q: store.list_runs(search=q, limit=50))
        first.append(t)
        times, _ = timed(lambda q=q: store.list_runs(search=q, limit=50), rounds)
        warm.extend(times)
        by_kind.setdefault(kind, []).append((q, times, len(rows)))
    print(f"\nfull-text search, list_runs(search=..., limit=50): {len(queries)} queries")
    print(f"  {'kind':<13} {'query':<24} {'median ms':>9} {'hits':>5}")
    for kind, items in by_kind.items():
        for q, times, hits in items:
            print(f"  {kind:<13} {q[:24]:<24} {statistics.median(times):9.1f} {hits:5}")
    print(f"\n  by kind, the {rounds} timed passes:")
    print(f"  {'kind':<13} {'median ms':>9} {'p95 ms':>8} {'max ms':>8}")
    for kind, items in by_kind.items():
        times = [t for _, ts, _ in items for t in ts]
        med, top = statistics.median(times), max(times)
        print(f"  {kind:<13} {med:9.1f} {p95(times):8.1f} {top:8.1f}")
    med, high = statistics.median(warm), p95(warm)
    meets = med <= GOAL_MEDIAN_MS and high <= GOAL_P95_MS
    print(f"  first pass: median {statistics.median(first):.1f} ms, p95 {p95(first):.1f} ms")
    print(
        f"  all {rounds} passes: median {med:.1f} ms, p95 {high:.1f} ms, max {max(warm):.1f} ms "
        f"({'meets' if meets else 'MISSES'} the goal: median <= {GOAL_MEDIAN_MS:.0f} ms, "
        f"p95 <= {GOAL_P95_MS:.0f} ms)"
    )


def insert_runs(store: Store, args, rng: random.Random, maker: TextMaker, existing: int) -> None:
    """Insert ``args.batch`` runs the real way, fill up to ``args.runs``, insert some more."""
    late = min(1000, args.batch // 5)
    fill = max(0, args.runs - existing - args.batch - late)
    print(
        f"\ninsert, real per-run path (start_run + update_output + finish_run), {args.batch:,} runs"
    )
    rate = insert_real_path(store, rng, maker, args.batch)
    print(f"  {rate:,.0f} runs/s  ({1000 / rate:.2f} ms per run, 3 write transactions each)")

    if fill:
        print(
            f"\nfill (not a measured rate): bulk insert of {fill:,} runs via sqlite-utils "
            "insert_all on the same db, FTS triggers on"
        )
        seconds = bulk_fill(args.db, rng, maker, fill)
        print(f"  fill took {seconds:.1f} s")
        print(
            f"\ninsert again at {scalar(args.db, 'select count(*) from runs'):,} runs, "
            f"real per-run path, {late:,} runs"
        )
        rate = insert_real_path(store, rng, maker, late)
        print(f"  {rate:,.0f} runs/s  ({1000 / rate:.2f} ms per run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs in the db at the end")
    parser.add_argument("--batch", type=int, default=5000, help="runs inserted the real way")
    parser.add_argument("--db", default=None, help="db file (default: a new temp file)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--search-only", action="store_true", help="measure an existing --db, insert nothing"
    )
    args = parser.parse_args()
    if args.search_only and args.db is None:
        parser.error("--search-only needs --db")

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="yilab-store-bench-")
        args.db = str(Path(tmp.name) / "runs.db")
    rng = random.Random(args.seed)
    maker = TextMaker(rng)
    print("machine:")
    for key, value in machine():
        print(f"  {key:<22} {value}")
    opened = time.perf_counter()
    store = Store(args.db)
    opened = time.perf_counter() - opened
    existing = scalar(args.db, "select count(*) from runs")
    print(
        f"db: {args.db} ({existing:,} runs before; opened in {opened:.1f} s, migrations included)"
    )
    if not args.search_only:
        insert_runs(store, args, rng, maker, existing)

    total = scalar(args.db, "select count(*) from runs")
    indexed = scalar(args.db, "select count(*) from runs_fts_docsize")
    chars = scalar(args.db, "select avg(length(output)) from runs")
    print(f"\nruns: {total:,}, FTS-indexed: {indexed:,}, mean output {chars:,.0f} chars")

    tail = maker.words[-3000:]
    QUERIES["rare"] = random.Random(args.seed + 1).sample(tail, 6)
    queries = [(cat, q) for cat, qs in QUERIES.items() for q in qs]
    search_bench(store, queries, args.rounds)

    print("\nlisting, limit 50, medians of 10:")
    for label, fn in [
        ("list_runs()", lambda: store.list_runs(limit=50)),
        ("list_runs(model=smollm2)", lambda: store.list_runs(model=MODELS[0][0], limit=50)),
        ("list_runs(model=rarest)", lambda: store.list_runs(model=MODELS[-1][0], limit=50)),
        ("list_runs(finish_reason=length)", lambda: store.list_runs(finish_reason="length")),
        ("list_experiments()", lambda: store.list_experiments(limit=50)),
        ("list_experiments(search=dragon)", lambda: store.list_experiments(search="dragon")),
        ("list_experiments(search=童话)", lambda: store.list_experiments(search="童话")),
        ("list_experiments(search=天安门)", lambda: store.list_experiments(search="天安门")),
        ("list_runs(search=the, model=rarest)", lambda: rarest(store, "the")),
        ("list_runs(search=童话, model=rarest)", lambda: rarest(store, "童话")),
    ]:
        times, _ = timed(fn, 10)
        print(f"  {label:<34} {statistics.median(times):7.1f} ms  (p95 {p95(times):.1f})")

    store.close()
    with sqlite3.connect(args.db) as conn:
        conn.execute("pragma wal_checkpoint(truncate)")
    size = Path(args.db).stat().st_size
    print(
        f"\ndb file: {size / 2**20:,.1f} MiB ({size / total:,.0f} bytes per run, after a "
        "WAL checkpoint)"
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
