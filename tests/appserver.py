"""Start the real app (``python app.py``) in a subprocess on a free port, for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(
    *,
    db: Path,
    model: str,
    env: dict | None = None,
    timeout: float = 90,
    args: tuple[str, ...] = (),
):
    """Yield the base URL of a live app; stop it afterwards."""
    with running_app_process(db=db, model=model, env=env, timeout=timeout, args=args) as app:
        yield app.url


@contextmanager
def tiny_app(tmp_path_factory, model_dir: Path, db: Path, home: str = "home"):
    """The live app on the tiny model over ``db``, with a ``YILAB_HOME`` of its own."""
    env = {"YILAB_HOME": str(tmp_path_factory.mktemp(home))}
    with running_app(db=db, model=str(model_dir), env=env) as url:
        yield url


@dataclass(frozen=True)
class AppProcess:
    url: str
    proc: subprocess.Popen  # for tests that signal it (kill -9); stdout is piped


@contextmanager
def running_app_process(
    *,
    db: Path,
    model: str,
    env: dict | None = None,
    timeout: float = 90,
    args: tuple[str, ...] = (),
):
    """Like :func:`running_app`, but yield the URL with the process itself."""
    port = free_port()
    cmd = [sys.executable, "app.py", "--port", str(port), "--db", str(db), "--model", model, *args]
    full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, timeout)
        yield AppProcess(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("app exited:\n" + proc.stdout.read().decode(errors="replace"))
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"app did not answer at {url} within {timeout} s")


ARTIFACTS = ROOT / "test-artifacts"  # screenshots; not committed: look at them


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def start_sweep(
    page,
    url,
    *,
    prompt: str,
    temps: str,
    seeds: str,
    max_tokens: str,
    goto: bool = True,
    engine: str | None = None,
) -> None:
    """Open the page (unless ``goto`` is false: it is open), fill the sweep form (``engine``:
    pick that engine, else the default), click Run."""
    if goto:
        page.goto(url, wait_until="load")
    page.wait_for_selector("#yl-run")
    page.fill("#yl-prompt textarea", prompt)
    page.fill("#yl-temps textarea", temps)
    page.fill("#yl-seeds textarea", seeds)
    page.fill("#yl-max-tokens textarea", max_tokens)
    if engine is not None:
        page.locator(f"#yl-engine label:has-text('{engine}')").click()
    page.click("#yl-run")
