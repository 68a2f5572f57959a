"""Which FTS5 tokenizer for the run log: what each finds, how big and how fast, measured.

    python bench/fts_tokenizers.py --db RUNLOG [--limit 100000] [--rounds 5]

Copies the prompts and outputs of the run log at ``--db`` (e.g. one ``store_bench.py --db``
built) into a fresh db per choice, an external-content FTS5 table kept current by triggers as
yilab's are, and reports for each: what a set of sample searches finds in a few sample texts,
the indexing rate through the triggers, the index's size, and the time to find every match
(``count(*)``) and the 50 highest rowids for the benchmark's queries (median and p95 per kind).

Choices: ``unicode61`` (FTS5's default, today's), ``unicode61`` over text with every CJK
character spaced out (a Python function in the triggers does it), ``trigram``, and ``trigram``
with ``detail=none`` (smaller, but SQLite 3.40 refuses its phrase queries).
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_bench import QUERIES, p95  # noqa: E402

CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
CHOICES = {
    "unicode61": "",
    "unicode61, CJK spaced": "",
    "trigram": ", tokenize='trigram'",
    "trigram detail=none": ", tokenize='trigram', detail=none",
}
SAMPLES = [
    "从前有一个童话故事。",
    "我爱北京天安门",
    "北京",
    "The Lighthouse keeper found a message in a bottle.",
    "A category of cats.",
    'cat OR -dog, "quoted", NEAR(x y) and a*b',
]
SAMPLE_QUERIES = [
    "童话",
    "北京",
    "北京天安门",
    "爱",
    "lighthouse",
    "LIGHTHOUSE",
    "cat",
    "lightho",
    "lighthouse keeper",
    '"keeper found"',
    "cat OR -dog",
    "NEAR(x",
    "a*b",
]


def spaced(text: str | None) -> str | None:
    """``"我爱Paris"`` → ``" 我  爱 Paris"``: each CJK character a word of its own."""
    return None if text is None else CJK.sub(r" \1 ", text)


def match_query(choice: str, text: str) -> str:
    """The MATCH string for user text: every whitespace-separated term quoted, as yilab does."""
    terms = text.split()
    if choice.startswith("unicode61, CJK"):
        terms = [spaced(t) for t in terms]
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("spaced", 1, spaced, deterministic=True)
    conn.execute("pragma journal_mode = wal")
    conn.execute("pragma synchronous = normal")
    return conn


def create(conn: sqlite3.Connection, choice: str) -> None:
    """A ``docs`` table and its FTS5 index with triggers, as sqlite-utils' enable_fts makes."""
    wrap = "spaced" if choice.startswith("unicode61, CJK") else ""
    conn.executescript(
        f"""
        create table docs (id text primary key, rendered_prompt text, output text);
        create virtual table docs_fts using fts5(rendered_prompt, output,
            content=docs{CHOICES[choice]});
        create trigger docs_ai after insert on docs begin
          insert into docs_fts (rowid, rendered_prompt, output)
          values (new.rowid, {wrap}(new.rendered_prompt), {wrap}(new.output));
        end;
        """
    )


def semantics(choice: str) -> dict[str, list[int]]:
    """Which sample texts (by 1-based number) each sample query finds."""
    conn = connect(":memory:")
    create(conn, choice)
    for i, text in enumerate(SAMPLES, 1):
        conn.execute("insert into docs values (?, '', ?)", (str(i), text))
    found = {}
    for q in SAMPLE_QUERIES:
        try:
            sql = "select rowid from docs_fts where docs_fts match ? order by rowid"
            found[q] = [r[0] for r in conn.execute(sql, (match_query(choice, q),))]
        except sqlite3.OperationalError as err:
            found[q] = str(err)
    return found


def build(path: str, choice: str, source: str, limit: int) -> tuple[float, int, int]:
    """Index ``limit`` runs' texts; (runs per second, FTS bytes, docs)."""
    conn = connect(path)
    create(conn, choice)
    conn.execute("attach ? as src", (source,))
    rows = conn.execute(
        "select id, rendered_prompt, output from src.runs order by rowid limit ?", (limit,)
    ).fetchall()
    conn.execute("detach src")
    start = time.perf_counter()
    for at in range(0, len(rows), 500):
        conn.execute("begin")
        conn.executemany("insert into docs values (?, ?, ?)", rows[at : at + 500])
        conn.execute("commit")
    seconds = time.perf_counter() - start
    conn.execute("pragma wal_checkpoint(truncate)")
    size = conn.execute("select sum(pgsize) from dbstat where name like 'docs_fts%'").fetchone()[0]
    conn.close()
    return len(rows) / seconds, size, len(rows)


def timings(path: str, choice: str, rounds: int) -> list[tuple[str, str, int, list, list]]:
    """Per query: (kind, query, hits, ms for all matches, ms for the 50 highest rowids)."""
    conn = connect(path)
    out = []
    for kind, queries in QUERIES.items():
        for q in queries:
            m = match_query(choice, q)
            every, top = [], []
            hits: int | str = 0
            try:
                conn.execute("select count(*) from docs_fts where docs_fts match ?", (m,))
            except sqlite3.OperationalError as err:
                out.append((kind, q, str(err)[6:30], [], []))
                continue
            for _ in range(rounds):
                t0 = time.perf_counter()
                hits = conn.execute(
                    "select count(*) from docs_fts where docs_fts match ?", (m,)
                ).fetchone()[0]
                t1 = time.perf_counter()
                conn.execute(
                    "select rowid from docs_fts where docs_fts match ? order by rowid desc "
                    "limit 50",
                    (m,),
                ).fetchall()
                t2 = time.perf_counter()
                every.append((t1 - t0) * 1000)
                top.append((t2 - t1) * 1000)
            out.append((kind, q, hits, every, top))
    conn.close()
    return out


def report(choice: str, rate: float, size: int, docs: int, rows: list) -> None:
    print(f"\n== {choice}")
    print(f"  indexing through the trigger: {rate:,.0f} runs/s")
    print(f"  index: {size / 2**20:,.1f} MiB ({size / docs:,.0f} bytes per run)")
    print(f"  {'kind':<13} {'all: med':>8} {'p95':>7} {'top 50: med':>11} {'p95':>7}  hits")
    kinds: dict[str, list] = {}
    for kind, q, hits, every, top in rows:
        kinds.setdefault(kind, []).append((q, hits, every, top))
    for kind, items in kinds.items():
        every = [t for _, _, e, _ in items for t in e]
        top = [t for _, _, _, tp in items for t in tp]
        hits = " ".join(f"{q}:{h}" for q, h, _, _ in items)
        if not every:
            print(f"  {kind:<13} {'refused':>8} {'':7} {'':11} {'':7}  {hits}")
            continue
        print(
            f"  {kind:<13} {statistics.median(every):8.1f} {p95(every):7.1f} "
            f"{statistics.median(top):11.1f} {p95(top):7.1f}  {hits}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a run log to take texts from")
    parser.add_argument("--limit", type=int, default=100_000, help="runs to index")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", action="append", help="measure only these choices")
    args = parser.parse_args()
    print(f"sqlite {sqlite3.sqlite_version}")
    choices = args.only or list(CHOICES)
    print("\nwhat each finds (sample texts numbered from 1):")
    for i, text in enumerate(SAMPLES, 1):
        print(f"  {i}. {text}")
    found = {choice: semantics(choice) for choice in choices}
    print(f"  {'query':<20} " + " ".join(f"{c[:22]:<22}" for c in choices))
    for q in SAMPLE_QUERIES:
        cells = [str(found[c][q])[:22] for c in choices]
        print(f"  {q:<20} " + " ".join(f"{cell:<22}" for cell in cells))
    with tempfile.TemporaryDirectory(prefix="yilab-fts-") as tmp:
        for n, choice in enumerate(choices):
            path = str(Path(tmp) / f"{n}.db")
            rate, size, docs = build(path, choice, args.db, args.limit)
            report(choice, rate, size, docs, timings(path, choice, args.rounds))
            Path(path).unlink()


if __name__ == "__main__":
    main()
