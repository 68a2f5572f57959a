"""The HTML report opened from disk in headless Chromium: offline, escaped, diffable.

The screenshot goes to ``test-artifacts/report.png`` (not committed): look at it.
"""

from __future__ import annotations

import pytest

from tests.appserver import ROOT
from tests.sharedata import XSS, add_experiment
from tests.tokendata import XSS_PIECE, token_log
from yilab.runlog.store import Store
from yilab.share.export import export_experiments, select_experiments
from yilab.share.report import ReportAssets, ReportMeta, render_report

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


@pytest.fixture(scope="module")
def token_report(tmp_path_factory):
    """The first experiment of :func:`report` again, each run with a token log."""
    folder = tmp_path_factory.mktemp("token-report")
    store = Store(folder / "runs.db")
    add_experiment(store, STORIES, prompt="Capital of France?", seeds=(1, 2, 3))
    experiments, vocab = select_experiments(store), {}
    for run in experiments[0]["runs"]:
        stopped = run["finish_reason"] == "stop"
        run["token_log"] = token_log(run["output"], stop=stopped, vocab=vocab)
    path = folder / "report.html"
    path.write_text(render_report(experiments, ReportMeta(), ReportAssets.load()))
    return path


def test_the_report_shades_tokens_marks_forks_and_the_missed_turn_end(browser, token_report):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(token_report.as_uri(), wait_until="load")
    page.wait_for_selector(".yr-pick")

    first = page.locator(".yl-card").nth(0)
    assert first.locator(".yl-out").inner_text() == STORIES[0]  # the fork mark adds no text
    fork = first.locator("mark.yl-fork")
    assert fork.inner_text() == " known"
    assert fork.get_attribute("title").startswith("parts from seed 2 here: ' known' 60% (this run)")
    note = page.locator(".yl-missed")
    assert note.count() == 1 and "<|im_end|> was 97% likely" in note.inner_text()
    assert note.locator("a").count() == 0  # no Tokenizer tab to go to in a report

    assert first.locator(".yl-probs").is_hidden()
    first.locator("[data-act=probs]").click()  # wired by the report's script, under its CSP
    assert first.locator(".yl-probs").is_visible() and first.locator(".yl-out").is_hidden()
    token = first.locator(".yl-tok").nth(1)
    tip = token.locator(".yl-tip")
    assert tip.is_hidden()
    token.hover()
    assert tip.is_visible()
    assert XSS_PIECE in tip.inner_text() and "60%" in tip.inner_text()  # hostile piece as text
    assert page.locator("button.yl-alt").count() == 0  # nothing to branch from
    background = "() => getComputedStyle(document.querySelector('.yl-tok')).backgroundColor"
    before = page.evaluate(background)
    page.locator("[data-shade=entropy]").click()
    assert page.evaluate("document.body.classList.contains('yl-shade-entropy')")
    assert page.evaluate(background) != before

    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "test-artifacts" / "report-tokens.png"), full_page=False)
    assert page.locator("img").count() == 0
    context.close()
    assert requests == [token_report.as_uri()]
    assert errors == []
