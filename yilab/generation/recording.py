"""Record each token's probabilities while it is drawn, at almost no cost.

:class:`Recorder` stands in for a run's sampler (in ``stream_generate`` and in a
``BatchGenerator`` row alike). When it draws a token it keeps that step's arrays — the
token, the log-probabilities it was drawn from and the model's — and two steps later,
when the step is surely evaluated, reads them through NumPy (no copy) into one small
row: the token, its log-probability under the distribution it was drawn from and under
the model's, the entropy, the top-k alternatives, the turn-end candidates. NumPy, not
MLX: on this CPU one MLX ``exp`` over SmolLM2's 49,152 logits takes 0.63 ms, NumPy's
0.02 ms (SIMD), and the work runs on the Python thread while MLX computes the next
step. The model's distribution is the one before logits processors (a logit bias, a
repetition penalty): when a run has any, a first processor keeps the untouched logits
for the recorder.
"""

from __future__ import annotations

from collections import deque
from functools import cache

import mlx.core as mx
import numpy as np

from yilab.experiment.token_log import TokenLog, TokenStep
from yilab.generation.sampling import SeededSampler

BYTE_FALLBACK_MARK = "\ufffd"
# A step's arrays are read this many draws later: when a sampler is called for token k,
# token k-1 may still be computing (both engines evaluate one step ahead), k-2 is done.
LAG = 2


class Recorder:
    """A sampler that records (``top_k`` alternatives; ``watch``: the turn-end candidates)."""

    def __init__(self, sampler: SeededSampler, *, top_k: int, watch: list[int]) -> None:
        self.sampler, self.top_k, self.watch = sampler, top_k, list(watch)
        self._watch = np.array(self.watch, dtype=np.int64)
        self._raw: list[mx.array] = []  # logits kept by the capture processor
        self._pending: deque[tuple[mx.array, mx.array | None, mx.array, bool]] = deque()
        self.records: list[np.ndarray] = []

    def capture(self, tokens: mx.array, logits: mx.array) -> mx.array:
        """A logits processor that keeps the logits it is given; put it first."""
        self._raw.append(logits)
        return logits

    def __call__(self, logprobs: mx.array) -> mx.array:
        token, scaled = self.sampler.draw(logprobs)
        if self._raw:
            self._pending.append((token, scaled, self._raw.pop(), False))
        else:
            self._pending.append((token, scaled, logprobs, True))
        while len(self._pending) > LAG:
            self._read_oldest()
        return token

    def _settle(self, draws: int) -> None:
        """Read every pending step up to ``draws`` records (their arrays are evaluated)."""
        while self._pending and len(self.records) < draws:
            self._read_oldest()

    def _read_oldest(self) -> None:
        self.records.append(self._record(*self._pending.popleft()))

    def _record(
        self, token: mx.array, scaled: mx.array | None, raw: mx.array, normalised: bool
    ) -> np.ndarray:
        token = int(np.asarray(token).reshape(-1)[0])
        raw = np.asarray(raw).reshape(-1)
        if not normalised:
            raw = raw - _logsumexp(raw)
        drawn = 0.0  # temperature 0: the token had all the mass
        if scaled is not None:
            scaled = np.asarray(scaled).reshape(-1)
            drawn = scaled[token] - _logsumexp(scaled)
        probs = np.exp(raw)
        finite = np.isfinite(raw)
        entropy = -np.dot(probs, raw) if finite.all() else -np.dot(probs[finite], raw[finite])
        parts = [np.array([token, drawn, raw[token], entropy], dtype=np.float64)]
        if self.top_k:
            best = np.argpartition(raw, -self.top_k)[-self.top_k :]
            best = best[np.argsort(-raw[best], kind="stable")]
            parts += [best, raw[best]]
        parts.append(raw[self._watch])
        return np.concatenate(parts).astype(np.float32)

    def token_log(self, tokens: list[int], texts: list[str], tokenizer) -> TokenLog:
        """The log of the first ``len(tokens)`` draws (a run may draw one more than it
        emits); ``texts`` is what each token added to the output."""
        self._settle(len(tokens))
        records = self.records[: len(tokens)]
        if len(records) != len(tokens):
            raise RuntimeError(f"{len(records)} token records for {len(tokens)} tokens")
        rows = np.stack(records).tolist() if records else []
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


def _logsumexp(values: np.ndarray) -> float:
    """log Σ exp(values), safe for large values and for -inf entries (filtered tokens)."""
    top = values.max()
    return float(top + np.log(np.sum(np.exp(values - top))))


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
