"""The run log's schema, built and changed only by named migrations.

Each migration is a small function appended to ``MIGRATIONS`` and never edited
afterwards: a later change to the schema is a new migration at the end of this
file. ``yilab.runlog.store.Store`` applies the pending ones every time it opens a db,
so an old ``experiments.db`` is brought up to date on first use.

The table and column names are a product contract (scripts and the CLI's
``--json`` output rely on them): extend, never rename.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("yilab")


def _table(db: Database, name: str):
    """``db[name]`` as a Table (sqlite-utils types it as ``Table | View``)."""
    return db.table(name)


@MIGRATIONS()
def m001_create_experiments(db: Database) -> None:
    """One row per sweep: the prompt and the sweep spec that produced its runs."""
    _table(db, "experiments").create(
        {
            "id": str,
            "created_at": str,
            "model": str,
            "prompt": str,
            "sweep_json": str,
            "note": str,
            "system_prompt": str,
            "mode": str,
        },
        pk="id",
    )


@MIGRATIONS()
def m002_create_runs(db: Database) -> None:
    """One row per sweep cell: its settings, output, metrics and owning process."""
    _table(db, "runs").create(
        {
            "id": str,
            "experiment_id": str,
            "created_at": str,
            "finished_at": str,
            "model": str,
            "model_path": str,
            "model_fingerprint": str,
            "messages_json": str,
            "rendered_prompt": str,
            "temperature": float,
            "seed": int,
            "top_p": float,
            "top_k": int,
            "min_p": float,
            "repetition_penalty": float,
            "max_tokens": int,
            "output": str,
            "finish_reason": str,
            "status": str,
            "error": str,
            "prompt_tokens": int,
            "generation_tokens": int,
            "ttft_s": float,
            "prompt_tps": float,
            "generation_tps": float,
            "peak_memory_gb": float,
            "stop_token_ids_json": str,
            "versions_json": str,
            "cell_index": int,
            "engine_mode": str,
            "owner_host": str,
            "owner_pid": int,
            "owner_started": str,
            "starred": int,
            "note": str,
        },
        pk="id",
        not_null={"starred"},
        defaults={"starred": 0},
        foreign_keys=[("experiment_id", "experiments", "id")],
    )


@MIGRATIONS()
def m003_index_runs(db: Database) -> None:
    """Indexes for what the history view filters and sorts on."""
    runs = _table(db, "runs")
    for column in ("experiment_id", "created_at", "model", "status"):
        runs.create_index([column])


@MIGRATIONS()
def m004_enable_fts(db: Database) -> None:
    """FTS5 over runs' prompt and output, and experiments' prompt, kept current by triggers."""
    _table(db, "runs").enable_fts(
        ["rendered_prompt", "output"], fts_version="FTS5", create_triggers=True
    )
    _table(db, "experiments").enable_fts(["prompt"], fts_version="FTS5", create_triggers=True)


@MIGRATIONS()
def m005_index_runs_model_created(db: Database) -> None:
    """History filtered by model, newest first: without it SQLite sorts every run of the
    model (114 ms at 100,000 runs; 0.2 ms with it)."""
    _table(db, "runs").create_index(["model", "created_at"])


@MIGRATIONS()
def m006_token_logs_and_branches(db: Database) -> None:
    """Each run's token probabilities, one compact blob per run (``run_tokens``, keyed by the
    run's id; the layout is :mod:`yilab.experiment.token_log`'s), and for a run branched
    from another at a chosen token, the run (``branch_of``) and the token's position
    (``branch_at``, from 0)."""
    _table(db, "run_tokens").create(
        {"id": str, "format": str, "steps": int, "top_k": int, "source": str, "data": bytes},
        pk="id",
        foreign_keys=[("id", "runs", "id")],
    )
    runs = _table(db, "runs")
    runs.add_column("branch_of", str)
    runs.add_column("branch_at", int)
    runs.create_index(["branch_of"])


@MIGRATIONS()
def m007_inputs_and_checks(db: Database) -> None:
    """Prompt variables: each run's input row (``input_index``, from 0) and its values
    (``vars_json``, an object of column: text); each experiment's checks (``checks_json``,
    a list of check objects as :class:`yilab.experiment.checks.Check` writes them), kept
    apart from ``sweep_json`` because checks can be edited after the runs."""
    runs = _table(db, "runs")
    runs.add_column("input_index", int)
    runs.add_column("vars_json", str)
    _table(db, "experiments").add_column("checks_json", str)


def _fts_trigram(db: Database, table: str, columns: list[str]) -> None:
    """Replace ``table``'s FTS index by a trigram one over ``columns``, filled from the
    table: the same name (``{table}_fts``) and the SQL sqlite-utils' ``enable_fts`` writes,
    so sqlite-utils and Datasette still find it, and its ``_ai``/``_ad``/``_au`` triggers.
    Plain statements rather than ``enable_fts`` itself, whose ``executescript`` commits: the
    rebuild must stay inside the migration's transaction."""
    fts = f"{table}_fts"
    cols = ", ".join(f'"{c}"' for c in columns)
    old = ", ".join(f'old."{c}"' for c in columns)
    new = ", ".join(f'new."{c}"' for c in columns)
    for suffix in ("_ai", "_ad", "_au"):
        db.execute(f'DROP TRIGGER IF EXISTS "{table}{suffix}"')
    db.execute(f'DROP TABLE IF EXISTS "{fts}"')
    db.execute(
        f'CREATE VIRTUAL TABLE "{fts}" USING FTS5 (\n    {cols},\n'
        f"    tokenize='trigram',\n    content=\"{table}\"\n)"
    )
    db.execute(f'INSERT INTO "{fts}" ("{fts}") VALUES (\'rebuild\')')
    insert = f'INSERT INTO "{fts}" (rowid, {cols}) VALUES (new.rowid, {new});'
    delete = f'INSERT INTO "{fts}" ("{fts}", rowid, {cols}) VALUES(\'delete\', old.rowid, {old});'
    db.execute(f'CREATE TRIGGER "{table}_ai" AFTER INSERT ON "{table}" BEGIN\n  {insert}\nEND')
    db.execute(f'CREATE TRIGGER "{table}_ad" AFTER DELETE ON "{table}" BEGIN\n  {delete}\nEND')
    # Only when an indexed column changes: a star, a note or a status leaves the index be.
    db.execute(
        f'CREATE TRIGGER "{table}_au" AFTER UPDATE OF {cols} ON "{table}" BEGIN\n'
        f"  {delete}\n  {insert}\nEND"
    )


@MIGRATIONS()
def m008_fts_trigram(db: Database) -> None:
    """Search finds any text of 3 characters or more, Chinese included: FTS5's default
    tokenizer reads a run of Chinese characters as one word, so 童话 inside 从前有一个童话故事
    was never found. ``runs_fts`` and ``experiments_fts`` are rebuilt with the trigram
    tokenizer (case-insensitive substrings). The last two characters of a prompt or output
    start no trigram, so each run's last two and last one (lowercased) are indexed too:
    with the trigrams that start with them, :mod:`yilab.runlog.search` finds one or two
    characters through indexes alone."""
    _fts_trigram(db, "runs", ["rendered_prompt", "output"])
    _fts_trigram(db, "experiments", ["prompt"])
    for column in ("output", "rendered_prompt"):
        for n in (1, 2):
            db.execute(
                f"create index idx_runs_{column}_end{n} on runs (lower(substr({column}, -{n})))"
            )


@MIGRATIONS()
def m009_index_newest_first(db: Database) -> None:
    """Let History's lists walk newest first and stop once the page is full, whatever the
    filter, instead of sorting every row that passes it (at 100,000 runs: status ``done``
    98 ms → 0.6 ms, a finish reason no run has 78 ms → 0.1 ms, a search with status ``done``
    129 ms → 14 ms, ``list_experiments(search="dragon")`` 49 ms → 10 ms). The partial index
    holds only the runs that have prompt variables, for the ``variable`` filter."""
    runs = _table(db, "runs")
    runs.create_index(["status", "created_at"])
    runs.create_index(["finish_reason", "created_at"])
    db.execute(
        "create index idx_runs_created_at_vars on runs (created_at) where vars_json is not null"
    )
    _table(db, "experiments").create_index(["created_at"])
