"""History and Plots in headless Chromium against the real app and a tiny model.

A sweep is logged through the service before the app starts; the tests find it,
open it, diff and star its runs, follow a deep link, and screenshot both tabs
into ``test-artifacts/`` (not committed): look at them.
"""

import pytest

from tests.appserver import shot, tiny_app
from yilab.experiment.sweep import SweepSpec
from yilab.runlog.store import Store
from yilab.service import Service

pytestmark = pytest.mark.browser
PROMPT = "Tell me about the purple giraffe"


@pytest.fixture(scope="module")
def logged_app(tmp_path_factory, tiny_model_dir):
    """The live app over a db that already holds a 2×2 sweep (and one older sweep)."""
    db = tmp_path_factory.mktemp("history") / "ui.db"
    service = Service(db)
    try:
        for prompt in ("An older question", PROMPT):
            spec = SweepSpec(
                prompt=prompt,
                models=(str(tiny_model_dir),),
                temperatures=(0.3, 0.9),
                seeds=(5, 6),
                max_tokens=(12,),
            )
            sweep, runs = service.run_sweep(spec)
    finally:
        service.close()
    with tiny_app(tmp_path_factory, tiny_model_dir, db) as url:
        yield url, db, sweep.experiment_id, runs


def open_tab(page, url: str, name: str) -> None:
    page.goto(url, wait_until="load")
    page.get_by_role("tab", name=name).click()


def wait_cards(page, count: int) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('#yl-history-grid .yl-card').length === {count}",
        timeout=30_000,
    )


def test_search_open_diff_and_star(logged_app, page):
    url, db, experiment_id, runs = logged_app
    open_tab(page, url, "History")
    page.fill("#yl-history-search textarea", "giraffe")
    page.press("#yl-history-search textarea", "Enter")
    experiments = page.locator("#yl-history-experiments")
    experiments.get_by_text("An older question").wait_for(state="detached", timeout=15_000)
    experiments.get_by_text("purple giraffe").locator("visible=true").first.click()
    wait_cards(page, 4)
    assert "Tell me about the purple giraffe" in page.inner_text("#yl-history-summary")
    assert page.input_value("#yl-history-experiment textarea") == experiment_id
    grid = page.inner_text("#yl-history-grid")
    assert "T=0.9 · seed 6" in grid and "As logged: 4 length" in grid

    page.click("#yl-diff-b input")
    page.get_by_role("option", name=f"T=0.9 · seed 6 ({runs[3]['id'][:6]})").click()
    page.wait_for_selector("#yl-diff .yl-diff-head >> text=T=0.9 · seed 6", timeout=15_000)
    assert page.locator("#yl-diff .yl-del").count() and page.locator("#yl-diff .yl-ins").count()

    page.click("#yl-star")
    page.wait_for_selector("#yl-star >> text=★ Starred", timeout=15_000)
    starred = page.locator("#yl-history-runs [role=gridcell]").filter(has_text="★")
    starred.first.wait_for(timeout=15_000)
    assert Store(db).get_run(runs[0]["id"])["starred"] == 1
    shot(page, "history")


def test_a_deep_link_opens_the_experiment(logged_app, page):
    url, _, experiment_id, _ = logged_app
    page.goto(f"{url}/?experiment={experiment_id}", wait_until="load")
    wait_cards(page, 4)
    assert page.get_by_role("tab", name="History").get_attribute("aria-selected") == "true"
    assert "purple giraffe" in page.inner_text("#yl-history-summary")


def test_a_deep_link_to_nothing_says_so(logged_app, page):
    url, *_ = logged_app
    page.goto(f"{url}/?experiment=deadbeef99", wait_until="load")
    page.get_by_text("No experiment with id 'deadbeef99'").wait_for(timeout=15_000)
    assert "Traceback" not in page.content()


def test_plots_show_the_newest_experiment(logged_app, page):
    url, *_ = logged_app
    open_tab(page, url, "Plots")
    for plot in ("length", "speed", "history"):
        page.wait_for_selector(f"#yl-plot-{plot} canvas, #yl-plot-{plot} svg", timeout=20_000)
    page.wait_for_function(  # the picker is filled by the tab's refresh, after the plots
        "() => document.querySelector('#yl-plots-experiment input')?.value.includes('purple giraffe')",
        timeout=20_000,
    )
    page.wait_for_timeout(500)  # let the plots finish drawing before the screenshot
    shot(page, "plots")
