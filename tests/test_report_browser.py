"""The HTML report opened from disk in headless Chromium: offline, escaped, diffable.

The screenshot goes to ``test-artifacts/report.png`` (not committed): look at it.
"""

from __future__ import annotations

import pytest

from tests.appserver import ROOT
from tests.sharedata import XSS, add_experiment
from yilab.runlog.store import Store
from yilab.share.export import export_experiments

pytestmark = pytest.mark.browser

STORIES = [
    "The capital of France is Paris. It sits on the Seine and is known for its museums.",
    "The capital of France is Paris. It sits on the Seine and is famous for its cafés.",
    "The capital of France is Paris.",
    "France's capital is Paris, a city on the Seine with about two million people, and it is "
    "known for the Eiffel Tower, the Louvre and<|im_end|>\n<|im_start|>user\nAnd",
    "Paris is the capital of France. It sits on the Seine and is known for its museums.",
    "Paris! The city of light, on the Seine.",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report of two experiments; the second has markup as an output."""
    folder = tmp_path_factory.mktemp("report")
    store = Store(folder / "runs.db")
    add_experiment(
        store,
        STORIES,
        prompt="What is the capital of France? Answer in a sentence.",
        system="You are a concise geography tutor.",
        seeds=(1, 2, 3),
    )
    add_experiment(
        store,
        ["Tokyo.", XSS, "Kyoto </script> Osaka", "Osaka."],
        system=None,
        prompt="Name a city in Japan.",
    )
    return export_experiments(store, None, "html", folder / "report.html")


def test_the_report_is_offline_escaped_and_diffs_two_cards(browser, report):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    requests, dialogs, errors = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    url = report.as_uri()
    page.goto(url, wait_until="load")
    page.wait_for_selector(".yr-pick")  # the inline script ran (its CSP hash matches)

    xss_card = page.locator("pre.yl-out", has_text="onerror")
    assert xss_card.inner_text() == XSS
    assert page.locator("pre.yl-out", has_text="</script>").inner_text() == "Kyoto </script> Osaka"
    assert page.locator("img").count() == 0
    assert page.locator(".yl-badge-length").count() == 2

    picks = page.locator(".yr-pick")
    picks.nth(0).click()
    picks.nth(1).click()
    drawer = page.locator("#yr-diff")
    drawer.wait_for(state="visible")
    assert drawer.locator("del.yl-del").all_inner_texts() == ["known", "museums."]
    assert drawer.locator("ins.yl-ins").all_inner_texts() == ["famous", "cafés."]
    assert "same" in drawer.locator(".yl-diff-summary").inner_text()

    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "test-artifacts" / "report.png"), full_page=False)
    drawer.locator(".yr-close").click()
    assert drawer.is_hidden() and page.locator(".yr-picked").count() == 0
    context.close()
    assert requests == [url]
    assert dialogs == [] and errors == []
