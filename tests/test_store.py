"""The run log: schema from migrations, run round trips, search, interrupted runs, concurrency."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlite_utils import Database

from yilab.errors import RunNotFoundError
from yilab.runlog.migrations import MIGRATIONS
from yilab.runlog.store import Store, StoreError

ROOT = Path(__file__).resolve().parent.parent

RUN_COLUMNS = [
    "id",
    "experiment_id",
    "created_at",
    "finished_at",
    "model",
    "model_path",
    "model_fingerprint",
    "messages_json",
    "rendered_prompt",
    "temperature",
    "seed",
    "top_p",
    "top_k",
    "min_p",
    "repetition_penalty",
    "max_tokens",
    "output",
    "finish_reason",
    "status",
    "error",
    "prompt_tokens",
    "generation_tokens",
    "ttft_s",
    "prompt_tps",
    "generation_tps",
    "peak_memory_gb",
    "stop_token_ids_json",
    "versions_json",
    "cell_index",
    "engine_mode",
    "owner_host",
    "owner_pid",
    "owner_started",
    "starred",
    "note",
    "branch_of",
    "branch_at",
    "input_index",
    "vars_json",
]
EXPERIMENT_COLUMNS = [
    "id",
    "created_at",
    "model",
    "prompt",
    "sweep_json",
    "note",
    "system_prompt",
    "mode",
    "checks_json",
]
SETTINGS = {
    "model": "tiny",
    "temperature": 0.7,
    "seed": 0,
    "top_p": None,
    "max_tokens": 32,
    "rendered_prompt": "<|user|>What is the capital of France?",
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
    "stop_token_ids": [2],
    "versions": {"mlx-lm": "0.0"},
    "engine_mode": "single",
}


@pytest.fixture
def store() -> Store:
    """An in-memory store."""
    return Store(":memory:")


def add_run(store: Store, output: str = "Paris.", *, status: str = "done", **settings) -> str:
    """Log one finished run (in its own experiment) and return its id."""
    experiment_id = store.create_experiment(model="tiny", prompt="capital?", sweep={})
    run_id = store.start_run(
        experiment_id=experiment_id, cell_index=0, settings={**SETTINGS, **settings}
    )
    if status != "running":
        store.finish_run(run_id, status=status, finish_reason="stop", output=output)
    return run_id


def schema(db: Database) -> list[tuple]:
    """Everything in sqlite_master, sorted, to compare schemas."""
    return sorted(db.execute("select type, name, sql from sqlite_master").fetchall(), key=str)


def test_migrations_build_the_schema():
    db = Database(memory=True)
    MIGRATIONS.apply(db)
    assert [c.name for c in db.table("runs").columns] == RUN_COLUMNS
    assert [c.name for c in db.table("experiments").columns] == EXPERIMENT_COLUMNS
    assert db.table("runs").pks == ["id"] and db.table("experiments").pks == ["id"]
    indexed = {tuple(index.columns) for index in db.table("runs").indexes}
    assert {("experiment_id",), ("created_at",), ("model",), ("status",)} <= indexed
    assert ("model", "created_at") in indexed
    assert {"runs_fts", "experiments_fts"} <= set(db.table_names())
    assert "FTS5" in db.table("runs_fts").schema or "fts5" in db.table("runs_fts").schema
    assert (
        "trigram" in db.table("runs_fts").schema and "trigram" in db.table("experiments_fts").schema
    )
    assert db.table("runs").detect_fts() == "runs_fts"
    assert {t.name for t in db.table("runs").triggers} >= {"runs_ai", "runs_ad", "runs_au"}
    tokens = db.table("run_tokens")
    assert tokens.pks == ["id"] and tokens.columns_dict["data"] is bytes
    assert [fk.other_table for fk in tokens.foreign_keys] == ["runs"]


def test_migrations_twice_are_a_no_op():
    db = Database(memory=True)
    MIGRATIONS.apply(db)
    before, applied = schema(db), len(MIGRATIONS.applied(db))
    MIGRATIONS.apply(db)
    assert schema(db) == before
    assert len(MIGRATIONS.applied(db)) == applied == len(MIGRATIONS._migrations)
    assert MIGRATIONS.pending(db) == []


def test_file_db_uses_wal_and_reopens(tmp_path):
    path = tmp_path / "runs.db"
    run_id = add_run(Store(path))
    assert sqlite3.connect(path).execute("pragma journal_mode").fetchone()[0] == "wal"
    with Store(path) as reopened:
        assert reopened.get_run(run_id)["output"] == "Paris."
        with reopened._use() as db:
            assert db.execute("pragma busy_timeout").fetchone()[0] == 5000
            assert db.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL


def test_start_update_finish_round_trip(store):
    experiment_id = store.create_experiment(
        model="tiny", prompt="capital?", sweep={"temperature": [0.0, 0.7]}, mode="raw"
    )
    run_id = store.start_run(experiment_id=experiment_id, cell_index=1, settings=SETTINGS)
    run = store.get_run(run_id)
    assert run["status"] == "running" and run["owner_pid"] == os.getpid()
    assert run["owner_host"] and run["created_at"].endswith("+00:00")
    assert run["messages_json"] == '[{"role": "user", "content": "What is the capital of France?"}]'
    assert run["stop_token_ids_json"] == "[2]" and run["top_p"] is None
    raw_id = store.start_run(experiment_id=experiment_id, cell_index=0, settings={"messages": None})
    assert store.get_run(raw_id)["messages_json"] is None  # None is left out, not "null"
    assert (run["seed"], run["temperature"], run["starred"]) == (0, 0.7, 0)

    store.update_output(run_id, "Par", 1)
    assert store.get_run(run_id)["output"] == "Par"
    metrics = {"generation_tokens": 3, "generation_tps": 41.5, "ttft_s": 0.02, "prompt_tps": None}
    store.finish_run(run_id, status="done", finish_reason="stop", output="Paris.", metrics=metrics)
    store.update_output(run_id, "late partial flush", 2)  # ignored: the run has finished
    run = store.get_run(run_id)
    assert (run["output"], run["status"], run["finish_reason"]) == ("Paris.", "done", "stop")
    assert (run["generation_tokens"], run["generation_tps"]) == (3, 41.5)
    assert run["finished_at"] >= run["created_at"]

    experiment = store.get_experiment(experiment_id)
    assert experiment["mode"] == "raw" and experiment["sweep_json"] == '{"temperature": [0.0, 0.7]}'
    assert [r["id"] for r in experiment["runs"]] == [raw_id, run_id]  # by cell_index


def test_bad_writes_raise(store):
    with pytest.raises(RunNotFoundError):
        store.finish_run("0" * 36, status="done", finish_reason="stop", output="")
    run_id = add_run(store, status="running")
    with pytest.raises(ValueError, match="status"):
        store.finish_run(run_id, status="running", finish_reason=None, output="")
    with pytest.raises(ValueError, match="metric"):
        store.finish_run(run_id, status="done", finish_reason=None, output="", metrics={"x": 1})
    with pytest.raises(ValueError, match="setting"):
        store.start_run(experiment_id="e", cell_index=0, settings={"temprature": 1.0})


def test_filters_and_newest_first(store):
    first = add_run(store, "a", temperature=0.0, model="m1")
    second = add_run(store, "b", temperature=0.7, status="error")
    third = add_run(store, "c", temperature=0.7, status="running")
    assert [r["id"] for r in store.list_runs()] == [third, second, first]
    assert [r["id"] for r in store.list_runs(limit=1)] == [third]
    assert [r["id"] for r in store.list_runs(temperature=0.0)] == [first]
    assert [r["id"] for r in store.list_runs(model="m1")] == [first]
    assert [r["id"] for r in store.list_runs(status="error")] == [second]
    assert [r["id"] for r in store.list_runs(finish_reason="stop")] == [second, first]
    experiment_id = store.get_run(second)["experiment_id"]
    assert [r["id"] for r in store.list_runs(experiment_id=experiment_id)] == [second]
    experiments = store.list_experiments()
    assert [e["run_count"] for e in experiments] == [1, 1, 1]
    assert experiments[0]["id"] == store.get_run(third)["experiment_id"]


def test_prefix_lookup_and_not_found(store):
    run_id = add_run(store)
    assert store.get_run(run_id[:6])["id"] == run_id
    assert store.get_run(run_id.upper())["id"] == run_id
    experiment_id = store.get_run(run_id)["experiment_id"]
    assert store.get_experiment(experiment_id[:8])["id"] == experiment_id
    with pytest.raises(RunNotFoundError, match="too short"):
        store.get_run(run_id[:5])
    with pytest.raises(RunNotFoundError, match="No run with id 'ffffffff'") as err:
        store.get_run("ffffffff")
    assert isinstance(err.value, KeyError) and "ffffffff" in str(err.value)
    with pytest.raises(RunNotFoundError, match="No experiment"):
        store.get_experiment("ffffffff")
    with store._write() as db:
        for suffix in "12":
            db.execute("insert into runs (id, status) values (?, 'done')", [f"abcdef0{suffix}"])
    with pytest.raises(RunNotFoundError, match="several"):
        store.get_run("abcdef0")
    assert store.get_run("abcdef01")["id"] == "abcdef01"


def test_star_and_note(store):
    run_id = add_run(store)
    store.set_star(run_id[:8], True)
    store.set_note(run_id, "good one")
    run = store.get_run(run_id)
    assert (run["starred"], run["note"]) == (1, "good one")
    store.set_star(run_id, False)
    assert store.get_run(run_id)["starred"] == 0


def set_owner(store: Store, run_id: str, **owner) -> None:
    """Pretend another process owns a run."""
    store._update_run(run_id, owner)


def test_mark_interrupted_only_touches_dead_owners_on_this_host(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = Store(tmp_path / "runs.db")
    mine = add_run(store, status="running")
    orphan = add_run(store, status="running")
    reused = add_run(store, status="running")
    elsewhere = add_run(store, status="running")
    finished = add_run(store)
    set_owner(store, orphan, owner_pid=dead.pid, owner_started="proc:1")
    set_owner(store, reused, owner_started="proc:0")  # our pid, but an earlier process
    set_owner(store, elsewhere, owner_pid=dead.pid, owner_host="another-host")
    set_owner(store, finished, owner_pid=dead.pid)

    assert store.mark_interrupted() == 2
    for run_id, status in [
        (mine, "running"),
        (orphan, "interrupted"),
        (reused, "interrupted"),
        (elsewhere, "running"),
        (finished, "done"),
    ]:
        assert store.get_run(run_id)["status"] == status
    assert store.get_run(orphan)["finish_reason"] == "interrupted"
    assert store.mark_interrupted() == 0

    late = add_run(store, status="running")
    set_owner(store, late, owner_pid=dead.pid)
    assert Store(tmp_path / "runs.db").get_run(late)["status"] == "interrupted"  # on open


def test_storage_errors_are_clear(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing" / "runs.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store(junk)


WRITER = """
import sys
from yilab.runlog.store import Store
store = Store(sys.argv[1])
experiment_id = store.create_experiment(model="proc", prompt="p", sweep={})
for i in range(int(sys.argv[2])):
    run_id = store.start_run(experiment_id=experiment_id, cell_index=i, settings={"model": "proc"})
    store.update_output(run_id, "partial", 1)
    store.finish_run(run_id, status="done", finish_reason="stop", output=f"out {i}")
"""


def write_runs(store: Store, model: str, count: int) -> None:
    """Log ``count`` runs through the full start/update/finish cycle."""
    experiment_id = store.create_experiment(model=model, prompt="p", sweep={})
    for i in range(count):
        run_id = store.start_run(
            experiment_id=experiment_id, cell_index=i, settings={"model": model}
        )
        store.update_output(run_id, "partial", 1)
        store.finish_run(run_id, status="done", finish_reason="stop", output=f"out {i}")
        store.list_runs(limit=5)


@pytest.mark.parametrize("in_memory", [False, True])
def test_concurrent_writers(tmp_path, in_memory):
    count = 40
    path = ":memory:" if in_memory else str(tmp_path / "runs.db")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = None  # started before the parent opens the db, so both may race to migrate
    if not in_memory:
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, path, str(count)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
    store = Store(path)
    errors: list[BaseException] = []

    def worker(model: str) -> None:
        try:
            write_runs(store, model, count)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if proc is not None:
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    assert errors == []
    runs = store.list_runs(limit=-1)
    assert len(runs) == count * (3 if in_memory else 4)
    assert {r["status"] for r in runs} == {"done"}
    assert len(store.list_experiments()) == (3 if in_memory else 4)
