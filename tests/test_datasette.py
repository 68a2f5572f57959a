"""``datasette experiments.db -m datasette.metadata.json``, through Datasette's own test client."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.sharedata import add_experiment
from yilab.runlog.store import Store

datasette_app = pytest.importorskip("datasette.app", reason="datasette is an optional extra")

from tests.appserver import ROOT  # noqa: E402

METADATA = json.loads((ROOT / "datasette.metadata.json").read_text())
QUERIES = METADATA["databases"]["experiments"]["queries"]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Fetch every page the tests look at from one Datasette over a small run log."""
    db = tmp_path_factory.mktemp("datasette") / "experiments.db"  # the name the metadata keys on
    store = Store(db)
    add_experiment(store, ["Paris.", "Paris.", "Lyon.", "Paris.<|im_end|>\n<|im_start|>user"])
    add_experiment(
        store, ["Tokyo.", "Osaka, 我爱北京天安门"], system=None, prompt="A city in Japan?"
    )
    store.close()
    paths = [
        "/experiments/runs",
        "/experiments/runs.json?_shape=objects",
        "/experiments.json",
        "/experiments/runs.json?_search=Paris&_shape=objects",
        "/experiments/runs.json?_search=天安门&_shape=objects",
    ]
    paths += [f"/experiments/{name}.json?_shape=objects" for name in QUERIES]
    # In a thread of its own: Playwright's sync API keeps an event loop running on the main
    # thread while the session's browser is open, and asyncio.run() refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _fetch(str(db), paths)).result()


async def _fetch(db: str, paths: list[str]) -> dict:
    ds = datasette_app.Datasette([db], metadata=METADATA)
    await ds.invoke_startup()
    responses = {path: await ds.client.get(path) for path in paths}
    for path, response in responses.items():
        assert response.status_code == 200, (path, response.text[:500])
    return {
        path: r.text if not path.split("?")[0].endswith(".json") else r.json()
        for path, r in responses.items()
    }


def test_runs_page_has_the_title_description_and_facets(pages):
    html = pages["/experiments/runs"]
    assert "<h1" in html and "Runs" in html and "One row per sweep cell" in html
    doc = pages["/experiments/runs.json?_shape=objects"]
    assert set(doc["facet_results"]) == {"model", "temperature", "finish_reason"}
    counts = {f["value"]: f["count"] for f in doc["facet_results"]["finish_reason"]["results"]}
    assert counts == {"stop": 5, "length": 1}
    assert "Sampling temperature" in html  # column descriptions show on the table page


def test_every_column_is_described_and_every_description_is_a_column():
    store = Store(":memory:")
    tables = METADATA["databases"]["experiments"]["tables"]
    for table in ("experiments", "runs", "run_tokens"):
        assert set(tables[table]["columns"]) == set(store.columns(table)), table


def test_fts_tables_are_hidden_and_search_works(pages):
    tables = {t["name"]: t["hidden"] for t in pages["/experiments.json"]["tables"]}
    assert not tables["runs"] and not tables["experiments"]
    internal = {
        name: hidden for name, hidden in tables.items() if "_fts" in name or name.startswith("_")
    }
    assert internal and all(internal.values()), internal  # the FTS tables exist, and are hidden
    found = pages["/experiments/runs.json?_search=Paris&_shape=objects"]["rows"]
    assert {r["output"] for r in found} >= {"Paris.", "Paris.<|im_end|>\n<|im_start|>user"}
    found = pages["/experiments/runs.json?_search=天安门&_shape=objects"]["rows"]
    assert [r["output"] for r in found] == ["Osaka, 我爱北京天安门"]  # the trigram index


def test_saved_queries_run_and_answer(pages):
    def rows(name):
        return pages[f"/experiments/{name}.json?_shape=objects"]["rows"]

    assert [r["generation_tokens"] for r in rows("runs_hit_max_tokens")] == [8]
    assert len(rows("runs_past_the_turn_end")) == 1
    (speed,) = rows("tokens_per_second_by_model")
    assert speed["model"] == "tiny" and speed["runs"] == 6 and speed["avg_tokens_per_s"] > 0
    assert sum(r["runs"] for r in rows("experiments_overview")) == 6
    assert rows("identical_outputs")[0]["cells"] == 2
    assert rows("starred_runs") == []
    assert {(r["temperature"], r["stop"]) for r in rows("finish_reasons_by_temperature")} == {
        (0.0, 4),
        (0.7, 1),
    }
