"""What the UI, the CLI and the tests call: start a sweep, stream its events, log every run.

A sweep's runs are logged by a thread of their own (``yilab-log-<id>``) that reads
the worker's events, writes the store (:mod:`yilab.runlog.sweep_logger`) and passes the
events on. Logging so does not depend on anyone reading: a closed browser tab or an
abandoned iterator still leaves every run in the db, partial output is flushed every
:data:`FLUSH_INTERVAL_S` so a crash leaves a trace, and a run log that cannot be
written sends the runs to its spill file (``sweep.log_failure`` says so).
"""

from __future__ import annotations

import json
import platform
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from yilab import __version__
from yilab.errors import BadInputError, StoreError
from yilab.events import Event, GenerationRequest, Job, JobDone, until_done
from yilab.files import default_db_path, model_fingerprint
from yilab.generation.fastpath import blas_in_use
from yilab.generation.worker import GenerationWorker
from yilab.inspector.diagnose import InspectionReport, InspectorError, inspect_model
from yilab.inspector.token_view import TokenView, tokenize_chat
from yilab.models.resolve import ResolvedModel, resolve_model
from yilab.remote.config import RemoteModel, find_remote, not_visible_message
from yilab.remote.runner import RemoteCall, RemoteRunner, remote_versions
from yilab.runlog.store import SpillMerge, Store, experiment_row
from yilab.runlog.sweep_logger import FLUSH_INTERVAL_S, LogFailure, SweepLogger, spill_notice
from yilab.sweep import CellSettings, SweepSpec, expand_sweep

__all__ = ["FLUSH_INTERVAL_S", "Replay", "Service", "Sweep"]
RECOVERED_NOTICE_S = 600  # how long History says that runs were recovered from a spill
Progress = Callable[[float, str], None]


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
                    self.log.log(event)
                self._events.put(event)
        finally:
            if not ended:
                self.log.end()
            self._done.set()


@dataclass(frozen=True)
class Replay:
    original: dict
    new: dict
    identical: bool
    same_prompt: bool


class Service:
    """Owns the run log, the generation worker and the runner for remote models.

    Reads (listing, search, one run, star, note) go straight to ``service.store``;
    the methods here are the operations with logic of their own.
    """

    def __init__(
        self,
        db_path: str | Path | None = None,
        *,
        worker: GenerationWorker | None = None,
        remote: RemoteRunner | None = None,
    ):
        self.db_path = Path(db_path) if db_path else default_db_path()
        self.store = Store(self.db_path)
        self.worker = worker or GenerationWorker()
        self.remote = remote or RemoteRunner()
        self.versions = collect_versions()

    def close(self) -> None:
        self.worker.close()

    def resolve(
        self, spec: str | None, progress: Progress | None = None
    ) -> ResolvedModel | RemoteModel:
        """A local model directory (converted or downloaded once), or a remote model
        (``openai+http://host:port/v1#name`` or a name from remotes.json)."""
        remote = find_remote(spec)
        if remote is not None:
            return remote
        return resolve_model(spec or None, progress=progress)

    def start_sweep(
        self, spec: SweepSpec, *, progress: Progress | None = None, note: str | None = None
    ) -> Sweep:
        """Validate, resolve the models, log the experiment and start generating."""
        cells = expand_sweep(spec)
        models = {name: self.resolve(name, progress) for name in dict.fromkeys(spec.models)}
        remote = check_backends(models)
        self.recover()
        experiment = experiment_row(
            model=", ".join(m.name for m in models.values()),
            prompt=spec.prompt,
            sweep=spec.to_dict(),
            system_prompt=spec.system,
            mode="raw" if spec.raw else "chat",
            note=note,
        )
        settings = _RunSettings(spec, cells, models, self.versions)
        log = SweepLogger(self.store, experiment, settings)
        log.start()
        requests = [_request(spec, cell, models[cell.model]) for cell in cells]
        if remote:
            calls = [RemoteCall(models[c.model], r) for c, r in zip(cells, requests, strict=True)]
            job, engine = self.remote.submit(calls), "remote"
        else:
            job, engine = self.worker.submit(requests), spec.engine
        settings.job = job
        sweep = Sweep(experiment["id"], cells, job, log, engine=engine)
        threading.Thread(
            target=sweep.follow, name=f"yilab-log-{sweep.experiment_id[:8]}", daemon=True
        ).start()
        return sweep

    def recover(self) -> list[SpillMerge]:
        """Merge runs that earlier failed writes left in the spill, if the run log can
        take them now; returns what was merged (nothing, while it still cannot)."""
        if self.store.spill is None or not self.store.spill.pending():
            return []
        with suppress(StoreError):
            return self.store.merge_spill()
        return []

    def log_notice(self) -> tuple[str, str] | None:
        """What the run log needs to say, after trying to merge a waiting spill:
        ``("warning", sentence)`` while runs wait in a spill, ``("info", sentence)`` for
        a merge in the last :data:`RECOVERED_NOTICE_S`, else None."""
        self.recover()
        waiting = spill_notice(self.store)
        if waiting:
            return "warning", waiting
        recent = [m for m in self.store.merged if time.time() - m.at < RECOVERED_NOTICE_S]
        if recent:
            return "info", "; ".join(m.message(self.store.path) for m in recent)
        return None

    def run_sweep(self, spec: SweepSpec, **kwargs) -> tuple[Sweep, list[dict]]:
        """Start a sweep, wait for it, and return it with its logged runs in grid order."""
        sweep = self.start_sweep(spec, **kwargs)
        for _ in sweep.events():
            pass
        sweep.wait()
        if sweep.log_failure is None or sweep.log_failure.merged:
            return sweep, self.store.get_experiment(sweep.experiment_id)["runs"]
        return sweep, sweep.runs()

    def rerun(self, experiment_id: str, *, progress: Progress | None = None) -> Sweep:
        """Start the same sweep again (same spec, same seeds) as a new experiment."""
        experiment = self.store.get_experiment(experiment_id)
        spec = SweepSpec.from_dict(json.loads(experiment["sweep_json"]))
        return self.start_sweep(spec, progress=progress, note=f"re-run of {experiment['id']}")

    def inspect(self, spec: str | None, progress: Progress | None = None) -> InspectionReport:
        """The tokenizer inspector's report on a model spec (resolved, converted if needed);
        a remote model's files are not visible: :class:`InspectorError` says so."""
        model = self.resolve(spec, progress)
        if isinstance(model, RemoteModel):
            raise InspectorError(not_visible_message(model))
        return inspect_model(model.path)

    def preview(self, spec: str | None, messages: list[dict]) -> TokenView:
        """The chat prompt as the model will read it, tokenized (with double-bos warnings)."""
        model = self.resolve(spec)
        if isinstance(model, RemoteModel):
            raise BadInputError(f"{model.name}: the server applies the chat template, so the "
                                "prompt it reads is not visible here")  # fmt: skip
        return tokenize_chat(model.path, messages)

    def replay(self, run_id: str, *, progress: Progress | None = None) -> Replay:
        """Run a logged run again with the same model, prompt, settings and seed."""
        original = self.store.get_run(run_id)
        experiment = self.store.get_experiment(original["experiment_id"])
        note = f"replay of run {original['id']}"
        if original.get("engine_mode") == "batch":  # a batched row depends on its batch
            spec = SweepSpec.from_dict(json.loads(experiment["sweep_json"]))
            _, runs = self.run_sweep(spec, progress=progress, note=note)
            new = runs[original["cell_index"]]
        else:
            _, runs = self.run_sweep(
                replay_spec(original, experiment), progress=progress, note=note
            )
            new = runs[0]
        identical = all(new[k] == original[k] for k in ("output", "finish_reason"))
        same_prompt = new["rendered_prompt"] == original["rendered_prompt"]
        return Replay(original, new, identical, same_prompt)


def check_backends(models: dict) -> bool:
    """Whether a sweep's models are remote; a mix of local and remote is refused, and a
    remote model's API key must be in its environment variable before anything is logged."""
    remote = [m for m in models.values() if isinstance(m, RemoteModel)]
    if remote and len(remote) != len(models):
        raise BadInputError(
            "This sweep mixes local and remote models "
            f"({', '.join(m.name for m in models.values())}): run them as two sweeps."
        )
    for model in remote:
        model.api_key()
    return bool(remote)


def replay_spec(run: dict, experiment: dict) -> SweepSpec:
    """The one-cell sweep that reproduces ``run``."""
    sweep = json.loads(experiment.get("sweep_json") or "{}")
    remote = run.get("engine_mode") == "remote"  # model_path holds its URL, model its spec
    messages = json.loads(run["messages_json"]) if run.get("messages_json") else None
    system = next((m["content"] for m in messages or [] if m["role"] == "system"), None)
    user = next((m["content"] for m in messages or [] if m["role"] == "user"), None)
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
    )


def _request(
    spec: SweepSpec, cell: CellSettings, model: ResolvedModel | RemoteModel
) -> GenerationRequest:
    return GenerationRequest(
        model_path=str(model.path),
        messages=spec.messages(),
        prompt=spec.prompt if spec.raw else None,
        temperature=cell.temperature,
        seed=cell.seed,
        top_p=cell.top_p,
        top_k=cell.top_k,
        min_p=cell.min_p,
        repetition_penalty=cell.repetition_penalty,
        max_tokens=cell.max_tokens,
        extra_eos_ids=cell.extra_eos_ids,
        engine=spec.engine,
    )


class _RunSettings:
    """A sweep's run settings for :func:`yilab.runlog.store.run_row`, cell by cell."""

    def __init__(self, spec: SweepSpec, cells: list[CellSettings], models: dict, versions: dict):
        self.spec, self.cells, self.models, self.versions = spec, cells, models, versions
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
            "messages": self.spec.messages(),
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
        }
