"""What a run's tokens were and how likely: one :class:`TokenStep` per generated token.

Each step keeps the token's log-probability under the distribution it was actually drawn
from (after temperature, top-p, top-k and min-p; 0 at temperature 0, where the most likely
token is taken) and under the model's own distribution (before any of that, and before a
logit bias or repetition penalty), the entropy of the model's distribution, its ``top_k``
most likely tokens, and the model's log-probability of each turn-end candidate
(``turn_end_ids``: the stop tokens and the template's end of turn) whether or not it was drawn.

Stored compactly (:meth:`TokenLog.to_blob`): ``YLT1``, then, zlib-compressed together, a
JSON header (sizes, the turn-end ids, each named token's text) and the columns — token ids as uint16 (uint32 past 65,535), the drawn token's two log-probabilities
as float32, entropy and alternatives as float16. :meth:`to_json` is the readable form
written to JSONL exports.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from yilab.errors import BadInputError
from yilab.i18n import Message

FORMAT = "yilab-tokens/1"
MAGIC = b"YLT1"
DEFAULT_TOP_K = 5
MAX_TOP_K = 20


@dataclass(frozen=True)
class TokenStep:
    """One generated token. ``text`` is what it added to the output ("" for an eos, or for
    a byte that only makes a character with the next token)."""

    token: int
    text: str
    logprob: float | None  # under the distribution it was drawn from; None when unknown
    raw_logprob: float | None  # under the model's distribution
    entropy: float | None = None  # of the model's distribution, in nats
    top: tuple[tuple[int, float], ...] = ()  # (token id, model log-probability), likeliest first
    turn_end: tuple[float, ...] = ()  # model log-probability of each TokenLog.turn_end_ids

    @property
    def probability(self) -> float | None:
        """The model's probability of this token."""
        return None if self.raw_logprob is None else math.exp(self.raw_logprob)


@dataclass(frozen=True)
class TokenLog:
    """A run's steps, with the display text of every token id they name (``pieces``).

    ``source`` is ``mlx`` (recorded in process: token ids are the model's) or ``server`` (what
    an OpenAI-compatible server returned: ids number the distinct token texts of this log).
    """

    steps: tuple[TokenStep, ...]
    top_k: int
    turn_end_ids: tuple[int, ...] = ()
    pieces: dict[int, str] = field(default_factory=dict)
    source: str = "mlx"

    def piece(self, token: int) -> str:
        """The display text of a token id (``#id`` if this log does not name it)."""
        return self.pieces.get(token, f"#{token}")

    def ids(self) -> list[int]:
        return [s.token for s in self.steps]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.steps)

    def given(self, position: int, token: int, text: str | None = None) -> TokenLog:
        """This log's first ``position`` steps, then ``token`` given (not drawn) at
        ``position``: the start of a branch. The given step keeps what the model thought
        there (its alternatives, entropy, turn end) and the token's model log-probability
        when it is among the alternatives."""
        if not 0 <= position < len(self.steps):
            said = Message("token_log.no_step", position=position, n=len(self.steps))
            raise BadInputError(said)
        there = self.steps[position]
        step = replace(
            there,
            token=token,
            text=self.piece(token) if text is None else text,
            logprob=None,
            raw_logprob=dict(there.top).get(
                token, there.raw_logprob if there.token == token else None
            ),
        )
        return replace(self, steps=(*self.steps[:position], step))

    def with_text(self, text: str) -> TokenLog:
        """The same steps, the last one's text set so that they join to ``text`` (what the
        tokens decoded to together: a given token's display text may be bytes, ``\\xe5``).

        >>> log = TokenLog((TokenStep(5, "a", None, None), TokenStep(6, "\\xe5", None, None)), 0)
        >>> [s.text for s in log.with_text("a好").steps]
        ['a', '好']
        """
        head = "".join(s.text for s in self.steps[:-1])
        if not self.steps or not text.startswith(head):
            return self
        last = replace(self.steps[-1], text=text[len(head) :])
        return replace(self, steps=(*self.steps[:-1], last))

    def followed_by(self, other: TokenLog) -> TokenLog:
        """This log's steps, then ``other``'s (a branch's given tokens, then what it drew)."""
        return replace(
            other, steps=(*self.steps, *other.steps), pieces={**self.pieces, **other.pieces}
        )

    # -- the readable form --------------------------------------------------

    def to_json(self) -> dict:
        """A JSON-ready dict (the ``tokens`` of a JSONL export); :meth:`from_json` reads it."""
        return {
            "format": FORMAT,
            "source": self.source,
            "top_k": self.top_k,
            "turn_end": [{"id": i, "text": self.piece(i)} for i in self.turn_end_ids],
            "steps": [
                {
                    "id": s.token,
                    "text": s.text,
                    "logprob": s.logprob,
                    "raw_logprob": s.raw_logprob,
                    "entropy": s.entropy,
                    "piece": self.piece(s.token),
                    "top": [[t, self.piece(t), lp] for t, lp in s.top],
                    "turn_end": list(s.turn_end),
                }
                for s in self.steps
            ],
        }

    @classmethod
    def from_json(cls, doc: dict) -> TokenLog:
        """Read :meth:`to_json`'s form; a malformed document raises ``BadInputError``."""
        try:
            if doc["format"] != FORMAT:
                raise BadInputError(Message("token_log.format", format=repr(doc["format"])))
            pieces = {int(t["id"]): str(t["text"]) for t in doc["turn_end"]}
            steps = []
            for s in doc["steps"]:
                pieces.update({int(t): str(text) for t, text, _ in s["top"]})
                if "piece" in s:
                    pieces[int(s["id"])] = str(s["piece"])
                steps.append(
                    TokenStep(
                        token=int(s["id"]),
                        text=str(s["text"]),
                        logprob=_number(s["logprob"]),
                        raw_logprob=_number(s["raw_logprob"]),
                        entropy=_number(s["entropy"]),
                        top=tuple((int(t), float(lp)) for t, _, lp in s["top"]),
                        turn_end=tuple(float(x) for x in s["turn_end"]),
                    )
                )
            return cls(
                steps=tuple(steps),
                top_k=int(doc["top_k"]),
                turn_end_ids=tuple(int(t["id"]) for t in doc["turn_end"]),
                pieces=pieces,
                source=str(doc["source"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise BadInputError(Message("token_log.malformed", error=repr(err))) from None

    # -- the stored form ----------------------------------------------------

    def to_blob(self) -> bytes:
        """The compact stored form (see the module's docstring)."""
        n, k, c = len(self.steps), self.top_k, len(self.turn_end_ids)
        wide = any(t > 0xFFFF for t in self._all_ids())
        id_type = np.uint32 if wide else np.uint16
        top_ids = np.zeros((n, k), id_type)
        top_lps = np.full((n, k), np.nan, np.float16)
        for row, step in enumerate(self.steps):
            for col, (token, lp) in enumerate(step.top[:k]):
                top_ids[row, col], top_lps[row, col] = token, lp
        turn_end = np.full((n, c), np.nan, np.float16)
        for row, step in enumerate(self.steps):
            turn_end[row, : len(step.turn_end)] = step.turn_end[:c]
        texts = [s.text.encode("utf-8", "surrogatepass") for s in self.steps]
        columns = [
            np.array([s.token for s in self.steps], id_type),
            np.array([len(t) for t in texts], np.uint32),
            _floats([s.logprob for s in self.steps], np.float32),
            _floats([s.raw_logprob for s in self.steps], np.float32),
            _floats([s.entropy for s in self.steps], np.float16),
            top_ids,
            top_lps,
            turn_end,
        ]
        body = b"".join(
            np.ascontiguousarray(col).astype(col.dtype.newbyteorder("<")).tobytes()
            for col in columns
        ) + b"".join(texts)
        header = json.dumps(
            {
                "format": FORMAT,
                "n": n,
                "top_k": k,
                "ids": "u4" if wide else "u2",
                "turn_end_ids": list(self.turn_end_ids),
                "pieces": {str(t): p for t, p in sorted(self.pieces.items())},
                "source": self.source,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        return MAGIC + zlib.compress(struct.pack("<I", len(header)) + header + body, 9)

    @classmethod
    def from_blob(cls, blob: bytes, *, max_body: int | None = None) -> TokenLog:
        """Read :meth:`to_blob`'s form; anything else raises ``BadInputError``, and so
        does a body that inflates past ``max_body`` bytes (a blob from someone else)."""
        try:
            if blob[:4] != MAGIC:
                raise ValueError("not a yilab token log")
            payload = _inflate(blob[4:], max_body)
            (size,) = struct.unpack("<I", payload[:4])
            header = json.loads(payload[4 : 4 + size].decode("utf-8"))
            return cls._from_columns(header, payload[4 + size :])
        except (ValueError, KeyError, TypeError, struct.error, zlib.error) as err:
            raise BadInputError(Message("token_log.damaged", error=str(err))) from None

    @classmethod
    def _from_columns(cls, header: dict, body: bytes) -> TokenLog:
        n, k = int(header["n"]), int(header["top_k"])
        turn_end_ids = tuple(int(t) for t in header["turn_end_ids"])
        c = len(turn_end_ids)
        id_type = {"u2": "<u2", "u4": "<u4"}[header["ids"]]
        reader = _Columns(body)
        tokens = reader.take(id_type, n)
        lengths = reader.take("<u4", n)
        logprob, raw = reader.take("<f4", n), reader.take("<f4", n)
        entropy = reader.take("<f2", n)
        top_ids = reader.take(id_type, n * k).reshape(n, k)
        top_lps = reader.take("<f2", n * k).reshape(n, k)
        turn_end = reader.take("<f2", n * c).reshape(n, c)
        texts = reader.rest()
        if int(lengths.sum()) != len(texts):
            raise ValueError("token texts do not match their lengths")
        steps, at = [], 0
        for i in range(n):
            text = texts[at : at + int(lengths[i])].decode("utf-8", "surrogatepass")
            at += int(lengths[i])
            top = tuple(
                (int(t), float(lp))
                for t, lp in zip(top_ids[i], top_lps[i], strict=True)
                if not np.isnan(lp)
            )
            steps.append(
                TokenStep(
                    token=int(tokens[i]),
                    text=text,
                    logprob=_maybe(logprob[i]),
                    raw_logprob=_maybe(raw[i]),
                    entropy=_maybe(entropy[i]),
                    top=top,
                    turn_end=tuple(float(x) for x in turn_end[i]),
                )
            )
        pieces = {int(t): str(p) for t, p in header["pieces"].items()}
        return cls(tuple(steps), k, turn_end_ids, pieces, str(header["source"]))

    def _all_ids(self) -> list[int]:
        return [
            *self.turn_end_ids,
            *(s.token for s in self.steps),
            *(t for s in self.steps for t, _ in s.top),
        ]


class _Columns:
    """Reads consecutive little-endian arrays out of one buffer."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.at + size > len(self.data):
            raise ValueError("token log is cut short")
        out = np.frombuffer(self.data, dtype, count, self.at)
        self.at += size
        return out

    def rest(self) -> bytes:
        return self.data[self.at :]


def _inflate(data: bytes, max_body: int | None) -> bytes:
    """``zlib.decompress(data)``, refusing to inflate past ``max_body`` bytes."""
    if max_body is None:
        return zlib.decompress(data)
    inflater = zlib.decompressobj()
    body = inflater.decompress(data, max_body)
    if inflater.unconsumed_tail:
        raise ValueError(f"the token log inflates past {max_body:,} bytes")
    if not inflater.eof:
        raise ValueError("token log is cut short")
    return body


def _floats(values: Sequence[float | None], dtype) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype)


def _maybe(value) -> float | None:
    return None if np.isnan(value) else float(value)


def _number(value) -> float | None:
    return None if value is None else float(value)
