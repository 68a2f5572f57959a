"""The Tokenizer and Models tabs in headless Chromium, on a tiny model with Yi's eos mistake.

Screenshots: ``test-artifacts/tokenizer.png`` and ``test-artifacts/models.png``.
"""

from __future__ import annotations

import pytest

from tests.appserver import running_app, shot
from tests.yilike import build_yi_like_model

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def yi_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokenizer-ui")
    model = build_yi_like_model(root / "yi-like")
    env = {"YILAB_HOME": str(root / "home")}
    with running_app(db=root / "ui.db", model=str(model), env=env) as url:
        yield url, model


def open_tab(page, name: str) -> None:
    page.locator("button[role=tab]", has_text=name).click()


def test_tokenizer_tab_diagnoses_compares_and_fixes(yi_app, page):
    url, model = yi_app
    config = model / "tokenizer_config.json"
    original = config.read_bytes()
    page.goto(url, wait_until="load")
    page.wait_for_selector("#yl-open-tokenizer", timeout=30_000)  # Compare warns, links here
    page.click("#yl-open-tokenizer")
    page.wait_for_selector('#yl-tok-verdict [data-verdict="eos_mismatch"]', timeout=30_000)
    assert "EOS mismatch" in page.inner_text("#yl-tok-verdict")
    assert page.locator("#yl-tok-specials .yl-tk-conflict").count() == 2
    added = page.inner_text("#yl-tok-diff .yl-tk-diff-add")
    assert '"eos_token": "<|im_end|>"' in added
    assert page.locator("#yl-tok-template .yl-tk-runs-on").count() >= 1

    page.fill("#yl-tok-prompt textarea", "Hello")  # the tiny model's answer shows its <|im_end|>
    page.click("#yl-tok-before-after")
    page.wait_for_selector("#yl-tok-ba .yl-notice-ok", timeout=60_000)
    panes = page.locator("#yl-tok-ba .yl-tk-ba-pane")
    assert panes.nth(0).locator(".yl-badge-length").count() == 1
    assert panes.nth(1).locator(".yl-badge-stop").count() == 1
    assert "<|im_end|>" in panes.nth(0).inner_text()
    page.fill("#yl-tok-text textarea", "<|im_start|>the")
    page.click("#yl-tok-tokenize")
    page.wait_for_selector("#yl-tok-tokens .yl-tk-special")
    shot(page, "tokenizer")

    assert page.is_disabled("#yl-tok-undo")
    page.click("#yl-tok-apply")
    page.wait_for_selector('#yl-tok-verdict [data-verdict="ok"]', timeout=30_000)
    assert b'"eos_token": "<|im_end|>"' in config.read_bytes()
    page.wait_for_selector("#yl-tok-undo:not([disabled])")
    page.click("#yl-tok-undo")
    page.wait_for_selector('#yl-tok-verdict [data-verdict="eos_mismatch"]', timeout=30_000)
    assert config.read_bytes() == original


def test_models_tab_lists_models_and_says_when_offline(yi_app, page):
    url, _ = yi_app
    page.goto(url, wait_until="load")
    page.wait_for_selector("#yl-run")
    open_tab(page, "Models")
    page.wait_for_selector("#yl-models-table [role=grid]", timeout=30_000)
    assert "smollm2-135m-instruct" in page.inner_text("#yl-models-table")
    page.fill("#yl-models-repo textarea", "some-org/some-model")
    page.click("#yl-models-download")
    page.wait_for_selector("#yl-models-status .yl-notice-error", timeout=30_000)
    assert "offline" in page.inner_text("#yl-models-status")
    shot(page, "models")
