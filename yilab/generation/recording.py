"""Record each token's probabilities while it is drawn, at almost no cost.

:class:`Recorder` stands in for a run's sampler (in ``stream_generate`` and in a
``BatchGenerator`` row alike). When it draws a token it also builds, lazily, one small
float32 vector for that step — the token, its log-probability under the distribution it
was drawn from and under the model's, the entropy, the top-k alternatives, the turn-end
candidates — and schedules them for evaluation with ``mx.async_eval``, :data:`EVAL_EVERY`
steps at a time, beside the steps' own work. The model's distribution is the one
before logits processors (a logit bias, a repetition penalty): when a run has any, a
first processor keeps the untouched logits for the recorder.
"""

from __future__ import annotations

from functools import cache

import mlx.core as mx

from yilab.experiment.token_log import TokenLog, TokenStep
from yilab.generation.sampling import SeededSampler

BYTE_FALLBACK_MARK = "\ufffd"
# Records are scheduled for evaluation this many at a time: one ``async_eval`` per step cost
# ~6 ms a step on this CPU (SmolLM2, 57 ms steps), one per 32 steps ~2 ms; until then a record
# keeps its step's log-probabilities (vocabulary × 4 bytes) alive.
EVAL_EVERY = 32


class Recorder:
    """A sampler that records (``top_k`` alternatives; ``watch``: the turn-end candidates)."""

    def __init__(self, sampler: SeededSampler, *, top_k: int, watch: list[int]) -> None:
        self.sampler, self.top_k, self.watch = sampler, top_k, list(watch)
        self._watch = mx.array(self.watch, dtype=mx.int32) if self.watch else None
        self._raw: list[mx.array] = []  # logits kept by the capture processor
        self.records: list[mx.array] = []

    def capture(self, tokens: mx.array, logits: mx.array) -> mx.array:
        """A logits processor that keeps the logits it is given; put it first."""
        self._raw.append(logits)
        return logits

    def __call__(self, logprobs: mx.array) -> mx.array:
        token, scaled = self.sampler.draw(logprobs)
        if self._raw:
            logits = self._raw.pop()
            raw = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        else:
            raw = logprobs
        self.records.append(self._record(token, scaled, raw.reshape(-1)))
        if len(self.records) % EVAL_EVERY == 0:
            mx.async_eval(self.records[-EVAL_EVERY:])
        return token

    def _record(self, token: mx.array, scaled: mx.array | None, raw: mx.array) -> mx.array:
        token = token.reshape(-1)[:1]
        if scaled is None:  # temperature 0: the token had all the mass
            drawn = mx.zeros((1,), mx.float32)
        else:
            scaled = scaled.reshape(-1)
            drawn = scaled[token] - mx.logsumexp(scaled, keepdims=True)
        finite = mx.isfinite(raw)
        entropy = -mx.sum(mx.where(finite, mx.exp(raw) * raw, 0.0), keepdims=True)
        parts = [token.astype(mx.float32), drawn, raw[token], entropy]
        if self.top_k:
            # the k largest at the end: partitioning ``-raw`` instead costs ~5 ms a step more
            # on this CPU (measured on SmolLM2's 49,152 logits)
            last = raw.shape[0] - self.top_k
            best = mx.argpartition(raw, kth=last)[last:]
            values = raw[best]
            order = mx.argsort(-values)
            parts += [best[order].astype(mx.float32), values[order]]
        if self._watch is not None:
            parts.append(raw[self._watch])
        return mx.concatenate([p.astype(mx.float32) for p in parts])

    def token_log(self, tokens: list[int], texts: list[str], tokenizer) -> TokenLog:
        """The log of the first ``len(tokens)`` draws (a run may draw one more than it
        emits); ``texts`` is what each token added to the output."""
        records = self.records[: len(tokens)]
        if len(records) != len(tokens):
            raise RuntimeError(f"{len(records)} token records for {len(tokens)} tokens")
        rows = mx.stack(records).tolist() if records else []
        k, steps = self.top_k, []
        for row, token, text in zip(rows, tokens, texts, strict=True):
            if int(row[0]) != token:
                raise RuntimeError(f"token record {int(row[0])} does not match token {token}")
            top = tuple(
                (int(t), lp) for t, lp in zip(row[4 : 4 + k], row[4 + k : 4 + 2 * k], strict=True)
            )
            steps.append(
                TokenStep(
                    token=token,
                    text=text,
                    logprob=row[1],
                    raw_logprob=row[2],
                    entropy=row[3],
                    top=top,
                    turn_end=tuple(row[4 + 2 * k :]),
                )
            )
        named = {*self.watch, *tokens, *(t for s in steps for t, _ in s.top)}
        return TokenLog(
            steps=tuple(steps),
            top_k=k,
            turn_end_ids=tuple(self.watch),
            pieces={t: piece_text(tokenizer, t) for t in sorted(named)},
        )


def piece_text(tokenizer, token: int) -> str:
    """How one token reads on its own: its text, or its bytes (``\\xe5\\x86``) when it
    is part of a character that needs the next token too."""
    text = tokenizer.decode([token])
    if BYTE_FALLBACK_MARK not in text:
        return text
    raw = tokenizer.convert_ids_to_tokens(token)
    if isinstance(raw, str) and raw.startswith("<0x") and raw.endswith(">"):  # sentencepiece
        return "\\x" + raw[3:-1].lower()
    decoded = _byte_level_bytes(raw) if isinstance(raw, str) else None
    return "".join(f"\\x{b:02x}" for b in decoded) if decoded else text


def _byte_level_bytes(token: str) -> bytes | None:
    """The bytes of a byte-level BPE token (GPT-2's printable mapping), or None."""
    table = _byte_decoder()
    try:
        return bytes(table[ch] for ch in token)
    except KeyError:
        return None


@cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's map from the printable characters of byte-level BPE back to bytes."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    unprintable = [b for b in range(256) if b not in printable]
    return {chr(b): b for b in printable} | {chr(256 + n): b for n, b in enumerate(unprintable)}
