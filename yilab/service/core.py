"""The service: the one object the UI, the CLI and the tests drive.

A sweep's runs are logged by a thread of their own (``yilab-log-<id>``) that reads
the backend's events, writes the run log (:mod:`yilab.runlog.sweep_logger`) and passes
the events on. Logging so does not depend on anyone reading: a closed browser tab or an
abandoned iterator still leaves every run in the db, partial output is flushed every
:data:`FLUSH_INTERVAL_S` so a crash leaves a trace, and a run log that cannot be
written sends the runs to its spill file (``sweep.log_failure`` says so).

The MLX worker is started on the first local sweep: a sweep on a remote model, a
history query or an export never loads MLX.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from yilab.errors import BadInputError, InspectorError, StoreError, YilabError
from yilab.experiment.checks import Check
from yilab.experiment.scoring import RowScore, checks_of, score_rows
from yilab.experiment.sweep import (
    ROW_INVARIANT_NUMERICS,
    SweepSpec,
    expand_sweep,
    validate_spec,
)
from yilab.experiment.token_log import TokenLog
from yilab.files import default_db_path
from yilab.generation.mlx_thread import compute_device
from yilab.i18n import Message
from yilab.inspector.diagnose import InspectionReport, inspect_model
from yilab.inspector.fix import FixResult, apply_fix, undo_fix
from yilab.inspector.ollama_stops import OllamaStops
from yilab.inspector.overview import Inspection, fix_plan, inspect_folder, ollama_stops
from yilab.inspector.token_view import TokenView, tokenize_chat
from yilab.inspector.wording import token_view
from yilab.models.listing import list_models
from yilab.models.ollama import find_ollama_model
from yilab.models.resolve import ResolvedModel, resolve_model
from yilab.remote.config import RemoteModel, config_path, find_remote, not_visible_message
from yilab.remote.runner import RemoteCall, RemoteRunner
from yilab.runlog.rows import experiment_row
from yilab.runlog.store import SpillMerge, Store
from yilab.runlog.sweep_logger import SweepLogger, spill_notice
from yilab.service.sweeps import (
    RunSettings,
    Sweep,
    check_backends,
    collect_versions,
    replay_spec,
    request_for,
    run_numerics,
)
from yilab.share.bundle import ImportResult, import_bundle
from yilab.share.export import ExportResult, Redaction
from yilab.share.export import export as export_to_file

if TYPE_CHECKING:  # the worker's module imports MLX: loaded on the first local sweep
    from yilab.generation.worker import GenerationWorker

FINISH_REASONS = ("stop", "length", "cancelled", "error", "interrupted")
RECOVERED_NOTICE_S = 600  # how long History says that runs were recovered from a spill
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Replay:
    original: dict
    new: dict
    identical: bool
    same_prompt: bool


def turn_end_ids(model_dir: Path) -> tuple[int, ...]:
    """The tokens whose probability every step records: the stop set and each token the
    chat template ends a turn with (the inspector's), stop token or not."""
    report = inspect_model(model_dir)
    template = report.chat_template
    ids = [*report.stop_ids, template.turn_end_id, template.history_turn_end_id]
    ids += [t.id for t in template.turn_ends]
    return tuple(sorted({i for i in ids if i is not None}))


class Service:
    """Owns the run log, the generation worker and the runner for remote models.

    The UI and the CLI reach everything through these methods: sweeps, the run log's
    queries, models, inspection and fixes, sharing.
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
        self._worker = worker
        self._worker_lock = threading.Lock()
        self.remote = remote or RemoteRunner()
        self.versions = collect_versions()

    @property
    def worker(self) -> GenerationWorker:
        """The MLX generation worker, started on first use."""
        with self._worker_lock:
            if self._worker is None:
                # imported here, not at the top: it loads MLX, which remote sweeps,
                # history and sharing never need
                from yilab.generation.worker import GenerationWorker

                self._worker = GenerationWorker()
            return self._worker

    def start_worker(self) -> GenerationWorker:
        """Start the MLX worker now rather than on the first local sweep. A server calls this
        before it serves: importing mlx-lm (and transformers) from a request thread while
        another thread imports transformers can fail half-way ("cannot import name")."""
        worker = self.worker
        compute_device()  # asked now, while the MLX thread is idle (it is cached)
        return worker

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()

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
        self,
        spec: SweepSpec,
        *,
        progress: Progress | None = None,
        note: str | None = None,
        given: TokenLog | None = None,
    ) -> Sweep:
        """Validate, resolve the models, log the experiment and start generating
        (``given``: a branch's given steps, which start its token log)."""
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
            checks=[c.to_dict() for c in spec.checks],
        )
        settings = RunSettings(spec, cells, models, self.versions)
        log = SweepLogger(self.store, experiment, settings)
        log.start()
        watch = {} if remote else {n: turn_end_ids(m.path) for n, m in models.items()}
        requests = [
            request_for(spec, cell, models[cell.model], watch.get(cell.model, ())) for cell in cells
        ]
        if remote:
            calls = [RemoteCall(models[c.model], r) for c, r in zip(cells, requests, strict=True)]
            job, engine = self.remote.submit(calls), "remote"
        else:
            job, engine = self.worker.submit(requests), spec.engine
        settings.job = job
        sweep = Sweep(experiment["id"], cells, job, log, engine=engine, given=given, spec=spec)
        threading.Thread(
            target=sweep.follow, name=f"yilab-log-{sweep.experiment_id[:8]}", daemon=True
        ).start()
        return sweep

    def branch(
        self, run_id: str, position: int, token: int, *, progress: Progress | None = None
    ) -> Sweep:
        """Continue ``run_id`` from its first ``position`` tokens and then ``token`` (one of
        the alternatives there, or any token id), with the same settings: a new run, logged
        with ``branch_of`` and ``branch_at``."""
        parent = self.store.get_run(run_id)
        log = self.token_logs([parent["id"]]).get(parent["id"])
        if log is None:
            raise BadInputError(Message("branch.no_record"))
        if log.source != "mlx" or parent.get("engine_mode") == "remote":
            raise BadInputError(Message("branch.remote"))
        given = log.given(position, token)
        spec = replace(
            replay_spec(parent, self.store.get_experiment(parent["experiment_id"])),
            top_logprobs=log.top_k,
            branch_of=parent["id"],
            prefix_ids=tuple(given.ids()),
        )
        note = f"branch of {parent['id'][:8]} at token {position + 1}: {log.piece(token)!r}"
        return self.start_sweep(spec, progress=progress, note=note, given=given)

    def token_log(self, run_id: str) -> TokenLog | None:
        """A run's token log (each token's probabilities), or None when it has none."""
        full = self.store.get_run(run_id)["id"]
        blob = self.store.get_token_logs([full]).get(full)
        return None if blob is None else TokenLog.from_blob(blob)

    def token_logs(self, run_ids: list[str]) -> dict[str, TokenLog]:
        """The token logs of those runs that have one, by run id."""
        return {i: TokenLog.from_blob(b) for i, b in self.store.get_token_logs(run_ids).items()}

    def branches(self, run_id: str) -> list[dict]:
        """The runs branched from a run, oldest first."""
        return self.store.branches_of(self.store.get_run(run_id)["id"])

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
            said = [m.message(self.store.path) for m in recent]
            return "info", said[0] if len(said) == 1 else "; ".join(said)
        return None

    def run_sweep(self, spec: SweepSpec, **kwargs) -> tuple[Sweep, list[dict]]:
        """Start a sweep, wait for it, and return it with its logged runs in grid order."""
        sweep = self.start_sweep(spec, **kwargs)
        for _ in sweep.events():
            pass
        sweep.wait()
        return sweep, self.sweep_runs(sweep)

    def sweep_runs(self, sweep: Sweep) -> list[dict]:
        """A finished sweep's runs in grid order: from the run log, or, when they did not
        reach it, as the sweep kept them (what the spill holds)."""
        if sweep.in_run_log:
            return self.store.get_experiment(sweep.experiment_id)["runs"]
        return sweep.runs()

    def rerun(self, experiment_id: str, *, progress: Progress | None = None) -> Sweep:
        """Start the same sweep again (same spec, same seeds) as a new experiment."""
        experiment = self.store.get_experiment(experiment_id)
        spec = replace(
            SweepSpec.from_dict(json.loads(experiment["sweep_json"])),
            checks=checks_of(experiment),
        )
        return self.start_sweep(spec, progress=progress, note=f"re-run of {experiment['id']}")

    def checks(self, experiment_id: str) -> tuple[Check, ...]:
        """An experiment's checks as they stand now (they can change after its runs)."""
        return checks_of(self.store.get_experiment(experiment_id))

    def set_checks(self, experiment_id: str, checks: Sequence[Check]) -> tuple[Check, ...]:
        """Replace an experiment's checks; nothing is generated again (see :meth:`scores`)."""
        experiment = self.store.get_experiment(experiment_id)
        spec = SweepSpec.from_dict(json.loads(experiment["sweep_json"]))
        validate_spec(replace(spec, checks=tuple(checks)))
        self.store.set_checks(experiment["id"], [c.to_dict() for c in checks])
        return tuple(checks)

    def scores(self, experiment_id: str) -> tuple[tuple[Check, ...], list[RowScore]]:
        """An experiment's checks and each grid row's scores, judged from the log."""
        experiment = self.store.get_experiment(experiment_id)
        checks = checks_of(experiment)
        return checks, score_rows(experiment["runs"], checks)

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
            raise BadInputError(Message("remote.template_hidden", name=model.name))
        return tokenize_chat(model.path, messages)

    def replay(self, run_id: str, *, progress: Progress | None = None) -> Replay:
        """Run a logged run again with the same model, prompt, settings and seed."""
        original = self.store.get_run(run_id)
        experiment = self.store.get_experiment(original["experiment_id"])
        note = f"replay of run {original['id']}"
        if (
            original.get("engine_mode") == "batch"
            and run_numerics(original) not in ROW_INVARIANT_NUMERICS
        ):
            # a batched row of plain numerics depends on its batch: replay the whole batch
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

    # -- the run log ---------------------------------------------------------

    def list_runs(self, **filters) -> list[dict]:
        """Runs newest first (filters as :meth:`yilab.runlog.store.Store.list_runs`)."""
        return self.store.list_runs(**filters)

    def list_experiments(self, **filters) -> list[dict]:
        """Experiments newest first, with ``run_count``."""
        return self.store.list_experiments(**filters)

    def get_run(self, run_id: str) -> dict:
        """One run, by id or a unique prefix of 6+ characters."""
        return self.store.get_run(run_id)

    def get_experiment(self, experiment_id: str) -> dict:
        """One experiment with its ``runs`` in grid order."""
        return self.store.get_experiment(experiment_id)

    def set_star(self, run_id: str, starred: bool) -> None:
        self.store.set_star(run_id, starred)

    def set_note(self, run_id: str, note: str) -> None:
        self.store.set_note(run_id, note)

    # -- models ----------------------------------------------------------------

    def list_models(self) -> list[dict]:
        """Every model on this machine, and the named remotes."""
        return list_models()

    def compute_device(self) -> str:
        """``"gpu"`` (Metal, CUDA) or ``"cpu"``: where MLX computes."""
        return compute_device()

    def remotes_path(self) -> Path:
        """Where named remote servers are configured (``$YILAB_HOME/remotes.json``)."""
        return config_path()

    # -- inspection and fixes ----------------------------------------------------

    def model_dir(self, spec: str | None, progress: Progress | None = None) -> Path:
        """The folder to inspect for a spec: a folder as it is (only its JSON files are
        read), anything else resolved (converted or downloaded once)."""
        path = Path(spec or "").expanduser()
        if spec and path.is_dir():
            return path.absolute()
        model = self.resolve(spec, progress)
        if isinstance(model, RemoteModel):
            raise InspectorError(not_visible_message(model))
        return model.path

    def inspection(
        self, path: Path, spec: str | None = None, sample: Sequence[str] | None = None
    ) -> Inspection:
        """Everything the Tokenizer tab shows of a model folder; ``spec`` names the Ollama
        model whose stops to compare when the folder was imported from Ollama; ``sample``
        words the example conversation (system, user, assistant, user again)."""
        return inspect_folder(Path(path), self._ollama_name(spec), sample)

    def inspect_folder(self, path: Path) -> InspectionReport:
        """The inspector's report on a model folder."""
        return inspect_model(Path(path))

    def ollama_stops(
        self, path: Path, report: InspectionReport, spec: str | None = None
    ) -> OllamaStops | None:
        """For a folder imported from Ollama: Ollama's stops beside mlx-lm's; else None."""
        return ollama_stops(Path(path), report, self._ollama_name(spec))

    def apply_fix(self, path: Path, spec: str | None = None) -> FixResult:
        """Apply the fix to a model folder (backups kept as ``*.yilab-bak``); for a model
        imported from Ollama it also adds the stops Ollama used and mlx-lm lacks."""
        return apply_fix(Path(path), fix_plan(Path(path), self._ollama_name(spec)))

    def undo_fix(self, path: Path) -> FixResult:
        """Restore a fixed model folder from its backups."""
        return undo_fix(Path(path))

    @staticmethod
    def _ollama_name(spec: str | None) -> str | None:
        """The Ollama model a spec names (``yi:6b-chat``), or None (a folder, a file…)."""
        if not spec:
            return None
        try:
            found = find_ollama_model(spec)
        except YilabError:
            return None
        return found.name if found is not None else None

    def token_view(self, path: Path, text: str, *, chat: bool = False) -> TokenView:
        """``text`` tokenized by a model folder's tokenizer (as a chat message if ``chat``)."""
        return token_view(Path(path), text, chat=chat)

    # -- sharing -----------------------------------------------------------------

    def export(
        self,
        ids: Sequence[str] | None,
        fmt: str,
        out: str | Path,
        *,
        search: str | None = None,
        redact_system: bool = False,
        truncate: int | None = None,
        lang: str = "en",
    ) -> ExportResult:
        """Write experiments (None: all; ``search`` narrows them) to ``out`` as one of
        :data:`EXPORT_FORMATS`, system prompts left out and outputs cut if asked; an HTML
        report's labels in ``lang`` (``en`` or ``zh-CN``)."""
        redaction = Redaction(system=redact_system, truncate=truncate)
        return export_to_file(
            self.store, ids, fmt, out, search=search, redaction=redaction, lang=lang
        )

    def import_bundle(self, path: Path) -> ImportResult:
        """Merge a bundle into the run log (one transaction); what was added and skipped."""
        return import_bundle(self.store, path)
