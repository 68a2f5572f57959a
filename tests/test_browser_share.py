"""The History tab's Share area in headless Chromium, against two real apps.

One app's run log holds a tiny-model sweep and a hostile hand-made experiment; the
other starts empty. A bundle exported from the first is uploaded into the second;
Share as HTML downloads a report; a broken upload shows its message. The screenshot
``test-artifacts/history-share.png`` (not committed) is for a person to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.appserver import running_app, shot, tiny_app
from tests.sharedata import XSS, add_experiment
from yilab.experiment.sweep import SweepSpec
from yilab.runlog.store import Store
from yilab.service import Service

pytestmark = pytest.mark.browser
PROMPT = "Tell me about the purple giraffe"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture(scope="module")
def source_app(tmp_path_factory, tiny_model_dir):
    """The app over a log with a 2×2 tiny-model sweep and a hostile experiment."""
    db = tmp_path_factory.mktemp("share-source") / "mine.db"
    service = Service(db)
    try:
        spec = SweepSpec(
            prompt=PROMPT,
            system="Be brief",
            models=(str(tiny_model_dir),),
            temperatures=(0.3, 0.9),
            seeds=(5, 6),
            max_tokens=(8,),
        )
        sweep, _ = service.run_sweep(spec)
        hostile = add_experiment(service.store, ["Paris.", XSS + " and more"])
    finally:
        service.close()
    home = tmp_path_factory.mktemp("home-source")
    with running_app(db=db, model=str(tiny_model_dir), env={"YILAB_HOME": str(home)}) as url:
        yield url, sweep.experiment_id, hostile


@pytest.fixture(scope="module")
def target_app(tmp_path_factory, tiny_model_dir):
    """The app over an empty log, to import into."""
    db = tmp_path_factory.mktemp("share-target") / "theirs.db"
    with tiny_app(tmp_path_factory, tiny_model_dir, db, "home-target") as url:
        yield url, db


def open_experiment(page, url: str, experiment_id: str, cards: int) -> None:
    page.goto(f"{url}/?experiment={experiment_id}", wait_until="load")
    page.wait_for_function(
        f"document.querySelectorAll('#yl-history-grid .yl-card').length === {cards}",
        timeout=30_000,
    )


def download(page, selector: str, folder: Path) -> Path:
    with page.expect_download(timeout=30_000) as info:
        page.click(selector)
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def upload(page, path: Path) -> None:
    # the UploadButton's file input sits just before the button
    page.set_input_files("input[type=file]:has(+ #yl-share-import)", str(path))


def counts(db: Path) -> tuple[int, int]:
    experiments = Store(db).list_experiments(limit=-1)
    return len(experiments), sum(e["run_count"] for e in experiments)


def test_a_bundle_exported_here_imports_there(source_app, target_app, page, tmp_path):
    url, experiment_id, _ = source_app
    open_experiment(page, url, experiment_id, 4)
    page.click("#yl-share-export")
    page.wait_for_selector("#yl-share-file a[download]", timeout=30_000)
    bundle = download(page, "#yl-share-file a[download]", tmp_path)
    assert bundle.name == f"yilab-{experiment_id[:8]}.yilab.json"
    assert len(json.loads(bundle.read_text())["runs"]) == 4

    target, db = target_app
    page.goto(target, wait_until="load")
    page.get_by_role("tab", name="History").click()
    upload(page, bundle)
    status = page.locator("#yl-share-status")
    status.get_by_text("added 1 experiment / 4 runs").wait_for(timeout=30_000)
    page.locator("#yl-history-experiments").get_by_text("purple giraffe").locator(
        "visible=true"
    ).first.wait_for()
    assert page.locator("#yl-history-runs [role=row]").count() >= 5  # header + 4 runs
    assert counts(db) == (1, 4)

    # the same file again adds nothing; picked through the chooser as a person would (the
    # button's click clears the input; set_input_files of the same file would not fire)
    with page.expect_file_chooser() as chooser:
        page.click("#yl-share-import")
    chooser.value.set_files(str(bundle))
    status.get_by_text("added 0 experiments / 0 runs · skipped 1 / 4").wait_for(timeout=30_000)
    assert counts(db) == (1, 4)

    page.locator("#yl-history-experiments").get_by_text("purple giraffe").locator(
        "visible=true"
    ).first.click()
    page.wait_for_selector("#yl-history-grid .yl-card >> nth=3", timeout=30_000)
    page.click("#yl-share-export")
    page.wait_for_selector("#yl-share-file a[download]", timeout=30_000)
    page.wait_for_selector("#yl-share-html:not([disabled])", timeout=30_000)
    shot(page, "history-share")


def test_share_as_html_downloads_the_report_with_outputs_escaped(source_app, page, tmp_path):
    url, _, hostile = source_app
    open_experiment(page, url, hostile, 2)
    page.wait_for_selector("#yl-share-html:not([disabled])", timeout=30_000)
    report = download(page, "#yl-share-html", tmp_path)
    assert report.name == f"yilab-{hostile[:8]}.html"
    text = report.read_text()
    assert ESCAPED in text and XSS not in text and "Paris." in text
    assert "<script" in text and 'src="http' not in text  # self-contained


def test_a_malformed_upload_shows_a_readable_error(target_app, page, tmp_path):
    url, db = target_app
    before = counts(db)
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "yilab-bundle", "version": 1, "experiments": [')
    page.goto(url, wait_until="load")
    page.get_by_role("tab", name="History").click()
    upload(page, broken)
    toast = page.get_by_text("broken.json is not valid JSON")
    toast.wait_for(timeout=30_000)
    assert "/" not in toast.inner_text()  # named by its file name, not Gradio's cache path
    assert "Traceback" not in page.content()
    assert counts(db) == before
