"""The run log: experiments (one per sweep) and runs (one per cell) in SQLite.

Storage lives behind this module; the schema is built and changed only by the
named migrations in ``yilab.migrations``, applied on every open.

Threads: a sqlite3 connection belongs to the thread that made it. The service
writes from its worker thread while UI threads read, so a ``Store`` keeps one
connection per thread (``threading.local``), each configured the same way:
WAL (readers never wait for the writer), ``busy_timeout`` 5000 ms and
``synchronous=NORMAL``. Every write runs in ``BEGIN IMMEDIATE``, so concurrent
writers (threads or other processes) queue on the busy timeout rather than
failing with "database is locked". ``":memory:"`` is the exception: a private
in-memory db exists on one connection only, so all threads share it behind a lock.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from yilab.errors import BadInputError, RunNotFoundError, YilabError
from yilab.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 5000
MIN_PREFIX = 6
STATUSES = ("running", "done", "cancelled", "error", "interrupted")
FINISHED_STATUSES = STATUSES[1:]
MODES = ("chat", "raw")
METRIC_COLUMNS = (
    "prompt_tokens", "generation_tokens", "ttft_s", "prompt_tps", "generation_tps",
    "peak_memory_gb",
)  # fmt: skip
# run columns that start_run accepts in ``settings`` as they are
SETTING_COLUMNS = (
    "model", "model_path", "model_fingerprint", "rendered_prompt", "temperature", "seed",
    "top_p", "top_k", "min_p", "repetition_penalty", "max_tokens", "engine_mode", "note",
    *METRIC_COLUMNS,
)  # fmt: skip
# settings given as Python values, stored as JSON text in these columns
JSON_SETTINGS = {
    "messages": "messages_json",
    "stop_token_ids": "stop_token_ids_json",
    "versions": "versions_json",
}


class StoreError(YilabError):
    """The run log cannot be opened or written (missing folder, not a database, disk)."""


@dataclass
class MergeOutcome:
    """What :meth:`Store.merge_rows` did with one table's rows: ids added, ids already
    present and equal, and ids present with other content (id → the columns that differ)."""

    added: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    conflicts: dict[str, list[str]] = field(default_factory=dict)


def utc_now() -> str:
    """The current UTC time in ISO-8601, e.g. ``2025-01-31T12:00:00.123456+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def fts_query(text: str) -> str:
    """Quote each term so FTS5 syntax in user input is matched literally.

    ``fts_query('cat OR -dog')`` → ``'"cat" "OR" "-dog"'`` (every term must match).
    """
    return " ".join('"' + term.replace('"', '""') + '"' for term in text.split())


def process_started(pid: int) -> str | None:
    """When process ``pid`` started, as an opaque string, so a reused pid is told apart.

    Linux: field 22 of ``/proc/<pid>/stat``, e.g. ``"proc:123456"``; elsewhere
    (macOS) ``ps -o lstart=``, e.g. ``"ps:Mon Jun 3 10:00:00 2025"``; None if unknown.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return "proc:" + stat.rsplit(")", 1)[1].split()[19]  # fields after "(comm)" start at 3
    except (OSError, IndexError):
        if sys.platform == "win32" or Path("/proc/self/stat").exists():
            return None
    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    started = " ".join(out.stdout.split())
    return f"ps:{started}" if out.returncode == 0 and started else None


@cache
def _owner(pid: int) -> dict[str, Any]:
    """The ``owner_*`` columns for this process (keyed by pid, so a fork gets its own)."""
    return {
        "owner_host": socket.gethostname(),
        "owner_pid": pid,
        "owner_started": process_started(pid),
    }


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but is not ours, or we cannot tell: assume alive
    return True


def _owner_gone(run: dict, host: str) -> bool:
    """Whether a running run's process on this host has ended (another host: never)."""
    pid = run["owner_pid"]
    if run["owner_host"] != host or pid is None:
        return False
    if not _pid_alive(pid):
        return True
    started = process_started(pid)
    return None not in (started, run["owner_started"]) and started != run["owner_started"]


class Store:
    """The run log at ``path`` (a file, or ``":memory:"`` for tests); see the module doc."""

    def __init__(self, path: str | Path) -> None:
        """Open (creating if needed) the db, apply pending migrations, mark orphaned runs."""
        self.path = str(path)
        self._memory = self.path == ":memory:"
        self._local = threading.local()
        self._lock = threading.RLock()  # guards the one shared ":memory:" connection
        self._all: weakref.WeakSet[Database] = weakref.WeakSet()
        self._shared = self._connect() if self._memory else None
        with self._use() as db:
            pending = MIGRATIONS.pending(db)
        if pending:
            with self._write() as db:  # the write lock makes racing openers apply them once
                MIGRATIONS.apply(db)
        self.mark_interrupted()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection this store opened (call when no thread is using it)."""
        for db in list(self._all):
            db.close()
        self._all = weakref.WeakSet()
        self._local = threading.local()

    # -- connections -------------------------------------------------------

    def _error(self, err: sqlite3.Error) -> StoreError:
        """A StoreError that says what is wrong with the db at ``self.path``."""
        folder = Path(self.path).parent
        if not self._memory and not folder.is_dir():
            hint = f"the folder {folder} does not exist"
        elif "not a database" in str(err):
            hint = "the file is not a SQLite database (pick another --db path)"
        else:
            hint = str(err)
        return StoreError(f"Cannot use the run log at {self.path}: {hint}")

    def _connect(self) -> Database:
        """A new connection configured for concurrent use (WAL, busy timeout)."""
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # no implicit BEGIN: writes say BEGIN IMMEDIATE
                check_same_thread=False,  # used by one thread, but close() may run elsewhere
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = wal")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as err:
            raise self._error(err) from err
        db = Database(conn, execute_plugins=False)
        self._all.add(db)
        return db

    @contextmanager
    def _use(self) -> Iterator[Database]:
        """This thread's connection; sqlite errors come out as StoreError."""
        guard: AbstractContextManager = self._lock if self._memory else nullcontext()
        with guard:
            db = self._shared or getattr(self._local, "db", None)
            if db is None:
                db = self._local.db = self._connect()
            try:
                yield db
            except sqlite3.Error as err:
                raise self._error(err) from err

    @contextmanager
    def _write(self) -> Iterator[Database]:
        """A write transaction that takes the write lock up front (waits, never fails fast)."""
        with self._use() as db:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise
            db.conn.execute("COMMIT")

    def _rows(self, sql: str, params: list | tuple = ()) -> list[dict]:
        """Rows of a query as dicts keyed by column name."""
        with self._use() as db:
            return list(db.query(sql, params))

    def _resolve(self, table: str, ident: str) -> str:
        """The full id in ``table`` that equals or starts with ``ident`` (>= 6 characters)."""
        kind = table.rstrip("s")
        ident = ident.strip().lower()
        if len(ident) < MIN_PREFIX:
            raise RunNotFoundError(
                f"The {kind} id {ident!r} is too short: give at least {MIN_PREFIX} characters"
            )
        sql = f"select id from {table} where id >= ? and id < ? order by id limit 2"
        ids = [r["id"] for r in self._rows(sql, (ident, ident + "\U0010ffff"))]
        if ident in ids:
            return ident
        if not ids:
            raise RunNotFoundError(f"No {kind} with id {ident!r} in {self.path}")
        if len(ids) > 1:
            raise RunNotFoundError(
                f"The {kind} id {ident!r} matches several {table}: give more characters"
            )
        return ids[0]

    def _update_run(self, run_id: str, values: dict[str, Any], where: str = "") -> int:
        """Set ``values`` on one run; returns how many rows changed (0 or 1)."""
        assignments = ", ".join(f"{column} = ?" for column in values)
        sql = f"update runs set {assignments} where id = ?{where}"
        with self._write() as db:
            return db.conn.execute(sql, [*values.values(), run_id]).rowcount

    # -- writing -----------------------------------------------------------

    def create_experiment(
        self,
        *,
        model: str,
        prompt: str,
        sweep: dict,
        system_prompt: str | None = None,
        mode: str = "chat",
        note: str | None = None,
    ) -> str:
        """Log a sweep before its runs start; returns its new uuid."""
        if mode not in MODES:
            raise BadInputError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}")
        row = {
            "id": str(uuid.uuid4()),
            "created_at": utc_now(),
            "model": model,
            "prompt": prompt,
            "sweep_json": json.dumps(sweep, ensure_ascii=False),
            "note": note,
            "system_prompt": system_prompt,
            "mode": mode,
        }
        with self._write() as db:
            db.table("experiments").insert(row)
        return row["id"]

    def start_run(self, *, experiment_id: str, cell_index: int, settings: dict) -> str:
        """Log one cell as ``running``, owned by this process; returns its new uuid.

        ``settings`` holds columns known at start (``model``, ``temperature``, ``seed``,
        ``rendered_prompt``...) plus ``messages``, ``stop_token_ids`` and ``versions``
        as Python values (stored as JSON). None values are left out.
        """
        row: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "experiment_id": experiment_id,
            "cell_index": cell_index,
            "created_at": utc_now(),
            "status": "running",
            **_owner(os.getpid()),
        }
        for key, value in settings.items():
            if key not in JSON_SETTINGS and key not in SETTING_COLUMNS:
                raise ValueError(f"Unknown run setting {key!r}")
            if value is None:
                continue
            if key in JSON_SETTINGS:
                key, value = JSON_SETTINGS[key], json.dumps(value, ensure_ascii=False)
            row[key] = value
        with self._write() as db:
            db.table("runs").insert(row)
        return row["id"]

    def update_output(self, run_id: str, output: str, generation_tokens: int) -> None:
        """Save partial output while a run streams (ignored once the run has finished)."""
        values = {"output": output, "generation_tokens": generation_tokens}
        self._update_run(run_id, values, where=" and status = 'running'")

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        finish_reason: str | None,
        output: str,
        error: str | None = None,
        metrics: dict | None = None,
    ) -> None:
        """Record how a run ended: status, final output, error and metrics (numeric columns)."""
        if status not in FINISHED_STATUSES:
            raise ValueError(f"Unknown final status {status!r}: use one of {FINISHED_STATUSES}")
        values: dict[str, Any] = {
            "status": status,
            "finish_reason": finish_reason,
            "output": output,
            "error": error,
            "finished_at": utc_now(),
        }
        for key, value in (metrics or {}).items():
            if key not in METRIC_COLUMNS:
                raise ValueError(f"Unknown metric {key!r}: use one of {METRIC_COLUMNS}")
            if value is not None:
                values[key] = value
        if not self._update_run(run_id, values):
            raise RunNotFoundError(f"No run with id {run_id!r} in {self.path}")

    def mark_interrupted(self) -> int:
        """Mark ``running`` runs whose process on this host has ended as ``interrupted``.

        Runs of a live process, or of another host, are never touched. Returns the count.
        """
        running = self._rows(
            "select id, owner_host, owner_pid, owner_started from runs where status = 'running'"
        )
        host = socket.gethostname()
        gone = [run["id"] for run in running if _owner_gone(run, host)]
        values = {"status": "interrupted", "finish_reason": "interrupted", "finished_at": utc_now()}
        return sum(self._update_run(i, values, where=" and status = 'running'") for i in gone)

    def set_star(self, run_id: str, starred: bool) -> None:
        """Star or unstar a run (id or unique prefix)."""
        self._update_run(self._resolve("runs", run_id), {"starred": int(starred)})

    def set_note(self, run_id: str, note: str) -> None:
        """Set a run's free-text note (id or unique prefix)."""
        self._update_run(self._resolve("runs", run_id), {"note": note})

    # -- reading -----------------------------------------------------------

    def get_run(self, run_id: str) -> dict:
        """One run's row, by id or unique prefix (>= 6 characters)."""
        return self._rows("select * from runs where id = ?", (self._resolve("runs", run_id),))[0]

    def get_experiment(self, experiment_id: str) -> dict:
        """One experiment's row plus ``"runs"``: its runs ordered by ``cell_index``."""
        full_id = self._resolve("experiments", experiment_id)
        experiment = self._rows("select * from experiments where id = ?", (full_id,))[0]
        experiment["runs"] = self._rows(
            "select * from runs where experiment_id = ? order by cell_index, rowid", (full_id,)
        )
        return experiment

    def list_runs(
        self,
        *,
        search: str | None = None,
        model: str | None = None,
        experiment_id: str | None = None,
        status: str | None = None,
        finish_reason: str | None = None,
        temperature: float | None = None,
        limit: int = 50,
    ) -> list[dict]:
        """Runs newest first, filtered; ``search`` matches words in the prompt or output."""
        clauses, params = ["1"], []
        if search and search.split():
            clauses.append("rowid in (select rowid from runs_fts where runs_fts match ?)")
            params.append(fts_query(search))
        filters = {
            "model": model,
            "experiment_id": experiment_id,
            "status": status,
            "finish_reason": finish_reason,
        }
        for column, value in filters.items():
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if temperature is not None:
            clauses.append("abs(temperature - ?) < 1e-9")
            params.append(temperature)
        sql = f"select * from runs where {' and '.join(clauses)} order by created_at desc, rowid desc limit ?"
        return self._rows(sql, [*params, limit])

    def list_experiments(self, *, limit: int = 50, search: str | None = None) -> list[dict]:
        """Experiments newest first with ``run_count``; ``search`` matches the prompt or outputs."""
        where, params = "", []
        if search and search.split():
            where = """where e.rowid in (select rowid from experiments_fts where experiments_fts match ?)
                or e.id in (select experiment_id from runs where rowid in
                    (select rowid from runs_fts where runs_fts match ?))"""
            params = [fts_query(search)] * 2
        sql = f"""select e.*, (select count(*) from runs r where r.experiment_id = e.id) as run_count
            from experiments e {where} order by e.created_at desc, e.rowid desc limit ?"""
        return self._rows(sql, [*params, limit])

    def columns(self, table: str) -> dict[str, str]:
        """A table's columns and their declared types, e.g. ``{"id": "TEXT", "seed": "INTEGER"}``."""
        return {r["name"]: r["type"] for r in self._rows(f"pragma table_info({table})")}

    # -- merging -----------------------------------------------------------

    def merge_rows(self, tables: dict[str, list[dict]]) -> dict[str, MergeOutcome]:
        """Insert rows that carry their own ids, in one transaction (all or nothing).

        ``tables`` maps a table name to complete rows (every column, validated by the
        caller). A row whose id is new is inserted; one whose id exists is never
        overwritten: it counts as ``same`` or, if any column differs, as a conflict.
        """
        outcomes = {}
        with self._write() as db:
            for table, rows in tables.items():
                outcomes[table] = outcome = MergeOutcome()
                existing = _rows_by_id(db, table, [row["id"] for row in rows])
                for row in rows:
                    old = existing.get(row["id"])
                    if old is None:
                        names = ", ".join(row)
                        marks = ", ".join("?" * len(row))
                        db.conn.execute(
                            f"insert into {table} ({names}) values ({marks})", list(row.values())
                        )
                        outcome.added.append(row["id"])
                    elif differing := [c for c in old if old[c] != row.get(c)]:
                        outcome.conflicts[row["id"]] = differing
                    else:
                        outcome.same.append(row["id"])
        return outcomes


def _rows_by_id(db: Database, table: str, ids: list[str], chunk: int = 500) -> dict[str, dict]:
    """The rows of ``table`` whose id is in ``ids``, keyed by id."""
    found = {}
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        sql = f"select * from {table} where id in ({', '.join('?' * len(part))})"
        found.update((row["id"], row) for row in db.query(sql, part))
    return found
