"""The app says so when the run log cannot be written, keeps serving, and recovers by itself:
another writer holds the db's lock past the busy timeout while a sweep runs."""

import sqlite3

import pytest

from tests.appserver import running_app, shot, start_sweep
from yilab.runlog.store import Store

pytestmark = pytest.mark.browser


def test_a_locked_run_log_is_said_on_the_grid_and_in_history_then_recovered(
    tmp_path, tiny_model_dir, page
):
    db = tmp_path / "ui.db"
    with running_app(db=db, model=str(tiny_model_dir), env={"YILAB_HOME": str(tmp_path)}) as url:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # a writer that holds on (the app waits 5 s)
        try:
            start_sweep(
                page, url, prompt="Tell me a tale", temps="0.7", seeds="1, 2", max_tokens="20"
            )
            warning = page.locator("#yl-grid .yl-log-warning")
            warning.wait_for(timeout=60_000)
            page.wait_for_function(
                "document.querySelector('#yl-grid .yl-status').innerText.startsWith('Done')",
                timeout=60_000,
            )
            text = warning.inner_text()
            assert f"run log {db} is locked by another writer (database is locked)" in text
            assert f"2 runs kept in {db}.spill.jsonl" in text
            assert page.locator(".yl-card").count() == 2  # the outputs are there all the same
            assert "20 tokens" in page.locator(".yl-card").nth(1).inner_text()
            shot(page, "log-locked-compare")

            page.get_by_role("tab", name="History").click()
            banner = page.locator("#yl-history-log .yl-log-banner.yl-log-warning")
            banner.wait_for(timeout=30_000)
            assert "2 runs kept in" in banner.inner_text()
            shot(page, "log-locked-history")
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        page.click("#yl-history-refresh")  # the lock is gone: the app merges by itself
        recovered = page.locator("#yl-history-log .yl-log-banner.yl-log-info")
        recovered.wait_for(timeout=30_000)
        assert f"recovered 2 runs from {db}.spill.jsonl into {db}" in recovered.inner_text()
        listed = page.locator("#yl-history-experiments span").get_by_text("Tell me a tale")
        listed.wait_for(timeout=15_000)
        shot(page, "log-recovered-history")
    runs = Store(db).list_runs()
    assert len(runs) == 2 and {r["status"] for r in runs} == {"done"}
    assert all(r["generation_tokens"] == 20 for r in runs)
