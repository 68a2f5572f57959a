"""Inputs and checks in the real app with the tiny model in Chromium: a 2-input × 2-temperature
× 2-seed grid judged by checks (sections, row scores and card badges agreeing with each other
and with the run log), judged again twice with edited checks without generating, its scores in
History with the Input filter, and bad checks or inputs refused before anything runs.

The tiny model's outputs are noise (its T=0 output is blank lines): the checks are chosen to
give ✓ and ✗, and one is picked from the outputs so that a row splits 1 of 2.
Screenshots go to ``test-artifacts/judging-*.png`` (not committed): look at them.
"""

from __future__ import annotations

import json

import pytest

from tests.appserver import shot, start_sweep, tiny_app
from yilab.experiment.checks import parse_checks
from yilab.experiment.scoring import verdicts
from yilab.render.text import snippet
from yilab.runlog.store import Store

pytestmark = pytest.mark.browser
PROMPT = "Capital of {{country}}?"
INPUTS = "country,expected\nFrance,Paris\n日本,東京"
CHECKS = "stop\nshort=max-words:40\nnot-contains:<\ncapital=equals/i"
REJUDGED = "max-chars:100000"
COUNTRIES = ("France", "日本")
MARKS = {True: "pass", False: "fail", None: "na"}  # a verdict's badge class and symbol
SYMBOLS = {True: "✓", False: "✗", None: "–"}

# The grid's children in order (section headings, row headings, cards) as plain data.
GRID_ITEMS = """() => [...document.querySelector('#yl-grid .yl-grid').children].map(el => {
  if (el.classList.contains('yl-section')) return {kind: 'section', text: el.innerText};
  if (el.classList.contains('yl-row-head')) return {kind: 'row',
    label: el.querySelector('b').innerText,
    score: el.querySelector('.yl-row-score')?.innerText ?? null};
  return {kind: 'card', run: el.dataset.run, title: el.querySelector('.yl-title').innerText,
    badges: [...el.querySelectorAll('.yl-checks .yl-check')].map(b => ({
      mark: b.className.match(/yl-check-(pass|fail|na)/)[1], text: b.innerText,
      title: b.title}))};
})"""
# Every card shows exactly these badge names (the grid re-rendered with the new checks).
BADGES_ARE = """names => {
  const cards = [...document.querySelectorAll('#yl-grid .yl-card')];
  return cards.length === 8 && cards.every(c => JSON.stringify(
    [...c.querySelectorAll('.yl-check')].map(b => b.innerText.slice(2))) === JSON.stringify(names));
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_model_dir):
    db = tmp_path_factory.mktemp("judging") / "ui.db"
    with tiny_app(tmp_path_factory, tiny_model_dir, db) as url:
        yield url, db


def open_judging(page, url: str) -> None:
    """Open the page and its "Inputs and checks" accordion."""
    page.goto(url, wait_until="load")
    page.wait_for_selector("#yl-run")
    page.locator("#yl-judging").get_by_text("Inputs and checks").click()
    page.wait_for_selector("#yl-checks textarea", state="visible")


def grid_rows(page) -> list[dict]:
    """Each grid row: its input section (1, 2), label, score line and cards. Asserts the
    two section headings."""
    sections, rows = [], []
    for item in page.evaluate(GRID_ITEMS):
        if item["kind"] == "section":
            sections.append(item["text"])
        elif item["kind"] == "row":
            rows.append({**item, "section": len(sections), "cards": []})
        else:
            rows[-1]["cards"].append(item)
    assert sections == ["Input 1 · country=France", "Input 2 · country=日本"]
    return rows


def passes(card: dict) -> bool | None:
    """Whether a card passes every check it was judged by (– is not judged)."""
    judged = [b["mark"] == "pass" for b in card["badges"] if b["mark"] != "na"]
    return all(judged) if judged else None


def assert_judged(page, logged: dict[str, dict], checks_text: str) -> list[dict]:
    """The grid's 2 sections × 2 rows × 2 cards: each card's badges are the log's verdicts,
    each row's score line counts its cards' badges and outputs. Returns the rows."""
    checks = parse_checks(checks_text)
    names = [c.name for c in checks]
    rows = grid_rows(page)
    assert [(r["section"], r["label"]) for r in rows] == [
        (1, "T=0"),
        (1, "T=0.9"),
        (2, "T=0"),
        (2, "T=0.9"),
    ]
    for row in rows:
        assert len(row["cards"]) == 2
        runs = [logged[c["run"]] for c in row["cards"]]
        assert [c["title"] for c in row["cards"]] == [
            f"T={r['temperature']:g} · seed {r['seed']}" for r in runs
        ]
        assert {json.loads(r["vars_json"])["country"] for r in runs} == {
            COUNTRIES[row["section"] - 1]
        }
        for card, run in zip(row["cards"], runs, strict=True):
            want = verdicts(checks, run)
            assert [b["text"] for b in card["badges"]] == [
                f"{SYMBOLS[want[n].passed]} {n}" for n in names
            ]
            assert [b["mark"] for b in card["badges"]] == [MARKS[want[n].passed] for n in names]
            assert [b["title"] for b in card["badges"]] == [want[n].detail for n in names]
        verdict = [passes(c) for c in row["cards"]]
        judged = [v for v in verdict if v is not None]
        yes_no = ("no", "yes")
        assert row["score"].startswith(
            f"pass {sum(judged) / len(judged):.0%} · @2 {yes_no[any(judged)]}"
            f" · ^2 {yes_no[all(judged)]} · {len({r['output'] for r in runs})}/2 distinct"
        ), row
    return rows


def rejudge(page, checks_text: str) -> None:
    page.fill("#yl-checks textarea", checks_text)
    page.click("#yl-rejudge")
    names = [c.name for c in parse_checks(checks_text)]
    page.wait_for_function(BADGES_ARE, arg=names, timeout=30_000)


def runs_by_id(db) -> dict[str, dict]:
    return {r["id"]: r for r in Store(db).list_runs(limit=-1)}


def splitting_check(rows: list[dict], logged: dict[str, dict]) -> str:
    """``pick=contains:C``, C a character in the first card's output of the France T=0.9
    row and not in the second's: that row then passes 1 of 2."""
    first, second = (logged[c["run"]]["output"] for c in rows[1]["cards"])
    chars = [c for c in first if c not in second and c.isprintable() and not c.isspace()]
    assert chars, (first, second)
    return f"pick=contains:{chars[0]}"


def test_a_judged_grid_rejudged_and_found_in_history(app, page):
    url, db = app
    open_judging(page, url)
    page.fill("#yl-inputs textarea", INPUTS)
    page.fill("#yl-checks textarea", CHECKS)
    start_sweep(page, url, prompt=PROMPT, temps="0, 0.9", seeds="1, 2", max_tokens="12", goto=False)
    page.wait_for_function(
        "document.querySelectorAll('#yl-grid .yl-row-score').length === 4", timeout=60_000
    )
    shot(page, "judging-grid")
    logged = runs_by_id(db)
    assert len(logged) == 8
    rows = assert_judged(page, logged, CHECKS)
    marks = {b["mark"] for r in rows for c in r["cards"] for b in c["badges"]}
    assert marks == {"pass", "fail"}  # stop and equals fail (max_tokens), short passes
    experiment_id = logged[rows[0]["cards"][0]["run"]]["experiment_id"]
    before = Store(db).get_experiment(experiment_id)

    # judged again, twice, without generating: a check that splits a row, then one all pass
    split = splitting_check(rows, logged)
    rejudge(page, split)
    rows = assert_judged(page, logged, split)
    assert rows[1]["score"].startswith("pass 50% · @2 yes · ^2 no · 2/2 distinct")
    rejudge(page, REJUDGED)
    rows = assert_judged(page, logged, REJUDGED)
    assert all(r["score"].startswith("pass 100% · @2 yes · ^2 yes") for r in rows)
    shot(page, "judging-rejudged")
    after = Store(db).get_experiment(experiment_id)
    assert runs_by_id(db) == logged  # no new run, no output touched
    assert after["runs"] == before["runs"]
    assert json.loads(after["checks_json"]) == [c.to_dict() for c in parse_checks(REJUDGED)]
    assert after["checks_json"] != before["checks_json"]

    # History: the experiment's scores, one line per (input, temperature), the new check
    page.get_by_role("tab", name="History").click()
    page.fill("#yl-history-experiment textarea", experiment_id)
    table = page.locator("#yl-history-grid table.yl-scores")
    table.wait_for(timeout=30_000)
    head = table.locator("th").all_inner_texts()
    assert head[:4] == ["input", "T", "runs", "max-chars 100000"] and "all" in head
    body = [r.locator("td").all_inner_texts() for r in table.locator("tbody tr").all()]
    assert [r[:4] for r in body] == [
        ["country=France", "0", "2", "100%"],
        ["country=France", "0.9", "2", "100%"],
        ["country=日本", "0", "2", "100%"],
        ["country=日本", "0.9", "2", "100%"],
    ]
    assert page.locator("#yl-history-grid .yl-legend").is_visible()
    assert page.locator("#yl-history-grid .yl-check-pass").count() == 8

    # the Input filter: only the runs whose input row said country=日本
    count_is = "document.querySelectorAll('#yl-history-runs [role=row]').length === "
    page.wait_for_function(count_is + "9", timeout=15_000)  # the header and all 8 runs
    page.fill("#yl-history-var textarea", "country=日本")
    page.press("#yl-history-var textarea", "Enter")
    page.wait_for_function(count_is + "5", timeout=15_000)
    shown = [
        r.locator("[role=gridcell]").all_inner_texts()
        for r in page.locator("#yl-history-runs [role=row]:has([role=gridcell])").all()
    ]
    japan = [r for r in logged.values() if json.loads(r["vars_json"])["country"] == "日本"]
    want = [(f"{r['temperature']:g}", str(r["seed"]), snippet(r["output"])) for r in japan]
    assert sorted((r[3], r[4], r[8]) for r in shown) == sorted(want)  # T, seed, output
    shot(page, "judging-history")


@pytest.mark.parametrize(
    ("inputs", "checks", "message"),
    [
        (INPUTS, "regex:(", "The regex '(' is not valid: missing ), unterminated subpattern"),
        ("city,expected\nParis,Paris", "stop", "Input row 1 has no value for {{country}}."),
    ],
    ids=["invalid-regex", "inputs-without-the-variable"],
)
def test_bad_checks_or_inputs_show_a_readable_error_and_run_nothing(
    app, page, inputs, checks, message
):
    url, db = app
    before = len(Store(db).list_runs(limit=-1))
    open_judging(page, url)
    page.fill("#yl-inputs textarea", inputs)
    page.fill("#yl-checks textarea", checks)
    start_sweep(page, url, prompt=PROMPT, temps="0", seeds="1", max_tokens="4", goto=False)
    page.get_by_text(message).first.wait_for(timeout=15_000)
    assert "Traceback" not in page.content()
    page.wait_for_timeout(500)  # a run that had started would be logged by now
    assert len(Store(db).list_runs(limit=-1)) == before
    assert page.locator("#yl-grid .yl-card").count() == 0
