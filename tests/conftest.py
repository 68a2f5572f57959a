"""Shared fixtures. Tests never touch real user state: the db and yilab's home
(converted models) point into a temporary folder, and nothing is downloaded."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.tinymodel import build_tiny_model  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    """Point the db and yilab's home at tmp_path. The default model's conversion is
    kept in a session-wide cache (``YILAB_TEST_CACHE``) so it is converted once per run."""
    monkeypatch.setenv("YILAB_DB", str(tmp_path / "experiments.db"))
    home = os.environ.get("YILAB_TEST_HOME")
    monkeypatch.setenv("YILAB_HOME", home or str(tmp_path / "yilab-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))
    yield


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random-weight ChatML llama model whose eos is ``<|im_end|>``."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory):
    """A yilab home shared by the slow tests, so the default model converts once."""
    return tmp_path_factory.mktemp("yilab-home")


@pytest.fixture
def default_model_home(shared_home, monkeypatch):
    """Use the session-wide yilab home, so the default model is converted once."""
    monkeypatch.setenv("YILAB_HOME", str(shared_home))
    return shared_home


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, shared by every browser test."""
    from tests.appserver import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (make test installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh laptop-sized page; ``page.dialogs`` records (and dismisses) any dialog."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    yield page
    context.close()


@pytest.fixture(scope="module")
def worker():
    """A generation worker shared by a test module (it owns the loaded models)."""
    from yilab.generation.worker import GenerationWorker

    w = GenerationWorker()
    yield w
    w.close()


@pytest.fixture
def service(tmp_path):
    """A real service over a fresh run log in tmp_path."""
    from yilab.service import Service

    s = Service(tmp_path / "yilab.db")
    yield s
    s.close()


@pytest.fixture(scope="session")
def mlx_server(tiny_model_dir, tmp_path_factory):
    """A real ``mlx_lm.server`` on loopback serving the tiny model, shared by the session."""
    from tests.remoteservers import start_mlx_server

    server = start_mlx_server(tiny_model_dir, tmp_path_factory.mktemp("mlx-server"))
    yield server
    server.stop()


@pytest.fixture
def recorder():
    """A scripted OpenAI-compatible server that records what it was sent."""
    from tests.remoteservers import RecordingServer

    server = RecordingServer()
    yield server
    server.close()
