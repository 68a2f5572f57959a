"""Real servers for the remote-backend tests, all on 127.0.0.1: ``mlx_lm.server`` serving a
model, a small OpenAI-style server that records what it is sent, and a socket that never
answers. No mocks: yilab talks HTTP to each of them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MlxServer:
    """A running ``python -m mlx_lm server``; ``model_id`` is what its /v1/models lists."""

    proc: subprocess.Popen
    port: int
    model_id: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def spec(self, model: str | None = None) -> str:
        return f"openai+{self.url}#{model or self.model_id}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_mlx_server(model_dir: Path, workdir: Path, timeout: float = 60) -> MlxServer:
    """Start mlx_lm.server on a free port and wait until /v1/models answers.

    mlx_lm 0.32.2's /v1/models fails (empty reply) when the Hugging Face cache folder is
    missing, so the server gets an empty cache of its own (which also keeps it offline).
    """
    port, log = free_port(), workdir / f"mlx-server-{os.getpid()}-{time.monotonic_ns()}.log"
    (workdir / "hf-cache").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(workdir / "hf-cache")}
    cmd = [sys.executable, "-m", "mlx_lm", "server", "--model", str(model_dir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlx_lm.server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                models = json.loads(r.read())["data"]
            return MlxServer(proc, port, models[0]["id"], log)
        except (OSError, ValueError, KeyError, IndexError):
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"mlx_lm.server did not answer in {timeout} s: {log.read_text()[-2000:]}")


@dataclass
class Recorded:
    """What the recording server saw."""

    requests: list[dict] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


# "Hi 你好" as a server streams it with logprobs: (delta text, token, bytes, logprob, top).
# 你 is split over two tokens; the first adds no text and its string is OpenAI's
# "bytes:" form. The last token is the end of turn, which adds nothing to the output.
LOGPROB_TOKENS = [
    ("Hi", "Hi", b"Hi", -0.25, [("Hello", -2.0), ("Hi", -0.25), ("Hey", -3.5)]),
    (" ", " ", b" ", -0.5, [(" ", -0.5), ("!", -1.5), (",", -2.5)]),
    ("", "bytes:\\xe4\\xbd", b"\xe4\xbd", -1.0, [("bytes:\\xe4\\xbd", -1.0), ("w", -1.2)]),
    ("你", "bytes:\\xa0", b"\xa0", -0.01, [("bytes:\\xa0", -0.01)]),
    ("好", "好", "好".encode(), -0.125, [("好", -0.125), ("们", -2.25), ("吗", -4.0)]),
    ("", "<|im_end|>", b"<|im_end|>", -0.0625, [("<|im_end|>", -0.0625), ("!", -3.0)]),
]


class RecordingHandler(BaseHTTPRequestHandler):
    """An OpenAI-style endpoint whose behaviour is picked by the request's ``model``:
    ``echo`` streams "Hello" " world" and stops (no usage), ``slow`` does the same with
    pauses, ``deny`` answers 401 quoting the Authorization header back (a careless server),
    ``logprobs`` streams "Hi 你好" with the logprobs asked for (:data:`LOGPROB_TOKENS`, in
    OpenAI's chat shape or the legacy completions one), ``malformed`` streams "Hello world"
    with logprobs of the wrong types, and ``picky`` answers 400 to a request with logprobs
    fields (as mlx_lm.server does to ``top_logprobs`` above 11) and echoes the others, and
    ``refuse`` answers 400 to every request."""

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seen: Recorded = self.server.recorded
        with seen.lock:
            seen.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            seen.in_flight += 1
            seen.max_in_flight = max(seen.max_in_flight, seen.in_flight)
        self.in_flight = True
        model = body.get("model")
        try:
            if model == "deny":
                self._deny()
            elif model == "picky" and "logprobs" in body:
                self._refuse("top_logprobs must be at most 11")
            elif model == "refuse":
                self._refuse("this server takes no requests")
            elif model == "logprobs":
                self._stream_logprobs(body)
            else:
                self._stream(pause=0.3 if model == "slow" else 0.0, malformed=model == "malformed")
        finally:
            self._leave()

    def _leave(self) -> None:
        """No longer in flight: called before the last chunk is written, since a client
        that reads it may send its next request before this thread runs again."""
        if self.in_flight:
            self.in_flight = False
            with self.server.recorded.lock:
                self.server.recorded.in_flight -= 1

    def _deny(self) -> None:
        message = {"error": {"message": f"bad key: {self.headers.get('Authorization')}"}}
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(message).encode())

    def _refuse(self, message: str) -> None:
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"error": message}).encode())

    def _stream(self, pause: float, malformed: bool = False) -> None:
        self._start_stream()
        for text, reason in (("Hello", None), (" world", None), (None, "stop")):
            time.sleep(pause)
            if reason is not None:
                self._leave()
            delta = {"content": text} if text else {}
            choice = {"index": 0, "delta": delta, "finish_reason": reason}
            if malformed and text:  # a logprob as a string, alternatives as an object
                wrong = {"token": text, "logprob": "high", "top_logprobs": {"x": -1}}
                choice["logprobs"] = {"content": [wrong]}
            self._chunk({"model": "recorder-model", "choices": [choice]})
        self.wfile.write(b"data: [DONE]\n\n")

    def _stream_logprobs(self, body: dict) -> None:
        """ "Hi 你好": in OpenAI's chat shape, or (completions) the legacy one."""
        self._start_stream()
        chat = "messages" in body
        k = body.get("top_logprobs", 0) if chat else body.get("logprobs") or 0
        for n, (text, token, raw, logprob, top) in enumerate(LOGPROB_TOKENS):
            last = n == len(LOGPROB_TOKENS) - 1
            if last:
                self._leave()
            reason = "stop" if last else None
            if chat:
                entry = {"token": token, "logprob": logprob, "bytes": list(raw)}
                alts = [
                    {"token": t, "logprob": lp, "bytes": list(raw if t == token else t.encode())}
                    for t, lp in top[:k]
                ]
                logprobs = {"content": [{**entry, "top_logprobs": alts}]}
                choice = {"index": 0, "delta": {"content": text}, "logprobs": logprobs}
            else:
                legacy = {"tokens": [token], "token_logprobs": [logprob]}
                logprobs = {**legacy, "top_logprobs": [dict(top[:k])]}
                choice = {"index": 0, "text": text, "logprobs": logprobs}
            self._chunk(
                {"model": "recorder-model", "choices": [{**choice, "finish_reason": reason}]}
            )
        self.wfile.write(b"data: [DONE]\n\n")

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

    def _chunk(self, chunk: dict) -> None:
        self.wfile.write(b": keep-alive\n\n")
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()


class RecordingServer:
    """A :class:`RecordingHandler` server on a thread; ``url`` is its API base."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
        self.httpd.recorded = Recorded()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def recorded(self) -> Recorded:
        return self.httpd.recorded

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def silent_listener() -> socket.socket:
    """A socket that accepts connections (into its backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock
