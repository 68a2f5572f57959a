"""Running sweep cells on remote OpenAI-compatible servers (specs: :mod:`yilab.remote.config`).

:class:`RemoteRunner` runs a sweep's cells with the worker's event contract
(:mod:`yilab.events`): one thread per cell, at most ``max_concurrency`` requests per server
at once (the server batches them if it can), each streamed by :mod:`yilab.remote.stream`.
A job's own thread waits for its cells and, on cancel, shuts their sockets, so no cell waits
on a silent server.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from yilab.errors import YilabError
from yilab.events import Finished, GenerationRequest, Job, JobDone, RunResult
from yilab.remote.config import RemoteModel
from yilab.remote.stream import OpenSockets, stream_remote_cell

CANCEL_POLL_S = 0.05


@dataclass(frozen=True)
class RemoteCall:
    """One cell for the runner: where it goes and what it asks."""

    remote: RemoteModel
    request: GenerationRequest


@dataclass
class RemoteJob(Job):
    """A :class:`Job` that also keeps what each cell's server said about itself
    (``server_model``, ``system_fingerprint``), filled in before the cell's ``Started``."""

    backends: dict[int, dict[str, str]] = field(default_factory=dict)


def remote_versions(base: dict[str, str], job: Job, cell: int) -> dict[str, str]:
    """The ``versions`` a remote run is logged with: this side's yilab and Python, the
    backend, and what the server reported about itself (flat strings)."""
    backends = getattr(job, "backends", {})
    return {
        **{k: v for k, v in base.items() if k in ("python", "yilab")},
        "backend": "openai-compatible",
        **backends.get(cell, {}),
    }


class RemoteRunner:
    """Runs remote cells: one thread per cell, at most ``max_concurrency`` at once per
    server (shared by every sweep of this runner)."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def submit(self, calls: Sequence[RemoteCall]) -> RemoteJob:
        """Start the cells now; iterate the returned job for events (``JobDone`` last)."""
        calls = list(calls)
        job = RemoteJob([c.request for c in calls])
        threading.Thread(
            target=self._run_job, args=(job, calls), name="yilab-remote-job", daemon=True
        ).start()
        return job

    def _run_job(self, job: RemoteJob, calls: list[RemoteCall]) -> None:
        """Start a thread per cell, wait for all, shut the sockets on cancel, emit JobDone."""
        sockets = OpenSockets()
        run, name = self._run_cell, "yilab-remote-{}"
        threads = [
            threading.Thread(
                target=run, args=(job, i, c, sockets), name=name.format(i), daemon=True
            )
            for i, c in enumerate(calls)
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(CANCEL_POLL_S)
                    if job.cancelled.is_set():
                        sockets.shutdown_all()
        finally:
            job.emit(JobDone())

    def _run_cell(self, job: RemoteJob, cell: int, call: RemoteCall, sockets: OpenSockets) -> None:
        """Wait for a slot on the server, stream the cell, emit its ``Finished``."""
        slot = self._slot(call.remote)
        if not _acquire(slot, job.cancelled):
            job.emit(Finished(cell, RunResult.cancelled_before_start()))
            return
        try:
            result = stream_remote_cell(job, cell, call.remote, call.request, sockets)
        except YilabError as err:
            result = RunResult.failed(err.message)
        except Exception as err:  # a bug: report it on the run, keep the sweep going
            result = RunResult.failed(f"{type(err).__name__}: {err}")
        finally:
            slot.release()
        job.emit(Finished(cell, result))

    def _slot(self, remote: RemoteModel) -> threading.BoundedSemaphore:
        key = (remote.url, remote.max_concurrency)
        with self._lock:
            if key not in self._slots:
                self._slots[key] = threading.BoundedSemaphore(remote.max_concurrency)
            return self._slots[key]


def _acquire(slot: threading.BoundedSemaphore, cancelled: threading.Event) -> bool:
    """Take a slot, giving up when the job is cancelled meanwhile."""
    while not slot.acquire(timeout=CANCEL_POLL_S):
        if cancelled.is_set():
            return False
    if cancelled.is_set():
        slot.release()
        return False
    return True
