"""The real app in headless Chromium (Playwright) and through gradio_client.

Screenshots go to ``test-artifacts/`` (not committed): look at them.
"""

import os
from pathlib import Path

import pytest

from tests.appserver import CHROMIUM, CHROMIUM_ARGS, ROOT, running_app
from yilab.store import Store

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, tiny_model_dir):
    db = tmp_path_factory.mktemp("browser") / "ui.db"
    home = tmp_path_factory.mktemp("home")
    with running_app(db=db, model=str(tiny_model_dir), env={"YILAB_HOME": str(home)}) as url:
        yield url, db


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (make test installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    yield context.new_page()
    context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def start_sweep(page, url, *, prompt: str, temps: str, seeds: str, max_tokens: str) -> None:
    """Open the page, fill the sweep form and click Run."""
    page.goto(url, wait_until="load")
    page.wait_for_selector("#yl-run")
    page.fill("#yl-prompt textarea", prompt)
    page.fill("#yl-temps textarea", temps)
    page.fill("#yl-seeds textarea", seeds)
    page.fill("#yl-max-tokens textarea", max_tokens)
    page.click("#yl-run")


def test_a_sweep_streams_four_cards_and_logs_four_runs(app_url, page):
    url, db = app_url
    start_sweep(page, url, prompt="Tell me a tale", temps="0.3, 0.9", seeds="5, 6", max_tokens="40")
    page.wait_for_function(
        "document.querySelectorAll('.yl-badge-length, .yl-badge-stop').length === 4",
        timeout=60_000,
    )
    cards = page.locator(".yl-card")
    assert cards.count() == 4
    assert "T=0.3 · seed 5" in cards.nth(0).inner_text()
    assert "40 tokens" in cards.nth(3).inner_text()
    shot(page, "compare")
    runs = Store(db).list_runs(search=None, limit=-1)
    mine = [r for r in runs if r["rendered_prompt"] and "Tell me a tale" in r["rendered_prompt"]]
    assert len(mine) == 4 and {r["status"] for r in mine} == {"done"}


def test_stop_cancels_a_long_run(app_url, page):
    url, db = app_url
    start_sweep(page, url, prompt="A very long answer please", temps="0.7", seeds="1",
                max_tokens="1900")  # fmt: skip
    page.wait_for_selector(".yl-badge-running", timeout=30_000)
    page.click("#yl-stop")
    page.wait_for_selector(".yl-badge-cancelled", timeout=30_000)
    runs = Store(db).list_runs(search="long answer")
    assert runs[0]["status"] == "cancelled" and runs[0]["generation_tokens"] < 1900


def test_bad_input_shows_a_readable_error(app_url, page):
    url, _ = app_url
    page.goto(url, wait_until="load")
    page.wait_for_selector("#yl-run")
    page.fill("#yl-temps textarea", "hot")
    page.click("#yl-run")
    toast = page.get_by_text("temperatures: 'hot' is not a number")
    toast.first.wait_for(timeout=15_000)
    assert "Traceback" not in page.content()


def test_compare_api_through_gradio_client(app_url):
    from gradio_client import Client

    url, _ = app_url
    client = Client(url, verbose=False)
    html = client.predict("", "chat", "", "Say hi", "0", "3", "1.0", "8", api_name="/compare")
    assert "yl-card" in html and "8 tokens" in html and "Done: 1 length" in html
