"""Markup in a logged experiment (prompt, system prompt, notes, outputs) shows as text in
Chromium and never runs: in History (deep link, grid, diff, tables), Plots and the Compare
tab's card panel. The experiment goes into the db through the Store API, as an import would.
"""

import re

import pytest

from tests.appserver import ROOT, tiny_app
from tests.tokendata import XSS_ID, XSS_PIECE, token_log
from yilab.render.grid import render_grid, view_from_runs
from yilab.runlog.store import Store

pytestmark = pytest.mark.browser

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"
LINK = '<a href="javascript:window.__xss=3">click me</a> [md](javascript:window.__xss=4)'
TEXTAREA = '</textarea><svg onload="window.__xss=5"></svg>'
PROBES = (IMG, SCRIPT, LINK, TEXTAREA)
OUTPUTS = [f"{IMG} one {SCRIPT}", f"{LINK} two {TEXTAREA}"]
# every element, attribute or script that a probe would have created if it were markup
INJECTED = """() => [...document.querySelectorAll('*')].filter(e =>
    [...e.attributes].some(a => a.value.includes('__xss'))
    || (e.tagName === 'SCRIPT' && e.textContent.includes('__xss'))).length"""


def add_xss_experiment(db, model_dir) -> tuple[str, list[str]]:
    store = Store(db)
    prompt, system = f"{IMG} prompt {TEXTAREA}", f"{SCRIPT} system {LINK}"
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    experiment = store.create_experiment(
        model="tiny",
        prompt=prompt,
        system_prompt=system,
        note=f"{LINK} note {IMG}",
        sweep={
            "prompt": prompt,
            "system": system,
            "temperatures": [0.7],
            "seeds": [1, 2],
            "top_ps": [1.0],
            "max_tokens": [8],
        },
    )
    run_ids = []
    for cell, output in enumerate(OUTPUTS):
        run = store.start_run(
            experiment_id=experiment,
            cell_index=cell,
            settings={
                "model": "tiny",
                "model_path": str(model_dir),
                "temperature": 0.7,
                "seed": cell + 1,
                "top_p": 1.0,
                "max_tokens": 8,
                "messages": messages,
                "stop_token_ids": [2],
                "rendered_prompt": f"{SCRIPT}{prompt}",
                "engine_mode": "single",
            },
        )
        store.finish_run(
            run,
            status="done",
            finish_reason="length",
            output=output,
            metrics={"generation_tokens": 8, "generation_tps": 100.0 + cell},
        )
        store.set_note(run, f"{SCRIPT} run note {IMG}")
        run_ids.append(run)
    store.close()
    return experiment, run_ids


@pytest.fixture(scope="module")
def xss_app(tmp_path_factory, tiny_model_dir):
    folder = tmp_path_factory.mktemp("xss")
    experiment, run_ids = add_xss_experiment(folder / "xss.db", tiny_model_dir)
    with tiny_app(tmp_path_factory, tiny_model_dir, folder / "xss.db") as url:
        yield url, experiment, run_ids


def assert_nothing_ran(page) -> None:
    page.wait_for_timeout(300)  # let any onerror/onload fire
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    assert page.evaluate(INJECTED) == 0


def test_history_deep_link_grid_diff_and_tables_show_markup_as_text(xss_app, page):
    url, experiment, _ = xss_app
    page.goto(f"{url}/?experiment={experiment}", wait_until="load")
    page.wait_for_function(
        "document.querySelectorAll('#yl-history-grid .yl-card').length === 2", timeout=30_000
    )
    page.wait_for_selector("#yl-diff .yl-diff-head", timeout=15_000)
    summary = page.inner_text("#yl-history-summary")
    for probe in PROBES:
        assert probe in summary  # prompt, system prompt and note, literally
    outs = page.locator("#yl-history-grid .yl-out").all_inner_texts()
    assert outs == OUTPUTS
    diff = page.inner_text("#yl-diff")
    assert "onerror=" in diff and "<script>" in diff and "javascript:" in diff
    page.locator("#yl-history-runs").get_by_text("<img src=x onerror=").first.wait_for()
    page.wait_for_function(
        "document.querySelector('#yl-note textarea')?.value.includes('run note')", timeout=15_000
    )
    assert page.input_value("#yl-note textarea") == f"{SCRIPT} run note {IMG}"
    assert_nothing_ran(page)


def test_plots_show_markup_as_text(xss_app, page):
    url, *_ = xss_app
    page.goto(url, wait_until="load")
    page.get_by_role("tab", name="Plots").click()
    page.wait_for_selector("#yl-plot-length canvas, #yl-plot-length svg", timeout=20_000)
    page.wait_for_function(  # the picker names the experiment by its prompt, as text
        "document.querySelector('#yl-plots-experiment input')?.value.includes('onerror=')",
        timeout=15_000,
    )
    assert "<img src=x onerror=" in page.input_value("#yl-plots-experiment input")
    assert_nothing_ran(page)


def test_compare_card_panel_shows_markup_as_text(xss_app, page):
    """A card's replay of the logged run diffs its markup output against the new one."""
    url, _, run_ids = xss_app
    page.goto(url, wait_until="load")
    page.wait_for_selector("#yl-run")
    page.evaluate(  # what a card's button does (assets/cards.js)
        """id => { const box = document.querySelector('#yl-card-action textarea');
        box.value = 'replay:' + id + ':1'; box.dispatchEvent(new Event('input', {bubbles: true}));
        setTimeout(() => document.querySelector('#yl-card-go').click(), 60); }""",
        run_ids[0],
    )
    page.get_by_text("different ✗").wait_for(timeout=60_000)
    panel = page.inner_text("#yl-card-panel")
    assert "onerror=" in panel and "<script>window.__xss=2</script>" in panel
    assert_nothing_ran(page)


def test_hostile_token_texts_and_alternatives_show_as_text_in_the_probability_view(page):
    """A card's probability view, tips and fork mark, as the app renders them (with its CSS
    and cards.js), for outputs whose tokens and alternatives are markup."""
    vocab = {}
    runs = [
        {"id": f"run-{n}", "temperature": 0.7, "seed": n, "max_tokens": 8, "output": text}
        | {"finish_reason": "length", "stop_token_ids_json": "[2]"}
        for n, text in enumerate(OUTPUTS, 1)
    ]
    logs = {r["id"]: token_log(r["output"], stop=False, vocab=vocab) for r in runs}
    grid = render_grid(view_from_runs(runs, logs=logs), actions=True)
    page.set_content(
        f"<html><head><style>{(ROOT / 'assets' / 'style.css').read_text()}</style>"
        f"<script>{(ROOT / 'assets' / 'cards.js').read_text()}</script></head><body>"
        '<div id="yl-card-action"><textarea></textarea></div><button id="yl-card-go">go</button>'
        f"{grid}</body></html>"
    )
    assert page.locator(".yl-out").all_inner_texts() == OUTPUTS
    card = page.locator(".yl-card").nth(0)
    card.locator("[data-act=probs]").click()
    tokens = card.locator(".yl-probs")
    assert tokens.is_visible() and tokens.inner_text() == OUTPUTS[0]
    token = card.locator(".yl-tok").nth(2)  # ' onerror="window.__xss=1">'
    token.hover()
    tip = token.locator(".yl-tip")
    assert tip.is_visible() and XSS_PIECE in tip.inner_text()
    assert 'onerror="window.__xss=1">' in tip.inner_text()
    tip.locator("button.yl-alt").nth(1).click()  # the hostile alternative: branch with it
    action = page.input_value("#yl-card-action textarea")
    assert re.fullmatch(rf"branch:run-1:2:{XSS_ID}:\d+", action)
    assert_nothing_ran(page)
