"""Token probabilities in the real app with the default model (SmolLM2-135M) in Chromium:
a card's probability view, a row's fork marks, branching from an alternative, and the
Yi case's turn-end note leading to the Tokenizer tab."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.appserver import running_app, shot, start_sweep
from yilab.models.resolve import resolve_model
from yilab.runlog.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FINISHED = "document.querySelectorAll('#yl-grid .yl-badge-length, #yl-grid .yl-badge-stop')"


@pytest.fixture(scope="module")
def yi_like(tmp_path_factory, shared_home, monkeypatch_module):
    """The default model with Yi's eos mistake (its eos is <|endoftext|>)."""
    monkeypatch_module.setenv("YILAB_HOME", str(shared_home))
    source = resolve_model(None).path
    path = tmp_path_factory.mktemp("yi") / "smollm2-yi-eos"
    path.mkdir()
    for file in source.iterdir():
        if file.suffix == ".safetensors":
            (path / file.name).symlink_to(file)
        elif file.is_file():
            shutil.copy2(file, path / file.name)
    for name, values in (
        ("tokenizer_config.json", {"eos_token": "<|endoftext|>"}),
        ("generation_config.json", {"eos_token_id": [0]}),
        ("config.json", {"eos_token_id": 0}),
    ):
        data = json.loads((path / name).read_text())
        (path / name).write_text(json.dumps({**data, **values}, indent=2))
    return path


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def smol_app(tmp_path_factory, shared_home):
    db = tmp_path_factory.mktemp("tokens") / "tokens.db"
    env = {"YILAB_HOME": str(shared_home)}
    with running_app(db=db, model="smollm2-135m-instruct", env=env, timeout=180) as url:
        yield url, db


def test_probabilities_forks_and_a_branch(smol_app, page):
    url, db = smol_app
    start_sweep(
        page,
        url,
        prompt="Write a haiku about the sea.",
        temps="0.9",
        seeds="1, 2, 3",
        max_tokens="24",
    )
    page.wait_for_function(f"{FINISHED}.length === 3", timeout=240_000)
    page.wait_for_selector("#yl-grid .yl-act[data-act='probs']", timeout=30_000)
    # every card of the row parts from the others somewhere: a fork mark on each
    forks = page.locator("#yl-grid mark.yl-fork")
    assert forks.count() == 3
    assert "parts from seed" in forks.first.get_attribute("title")
    shot(page, "tokens-fork-marks")

    card = page.locator("#yl-grid .yl-card").first
    card.locator(".yl-act[data-act='probs']").click()
    tokens = card.locator(".yl-probs .yl-tok")
    assert tokens.count() == 24
    tokens.nth(3).hover()
    tip = tokens.nth(3).locator(".yl-tip")
    tip.wait_for(state="visible")
    assert "%" in tip.inner_text()
    shot(page, "tokens-probability-view")
    page.locator("[data-shade='entropy']").first.click()
    assert "yl-shade-entropy" in page.evaluate("document.body.className")
    shot(page, "tokens-entropy-view")

    # branch: the second alternative at token 3 → a new run beside its parent
    runs_before = len(Store(db).list_runs(limit=-1))
    tokens.nth(3).hover()
    tip.locator("button:not(.yl-alt-drawn)").first.click()
    panel = page.locator("#yl-card-panel")
    panel.locator(".yl-card").nth(1).locator(".yl-badge-length, .yl-badge-stop").wait_for(
        timeout=120_000
    )
    head = panel.locator(".yl-notice").inner_text()
    assert head.startswith("Branch of T=0.9 · seed 1 at token 4: ")
    chosen, drawn = head.split(": ", 1)[1].split(" instead of ")
    assert chosen != drawn.split(" (")[0]
    runs = Store(db).list_runs(limit=-1)
    assert len(runs) == runs_before + 1
    branch = next(r for r in runs if r["branch_of"])
    assert branch["branch_at"] == 3 and branch["seed"] == 1 and branch["temperature"] == 0.9
    assert panel.locator("mark.yl-fork").count() == 2  # parent and branch part at token 3
    panel.scroll_into_view_if_needed()
    shot(page, "tokens-branch-beside-parent")


def test_the_turn_end_note_leads_to_the_tokenizer_fix(smol_app, page, yi_like):
    url, _ = smol_app
    page.goto(url, wait_until="load")
    page.fill("#yl-model input", str(yi_like))
    page.press("#yl-model input", "Enter")
    start_sweep(
        page,
        url,
        prompt="What is the capital of France?",
        temps="0",
        seeds="1",
        max_tokens="24",
        goto=False,
    )
    page.wait_for_function(f"{FINISHED}.length === 1", timeout=240_000)
    note = page.locator("#yl-grid .yl-missed")
    note.wait_for(timeout=30_000)
    assert "<|im_end|> was" in note.inner_text() and "not a stop token" in note.inner_text()
    shot(page, "tokens-turn-end-note")
    note.locator("a.yl-to-tokenizer").click()
    page.wait_for_function(
        "document.querySelector('#yl-tab-tokenizer')?.offsetParent !== null", timeout=30_000
    )
    page.get_by_text("<|endoftext|>").first.wait_for(timeout=60_000)
    assert str(yi_like) in page.input_value("#yl-tok-model input")
