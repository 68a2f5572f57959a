"""The batched engine: the cells of a sweep decode together through mlx-lm's ``BatchGenerator``.

All rows start from copies of the shared prompt prefix and each keeps its own
sampler (its temperature, top-p and seeded key), max_tokens and logits
processors. A batched row reads the same prompt and settings as a single run. With
row-invariant numerics (the default, :mod:`yilab.generation.invariance`) its tokens are
those of the same cell run alone, whatever else is in the batch and after the others
have finished; with ``plain`` numerics a row may drift from its single-run twin by
rounding, and replay re-runs such a run's whole batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import mlx.core as mx
from mlx_lm.generate import BatchGenerator

from yilab.events import RunResult, Token
from yilab.generation.prefill import PrefixCache
from yilab.generation.recording import Recorder
from yilab.generation.single import CellRun, StreamText, processors_for, sampler_for


@dataclass
class _Row:
    run: CellRun
    text: StreamText
    sampler: object
    ids: list[int] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    first_at: float | None = None
    finished_at: float | None = None
    finish_reason: str | None = None

    @property
    def tokens(self) -> int:
        return len(self.ids)

    def add(self, token: int, finish_reason: str | None) -> str:
        """Fold one token in; return the new text (an eos adds none, as in stream_generate)."""
        self.ids.append(token)
        self.first_at = self.first_at or time.perf_counter()
        if finish_reason is not None:
            self.finish_reason, self.finished_at = finish_reason, time.perf_counter()
        segment = self.text.add(token, finish_reason)
        self.parts.append(segment)
        return segment


def run_batch(runs: list[CellRun], model, tokenizer, prefixes: PrefixCache) -> dict[int, RunResult]:
    """Decode ``runs`` (same model, prompt and stop set) as one batch; results by cell."""
    job, tokens = runs[0].job, runs[0].tokens
    prefix = prefixes.get(model, tokens)
    mx.reset_peak_memory()
    start = time.perf_counter()
    generator = BatchGenerator(
        model,
        stop_tokens=[[t] for t in runs[0].stop_ids],
        completion_batch_size=len(runs),
        prefill_batch_size=len(runs),
    )
    samplers = [sampler_for(r.request) for r in runs]
    uids = generator.insert(
        [tokens[-1:]] * len(runs),
        max_tokens=[r.request.max_tokens for r in runs],
        caches=[prefix.copy_cache() for _ in runs],
        all_tokens=[list(tokens[:-1]) for _ in runs],
        samplers=samplers,
        logits_processors=[
            processors_for(r.request, s) for r, s in zip(runs, samplers, strict=True)
        ],
    )
    rows = {
        uid: _Row(run, StreamText(tokenizer), sampler)
        for uid, run, sampler in zip(uids, runs, samplers, strict=True)
    }
    try:
        _decode(generator, rows, job)
    finally:
        generator.close()
    return {
        row.run.cell: _result(row, start, prefix.prompt_tps, tokenizer) for row in rows.values()
    }


def _decode(generator: BatchGenerator, rows: dict[int, _Row], job) -> None:
    """Step the batch until every row finished or the job is cancelled."""
    active = set(rows)
    while active:
        if job.cancelled.is_set():
            generator.remove(list(active))
            for uid in active:
                rows[uid].finish_reason = "cancelled"
            return
        for response in generator.next_generated():
            row = rows[response.uid]
            text = row.add(response.token, response.finish_reason)
            if text:
                job.emit(Token(row.run.cell, text, row.tokens))
            if response.finish_reason is not None:
                active.discard(response.uid)


def _result(row: _Row, start: float, prompt_tps: float | None, tokenizer) -> RunResult:
    end = row.finished_at or time.perf_counter()
    decode_s = end - row.first_at if row.first_at else 0.0
    return RunResult(
        text="".join(row.parts),
        finish_reason=row.finish_reason or "cancelled",
        generation_tokens=row.tokens,
        prompt_tokens=len(row.run.tokens),
        ttft_s=(row.first_at - start) if row.first_at else None,
        prompt_tps=prompt_tps,
        generation_tps=(row.tokens - 1) / decode_s if row.tokens > 1 and decode_s > 0 else None,
        peak_memory_gb=mx.get_peak_memory() / 1e9,
        stop_token_ids=row.run.stop_ids,
        rendered_prompt=row.run.rendered,
        token_log=(
            row.sampler.token_log(row.ids, row.parts, tokenizer)
            if isinstance(row.sampler, Recorder)
            else None
        ),
    )
