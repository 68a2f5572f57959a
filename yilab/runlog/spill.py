"""Where runs go when the run log cannot be written: a JSON-lines spill file beside it.

Each line is one row as the run log would hold it, ``{"db": …, "table": "runs", "row":
{…}}``; a later line for the same id supersedes an earlier one. Lines are appended
under an exclusive ``flock`` and ``fsync``-ed, so a crash right after loses nothing
and several processes can spill into one file. The run log merges a spill the next
time it is opened and can be written (:meth:`yilab.runlog.store.Store.merge_spill`), then
removes it.

The first place tried is ``<db>.spill.jsonl`` next to the run log; when that folder
is gone or cannot be written (a full disk), ``$YILAB_HOME/spill/<db name>-<hash>.spill.jsonl``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from yilab.errors import SpillError
from yilab.files import yilab_home
from yilab.i18n import Message

SUFFIX = ".spill.jsonl"
TABLES = ("experiments", "runs", "run_tokens")

try:
    import fcntl
except ImportError:  # Windows: threads of one process still take turns
    fcntl = None


def spill_paths(db_path: str | Path) -> list[Path]:
    """The spill files of a run log, in the order they are tried.

    >>> [p.name for p in spill_paths("/data/e.db")][0]
    'e.db.spill.jsonl'
    """
    db = Path(os.path.abspath(db_path))
    digest = hashlib.sha256(str(db).encode()).hexdigest()[:12]
    return [db.with_name(db.name + SUFFIX), yilab_home() / "spill" / f"{db.name}-{digest}{SUFFIX}"]


class Spill:
    """The spill files of the run log at ``db_path``: append rows, read and clear them."""

    _lock = threading.Lock()  # flock is per open file; threads of one process queue here too

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = os.path.abspath(db_path)
        self.paths = spill_paths(db_path)

    def append(self, rows: list[tuple[str, dict]]) -> Path:
        """Append ``(table, row)`` pairs, durably, to the first spill file that takes them;
        returns its path. :class:`SpillError` when no place can be written."""
        data = "".join(
            json.dumps(
                {"db": self.db_path, "table": t, "row": r}, ensure_ascii=False, default=_bytes
            )
            + "\n"
            for t, r in rows
        ).encode()
        failures = []
        for path in self.paths:
            try:
                if path != self.paths[0]:  # the run log's own folder is never made again
                    path.parent.mkdir(parents=True, exist_ok=True)
                with self._locked(path, "ab") as f:
                    _append(f, path, data)
                return path
            except OSError as err:
                failures.append(f"{path}: {err.strerror or err}")
        raise SpillError(Message("log.spill_failed", failures="; ".join(failures)))

    def pending(self) -> list[Path]:
        """The spill files that hold rows."""
        return [p for p in self.paths if p.is_file() and p.stat().st_size > 0]

    def count_runs(self) -> int:
        """How many distinct runs the spill files hold."""
        ids = set()
        for path in self.pending():
            with suppress(OSError):
                rows, _ = parse_lines(path.read_bytes())
                ids.update(row["id"] for table, row in rows if table == "runs")
        return len(ids)

    @contextmanager
    def taken(self, path: Path) -> Iterator[tuple[list[tuple[str, dict]], int]]:
        """The rows of one spill file and its count of damaged lines, locked against
        appenders; the file is removed when the block ends without an exception (the rows
        were merged), kept otherwise."""
        with self._locked(path, "rb+") as f:
            yield parse_lines(f.read())
            f.truncate(0)
            os.fsync(f.fileno())
            path.unlink()

    @contextmanager
    def _locked(self, path: Path, mode: str):
        """``path`` opened and exclusively locked, reopened if a merger removed it meanwhile."""
        with self._lock:
            while True:
                f = open(path, mode)  # noqa: SIM115 - closed below, after the lock
                try:
                    if fcntl is not None:
                        fcntl.flock(f, fcntl.LOCK_EX)
                    if _same_file(f, path):
                        yield f
                        return
                finally:
                    f.close()


def parse_lines(data: bytes) -> tuple[list[tuple[str, dict]], int]:
    """``(table, row)`` pairs from a spill file's bytes, and how many lines were damaged
    (torn by a crash mid-write) and skipped.

    >>> parse_lines(b'{"table": "runs", "row": {"id": "r1"}}\\n{"tab')
    ([('runs', {'id': 'r1'})], 1)
    """
    rows, damaged = [], 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_hook=_unbytes)
            table, row = record["table"], record["row"]
            if table not in TABLES or not isinstance(row, dict) or "id" not in row:
                raise ValueError("not a spilled row")
        except (ValueError, KeyError, TypeError):
            damaged += 1
            continue
        rows.append((table, row))
    return rows, damaged


def _bytes(value):
    """JSON for a blob (a run's token log): ``{"$base64": …}``."""
    if isinstance(value, bytes):
        return {"$base64": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _unbytes(obj: dict):
    if len(obj) == 1 and "$base64" in obj:
        return base64.b64decode(obj["$base64"], validate=True)
    return obj


def _append(f, path: Path, data: bytes) -> None:
    """Append ``data`` on a line of its own (after a line torn by a crash, too) and sync;
    on failure, cut the file back to where it was (and remove it if it was new)."""
    size = f.seek(0, os.SEEK_END)
    if size > 0:
        with open(path, "rb") as tail:
            tail.seek(-1, os.SEEK_END)
            if tail.read(1) != b"\n":
                data = b"\n" + data
    try:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    except OSError:
        with suppress(OSError):
            f.truncate(size)
            if size == 0:
                path.unlink()
        raise


def _same_file(f, path: Path) -> bool:
    """Whether the open file ``f`` is still the file at ``path`` (not removed meanwhile)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(f.fileno())
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)
