"""An Ollama model in headless Chromium: the Tokenizer tab's Ollama panel (Ollama's stops
beside mlx-lm's, Apply adding them) and the Models tab listing the store, on a fake
Ollama store around the tiny Yi GGUF.

Screenshots: ``test-artifacts/ollama-tokenizer.png`` and ``test-artifacts/ollama-models.png``.
"""

from __future__ import annotations

import pytest

from tests.appserver import running_app, shot
from tests.test_ollama import write_yi

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ollama_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("ollama-ui")
    write_yi(root / "ollama", root, system="You are Yi.")
    env = {"YILAB_HOME": str(root / "home"), "OLLAMA_MODELS": str(root / "ollama")}
    with running_app(db=root / "ui.db", model="yi:6b-chat", env=env) as url:
        yield url


def test_tokenizer_tab_shows_ollamas_stops_and_the_fix_adds_them(ollama_app, page):
    page.goto(ollama_app, wait_until="load")
    page.wait_for_selector("#yl-run")
    page.locator("button[role=tab]", has_text="Tokenizer").click()
    panel = '#yl-tok-ollama [data-ollama-verdict="missing_stops"]'
    page.wait_for_selector(panel, timeout=60_000)
    text = page.inner_text("#yl-tok-ollama")
    assert "Ollama (yi:6b-chat): Ollama stopped where mlx-lm will not" in text
    assert "python -m yilab fix yi:6b-chat" in text
    assert page.locator("#yl-tok-ollama .yl-tk-conflict").count() == 2
    shot(page, "ollama-tokenizer")
    page.click("#yl-tok-apply")
    page.wait_for_selector('#yl-tok-ollama [data-ollama-verdict="ok"]', timeout=30_000)
    assert page.locator('#yl-tok-verdict [data-verdict="ok"]').count() == 1


def test_models_tab_lists_the_ollama_store(ollama_app, page):
    page.goto(ollama_app, wait_until="load")
    page.wait_for_selector("#yl-run")
    page.locator("button[role=tab]", has_text="Models").click()
    page.wait_for_selector("#yl-models-table [role=grid]", timeout=30_000)
    table = page.inner_text("#yl-models-table")
    assert "yi:6b-chat" in table and "llama" in table and "architecture" in table
    shot(page, "ollama-models")
