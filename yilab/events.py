"""A job (the runs of one sweep, as :class:`GenerationRequest` values) and what a backend
(the MLX worker or a remote server) reports for it, in order:

``Queued``? → per cell: ``Loading``? ``Started`` ``Token``* ``Finished`` → ``JobDone``.
A cell that was cancelled before it started gets only ``Finished``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from yilab.experiment.token_log import DEFAULT_TOP_K, TokenLog


@dataclass(frozen=True)
class RunResult:
    """How one run ended. ``finish_reason``: ``stop`` (an eos token), ``length``
    (max_tokens reached), ``cancelled`` or ``error``."""

    text: str
    finish_reason: str
    generation_tokens: int = 0
    prompt_tokens: int | None = None
    ttft_s: float | None = None
    prompt_tps: float | None = None
    generation_tps: float | None = None
    peak_memory_gb: float | None = None
    stop_token_ids: list[int] = field(default_factory=list)
    rendered_prompt: str | None = None
    error: str | None = None
    started: bool = True
    token_log: TokenLog | None = None  # each token's probabilities, when recorded

    @property
    def status(self) -> str:
        """The run log's status for this result."""
        return {"cancelled": "cancelled", "error": "error"}.get(self.finish_reason, "done")

    @classmethod
    def failed(cls, message: str) -> RunResult:
        return cls(text="", finish_reason="error", error=message)

    @classmethod
    def cancelled_before_start(cls) -> RunResult:
        return cls(text="", finish_reason="cancelled", started=False)

    def with_prompt_tps(self, prompt_tps: float | None) -> RunResult:
        """A copy whose prompt speed is that of the shared prompt read."""
        return replace(self, prompt_tps=prompt_tps)

    @classmethod
    def from_response(cls, response, **fields) -> RunResult:
        """Build from mlx-lm's last ``GenerationResponse`` (None if nothing was generated)."""
        if response is None:
            return cls(**fields)
        return cls(
            generation_tokens=response.generation_tokens,
            prompt_tps=response.prompt_tps,
            generation_tps=response.generation_tps,
            peak_memory_gb=response.peak_memory,
            **fields,
        )


@dataclass(frozen=True)
class Queued:
    """Another job runs or waits ahead of this one."""

    position: int


@dataclass(frozen=True)
class Loading:
    """A model is being loaded (or converted) before the next cell; ``model`` names it
    (the grid says so in the reader's language; ``message`` is the English line)."""

    message: str
    model: str = ""


@dataclass(frozen=True)
class Started:
    cell: int
    rendered_prompt: str
    prompt_tokens: int
    stop_token_ids: list[int]


@dataclass(frozen=True)
class Token:
    """New text for a cell; ``generation_tokens`` counts tokens so far."""

    cell: int
    text: str
    generation_tokens: int


@dataclass(frozen=True)
class Finished:
    cell: int
    result: RunResult


@dataclass(frozen=True)
class JobDone:
    """The last event of every job."""


Event = Queued | Loading | Started | Token | Finished | JobDone


def until_done(events: queue.Queue) -> Iterator[Event]:
    """Yield events from ``events`` up to and including ``JobDone``."""
    while True:
        event = events.get()
        yield event
        if isinstance(event, JobDone):
            return


@dataclass(frozen=True)
class GenerationRequest:
    """One run: a chat (``messages``) rendered with the model's template, or a raw ``prompt``."""

    model_path: str
    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    temperature: float = 0.7
    seed: int = 0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float | None = None
    max_tokens: int = 256
    extra_eos_ids: tuple[int, ...] = ()
    logit_bias: dict[int, float] | None = None
    engine: str = "single"  # or "batch" (cells decode together); sweeps default to batch
    numerics: str = "row-invariant-wt"  # or "row-invariant", "plain": see generation/invariance.py
    top_logprobs: int | None = DEFAULT_TOP_K  # alternatives recorded per token; None: no record
    watch_ids: tuple[int, ...] = ()  # turn-end candidates whose probability each step records
    prefix_ids: tuple[int, ...] = ()  # a branch: output tokens given, generation continues

    def batch_key(self) -> tuple:
        """Requests with equal keys may decode in one batch: same model, prompt and stops."""
        messages = tuple(tuple(sorted(m.items())) for m in self.messages or ())
        stops = tuple(sorted(self.extra_eos_ids))
        return (self.model_path, messages, self.prompt, stops, self.prefix_ids, self.numerics)


@dataclass
class Job:
    """The cells of one sweep, submitted together. Iterate it for events."""

    requests: Sequence[GenerationRequest]
    events: queue.Queue = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Stop the running cell at its next token and skip the cells not yet started."""
        self.cancelled.set()

    def emit(self, event: Event) -> None:
        self.events.put(event)

    def __iter__(self) -> Iterator[Event]:
        """Events until (and including) ``JobDone``."""
        return until_done(self.events)
