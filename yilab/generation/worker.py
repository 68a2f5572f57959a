"""The generation worker: runs jobs one at a time; their MLX work on the MLX thread.

MLX is not safe from several threads at once and its streams are per thread, so
the thread named ``yilab-generation`` only orders the work: each cell (or batch of
cells) runs on the one MLX thread (:mod:`yilab.generation.mlx_thread`), where the loaded models
live, and other MLX work (a GGUF conversion) can go between two cells. Callers
submit a *job* (the cells of one sweep) and read :mod:`yilab.events` from the
job's queue; errors come back the same way, as a ``Finished`` event whose result
has ``finish_reason == "error"``. Jobs run one at a time, in order: a second
sweep waits behind the first and is told it is queued.
"""

from __future__ import annotations

import gc
import json
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx
from mlx_lm import load as mlx_load
from mlx_lm.models.cache import make_prompt_cache

from yilab.errors import BadInputError, ModelLoadError, YilabError
from yilab.events import (
    Finished,
    GenerationRequest,
    Job,
    JobDone,
    Loading,
    Queued,
    RunResult,
    Started,
)
from yilab.experiment.sweep import DEFAULT_NUMERICS, ROW_INVARIANT_NUMERICS
from yilab.files import model_fingerprint
from yilab.generation.batch import run_batch
from yilab.generation.fusion import fuse_cpu_ops
from yilab.generation.invariance import set_numerics
from yilab.generation.memory import check_model_fits, check_sweep_fits
from yilab.generation.mlx_thread import compute_device, on_mlx_thread
from yilab.generation.prefill import PrefixCache
from yilab.generation.single import CellRun, stream_cell
from yilab.i18n import Message

DEFAULT_MAX_LOADED_MODELS = 1
# files transformers can build a tokenizer from (fast, sentencepiece, BPE, WordPiece, tiktoken)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "*.tiktoken")


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    context_length: int | None
    warm_up_s: float | None = None  # how long the warm-up pass took after loading


class GenerationWorker:
    """Runs jobs on one thread that owns the loaded models (an LRU of ``max_models``)."""

    def __init__(
        self, *, max_models: int = DEFAULT_MAX_LOADED_MODELS, warm_up: bool | None = None
    ) -> None:
        # warm up freshly loaded models where kernels are compiled on first use (a GPU);
        # on the CPU it would only add ~2 tokens' time to each load
        self._warm_up = compute_device() == "gpu" if warm_up is None else warm_up
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._models: OrderedDict[tuple[str, str], LoadedModel] = OrderedDict()
        self._max_models = max_models
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="yilab-generation", daemon=True)
        self._thread.start()

    def submit(self, requests: Sequence[GenerationRequest]) -> Job:
        """Queue a job; if another job runs or waits, its first event is ``Queued``."""
        job = Job(list(requests))
        ahead = self._jobs.qsize() + (1 if self._busy.is_set() else 0)
        if ahead:
            job.emit(Queued(position=ahead))
        self._jobs.put(job)
        return job

    def close(self, timeout: float | None = 10.0) -> None:
        """Finish the current job, then stop the thread."""
        self._jobs.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._busy.set()
            try:
                self._run_job(job)
            finally:
                self._busy.clear()
                job.emit(JobDone())

    def _run_job(self, job: Job) -> None:
        prefixes = PrefixCache()  # the prompt is read once per job, not once per cell
        for group in group_cells(job.requests):
            if job.cancelled.is_set():
                for cell, _ in group:
                    job.emit(Finished(cell, RunResult.cancelled_before_start()))
                continue
            try:
                results = on_mlx_thread(self._run_group, job, group, prefixes)
            except YilabError as err:
                results = {cell: RunResult.failed(err.message) for cell, _ in group}
            except Exception as err:  # a bug or an MLX failure: report it, keep serving
                results = {
                    cell: RunResult.failed(f"{type(err).__name__}: {err}") for cell, _ in group
                }
            for cell, _ in group:
                job.emit(Finished(cell, results[cell]))

    def _run_group(self, job: Job, group: list, prefixes: PrefixCache) -> dict[int, RunResult]:
        """One cell through the single engine, or several sharing a prompt as one batch."""
        first = group[0][1]
        loaded = self._load(first.model_path, job)
        rendered = render_prompt(loaded.tokenizer, first)
        tokens = encode_prompt(loaded.tokenizer, rendered)
        for _, request in group:
            check_context(len(tokens), request.max_tokens, loaded.context_length)
            check_branch(request, loaded.tokenizer)
        tokens += first.prefix_ids  # a branch's given tokens (the same for the whole group)
        set_numerics(loaded.model, first.numerics)  # one numerics per group (its batch_key)
        batched = (
            first.engine == "batch"
            and len(tokens) > 1
            and not first.prefix_ids
            and (len(group) > 1 or first.numerics not in ROW_INVARIANT_NUMERICS)
        )  # a lone row-invariant cell: the single engine gives the same tokens, ~4 % faster
        check_sweep_fits(
            Path(first.model_path),
            rows=len(group) if batched else 1,
            tokens=len(tokens),
            max_tokens=max(r.max_tokens for _, r in group),
        )
        with eos_override(loaded.tokenizer, first.extra_eos_ids) as stop_ids:
            runs = [CellRun(job, cell, req, rendered, tokens, stop_ids) for cell, req in group]
            for run in runs:
                job.emit(Started(run.cell, rendered, run.prompt_tokens, stop_ids))
            if batched:
                return run_batch(runs, loaded.model, loaded.tokenizer, prefixes)
            return {
                run.cell: stream_cell(run, loaded.model, loaded.tokenizer, prefixes) for run in runs
            }

    def _load(self, model_path: str, job: Job) -> LoadedModel:
        """Load (or reuse) a model on this thread; evict the least recently used.

        The cache key includes the fingerprint of the config and tokenizer files, so a
        fix to them (say, a new eos) is picked up by the next run, not after a restart.
        """
        key = (model_path, model_fingerprint(Path(model_path)))
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        self._models = OrderedDict((k, v) for k, v in self._models.items() if k[0] != model_path)
        while len(self._models) >= self._max_models:  # make room first: free memory is checked
            self._models.popitem(last=False)
        gc.collect()
        mx.clear_cache()
        name = Path(model_path).name
        job.emit(Loading(f"Loading {name}…", model=name))
        check_model_fits(Path(model_path))
        try:
            model, tokenizer = mlx_load(model_path)
        except Exception as err:
            raise ModelLoadError(load_error_message(Path(model_path), err)) from err
        fuse_cpu_ops(model)  # the same bits in fewer ops (see yilab.generation.fusion)
        set_numerics(model, DEFAULT_NUMERICS)  # its weights' layout now, not in the first run
        loaded = LoadedModel(model, tokenizer, read_context_length(Path(model_path)))
        if self._warm_up:
            try:
                loaded.warm_up_s = warm_up(model)
            except Exception:  # best effort: a model that cannot run says so at its first cell
                loaded.warm_up_s = None
        self._models[key] = loaded
        return loaded


def warm_up(model) -> float:
    """Run a 2-token prompt and one decode step through a freshly loaded model; seconds taken.

    The first use of each kernel is compiled on CUDA (tens of seconds) and Metal: paying it
    at load keeps the first sweep's timings honest. Measured on this project's CPU: 6 ms on
    the tiny test model, 0.4 s on SmolLM2-135M. It draws no random numbers, so seeded runs
    are unaffected.
    """
    start = time.perf_counter()
    cache = make_prompt_cache(model)
    mx.eval(model(mx.array([[0, 0]]), cache=cache))
    mx.eval(model(mx.array([[0]]), cache=cache))
    return time.perf_counter() - start


def group_cells(requests: Sequence[GenerationRequest]) -> list[list[tuple[int, GenerationRequest]]]:
    """Cells in the order they run: batch-engine cells sharing a ``batch_key`` together
    (at the position of the first of them), every other cell on its own."""
    groups: list[list] = []
    batches: dict[tuple, list] = {}
    for cell, request in enumerate(requests):
        if request.engine != "batch":
            groups.append([(cell, request)])
        elif (key := request.batch_key()) in batches:
            batches[key].append((cell, request))
        else:
            batches[key] = [(cell, request)]
            groups.append(batches[key])
    return groups


def render_prompt(tokenizer, request: GenerationRequest) -> str:
    """The exact text the model reads: the chat template applied, or the raw prompt."""
    if request.messages is None:
        return request.prompt or ""
    if not getattr(tokenizer, "chat_template", None):
        raise BadInputError(Message("generate.no_chat_template"))
    return tokenizer.apply_chat_template(
        request.messages, add_generation_prompt=True, tokenize=False
    )


def encode_prompt(tokenizer, text: str) -> list[int]:
    """Token ids the way mlx-lm does it: add special tokens unless the text starts with bos."""
    add_special = tokenizer.bos_token is None or not text.startswith(tokenizer.bos_token)
    tokens = tokenizer.encode(text, add_special_tokens=add_special)
    if not tokens:
        raise BadInputError(Message("generate.no_tokens"))
    return tokens


def check_branch(request: GenerationRequest, tokenizer) -> None:
    """Refuse a branch whose given tokens are not this model's or leave nothing to generate."""
    given = request.prefix_ids
    if not given:
        return
    if len(given) >= request.max_tokens:
        raise BadInputError(
            Message("generate.branch_too_long", at=len(given), max_tokens=request.max_tokens)
        )
    if max(given) >= len(tokenizer.vocab) + 1024 or min(given) < 0:
        raise BadInputError(Message("generate.branch_not_in_vocab"))


def check_context(prompt_tokens: int, max_tokens: int, context_length: int | None) -> None:
    """Refuse a run that cannot fit in the model's context window."""
    if context_length and prompt_tokens >= context_length:
        raise BadInputError(
            Message("generate.prompt_too_long", tokens=prompt_tokens, context=context_length)
        )
    if context_length and prompt_tokens + max_tokens > context_length:
        said = Message(
            "generate.exceeds_context",
            tokens=prompt_tokens,
            max_tokens=max_tokens,
            context=context_length,
        )
        raise BadInputError(said)


def load_error_message(model_dir: Path, err: Exception) -> str:
    """Why a model folder failed to load. Without any tokenizer file transformers blames
    missing packages (sentencepiece, tiktoken), so name the missing file instead."""
    if not any(any(model_dir.glob(pattern)) for pattern in TOKENIZER_FILES):
        return Message("load.no_tokenizer_file", path=model_dir)
    return Message("load.failed", path=model_dir, error=str(err))  # the library's English


def read_context_length(model_dir: Path) -> int | None:
    """``max_position_embeddings`` from config.json, if it says."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    value = config.get("max_position_embeddings")
    return value if isinstance(value, int) and value > 0 else None


@contextmanager
def eos_override(tokenizer, extra_ids: Sequence[int]):
    """Add runtime stop tokens for one run; yields the sorted stop set in force."""
    original = set(tokenizer.eos_token_ids)
    tokenizer.eos_token_ids = original | set(extra_ids)
    try:
        yield sorted(tokenizer.eos_token_ids)
    finally:
        tokenizer.eos_token_ids = original
