"""Per-token log-probabilities that an OpenAI-compatible server streams back, read into a
:class:`~yilab.experiment.token_log.TokenLog` with ``source="server"``.

:func:`logprob_fields` asks for them: chat completions take OpenAI's ``"logprobs": true,
"top_logprobs": k``, completions the legacy ``"logprobs": k``. :class:`ServerLogprobs` reads
either answer shape from each chunk's ``choices[i].logprobs``, whatever the endpoint:

- ``{"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob",
  "bytes"}]}]}`` (chat completions)
- ``{"tokens": [..], "token_logprobs": [..], "top_logprobs": [{token: logprob}]}`` (legacy)

A server reports the model's distribution as it defines it, and that is stored as each
step's ``raw_logprob``. mlx_lm.server 0.32.2 gives the log-softmax of the logits after its
logits processors (logit bias, repetition penalty) and before temperature and top-p: in its
non-streamed answers, the drawn tokens' values equal yilab's own ``raw_logprob`` to 1e-6 at
temperatures 0 and 0.8. Its streamed chunks carry none. The log-probability under the
distribution the token was drawn from, the entropy and the turn-end candidates are not
reported, so they stay unknown.
"""

from __future__ import annotations

import codecs
import math
from dataclasses import dataclass, field

from yilab.experiment.token_log import TokenLog, TokenStep

BYTES_PREFIX = "bytes:\\x"  # OpenAI's token string for part of a character: bytes:\xe4\xbd


def logprob_fields(top_logprobs: int | None, *, chat: bool) -> dict:
    """The request fields that ask for ``top_logprobs`` alternatives per token (none: {}).

    >>> logprob_fields(3, chat=True), logprob_fields(0, chat=True), logprob_fields(3, chat=False)
    ({'logprobs': True, 'top_logprobs': 3}, {'logprobs': True}, {'logprobs': 3})
    """
    if top_logprobs is None:
        return {}
    if not chat:
        return {"logprobs": top_logprobs}
    return {"logprobs": True, **({"top_logprobs": top_logprobs} if top_logprobs else {})}


@dataclass(frozen=True)
class ServerToken:
    """One token as a server names it: its string, and its UTF-8 bytes when it gives them."""

    token: str
    raw: bytes | None = None

    @property
    def piece(self) -> str:
        """How it reads on its own: ``\\xe4\\xbd`` for part of a character (as local logs)."""
        if self.raw is None:
            return self.token
        try:
            return self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(f"\\x{b:02x}" for b in self.raw)


@dataclass(frozen=True)
class ServerStep:
    """One generated token with the server's log-probability and alternatives."""

    token: ServerToken
    logprob: float
    top: tuple[tuple[ServerToken, float], ...]


class MalformedLogprobs(ValueError):
    """The server's logprobs do not have a shape this module reads."""


@dataclass
class ServerLogprobs:
    """The steps read from a stream's chunks so far (``broken`` once any was malformed:
    then the run gets no log, since a log with holes would misplace every later token)."""

    top_k: int
    steps: list[ServerStep] = field(default_factory=list)
    broken: bool = False

    def add(self, logprobs) -> None:
        """Fold in one choice's ``logprobs`` (None or absent: nothing)."""
        if logprobs is None or self.broken:
            return
        try:
            self.steps += _steps(logprobs)
        except MalformedLogprobs:
            self.broken = True

    def token_log(self, output: str, finish_reason: str) -> TokenLog | None:
        """The log, or None when the server sent no steps or malformed ones."""
        if self.broken or not self.steps:
            return None
        texts = _fit_to_output(_step_texts(self.steps), output, finish_reason)
        ids: dict[str, int] = {}
        steps = tuple(
            TokenStep(
                token=ids.setdefault(step.token.piece, len(ids)),
                text=text,
                logprob=None,  # servers do not say how likely it was where it was drawn
                raw_logprob=step.logprob,
                top=tuple(
                    (ids.setdefault(alt.piece, len(ids)), lp) for alt, lp in step.top[: self.top_k]
                ),
            )
            for step, text in zip(self.steps, texts, strict=True)
        )
        pieces = {i: piece for piece, i in ids.items()}
        return TokenLog(steps=steps, top_k=self.top_k, pieces=pieces, source="server")


def _steps(logprobs) -> list[ServerStep]:
    """The steps of one chunk's ``logprobs``, in either shape (see the module docstring)."""
    if not isinstance(logprobs, dict):
        raise MalformedLogprobs(f"logprobs is a {type(logprobs).__name__}")
    if logprobs.get("content") is not None:
        return [_content_step(entry) for entry in _list(logprobs["content"])]
    if logprobs.get("tokens") is None:
        return []
    tokens, values = _list(logprobs["tokens"]), _list(logprobs.get("token_logprobs"))
    tops = _list(logprobs.get("top_logprobs") or [{}] * len(tokens))
    if not len(tokens) == len(values) == len(tops):
        raise MalformedLogprobs("tokens, token_logprobs and top_logprobs differ in length")
    return [
        ServerStep(_named_token(t), _logprob(v), _sorted(_legacy_top(top)))
        for t, v, top in zip(tokens, values, tops, strict=True)
    ]


def _content_step(entry) -> ServerStep:
    """``{"token", "logprob", "bytes", "top_logprobs": [...]}`` → a step."""
    if not isinstance(entry, dict):
        raise MalformedLogprobs(f"a logprobs entry is a {type(entry).__name__}")
    top = [(_server_token(alt), _logprob(alt.get("logprob"))) for alt in _alternatives(entry)]
    return ServerStep(_server_token(entry), _logprob(entry.get("logprob")), _sorted(top))


def _alternatives(entry: dict) -> list[dict]:
    alternatives = _list(entry.get("top_logprobs") or [])
    if not all(isinstance(alt, dict) for alt in alternatives):
        raise MalformedLogprobs("top_logprobs holds something other than objects")
    return alternatives


def _server_token(entry: dict) -> ServerToken:
    raw = entry.get("bytes")
    if raw is None:
        return _named_token(entry.get("token"))
    if not isinstance(raw, list) or not all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in raw
    ):
        raise MalformedLogprobs(f"bytes is not a list of byte values: {raw!r}"[:200])
    token = entry.get("token")  # optional beside the bytes
    return ServerToken("" if token is None else _str(token), bytes(raw))


def _legacy_top(top) -> list[tuple[ServerToken, float]]:
    top = {} if top is None else top
    if not isinstance(top, dict):
        raise MalformedLogprobs(f"a top_logprobs entry is a {type(top).__name__}")
    return [(_named_token(t), _logprob(lp)) for t, lp in top.items()]


def _named_token(token) -> ServerToken:
    """A token given by its string alone; OpenAI names part of a character by its bytes.

    >>> _named_token("bytes:\\\\xe4\\\\xbd").raw, _named_token("Hi").raw
    (b'\\xe4\\xbd', None)
    """
    token = _str(token)
    if not token.startswith(BYTES_PREFIX):
        return ServerToken(token)
    try:
        return ServerToken(token, bytes(int(h, 16) for h in token.split("\\x")[1:]))
    except ValueError:
        return ServerToken(token)


def _sorted(top: list[tuple[ServerToken, float]]) -> tuple[tuple[ServerToken, float], ...]:
    """Likeliest first: a server need not sort them (mlx_lm.server does not)."""
    return tuple(sorted(top, key=lambda alt: -alt[1]))


def _step_texts(steps: list[ServerStep]) -> list[str]:
    """What each token added to the output: its bytes decoded in sequence, so a character
    split over two tokens comes out whole at the second (the first adds ""); a token
    without bytes adds its string."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    texts = []
    for step in steps:
        if step.token.raw is None:
            texts.append(decoder.decode(b"", final=True) + step.token.token)
            decoder.reset()
        else:
            texts.append(decoder.decode(step.token.raw))
    if texts:
        texts[-1] += decoder.decode(b"", final=True)
    return texts


def _fit_to_output(texts: list[str], output: str, finish_reason: str) -> list[str]:
    """The step texts, with a last token that stopped the run (an eos or a stop string the
    output leaves out) adding "". Otherwise the server's own strings are kept, even where
    they do not join to the output (a server may, say, list a token it then hid)."""
    joined = "".join(texts)
    stopped = finish_reason == "stop" and texts and joined != output
    if stopped and joined[: len(joined) - len(texts[-1])] == output:
        return [*texts[:-1], ""]
    return texts


def _list(value) -> list:
    if not isinstance(value, list):
        raise MalformedLogprobs(f"expected a list, got {type(value).__name__}")
    return value


def _str(value) -> str:
    if not isinstance(value, str):
        raise MalformedLogprobs(f"a token is a {type(value).__name__}, not a string")
    return value


def _logprob(value) -> float:
    """A log-probability: a number, not NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise MalformedLogprobs(f"a logprob is {value!r}"[:200])
    return float(value)
