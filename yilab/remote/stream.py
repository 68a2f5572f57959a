"""One remote cell: a streaming OpenAI-compatible request, read chunk by chunk into events.

Plain ``http.client`` (standard library): the socket is at hand, so a cancel can shut it
from another thread and wake a read that waits on a silent server, and the connect and
read timeouts are separate. Chat cells go to ``{url}/chat/completions`` with ``messages``,
raw cells to ``{url}/completions`` with ``prompt``; both ask for ``stream_options.
include_usage`` so token counts come from the server when it sends them, and for each
token's log-probabilities when the request records them (:mod:`yilab.remote.logprobs`).
A server that answers that request with a 400 or 422 is asked once more without them: a
sweep does not fail for an optional record.

Timing is as the client sees it: ``ttft_s`` runs from sending the request to the first
text (queueing at the server included); ``generation_tps`` is the tokens after the first
over the time between the first chunk and the last.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from yilab.events import RunResult, Started, Token
from yilab.i18n import Message
from yilab.remote.logprobs import ServerLogprobs, logprob_fields

MAX_LINE = 1 << 20
MAX_ERROR_BODY = 64 * 1024
MAX_ERROR_CHARS = 500
FINISH_REASONS = {"length": "length"}  # any other reason the server gives is a stop
REFUSED = (400, 422)  # how servers refuse a field they do not take


class RemoteFailure(Exception):
    """A cell failed for a reason worth telling as is (the message names the server)."""


class Refused(RemoteFailure):
    """The server refused the request as malformed (HTTP 400 or 422)."""


class Cancelled(Exception):
    """The job was cancelled while this cell streamed."""


class OpenSockets:
    """The sockets a job's cells are reading, so a cancel can shut them all at once."""

    def __init__(self) -> None:
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def discard(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def shutdown_all(self) -> None:
        """Shut (not close: the reading thread closes) every socket; a blocked read returns."""
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed by its reader
                    sock.shutdown(socket.SHUT_RDWR)


def request_body(model: str, request, *, logprobs: bool = True) -> dict:
    """The JSON body for one cell; top_k/min_p/repetition_penalty only when set, and the
    logprobs fields when the request records tokens and ``logprobs`` is true.

    >>> from yilab.events import GenerationRequest
    >>> body = request_body("m", GenerationRequest("u", prompt="Hi", seed=3, max_tokens=8))
    >>> body["prompt"], body["seed"], body["max_tokens"], "top_k" in body, body["logprobs"]
    ('Hi', 3, 8, False, 5)
    """
    body: dict = {
        "model": model,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
    }
    if request.messages is None:
        body["prompt"] = request.prompt or ""
    else:
        body["messages"] = request.messages
    if request.top_k:
        body["top_k"] = request.top_k
    if request.min_p:
        body["min_p"] = request.min_p
    if request.repetition_penalty is not None:
        body["repetition_penalty"] = request.repetition_penalty
    if logprobs:
        body |= logprob_fields(request.top_logprobs, chat=request.messages is not None)
    return body


@dataclass
class CellStream:
    """What one cell's stream said so far; :meth:`result` turns it into a ``RunResult``."""

    job: object  # yilab.remote.runner.RemoteJob
    cell: int
    rendered: str | None
    start: float = field(default_factory=time.perf_counter)
    parts: list[str] = field(default_factory=list)
    chunks: int = 0
    started: bool = False
    finish_reason: str | None = None
    usage: dict = field(default_factory=dict)
    first_at: float | None = None
    last_at: float | None = None
    logprobs: ServerLogprobs | None = None  # asked for: what the server sent of them

    def on_chunk(self, chunk: dict) -> None:
        """Fold one parsed chunk in, emitting ``Started`` (first chunk) and ``Token`` events."""
        if chunk.get("error"):
            raise RemoteFailure(Message("remote.mid_stream", error=_message(chunk)))
        if not self.started:
            self._start(chunk)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if self.logprobs is not None:
                self.logprobs.add(choice.get("logprobs"))
            text = _choice_text(choice)
            if text:
                self._text(text)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
                self.last_at = time.perf_counter()

    def _start(self, chunk: dict) -> None:
        info = {
            "server_model": chunk.get("model"),
            "system_fingerprint": chunk.get("system_fingerprint"),
        }
        self.job.backends[self.cell] = {k: str(v) for k, v in info.items() if v}
        self.job.emit(Started(self.cell, self.rendered, 0, []))
        self.started = True

    def _text(self, text: str) -> None:
        now = time.perf_counter()
        self.first_at = self.first_at if self.first_at is not None else now
        self.last_at = now
        self.chunks += 1
        self.parts.append(text)
        self.job.emit(Token(self.cell, text, self.chunks))

    def result(self, finish_reason: str, error: str | None = None) -> RunResult:
        """The cell's result; token counts from the server's ``usage`` when it sent them."""
        tokens = _int(self.usage.get("completion_tokens"))
        tokens = tokens if tokens is not None else self.chunks
        span = (self.last_at or 0) - (self.first_at or 0)
        text, logprobs = "".join(self.parts), self.logprobs
        return RunResult(
            text=text,
            finish_reason=finish_reason,
            generation_tokens=tokens,
            prompt_tokens=_int(self.usage.get("prompt_tokens")),
            ttft_s=self.first_at - self.start if self.first_at is not None else None,
            generation_tps=(tokens - 1) / span if tokens > 1 and span > 0 else None,
            rendered_prompt=self.rendered,
            error=error,
            token_log=None if logprobs is None else logprobs.token_log(text, finish_reason),
        )


def stream_remote_cell(job, cell: int, remote, request, sockets: OpenSockets) -> RunResult:
    """Send one cell to ``remote`` and stream it into ``job``; never raises for network
    trouble (the result says what happened), and never puts the API key in a message."""
    key = remote.api_key()
    rendered = request.prompt if request.messages is None else None
    state = CellStream(job, cell, rendered, logprobs=_collector(request))
    try:
        try:
            _exchange(remote, request, key, state, sockets)
        except Refused:
            if state.logprobs is None:
                raise
            state = CellStream(job, cell, rendered)  # once more, without the logprobs fields
            _exchange(remote, request, key, state, sockets)
    except Cancelled:
        return state.result("cancelled")
    except (RemoteFailure, OSError, http.client.HTTPException, ValueError) as err:
        if job.cancelled.is_set():
            return state.result("cancelled")
        return state.result("error", _redact(_describe(err, remote, state), key))
    if state.finish_reason is None and job.cancelled.is_set():
        return state.result("cancelled")
    return state.result(FINISH_REASONS.get(state.finish_reason or "stop", "stop"))


def _collector(request) -> ServerLogprobs | None:
    if request.top_logprobs is None:
        return None
    return ServerLogprobs(top_k=request.top_logprobs)


def _exchange(remote, request, key: str | None, state: CellStream, sockets: OpenSockets) -> None:
    """Connect, POST, check the status, read the stream to its end."""
    parts = urlsplit(remote.url)
    path = parts.path + ("/chat/completions" if request.messages is not None else "/completions")
    conn = _connection(parts, remote.connect_timeout_s)
    sock, response = None, None
    try:
        try:
            conn.connect()
        except TimeoutError:
            said = Message("remote.connect_timeout", s=remote.connect_timeout_s)
            raise RemoteFailure(said) from None
        sock = conn.sock  # kept: http.client lets go of it once a response owns the stream
        sock.settimeout(remote.read_timeout_s)
        sockets.add(sock)
        if state.job.cancelled.is_set():
            raise Cancelled
        asks = state.logprobs is not None
        body = json.dumps(request_body(remote.model, request, logprobs=asks)).encode()
        conn.request(
            "POST",
            path + (f"?{parts.query}" if parts.query else ""),
            body=body,
            headers=_headers(key),
        )
        response = conn.getresponse()
        if response.status != 200:
            failure = Refused if response.status in REFUSED else RemoteFailure
            raise failure(  # the reason and the server's message: its own words
                Message(
                    "remote.http",
                    endpoint=f"{parts.scheme}://{parts.netloc}{path}",
                    status=response.status,
                    reason=response.reason,
                    error=_error_text(response),
                )
            )
        _read_stream(response, state)
    finally:
        sockets.discard(sock)
        if response is not None:
            response.close()
        conn.close()


def _connection(parts, timeout: float) -> http.client.HTTPConnection:
    if parts.scheme == "https":
        context = ssl.create_default_context()
        return http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context
        )
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def _headers(key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _read_stream(response, state: CellStream) -> None:
    """Feed every chunk to ``state`` up to ``[DONE]``; a stream cut short is an error."""
    for payload in sse_payloads(response, state.job.cancelled):
        if payload.strip() == "[DONE]":
            return
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise RemoteFailure(Message("remote.bad_chunk", payload=repr(payload[:200]))) from None
        if isinstance(chunk, dict):
            state.on_chunk(chunk)
    if state.finish_reason is None:
        raise RemoteFailure(Message("remote.cut_short", n=state.chunks))


def sse_payloads(response, cancelled: threading.Event) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent-events stream; comments (keep-alives) are
    skipped. Raises :class:`Cancelled` at the next line once ``cancelled`` is set."""
    data: list[str] = []
    while True:
        line = response.readline(MAX_LINE)
        if cancelled.is_set():
            raise Cancelled
        if not line:
            if data:
                yield "\n".join(data)
            return
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if text.startswith("data:"):
            data.append(text[5:].removeprefix(" "))
        elif not text and data:
            yield "\n".join(data)
            data = []


def _choice_text(choice: dict) -> str:
    """The new text in a chat delta or a completion choice."""
    delta = choice.get("delta")
    text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
    return text if isinstance(text, str) else ""


def _error_text(response) -> str:
    """The server's own message from an error body (JSON ``error`` / ``detail``, or text)."""
    raw = response.read(MAX_ERROR_BODY).decode("utf-8", errors="replace")
    try:
        return _message(json.loads(raw))[:MAX_ERROR_CHARS]
    except ValueError:
        return raw.strip()[:MAX_ERROR_CHARS] or "(no message)"


def _message(doc) -> str:
    """``{"error": "x"}``, ``{"error": {"message": "x"}}`` or ``{"detail": "x"}`` → ``x``."""
    if not isinstance(doc, dict):
        return str(doc)
    error = doc.get("error", doc.get("detail", doc))
    if isinstance(error, dict):
        error = error.get("message", error)
    return str(error)


def _describe(err: Exception, remote, state: CellStream) -> str:
    """A readable message for a failed cell, naming the server."""
    if isinstance(err, RemoteFailure):
        message = err.args[0] if err.args else str(err)
    elif isinstance(err, TimeoutError):
        message = Message("remote.read_timeout", s=remote.read_timeout_s)
    elif isinstance(err, ConnectionRefusedError):
        message = Message("remote.refused")
    elif isinstance(err, socket.gaierror):
        message = Message("remote.unknown_host", error=str(err.strerror))
    elif state.chunks:
        error = f"{type(err).__name__}: {err}"  # the library's own words
        message = Message("remote.broke", n=state.chunks, error=error)
    elif isinstance(err, http.client.RemoteDisconnected):
        message = Message("remote.closed")
    else:
        message = f"{type(err).__name__}: {err}"
    return (
        message if remote.url in message else Message("remote.at", url=remote.url, message=message)
    )


def _redact(message: str, key: str | None) -> str:
    """The message with the API key (if any) replaced, whatever the server echoed (in a
    :class:`Message`, in each of its values)."""
    if not key:
        return message
    if isinstance(message, Message):
        values = {
            k: _redact(v, key) if isinstance(v, str) else v for k, v in message.values.items()
        }
        return Message(message.key, **values)
    return message.replace(key, "***")


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
