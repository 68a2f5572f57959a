"""The single-stream engine: one cell at a time through mlx-lm's ``stream_generate``.

Each cell starts from a copy of the job's shared prompt prefix (see
:mod:`yilab.generation.prefill`), so a sweep reads its prompt once; the tokens are the
same as a run that read the prompt itself. A repetition penalty looks back at
the prompt's tokens, which a prefix-started run would not pass to its logits
processors, so such cells read the prompt themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import mlx.core as mx
from mlx_lm import stream_generate
from mlx_lm.sample_utils import make_logits_processors

from yilab.events import GenerationRequest, Job, RunResult, Token
from yilab.generation.prefill import PrefixCache
from yilab.generation.recording import Recorder
from yilab.generation.sampling import SeededSampler


@dataclass
class CellRun:
    """What one cell needs once its prompt is rendered and tokenized."""

    job: Job  # emits events, carries the cancel flag
    cell: int
    request: GenerationRequest
    rendered: str
    tokens: list[int]  # the prompt's tokens (then a branch's given output tokens)
    stop_ids: list[int]

    @property
    def prompt_tokens(self) -> int:
        return len(self.tokens) - len(self.request.prefix_ids)


def sampler_for(request: GenerationRequest) -> SeededSampler | Recorder:
    """The request's seeded sampler (its own random key), recording when asked to."""
    sampler = SeededSampler(
        temperature=request.temperature,
        seed=request.seed,
        top_p=request.top_p,
        min_p=request.min_p,
        top_k=request.top_k,
    )
    if request.top_logprobs is None:
        return sampler
    return Recorder(sampler, top_k=request.top_logprobs, watch=list(request.watch_ids))


def processors_for(request: GenerationRequest, sampler) -> list:
    """The logit bias and repetition penalty, after the recorder's capture of the raw logits."""
    processors = make_logits_processors(
        logit_bias=request.logit_bias, repetition_penalty=request.repetition_penalty
    )
    if processors and isinstance(sampler, Recorder):
        processors.insert(0, sampler.capture)
    return processors


def stream_cell(run: CellRun, model, tokenizer, prefixes: PrefixCache | None) -> RunResult:
    """Generate one cell, emitting ``Token`` events; stop at the next token on cancel."""
    request = run.request
    sampler = sampler_for(request)
    processors = processors_for(request, sampler)
    given = len(request.prefix_ids)
    mx.reset_peak_memory()
    start = time.perf_counter()
    prompt, extra = run.tokens, {}
    prefix = None
    if prefixes is not None and request.repetition_penalty is None and len(run.tokens) > 1:
        prefix = prefixes.get(model, run.tokens)
        prompt, extra = run.tokens[-1:], {"prompt_cache": prefix.copy_cache()}
    ttft, last, reason = None, None, None
    ids, parts = [], []
    branch = StreamText(tokenizer, request.prefix_ids) if given else None
    if branch is not None:  # a branch: its given tokens are the start of its output
        run.job.emit(Token(run.cell, branch.given_text, given))
    for response in stream_generate(
        model,
        tokenizer,
        prompt,
        max_tokens=request.max_tokens - given,
        sampler=sampler,
        logits_processors=processors,
        **extra,
    ):
        ttft = ttft if ttft is not None else time.perf_counter() - start
        last = response
        ids.append(response.token)
        text = (
            response.text if branch is None else branch.add(response.token, response.finish_reason)
        )
        parts.append(text)
        if text:
            run.job.emit(Token(run.cell, text, given + response.generation_tokens))
        if response.finish_reason is None and run.job.cancelled.is_set():
            reason = "cancelled"
            break
    result = RunResult.from_response(
        last,
        text=(branch.given_text if branch else "") + "".join(parts),
        finish_reason=reason or (last.finish_reason if last else "stop"),
        ttft_s=ttft,
        rendered_prompt=run.rendered,
        prompt_tokens=run.prompt_tokens,
        stop_token_ids=run.stop_ids,
        token_log=(
            sampler.token_log(ids, parts, tokenizer) if isinstance(sampler, Recorder) else None
        ),
    )
    if given:
        result = replace(result, generation_tokens=given + result.generation_tokens)
    if prefix is not None:  # stream_generate saw a 1-token prompt: report the shared read
        result = result.with_prompt_tps(prefix.prompt_tps)
    return result


class StreamText:
    """What each token adds to a run's text, decoded as ``stream_generate`` decodes it (an
    eos adds none), after ``given`` tokens (a branch's: decoding its tokens alone would
    drop the space its first generated token starts with); ``given_text`` is theirs."""

    def __init__(self, tokenizer, given: tuple[int, ...] = ()) -> None:
        self.detokenizer = tokenizer.detokenizer
        for token in given:
            self.detokenizer.add_token(token)
        self.given_text = self.detokenizer.last_segment

    def add(self, token: int, finish_reason: str | None) -> str:
        """The text ``token`` adds."""
        if finish_reason != "stop":
            self.detokenizer.add_token(token)
        if finish_reason is not None:
            self.detokenizer.finalize()
        return self.detokenizer.last_segment
