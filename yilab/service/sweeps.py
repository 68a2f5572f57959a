"""A running sweep, and what its runs are logged with: the settings of each cell, the
versions, the request each cell sends to its backend, and the one-cell sweep that replays a run.
"""

from __future__ import annotations

import json
import platform
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version

from yilab import __version__
from yilab.errors import BadInputError
from yilab.events import Event, Finished, GenerationRequest, Job, JobDone, until_done
from yilab.experiment.sweep import (
    DEFAULT_ENGINE,
    ENGINES,
    OLD_NUMERICS,
    PLAIN,
    ROW_INVARIANT_NUMERICS,
    CellSettings,
    SweepSpec,
)
from yilab.experiment.token_log import DEFAULT_TOP_K, TokenLog
from yilab.files import model_fingerprint
from yilab.generation.fastpath import blas_in_use
from yilab.generation.mlx_thread import compute_device
from yilab.i18n import Message
from yilab.models.resolve import ResolvedModel
from yilab.remote.config import RemoteModel
from yilab.remote.runner import remote_versions
from yilab.runlog.sweep_logger import LogFailure, SweepLogger


def collect_versions() -> dict[str, str]:
    """The versions a run is logged with."""
    found = {"python": platform.python_version(), "yilab": __version__, "blas": blas_in_use()}
    for package in ("mlx", "mlx-lm"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "unknown"
    return found


@dataclass
class Sweep:
    """A running sweep. Iterate :meth:`events` once; ``run_ids`` fills in as cells start."""

    experiment_id: str
    cells: list[CellSettings]
    job: Job
    log: SweepLogger
    engine: str = "single"
    given: TokenLog | None = None  # a branch: the steps it was given, before those it draws
    spec: SweepSpec | None = None  # what was asked: its inputs and checks label the grid
    _events: queue.Queue = field(default_factory=queue.Queue)
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def run_ids(self) -> dict[int, str]:
        """Cell index → run id, for the cells that have started."""
        return {cell: row["id"] for cell, row in self.log.rows.items()}

    @property
    def log_failure(self) -> LogFailure | None:
        """Why this sweep's runs are not (all) in the run log, or None when they are."""
        return self.log.failure

    @property
    def in_run_log(self) -> bool:
        """Whether every run reached the run log (at once, or merged back at the end)."""
        return self.log.failure is None or self.log.failure.merged

    def runs(self) -> list[dict]:
        """The runs as logged (or spilled), in grid order: complete once :meth:`wait` returns."""
        return [self.log.rows[cell] for cell in sorted(self.log.rows)]

    def cancel(self) -> None:
        """Stop at the next token; cells not started are logged as cancelled."""
        self.job.cancel()

    def events(self) -> Iterator[Event]:
        """Worker events, after they are logged, up to and including ``JobDone``."""
        return until_done(self._events)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every cell is logged."""
        return self._done.wait(timeout)

    def follow(self) -> None:
        """Log the job's events and pass them on (the ``yilab-log-*`` thread's body)."""
        ended = False
        try:
            for event in self.job:
                if isinstance(event, JobDone):  # log_failure is final once JobDone is read
                    self.log.end()
                    ended = True
                else:
                    event = self._with_given(event)
                    self.log.log(event)
                self._events.put(event)
        finally:
            if not ended:
                self.log.end()
            self._done.set()

    def _with_given(self, event: Event) -> Event:
        """A branch's finished run: its token log starts with the steps it was given."""
        if self.given is None or not isinstance(event, Finished):
            return event
        log = event.result.token_log
        if log is None:
            return event
        given_text = event.result.text[: len(event.result.text) - len(log.text)]
        given = self.given.with_text(given_text)
        return Finished(event.cell, replace(event.result, token_log=given.followed_by(log)))


def check_backends(models: dict) -> bool:
    """Whether a sweep's models are remote; a mix of local and remote is refused, and a
    remote model's API key must be in its environment variable before anything is logged."""
    remote = [m for m in models.values() if isinstance(m, RemoteModel)]
    if remote and len(remote) != len(models):
        names = ", ".join(m.name for m in models.values())
        raise BadInputError(Message("remote.mixed", names=names))
    for model in remote:
        model.api_key()
    return bool(remote)


def run_numerics(run: dict) -> str:
    """The numerics a logged run was made with (runs from before they were recorded: plain)."""
    return json.loads(run.get("versions_json") or "{}").get("numerics") or OLD_NUMERICS


def replay_spec(run: dict, experiment: dict) -> SweepSpec:
    """The one-cell sweep that reproduces ``run`` (with its input row's values, when the
    experiment had inputs: the same prompt template, filled the same way)."""
    sweep = json.loads(experiment.get("sweep_json") or "{}")
    values = json.loads(run["vars_json"]) if run.get("vars_json") else None
    remote = run.get("engine_mode") == "remote"  # model_path holds its URL, model its spec
    messages = json.loads(run["messages_json"]) if run.get("messages_json") else None
    system = next((m["content"] for m in messages or [] if m["role"] == "system"), None)
    user = next((m["content"] for m in messages or [] if m["role"] == "user"), None)
    if values is not None and "prompt" in sweep:  # the template, filled with the run's row
        user, system = sweep["prompt"], sweep.get("system")
    return SweepSpec(
        prompt=user if messages else run["rendered_prompt"],
        system=system,
        raw=messages is None,
        models=(run["model"] if remote else run.get("model_path") or run["model"],),
        temperatures=(run["temperature"],),
        seeds=(run["seed"],),
        top_ps=(run["top_p"] if run.get("top_p") is not None else 1.0,),
        max_tokens=(run["max_tokens"],),
        top_k=run.get("top_k") or 0,
        min_p=run.get("min_p") or 0.0,
        repetition_penalty=run.get("repetition_penalty"),
        extra_eos_ids=tuple(sweep.get("extra_eos_ids") or ()),
        engine=run["engine_mode"] if run.get("engine_mode") in ENGINES else DEFAULT_ENGINE,
        numerics=run_numerics(run),
        top_logprobs=sweep.get("top_logprobs", DEFAULT_TOP_K),
        branch_of=sweep.get("branch_of"),
        prefix_ids=tuple(sweep.get("prefix_ids") or ()),
        inputs=(values,) if values is not None else (),
    )


def request_for(
    spec: SweepSpec,
    cell: CellSettings,
    model: ResolvedModel | RemoteModel,
    watch_ids: tuple[int, ...] = (),
) -> GenerationRequest:
    return GenerationRequest(
        model_path=str(model.path),
        messages=spec.messages(cell.input_index),
        prompt=spec.prompt_text(cell.input_index) if spec.raw else None,
        temperature=cell.temperature,
        seed=cell.seed,
        top_p=cell.top_p,
        top_k=cell.top_k,
        min_p=cell.min_p,
        repetition_penalty=cell.repetition_penalty,
        max_tokens=cell.max_tokens,
        extra_eos_ids=cell.extra_eos_ids,
        engine=spec.engine,
        numerics=spec.numerics,
        top_logprobs=spec.top_logprobs,
        watch_ids=watch_ids,
        prefix_ids=spec.prefix_ids,
    )


class RunSettings:
    """A sweep's run settings for :func:`yilab.runlog.store.run_row`, cell by cell."""

    def __init__(self, spec: SweepSpec, cells: list[CellSettings], models: dict, versions: dict):
        self.spec, self.cells, self.models, self.versions = spec, cells, models, versions
        if not all(isinstance(m, RemoteModel) for m in models.values()):  # MLX runs: which
            self.versions = {**versions, "numerics": self._numerics()}  # numerics they get
        self.job: Job | None = None  # set once submitted: a remote run's versions come from it
        # hashed once per sweep, not once per cell: the files are read in full
        self.fingerprints = {
            name: None if isinstance(model, RemoteModel) else model_fingerprint(model.path)
            for name, model in models.items()
        }

    def __call__(self, cell: int, rendered: str | None, stop_ids: list[int]) -> dict:
        settings = self.cells[cell]
        model = self.models[settings.model]
        remote = isinstance(model, RemoteModel)
        versions = remote_versions(self.versions, self.job, cell) if remote else None
        return {
            "model": model.name,
            "model_path": str(model.path),
            "model_fingerprint": self.fingerprints[settings.model],
            "messages": self.spec.messages(settings.input_index),
            "vars": self.spec.variables(settings.input_index),
            "input_index": settings.input_index,
            "rendered_prompt": rendered,
            "temperature": settings.temperature,
            "seed": settings.seed,
            "top_p": settings.top_p,
            "top_k": settings.top_k,
            "min_p": settings.min_p,
            "repetition_penalty": settings.repetition_penalty,
            "max_tokens": settings.max_tokens,
            "stop_token_ids": stop_ids,
            "versions": versions or self.versions,
            "engine_mode": "remote" if remote else self.spec.engine,
            "branch_of": self.spec.branch_of,
            "branch_at": self.spec.branch_at,
        }

    def _numerics(self) -> str:
        """What the runs get, as logged: row-invariance is only claimed where it was
        measured, the CPU (:mod:`yilab.generation.invariance`)."""
        asked = self.spec.numerics
        if asked in ROW_INVARIANT_NUMERICS and compute_device() == "cpu":
            return asked
        return PLAIN
