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


class RecordingHandler(BaseHTTPRequestHandler):
    """An OpenAI-style endpoint whose behaviour is picked by the request's ``model``:
    ``echo`` streams "Hello" " world" and stops (no usage), ``slow`` does the same with
    pauses, ``deny`` answers 401 quoting the Authorization header back (a careless server)."""

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
        try:
            if body.get("model") == "deny":
                self._deny()
            else:
                self._stream(pause=0.3 if body.get("model") == "slow" else 0.0)
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

    def _stream(self, pause: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for text, reason in (("Hello", None), (" world", None), (None, "stop")):
            time.sleep(pause)
            if reason is not None:
                self._leave()
            delta = {"content": text} if text else {}
            chunk = {
                "model": "recorder-model",
                "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
            }
            self.wfile.write(b": keep-alive\n\n")
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


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
