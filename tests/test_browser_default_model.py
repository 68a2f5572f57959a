"""The issue's browser flows with the real default model (SmolLM2-135M-Instruct) in Chromium."""

import pytest

from tests.appserver import running_app, shot, start_sweep
from yilab.runlog.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FINISHED = "document.querySelectorAll('#yl-grid .yl-badge-length, #yl-grid .yl-badge-stop')"


@pytest.fixture(scope="module")
def smol_app(tmp_path_factory, shared_home):
    db = tmp_path_factory.mktemp("smol") / "smol.db"
    env = {"YILAB_HOME": str(shared_home)}  # the default model converts once per test session
    with running_app(db=db, model="smollm2-135m-instruct", env=env, timeout=180) as url:
        yield url, db


def test_two_by_two_sweep_fills_four_cards_and_logs_four_runs(smol_app, page):
    url, db = smol_app
    start_sweep(
        page,
        url,
        prompt="What is the capital of France?",
        temps="0, 0.7",
        seeds="1, 2",
        max_tokens="16",
    )
    page.wait_for_function(f"{FINISHED}.length === 4", timeout=240_000)
    outputs = page.locator("#yl-grid .yl-out").all_inner_texts()
    assert len(outputs) == 4 and all(text.strip() for text in outputs)
    assert "Paris" in outputs[0]  # T=0 is greedy
    shot(page, "compare-default-model")
    runs = Store(db).list_runs(search="capital France", limit=-1)
    assert len(runs) == 4 and {r["status"] for r in runs} == {"done"}


def test_stop_a_long_run_mid_way(smol_app, page):
    url, db = smol_app
    start_sweep(
        page,
        url,
        prompt="Write a long story about a dragon.",
        temps="0.8",
        seeds="3",
        max_tokens="400",
    )
    page.wait_for_function(
        "document.querySelector('#yl-grid .yl-out')?.innerText.length > 20", timeout=120_000
    )
    page.click("#yl-stop")
    page.wait_for_selector("#yl-grid .yl-badge-cancelled", timeout=60_000)
    (run,) = Store(db).list_runs(search="dragon", limit=1)
    assert run["status"] == "cancelled" and 0 < run["generation_tokens"] < 400 and run["output"]


def test_history_search_opens_the_experiment_and_a_deep_link_does_too(smol_app, page):
    url, db = smol_app
    page.goto(url, wait_until="load")
    page.get_by_role("tab", name="History").click()
    page.fill("#yl-history-search textarea", "capital")
    page.press("#yl-history-search textarea", "Enter")
    experiments = page.locator("#yl-history-experiments")
    experiments.get_by_text("Write a long story").first.wait_for(state="detached", timeout=30_000)
    experiments.get_by_text("capital of France").locator("visible=true").first.click()
    page.wait_for_function(
        "document.querySelectorAll('#yl-history-grid .yl-card').length === 4", timeout=30_000
    )
    shot(page, "history-default-model")
    experiment = Store(db).list_experiments(search="capital")[0]
    page.goto(f"{url}/?experiment={experiment['id']}", wait_until="load")
    page.wait_for_function(
        "document.querySelectorAll('#yl-history-grid .yl-card').length === 4", timeout=30_000
    )
    assert "Paris" in page.inner_text("#yl-history-grid")
