"""The single-stream engine: one cell at a time through mlx-lm's ``stream_generate``.

Each cell starts from a copy of the job's shared prompt prefix (see
:mod:`yilab.generation.prefill`), so a sweep reads its prompt once; the tokens are the
same as a run that read the prompt itself. A repetition penalty looks back at
the prompt's tokens, which a prefix-started run would not pass to its logits
processors, so such cells read the prompt themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import mlx.core as mx
from mlx_lm import stream_generate
from mlx_lm.sample_utils import make_logits_processors

from yilab.events import GenerationRequest, Job, RunResult, Token
from yilab.generation.prefill import PrefixCache
from yilab.generation.sampling import make_seeded_sampler


@dataclass
class CellRun:
    """What one cell needs once its prompt is rendered and tokenized."""

    job: Job  # emits events, carries the cancel flag
    cell: int
    request: GenerationRequest
    rendered: str
    tokens: list[int]
    stop_ids: list[int]


def sampler_for(request: GenerationRequest):
    """The request's seeded sampler (its own random key)."""
    return make_seeded_sampler(
        temperature=request.temperature,
        seed=request.seed,
        top_p=request.top_p,
        min_p=request.min_p,
        top_k=request.top_k,
    )


def stream_cell(run: CellRun, model, tokenizer, prefixes: PrefixCache | None) -> RunResult:
    """Generate one cell, emitting ``Token`` events; stop at the next token on cancel."""
    request = run.request
    processors = make_logits_processors(
        logit_bias=request.logit_bias, repetition_penalty=request.repetition_penalty
    )
    mx.reset_peak_memory()
    start = time.perf_counter()
    prompt, extra = run.tokens, {}
    prefix = None
    if prefixes is not None and request.repetition_penalty is None and len(run.tokens) > 1:
        prefix = prefixes.get(model, run.tokens)
        prompt, extra = run.tokens[-1:], {"prompt_cache": prefix.copy_cache()}
    ttft, last, parts, reason = None, None, [], None
    for response in stream_generate(
        model,
        tokenizer,
        prompt,
        max_tokens=request.max_tokens,
        sampler=sampler_for(request),
        logits_processors=processors,
        **extra,
    ):
        ttft = ttft if ttft is not None else time.perf_counter() - start
        last = response
        if response.text:
            parts.append(response.text)
            run.job.emit(Token(run.cell, response.text, response.generation_tokens))
        if response.finish_reason is None and run.job.cancelled.is_set():
            reason = "cancelled"
            break
    result = RunResult.from_response(
        last,
        text="".join(parts),
        finish_reason=reason or (last.finish_reason if last else "stop"),
        ttft_s=ttft,
        rendered_prompt=run.rendered,
        prompt_tokens=len(run.tokens),
        stop_token_ids=run.stop_ids,
    )
    if prefix is not None:  # stream_generate saw a 1-token prompt: report the shared read
        result = result.with_prompt_tps(prefix.prompt_tps)
    return result
