"""The real app in headless Chromium (Playwright) and through gradio_client.

Screenshots go to ``test-artifacts/`` (not committed): look at them.
"""

import pytest

from tests.appserver import shot, start_sweep, tiny_app
from yilab.runlog.store import Store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, tiny_model_dir):
    db = tmp_path_factory.mktemp("browser") / "ui.db"
    with tiny_app(tmp_path_factory, tiny_model_dir, db) as url:
        yield url, db


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
    start_sweep(
        page, url, prompt="A very long answer please", temps="0.7", seeds="1", max_tokens="1900"
    )
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
    html = client.predict(
        "", "chat", "", "Say hi", "0", "3, 4", "1.0", "8", "batch", api_name="/compare"
    )
    assert html.count('class="yl-card') == 2 and "8 tokens" in html
    assert "Done: 2 length" in html and "engine: batch" in html


def test_two_tabs_queue_and_never_see_each_others_outputs(app_url, browser):
    url, db = app_url
    pages = [
        browser.new_context(viewport={"width": 1280, "height": 900}).new_page() for _ in range(2)
    ]
    # eight long cells, one at a time, keep the worker busy while the second tab starts its
    # sweep (batched, the tiny model's eight rows could all end before Stop is clicked)
    start_sweep(
        pages[0],
        url,
        prompt="first tab prompt",
        temps="0.7",
        seeds="1,3,5,7,9,11,13,15",
        max_tokens="1500",
        engine="single",
    )
    pages[0].wait_for_selector(".yl-badge-running", timeout=30_000)
    start_sweep(pages[1], url, prompt="second tab prompt", temps="0.7", seeds="2", max_tokens="8")
    pages[1].get_by_text("Queued: waiting for 1 sweep(s)").wait_for(timeout=30_000)
    shot(pages[1], "compare-queued")
    pages[0].click("#yl-stop")
    pages[1].wait_for_selector(".yl-badge-length", timeout=60_000)
    pages[0].wait_for_selector(".yl-badge-cancelled", timeout=30_000)
    assert "seed 2" in pages[1].inner_text("#yl-grid")
    assert "seed 2" not in pages[0].inner_text("#yl-grid")
    assert "seed 1" not in pages[1].inner_text("#yl-grid")
    assert "seed 15" in pages[0].inner_text("#yl-grid")
    for page in pages:
        page.context.close()


def test_card_buttons_copy_and_replay(app_url, browser):
    url, _ = app_url
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    start_sweep(page, url, prompt="Copy me", temps="0.8", seeds="3, 4", max_tokens="12")
    page.wait_for_function(
        "document.querySelectorAll('.yl-badge-length, .yl-badge-stop').length === 2",
        timeout=60_000,
    )
    first = page.locator(".yl-card").nth(0)
    first.locator("[data-act=copy]").click()
    page.wait_for_timeout(300)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == first.locator(".yl-out").inner_text()
    first.locator("[data-act=replay]").click()
    page.get_by_text("identical ✓").wait_for(timeout=60_000)
    context.close()


def test_card_history_button_opens_the_experiment(app_url, page):
    url, db = app_url
    start_sweep(page, url, prompt="Find me in history", temps="0.5", seeds="8", max_tokens="6")
    page.wait_for_selector(".yl-card .yl-act[data-act=history]", timeout=60_000)
    run_id = page.locator(".yl-card").first.get_attribute("data-run")
    page.locator(".yl-card [data-act=history]").first.click()
    experiment_id = Store(db).get_run(run_id)["experiment_id"]
    page.wait_for_function(
        "id => document.querySelector('#yl-history-experiment textarea')?.value === id",
        arg=experiment_id,
        timeout=30_000,
    )
    page.wait_for_selector("#yl-history-grid .yl-card", timeout=30_000)
    assert "seed 8" in page.inner_text("#yl-history-grid")
