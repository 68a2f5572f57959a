"""The Plots tab's time axis in headless Chromium against the real app.

Runs are written straight into the run log: across two days by two models, or one
sweep's runs a fraction of a second apart (where Vega-Lite's own labels read ``.800``).
The tests read the tick labels drawn on the "Tokens/s by model over time" chart and a
point's tooltip, and save ``test-artifacts/plots-time-axis.png``: look at it.
App and browser share a time zone far from UTC, as they share a machine in real use,
so a time shown in the wrong zone shows.
"""

import re
from contextlib import contextmanager

import pytest

from tests.appserver import running_app, shot
from yilab.runlog.rows import experiment_row, run_row
from yilab.runlog.store import Store

pytestmark = pytest.mark.browser
ZONE = "Asia/Kolkata"  # UTC+05:30, no daylight saving
TWO_DAYS = [  # (created_at in UTC, model, tokens/s)
    ("2026-11-30T08:50:00+00:00", "tiny", 21.0),
    ("2026-11-30T09:10:00+00:00", "other", 9.5),
    ("2026-11-30T11:40:00+00:00", "tiny", 23.0),
    ("2026-12-01T06:30:00+00:00", "other", 11.0),
    ("2026-12-01T09:05:00+00:00", "tiny", 19.5),
    ("2026-12-01T10:50:00+00:00", "other", 10.0),
]
ONE_SWEEP = [
    (f"2026-12-01T09:05:0{i // 3}.{i % 3 * 3}00000+00:00", "tiny", 20.0 + i) for i in range(6)
]
X_LABELS = """() => [...document.querySelectorAll(
    "#yl-plot-history svg g[aria-roledescription=axis][aria-label^='X-axis'] .role-axis-label text"
)].map(t => ({text: t.textContent, shown: t.getAttribute("opacity") !== "0"}))"""


def log_runs(db, runs: list[tuple[str, str, float]]) -> None:
    """One experiment whose runs were created at the given times."""
    store = Store(db)
    try:
        experiment = experiment_row(model="tiny", prompt="Count to ten", sweep={})
        store.insert("experiments", experiment)
        for i, (created_at, model, tps) in enumerate(runs):
            settings = {"model": model, "temperature": 0.5, "seed": i}
            row = run_row(experiment_id=experiment["id"], cell_index=i, settings=settings)
            store.insert("runs", {**row, "created_at": created_at})
            metrics = {"generation_tps": tps, "generation_tokens": 12}
            store.finish_run(
                row["id"], status="done", finish_reason="stop", output="1 2 3", metrics=metrics
            )
    finally:
        store.close()


@contextmanager
def plots_page(tmp_path, model_dir, browser, runs):
    """The Plots tab of a live app over ``runs``, in a browser set to ``ZONE``."""
    db = tmp_path / "plots.db"
    log_runs(db, runs)
    env = {"YILAB_HOME": str(tmp_path / "home"), "TZ": ZONE}
    with running_app(db=db, model=str(model_dir), env=env) as url:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id=ZONE)
        page = context.new_page()
        try:
            page.goto(url, wait_until="load")
            page.get_by_role("tab", name="Plots").click()
            page.wait_for_function(f"() => ({X_LABELS})().length > 0")
            yield page
        finally:
            context.close()


def shown_labels(page) -> list[str]:
    """The x axis's tick labels that Vega-Lite left visible, after checking that none of
    them, hidden or not, is a bare number like ``.800``."""
    labels = page.evaluate(X_LABELS)
    texts = [label["text"] for label in labels]
    assert texts and not [t for t in texts if re.fullmatch(r"\.?\d+", t)], texts
    return [label["text"] for label in labels if label["shown"]]


def test_a_sweep_seconds_long_is_labelled_to_the_minute(tmp_path, tiny_model_dir, browser):
    with plots_page(tmp_path, tiny_model_dir, browser, ONE_SWEEP) as page:
        shown = shown_labels(page)
        assert len(shown) >= 4
        assert all(re.fullmatch(r"Dec 1 1[345]:\d\d", t) for t in shown), shown
        points = "#yl-plot-history svg .mark-symbol path[aria-label^='time: Dec 1 14:35;']"
        assert page.locator(points).count() == 6  # 09:05 UTC is 14:35 in Kolkata


def test_the_time_axis_shows_local_dates_and_times(tmp_path, tiny_model_dir, browser):
    with plots_page(tmp_path, tiny_model_dir, browser, TWO_DAYS) as page:
        shown = shown_labels(page)
        assert len(shown) >= 4
        assert all(re.fullmatch(r"(Nov 30|Dec 1) \d\d:\d\d", t) for t in shown), shown
        assert {t.rsplit(" ", 1)[0] for t in shown} == {"Nov 30", "Dec 1"}, shown  # both days
        point = "#yl-plot-history svg .mark-symbol path[aria-label^='time: Dec 1 14:35']"
        page.hover(point)  # 09:05 UTC is 14:35 in Kolkata
        tooltip = page.locator("#vg-tooltip-element")
        tooltip.wait_for(state="visible")
        assert "2026-12-01 14:35:00" in tooltip.inner_text() and "tiny" in tooltip.inner_text()
        shot(page, "plots-time-axis")
