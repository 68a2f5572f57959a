"""The run log: experiments (one per sweep) and runs (one per cell) in SQLite.

Storage lives behind this module; the schema is built and changed only by the
named migrations in ``yilab.runlog.migrations``, applied on every open.

Threads: a sqlite3 connection belongs to the thread that made it. The service
writes from its worker thread while UI threads read, so a ``Store`` keeps one
connection per thread (``threading.local``), each configured the same way:
WAL (readers never wait for the writer), ``busy_timeout`` 5000 ms and
``synchronous=NORMAL``. Every write runs in ``BEGIN IMMEDIATE``, so concurrent
writers (threads or other processes) queue on the busy timeout rather than
failing with "database is locked". ``":memory:"`` is the exception: a private
in-memory db exists on one connection only, so all threads share it behind a lock.

The db file alone is complete: the WAL is checkpointed into it when a sweep ends
(:meth:`Store.checkpoint`) and when the process exits, so copying ``experiments.db``
copies every finished run. A write also checks that the file at ``path`` is still the
one that was opened: SQLite keeps writing happily into a deleted or replaced file,
and those rows would be lost. Runs that cannot be written go to a spill file
(:mod:`yilab.runlog.spill`), merged back by :meth:`Store.merge_spill` on the next open.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from yilab.errors import RunNotFoundError, StoreError
from yilab.i18n import Message
from yilab.runlog.migrations import MIGRATIONS
from yilab.runlog.rows import (
    experiment_row,
    finish_values,
    owner_gone,
    run_row,
    utc_now,
)
from yilab.runlog.search import experiments_conditions, parse_search, runs_conditions
from yilab.runlog.spill import Spill

BUSY_TIMEOUT_MS = 5000
SPILLED_TABLES = ("experiments", "runs", "run_tokens")  # in the order they are merged
MIN_PREFIX = 6


@dataclass
class MergeOutcome:
    """What :meth:`Store.merge_rows` did with one table's rows: ids added, ids already
    present and equal, and ids present with other content (id → the columns that differ)."""

    added: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    conflicts: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SpillMerge:
    """Runs recovered from one spill file into the run log."""

    path: str
    runs: int
    damaged_lines: int = 0
    at: float = field(default_factory=time.time)  # when it was merged

    def message(self, db_path: str) -> str:
        """e.g. ``recovered 4 runs from /x/e.db.spill.jsonl into /x/e.db``."""
        runs = Message("log.run" if self.runs == 1 else "log.runs", n=self.runs)
        damaged = Message("log.damaged", n=self.damaged_lines) if self.damaged_lines else ""
        return Message("log.recovered", runs=runs, path=self.path, db=db_path, damaged=damaged)


class Store:
    """The run log at ``path`` (a file, or ``":memory:"`` for tests); see the module doc."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int | None = None) -> None:
        """Open (creating if needed) the db, apply pending migrations, merge any spill
        left by a failed write, mark orphaned runs. ``busy_timeout_ms``: how long a write
        waits for another writer's lock (default :data:`BUSY_TIMEOUT_MS`)."""
        self.path = str(path)
        self.busy_timeout_ms = BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms
        self._memory = self.path == ":memory:"
        self.spill = None if self._memory else Spill(self.path)
        self.merged: list[SpillMerge] = []  # spills merged by this store, oldest first
        self.merge_error: StoreError | None = None  # why the last merge failed, if it did
        self._local = threading.local()
        self._lock = threading.RLock()  # guards the one shared ":memory:" connection
        self._all: weakref.WeakSet[Database] = weakref.WeakSet()
        self._shared = self._connect() if self._memory else None
        self._open()
        if self.spill is not None and self.spill.pending():
            try:
                self.merge_spill()
            except StoreError as err:  # still not writable: the spill waits for a later try
                self.merge_error = err
        self.mark_interrupted()
        _OPEN_STORES.add(self)

    def _open(self) -> None:
        """Apply pending migrations and remember which file ``path`` is."""
        with self._use() as db:
            pending = MIGRATIONS.pending(db)
        if pending:
            with self._write(check_file=False) as db:  # racing openers apply them once
                MIGRATIONS.apply(db)
        self._identity = None if self._memory else _file_identity(self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Checkpoint, then close every connection this store opened (call when no thread
        is using it)."""
        self.checkpoint()
        for db in list(self._all):
            db.close()
        self._all = weakref.WeakSet()
        self._local = threading.local()
        _OPEN_STORES.discard(self)

    # -- connections -------------------------------------------------------

    def _error(self, err: sqlite3.Error) -> StoreError:
        """A StoreError that says what is wrong with the db at ``self.path``."""
        folder = Path(self.path).parent
        if not self._memory and not folder.is_dir():
            hint = Message("store.folder_missing", folder=folder)
        elif not self._memory and "full" not in str(err) and _disk_full(folder):
            # SQLite may say "disk I/O error" instead
            hint = Message("store.disk_full", error=str(err))
        elif "not a database" in str(err):
            hint = Message("store.not_sqlite")
        else:
            hint = str(err)  # SQLite's own English
        return StoreError(Message("store.cannot_use", path=self.path, reason=hint), reason=hint)

    def _connect(self) -> Database:
        """A new connection configured for concurrent use (WAL, busy timeout)."""
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,  # no implicit BEGIN: writes say BEGIN IMMEDIATE
                check_same_thread=False,  # used by one thread, but close() may run elsewhere
            )
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
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
    def _write(self, *, check_file: bool = True) -> Iterator[Database]:
        """A write transaction that takes the write lock up front (waits, never fails fast)."""
        with self._use() as db:
            if check_file:
                self._check_file()
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise
            db.conn.execute("COMMIT")

    def _check_file(self) -> None:
        """Refuse to write into a file that was deleted or replaced since it was opened:
        SQLite would write into the old file without a word, and the rows would be lost."""
        if self._memory:
            return
        now = _file_identity(self.path)
        if now == self._identity:
            return
        folder = Path(self.path).parent
        if not folder.is_dir():
            reason = Message("store.folder_missing", folder=folder)
        else:
            reason = Message("store.deleted" if now is None else "store.replaced")
        raise StoreError(Message("store.cannot_use", path=self.path, reason=reason), reason)

    def reopen(self) -> None:
        """Start over on the file now at ``path`` (the old one was deleted or replaced):
        new connections, migrations applied. :class:`StoreError` if it cannot be opened."""
        if self._memory:
            return
        self.close()
        self._open()
        _OPEN_STORES.add(self)

    def checkpoint(self) -> bool:
        """Copy the WAL into the db file, so the file alone holds every committed row.
        Best effort (a reader may hold it back, the disk may be full): returns success."""
        if self._memory or _file_identity(self.path) != getattr(self, "_identity", None):
            return False
        try:
            with self._use() as db:
                busy, _, _ = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except (StoreError, sqlite3.Error):
            return False
        return busy == 0

    # -- the spill ---------------------------------------------------------

    def merge_spill(self) -> list[SpillMerge]:
        """Merge the rows that writes left in spill files, each file in one transaction
        (same ids: idempotent, nothing duplicated), and remove the files merged.

        A deleted or replaced db file is reopened first. :class:`StoreError` when the
        log still cannot be written; the spill is then kept.
        """
        if self.spill is None:
            return []
        if _file_identity(self.path) != self._identity:
            self.reopen()
        merged = []
        for path in self.spill.pending():
            try:
                with self.spill.taken(path) as (rows, damaged):
                    runs = self._merge_spilled(rows)
            except FileNotFoundError:
                continue  # another process merged it meanwhile
            except StoreError as err:
                self.merge_error = err
                raise
            merged.append(SpillMerge(str(path), runs, damaged))
        self.merge_error = None
        self.merged.extend(merged)
        if merged:
            self.checkpoint()
        return merged

    def _merge_spilled(self, rows: list[tuple[str, dict]]) -> int:
        """Upsert spilled rows (the last copy of each id wins); returns the runs merged."""
        latest: dict[tuple[str, str], dict] = {}
        for table, row in rows:
            latest[(table, row["id"])] = row
        with self._write() as db:
            columns = {t: {c.name for c in db.table(t).columns} for t in SPILLED_TABLES}
            order = {t: n for n, t in enumerate(SPILLED_TABLES)}  # a run's row before its tokens
            for (table, _), row in sorted(latest.items(), key=lambda kv: order[kv[0][0]]):
                row = {k: v for k, v in row.items() if k in columns[table]}
                names, marks = ", ".join(row), ", ".join("?" * len(row))
                updates = ", ".join(f"{c} = excluded.{c}" for c in row if c != "id")
                db.conn.execute(
                    f"insert into {table} ({names}) values ({marks}) "
                    f"on conflict(id) do update set {updates}",
                    list(row.values()),
                )
        return sum(1 for table, _ in latest if table == "runs")

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
                Message("store.id_too_short", kind=_kind(kind), ident=repr(ident), n=MIN_PREFIX)
            )
        sql = f"select id from {table} where id >= ? and id < ? order by id limit 2"
        ids = [r["id"] for r in self._rows(sql, (ident, ident + "\U0010ffff"))]
        if ident in ids:
            return ident
        if not ids:
            said = Message("store.not_found", kind=_kind(kind), ident=repr(ident), path=self.path)
            raise RunNotFoundError(said)
        if len(ids) > 1:
            raise RunNotFoundError(
                Message("store.ambiguous", kind=_kind(kind), ident=repr(ident), table=_kind(table))
            )
        return ids[0]

    def _update_run(self, run_id: str, values: dict[str, Any], where: str = "") -> int:
        """Set ``values`` on one run; returns how many rows changed (0 or 1)."""
        assignments = ", ".join(f"{column} = ?" for column in values)
        sql = f"update runs set {assignments} where id = ?{where}"
        with self._write() as db:
            return db.conn.execute(sql, [*values.values(), run_id]).rowcount

    # -- writing -----------------------------------------------------------

    def create_experiment(self, **fields: Any) -> str:
        """Log a sweep before its runs start (fields as :func:`experiment_row`); its new uuid."""
        row = experiment_row(**fields)
        self.insert("experiments", row)
        return row["id"]

    def start_run(self, *, experiment_id: str, cell_index: int, settings: dict) -> str:
        """Log one cell as ``running``, owned by this process (see :func:`run_row`); its uuid."""
        row = run_row(experiment_id=experiment_id, cell_index=cell_index, settings=settings)
        self.insert("runs", row)
        return row["id"]

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Insert one complete row built by :func:`experiment_row` or :func:`run_row`."""
        with self._write() as db:
            db.table(table).insert(row)

    def update_output(self, run_id: str, output: str, generation_tokens: int) -> None:
        """Save partial output while a run streams (ignored once the run has finished)."""
        values = {"output": output, "generation_tokens": generation_tokens}
        self._update_run(run_id, values, where=" and status = 'running'")

    def finish_run(self, run_id: str, **fields: Any) -> None:
        """Record how a run ended (fields as :func:`finish_values`)."""
        self.write_finish(run_id, finish_values(**fields))

    def write_finish(self, run_id: str, values: dict[str, Any]) -> None:
        """Set the columns :func:`finish_values` made on a run that must exist."""
        if not self._update_run(run_id, values):
            said = Message("store.not_found", kind=_kind("run"), ident=repr(run_id), path=self.path)
            raise RunNotFoundError(said)

    def mark_interrupted(self) -> int:
        """Mark ``running`` runs whose process on this host has ended as ``interrupted``.

        Runs of a live process, or of another host, are never touched. Returns the count.
        """
        running = self._rows(
            "select id, owner_host, owner_pid, owner_started from runs where status = 'running'"
        )
        host = socket.gethostname()
        gone = [run["id"] for run in running if owner_gone(run, host)]
        values = {"status": "interrupted", "finish_reason": "interrupted", "finished_at": utc_now()}
        return sum(self._update_run(i, values, where=" and status = 'running'") for i in gone)

    def set_star(self, run_id: str, starred: bool) -> None:
        """Star or unstar a run (id or unique prefix)."""
        self._update_run(self._resolve("runs", run_id), {"starred": int(starred)})

    def set_note(self, run_id: str, note: str) -> None:
        """Set a run's free-text note (id or unique prefix)."""
        self._update_run(self._resolve("runs", run_id), {"note": note})

    def set_checks(self, experiment_id: str, checks: list[dict]) -> None:
        """Replace an experiment's checks (``checks_json``); its runs are not touched."""
        full_id = self._resolve("experiments", experiment_id)
        with self._write() as db:
            db.execute(
                "update experiments set checks_json = ? where id = ?",
                (json.dumps(checks, ensure_ascii=False), full_id),
            )

    # -- reading -----------------------------------------------------------

    def get_run(self, run_id: str) -> dict:
        """One run's row, by id or unique prefix (>= 6 characters)."""
        return self._rows("select * from runs where id = ?", (self._resolve("runs", run_id),))[0]

    def get_token_logs(self, run_ids: list[str]) -> dict[str, bytes]:
        """The stored token logs (``run_tokens.data``) of those runs that have one."""
        return {i: row["data"] for i, row in self.get_token_rows(run_ids).items()}

    def get_token_rows(self, run_ids: list[str]) -> dict[str, dict]:
        """The ``run_tokens`` rows of those runs that have one, by run id, in the order
        of ``run_ids``."""
        with self._use() as db:
            found = _rows_by_id(db, "run_tokens", run_ids)
        return {i: found[i] for i in dict.fromkeys(run_ids) if i in found}

    def branches_of(self, run_id: str) -> list[dict]:
        """The runs branched from ``run_id``, oldest first."""
        return self._rows(
            "select * from runs where branch_of = ? order by created_at, rowid", (run_id,)
        )

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
        variable: tuple[str, str] | None = None,
        limit: int = 50,
    ) -> list[dict]:
        """Runs newest first, filtered; ``search`` finds text in the prompt or output (see
        :mod:`yilab.runlog.search`), ``variable`` (name, value) the runs whose input row gave
        that variable that value."""
        clauses, params = ["1"], []
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
        if variable is not None:
            clauses.append("vars_json is not null and json_extract(vars_json, ?) = ?")
            params += ['$."' + variable[0].replace('"', "") + '"', variable[1]]
        with self._use() as db:
            if (query := parse_search(search)) is not None:
                found = runs_conditions(db, query, limit=limit)
                clauses, params = [*clauses, *found.clauses], [*params, *found.params]
            sql = (
                f"select * from runs where {' and '.join(clauses)} "
                "order by created_at desc, rowid desc limit ?"
            )
            return list(db.query(sql, [*params, limit]))

    def list_experiments(self, *, limit: int = 50, search: str | None = None) -> list[dict]:
        """Experiments newest first with ``run_count``; ``search`` finds text in the prompt
        or in one of its runs (see :mod:`yilab.runlog.search`)."""
        with self._use() as db:
            where, params = "", []
            if (query := parse_search(search)) is not None:
                found = experiments_conditions(db, query, limit=limit)
                where, params = f"where {found.clauses[0]}", found.params
            sql = f"""select e.*, (select count(*) from runs r where r.experiment_id = e.id)
                as run_count from experiments e {where}
                order by e.created_at desc, e.rowid desc limit ?"""
            return list(db.query(sql, [*params, limit]))

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
        self.checkpoint()  # an import is shared as the db file alone, too
        return outcomes


def _rows_by_id(db: Database, table: str, ids: list[str], chunk: int = 500) -> dict[str, dict]:
    """The rows of ``table`` whose id is in ``ids``, keyed by id."""
    found = {}
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        sql = f"select * from {table} where id in ({', '.join('?' * len(part))})"
        found.update((row["id"], row) for row in db.query(sql, part))
    return found


def _disk_full(folder: Path) -> bool:
    """Whether the filesystem holding ``folder`` has no room left for a few SQLite pages."""
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


def _file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, or None if there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


_OPEN_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


@atexit.register
def _checkpoint_open_stores() -> None:
    """On exit, leave each run log's file complete (its WAL copied in)."""
    for store in list(_OPEN_STORES):
        store.checkpoint()


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM (``kill``, a service manager stopping the app) a normal exit, so the
    exit checkpoint runs; by default it ends the process on the spot. For entry points
    (the app, the CLI), from the main thread; a handler someone else set is kept."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def _kind(name: str) -> str:
    """``run``, ``experiments``…: a table's word in the reader's language."""
    return Message(f"store.{name}")
