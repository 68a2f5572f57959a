"""The dashboard in 简体中文 and English, in headless Chromium: the browser's language picks
it, the header's switch changes it, and the server's words (status line, cards) follow.

Screenshots (``test-artifacts/i18n-*.png``) are to be looked at: Chinese must show as
Chinese glyphs, not boxes (``make test`` installs a CJK font, fonts-wqy-microhei).
"""

from __future__ import annotations

import pytest

from tests.appserver import shot, tiny_app
from tests.sharedata import add_experiment
from yilab.runlog.store import Store
from yilab.share.export import export_experiments

pytestmark = pytest.mark.browser

TABS_ZH = ["对比", "运行记录", "图表", "模型", "分词器"]
TABS_EN = ["Compare", "History", "Plots", "Models", "Tokenizer"]
# A CJK character drawn with a real glyph is a full em wide; without a CJK font both it and a
# private-use character fall back to the same missing-glyph box.
GLYPH_WIDTHS = """() => {
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = "20px " + getComputedStyle(document.querySelector("#yl-tabs")).fontFamily;
  return [ctx.measureText("童话故事").width, ctx.measureText("\\ue000\\ue001\\ue002\\ue003").width];
}"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, tiny_model_dir):
    db = tmp_path_factory.mktemp("i18n") / "ui.db"
    with tiny_app(tmp_path_factory, tiny_model_dir, db) as url:
        yield url


@pytest.fixture
def page_in(browser):
    """A page whose browser speaks ``locale`` (navigator.language and Accept-Language)."""
    contexts = []

    def open_page(locale: str):
        context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def tab_names(page) -> list[str]:
    return [name.strip() for name in page.locator("#yl-tabs [role=tab]").all_inner_texts()]


def wait_for_tabs(page, names: list[str]) -> None:
    page.wait_for_function(
        "names => names.every(n => [...document.querySelectorAll('#yl-tabs [role=tab]')]"
        ".some(t => t.innerText.trim() === n))",
        arg=names,
        timeout=15_000,
    )


def test_a_chinese_browser_gets_the_dashboard_in_chinese_and_a_chinese_grid(app_url, page_in):
    page = page_in("zh-CN")
    page.goto(app_url, wait_until="load")
    page.wait_for_selector("#yl-run")
    wait_for_tabs(page, TABS_ZH)
    assert tab_names(page) == TABS_ZH
    assert page.locator("#yl-run").inner_text().strip() == "运行"
    assert "提示词" in page.locator("#yl-prompt").inner_text()
    assert "就绪。" in page.locator("#yl-grid").inner_text()
    cjk, boxes = page.evaluate(GLYPH_WIDTHS)
    assert cjk != pytest.approx(boxes, abs=0.5), "no CJK font: Chinese shows as boxes"
    shot(page, "i18n-zh")

    # one click on an example fills the form with a runnable prompt
    page.locator("#yl-examples").get_by_text("写一个儿童童话故事", exact=True).click()
    page.wait_for_function(
        "document.querySelector('#yl-prompt textarea').value === '写一个儿童童话故事'"
    )
    assert page.locator("#yl-system textarea").input_value() == "你是一位儿童作家。"
    page.fill("#yl-temps textarea", "0, 0.8")
    page.fill("#yl-seeds textarea", "1")
    page.fill("#yl-max-tokens textarea", "12")
    page.click("#yl-run")
    page.wait_for_function(
        "document.querySelectorAll('.yl-badge-length, .yl-badge-stop').length === 2",
        timeout=60_000,
    )
    page.wait_for_selector("#yl-grid .yl-status:has-text('完成')", timeout=15_000)
    grid = page.locator("#yl-grid").inner_text()
    assert "T=0 · 种子 1" in grid and "个 token" in grid and "T=0 是贪心解码" in grid
    assert "tokens" not in grid and "seed" not in grid
    names = page.locator("#yl-grid .yl-card").first.locator(".yl-act").all_inner_texts()
    assert names == ["概率", "复制", "重跑", "记录", "对比"]
    # Gradio's run history (its English "Runs" link in the footer) is off: yilab logs runs
    assert "Runs" not in page.locator("footer").inner_text()
    shot(page, "i18n-zh-grid")
    # an error the server raises comes in Chinese too
    page.fill("#yl-temps textarea", "热")
    page.click("#yl-run")
    page.get_by_text("温度：'热' 不是数字。").first.wait_for(timeout=15_000)
    # and so does a bad check typed in "Inputs and checks", re's own words kept inside
    page.fill("#yl-temps textarea", "0")
    page.locator("#yl-judging").get_by_text("输入与检查").first.click()
    page.fill("#yl-checks textarea", "stop\nregex:(")
    page.click("#yl-run")
    toast = page.get_by_text(
        "第 2 行的检查项：正则表达式 '(' 无效：missing ), unterminated subpattern"
    )
    toast.first.wait_for(timeout=15_000)
    shot(page, "i18n-zh-check-error")
    page.fill("#yl-checks textarea", "")

    # History finds the run by a word inside its Chinese prompt, headings in Chinese
    page.locator("#yl-tabs [role=tab]", has_text="运行记录").click()
    page.fill("#yl-history-search input, #yl-history-search textarea", "童话")
    page.press("#yl-history-search input, #yl-history-search textarea", "Enter")
    page.wait_for_function(
        "document.querySelector('#yl-history-experiments').innerText.includes('写一个儿童童话故事')",
        timeout=15_000,
    )
    headings = page.locator("#yl-history-runs thead").first.inner_text()
    assert "种子" in headings and "停止原因" in headings
    shot(page, "i18n-zh-history")


def switch_to(page, language: str, tabs) -> None:
    """Pick ``language`` in the header's switch; wait for the page to come back in it."""
    page.click("#yl-lang input")
    page.get_by_role("option", name=language).click()
    page.wait_for_load_state("load")
    page.wait_for_selector("#yl-run")
    wait_for_tabs(page, tabs)


def test_the_switch_changes_the_language_and_keeps_it(app_url, page_in):
    page = page_in("zh-CN")
    page.goto(app_url, wait_until="load")
    page.wait_for_selector("#yl-run")
    wait_for_tabs(page, TABS_ZH)
    switch_to(page, "English", TABS_EN)
    assert page.locator("#yl-run").inner_text().strip() == "Run"
    assert "Ready." in page.locator("#yl-grid").inner_text()
    # the server writes in the chosen language too, though the browser still says zh-CN
    page.fill("#yl-max-tokens textarea", "4")
    page.fill("#yl-seeds textarea", "1")
    page.fill("#yl-temps textarea", "0")
    page.click("#yl-run")
    page.wait_for_selector("#yl-grid .yl-status:has-text('Done')", timeout=60_000)
    assert "4 tokens" in page.locator("#yl-grid").inner_text()
    shot(page, "i18n-en")
    # a new visit keeps the choice
    page.reload(wait_until="load")
    page.wait_for_selector("#yl-run")
    wait_for_tabs(page, TABS_EN)
    assert page.locator("#yl-lang input").input_value() == "English"

    english = page_in("en-US")
    english.goto(app_url, wait_until="load")
    english.wait_for_selector("#yl-run")
    wait_for_tabs(english, TABS_EN)
    switch_to(english, "简体中文", TABS_ZH)
    assert "就绪。" in english.locator("#yl-grid").inner_text()


def test_a_chinese_report_from_disk(browser, tmp_path):
    store = Store(tmp_path / "runs.db")
    story = ["从前有一只小兔子，它住在森林里。", "从前有一只小熊，它住在森林里。"]
    add_experiment(store, story * 2, prompt="写一个儿童童话故事", system="你是一位儿童作家。")
    path = export_experiments(store, None, "html", tmp_path / "report.html", lang="zh-CN")
    context = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "实验" in page.locator(".yr-header").inner_text()
    picks = page.locator(".yr-pick")
    assert picks.first.inner_text() == "对比"
    picks.nth(0).click()
    picks.nth(1).click()
    summary = page.locator(".yl-diff-summary").inner_text()
    # a Chinese character is a word: 兔子 → 熊, not the whole sentence
    assert summary == "14 处相同 · 2 处删除 · 1 处新增", summary
    assert page.locator(".yr-drawer del").inner_text() == "兔子"
    shot(page, "i18n-zh-report")
    assert errors == []
    context.close()


def test_the_plots_in_chinese_name_their_axis_and_finish_reasons(app_url, page_in):
    """Runs from the first test are on the plots: their finish reasons and the time axis in
    Chinese (the stored values stay English)."""
    page = page_in("zh-CN")
    page.goto(app_url, wait_until="load")
    wait_for_tabs(page, TABS_ZH)
    page.locator("#yl-tabs [role=tab]", has_text="图表").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#yl-plot-history svg text')]"
        ".some(t => t.textContent === '时间')",
        timeout=15_000,
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('#yl-plot-length svg text')]"
        ".some(t => t.textContent === '达到上限')",
        timeout=15_000,
    )
    page.wait_for_function(  # the speed plot's cells along 格, its axis named by its column
        "() => [...document.querySelectorAll('#yl-plot-speed svg text')]"
        ".some(t => t.textContent === '格')",
        timeout=15_000,
    )
    legends = page.locator("#yl-plot-speed svg, #yl-plot-length svg").all_text_contents()
    assert "停止原因" in legends[0]
    every = "".join(page.locator("[id^=yl-plot] svg").all_text_contents())
    assert "__i18n__" not in every and "cell" not in every
    shot(page, "i18n-zh-plots")
