"""Writes one sweep's experiment and runs to the run log, and never loses them.

The logger keeps every row it writes in memory as well. When a write fails (a full
disk, the file deleted or replaced, a lock held past the busy timeout, an I/O error),
it stops using the run log for the rest of the sweep: the experiment and every run
row so far, and each later change, go to the spill file (:mod:`yilab.runlog.spill`) instead,
and the events still reach the reader. At the end of the sweep it tries once to merge
the spill back; otherwise the next open of the run log does. :class:`LogFailure` says
what happened in one sentence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from yilab.errors import SpillError, StoreError
from yilab.events import Event, Finished, RunResult, Started, Token
from yilab.i18n import Message
from yilab.runlog.rows import finish_values, run_row, token_log_row
from yilab.runlog.store import Store

FLUSH_INTERVAL_S = 0.5
# (cell, rendered prompt, stop ids in force) -> the run's settings for yilab.runlog.store.run_row
RunSettings = Callable[[int, "str | None", list[int]], dict[str, Any]]


@dataclass(frozen=True)
class LogFailure:
    """Why a sweep's runs did not all reach the run log, and where they went."""

    db_path: str
    cause: str  # e.g. "is full (database or disk is full)"
    runs: int  # runs of the sweep kept in the spill (or lost, when it failed too)
    spill_path: str | None  # None: the spill could not be written either
    spill_error: str | None = None
    merged: bool = False  # merged back into the run log at the end of the sweep

    @property
    def message(self) -> str:
        """The one sentence the CLI prints and the app shows.

        >>> LogFailure("/x/e.db", "is full (database or disk is full)", 4,
        ...            "/x/e.db.spill.jsonl").message  # doctest: +NORMALIZE_WHITESPACE
        'run log /x/e.db is full (database or disk is full): 4 runs kept in
        /x/e.db.spill.jsonl; they will be merged the next time the log can be written'
        """
        runs = Message("log.run" if self.runs == 1 else "log.runs", n=self.runs)
        where = {"db": self.db_path, "cause": self.cause, "runs": runs}
        if self.spill_path is None:
            return Message("log.lost", **where, error=self.spill_error)
        key = "log.merged" if self.merged else "log.kept"
        return Message(key, **where, spill=self.spill_path)


def describe_cause(err: Exception) -> str:
    """What went wrong with the run log, as the end of "run log X …".

    >>> describe_cause(StoreError("…", reason="database or disk is full"))
    'is full (database or disk is full)'
    >>> describe_cause(StoreError("…", reason="the disk is full (disk I/O error)"))
    'is full (disk I/O error)'
    """
    reason = getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
    if reason.startswith("the disk is full"):
        return Message("log.cause_disk_full", detail=reason.removeprefix("the disk is full"))
    if "full" in reason:
        return Message("log.cause_full", reason=reason)
    if reason == "it was deleted":
        return Message("log.cause_deleted")
    if reason == "it was replaced by another file":
        return Message("log.cause_replaced")
    if reason.startswith("it was "):
        return reason.removeprefix("it ")
    if "does not exist" in reason:
        return Message("log.cause_gone", reason=reason)
    if "locked" in reason or "busy" in reason:
        return Message("log.cause_locked", reason=reason)
    return Message("log.cause_other", reason=reason)


def spill_notice(store: Store) -> str | None:
    """The sentence for runs that wait in the spill because the last merge failed.

    e.g. ``run log /x/e.db is full (…): 4 runs kept in /x/e.db.spill.jsonl; they will be
    merged the next time the log can be written``; None when nothing waits.
    """
    if store.spill is None or store.merge_error is None:
        return None
    pending = store.spill.pending()
    if not pending:
        return None
    runs = store.spill.count_runs()
    where = ", ".join(str(p) for p in pending)
    return LogFailure(store.path, describe_cause(store.merge_error), runs, where).message


class SweepLogger:
    """Logs one sweep: :meth:`start` writes the experiment's row, :meth:`log` each worker
    event in order, :meth:`end` closes. ``rows`` holds each cell's run row as logged."""

    def __init__(self, store: Store, experiment: dict[str, Any], settings: RunSettings) -> None:
        self.store = store
        self.experiment = experiment
        self.settings = settings
        self.rows: dict[int, dict[str, Any]] = {}
        self.texts: dict[int, list[str]] = {}
        self.token_rows: dict[int, dict[str, Any]] = {}  # each finished run's token log
        self.flushed_at: dict[int, float] = {}
        self.failure: LogFailure | None = None
        self._spilled_all = False  # the spill holds every row (else it must be sent again)

    def start(self) -> None:
        """Write the experiment's row (before any run starts)."""
        experiment = self.experiment
        self._write("experiments", experiment, lambda: self.store.insert("experiments", experiment))

    def log(self, event: Event) -> None:
        """Log one worker event."""
        if isinstance(event, Started):
            self._start_run(event.cell, event.rendered_prompt, event.stop_token_ids)
        elif isinstance(event, Token):
            self._token(event)
        elif isinstance(event, Finished):
            self._finish_run(event.cell, event.result)

    def end(self) -> None:
        """Leave the run log's file complete, or try once to merge the spill back."""
        if self.failure is None:
            self.store.checkpoint()
            return
        if self.failure.spill_path is None:
            return
        try:
            self.store.merge_spill()  # which checkpoints what it merged
        except StoreError:
            return
        self.failure = replace(self.failure, merged=True)

    # -- one event each --------------------------------------------------------

    def _start_run(self, cell: int, rendered: str | None, stop_ids: list[int]) -> None:
        settings = self.settings(cell, rendered, stop_ids)
        row = run_row(experiment_id=self.experiment["id"], cell_index=cell, settings=settings)
        self.rows[cell], self.texts[cell] = row, []
        self.flushed_at[cell] = time.monotonic()
        self._write("runs", row, lambda: self.store.insert("runs", row))

    def _token(self, event: Token) -> None:
        """Keep the new text; flush the partial output every :data:`FLUSH_INTERVAL_S`."""
        self.texts[event.cell].append(event.text)
        if time.monotonic() - self.flushed_at[event.cell] < FLUSH_INTERVAL_S:
            return
        row = self.rows[event.cell]
        row["output"] = "".join(self.texts[event.cell])
        row["generation_tokens"] = event.generation_tokens
        self._write(
            "runs",
            row,
            lambda: self.store.update_output(row["id"], row["output"], row["generation_tokens"]),
        )
        self.flushed_at[event.cell] = time.monotonic()

    def _finish_run(self, cell: int, result: RunResult) -> None:
        if cell not in self.rows:  # cancelled or failed before it started
            self._start_run(cell, result.rendered_prompt, result.stop_token_ids)
        row = self.rows[cell]
        values = finish_values(
            status=result.status,
            finish_reason=result.finish_reason,
            output=result.text,
            error=result.error,
            metrics={
                "prompt_tokens": result.prompt_tokens,
                "generation_tokens": result.generation_tokens,
                "ttft_s": result.ttft_s,
                "prompt_tps": result.prompt_tps,
                "generation_tps": result.generation_tps,
                "peak_memory_gb": result.peak_memory_gb,
            },
        )
        row.update(values)
        self._write("runs", row, lambda: self.store.write_finish(row["id"], values))
        if result.token_log is not None:
            tokens = self.token_rows[cell] = token_log_row(row["id"], result.token_log)
            self._write("run_tokens", tokens, lambda: self.store.insert("run_tokens", tokens))

    # -- writes that cannot be lost ------------------------------------------

    def _write(self, table: str, row: dict, write: Callable[[], object]) -> None:
        """Write to the run log while it works; after its first failure, to the spill."""
        if self.failure is None:
            try:
                write()
                return
            except Exception as err:  # any failure of the log: nothing may be lost
                self.failure = LogFailure(self.store.path, describe_cause(err), 0, None)
        self._spill([(table, row)])

    def _spill(self, rows: list[tuple[str, dict]]) -> None:
        """Append ``rows`` to the spill; everything logged so far if the spill lacks it."""
        if not self._spilled_all:
            rows = [
                ("experiments", self.experiment),
                *(("runs", r) for r in self.rows.values()),
                *(("run_tokens", r) for r in self.token_rows.values()),
            ]
        runs = len(self.rows)
        try:
            if self.store.spill is None:
                raise SpillError(Message("log.no_spill"))
            path = self.store.spill.append(rows)
        except SpillError as err:
            self._spilled_all = False
            self.failure = replace(
                self.failure, runs=runs, spill_path=None, spill_error=err.message
            )
            return
        self._spilled_all = True
        self.failure = replace(self.failure, runs=runs, spill_path=str(path), spill_error=None)
