"""``python app.py --mcp``: the real app on the tiny model, driven by the ``mcp`` client
library over streamable HTTP on 127.0.0.1. The tool list is exactly yilab's tools, each
call returns the CLI's JSON document, a sweep's runs land in the SQLite log, bad input is
an error result, and without ``--mcp`` there is no MCP endpoint."""

import asyncio
import concurrent.futures
import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from tests.appserver import running_app_process
from yilab.cli.main import main as cli
from yilab.service.documents import RUN_JSON_FIELDS
from yilab.ui.mcp_tools import TOOL_NAMES

mcp = pytest.importorskip("mcp")
from mcp.client.sse import sse_client  # noqa: E402
from mcp.client.streamable_http import streamablehttp_client  # noqa: E402

MCP_PATH = "/gradio_api/mcp/"
PROMPT = "Name a fruit from Zanzibar"


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_model_dir):
    """The live app with ``--mcp`` over a fresh run log: (its URL, the db's path)."""
    db = tmp_path_factory.mktemp("mcp") / "runs.db"
    env = {"YILAB_HOME": str(tmp_path_factory.mktemp("home"))}
    with running_app_process(db=db, model=str(tiny_model_dir), env=env, args=("--mcp",)) as a:
        yield a.url, db


def session_run(url: str, work, *, sse: bool = False):
    """Open an MCP session on the app (streamable HTTP, or the older SSE transport) and
    return ``await work(session)``."""

    async def go():
        client = (
            sse_client(url + MCP_PATH + "sse") if sse else streamablehttp_client(url + MCP_PATH)
        )
        async with client as (read, write, *_):
            async with mcp.ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    # on a thread of its own: a browser test's Playwright may hold this thread's event loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def call(url: str, tool: str, **arguments):
    """Call one tool; its result (``isError``, and the text of its content)."""
    result = session_run(url, lambda s: s.call_tool(tool, arguments))
    return result.isError, result.content[0].text


def call_json(url: str, tool: str, **arguments):
    failed, text = call(url, tool, **arguments)
    assert not failed, text
    return json.loads(text)


@pytest.fixture(scope="module")
def swept(app, tiny_model_dir):
    """One 2 × 2 sweep made through the tool: its JSON document."""
    url, _ = app
    return call_json(
        url,
        "sweep",
        prompt=PROMPT,
        model=str(tiny_model_dir),
        temperatures=[0, 0.7],
        seeds=[1, 2],
        max_tokens=[4],
    )


def test_the_tools_are_exactly_yilabs_each_described_and_typed(app):
    url, _ = app
    tools = session_run(url, lambda s: s.list_tools()).tools
    assert sorted(t.name for t in tools) == sorted(TOOL_NAMES)  # no UI event, no /compare
    for tool in tools:
        assert len(tool.description) > 80, tool.name
        assert tool.inputSchema["type"] == "object"
        for name, prop in tool.inputSchema["properties"].items():
            assert prop.get("type") or prop.get("enum"), (tool.name, name)
            assert prop.get("description"), (tool.name, name)
    sweep = next(t for t in tools if t.name == "sweep").inputSchema
    assert sweep["required"] == ["prompt"]
    assert sweep["properties"]["temperatures"] == {
        "type": "array",
        "items": {"type": "number"},
        "description": sweep["properties"]["temperatures"]["description"],
        "default": [0.7],
    }
    assert sweep["properties"]["seeds"]["items"] == {"type": "integer"}
    assert sweep["properties"]["engine"]["enum"] == ["single", "batch"]
    over_sse = session_run(url, lambda s: s.list_tools(), sse=True).tools
    assert [t.name for t in over_sse] == [t.name for t in tools]


def test_the_dashboards_compare_endpoint_is_no_tool_but_stays_an_api_endpoint(app):
    url, _ = app
    # Gradio names a tool after its function: /compare's handler is run_sweep
    for name in ("run_sweep", "compare"):
        failed, text = call(url, name)
        assert failed and "Unknown tool" in text
    with urllib.request.urlopen(url + "/gradio_api/info") as response:
        endpoints = json.load(response)["named_endpoints"]
    assert set(endpoints) == {"/compare", *(f"/{name}" for name in TOOL_NAMES)}


def test_a_sweep_returns_its_runs_and_they_are_in_the_run_log(app, swept, tiny_model_dir):
    _, db = app
    runs = swept["runs"]
    assert [(r["temperature"], r["seed"]) for r in runs] == [(0, 1), (0, 2), (0.7, 1), (0.7, 2)]
    for run in runs:
        assert set(RUN_JSON_FIELDS) <= set(run)
        assert run["status"] == "done" and run["error"] is None
        assert run["model"] == tiny_model_dir.name
        assert run["finish_reason"] in ("stop", "length")
        assert 1 <= run["generation_tokens"] <= 4 and run["max_tokens"] == 4
    assert runs[0]["output"] == runs[1]["output"]  # temperature 0: the seed has no effect
    assert [s["temperature"] for s in swept["scores"]] == [0, 0.7]
    with sqlite3.connect(db) as conn:
        logged = conn.execute(
            "select id, output, finish_reason, seed from runs where experiment_id = ?"
            " order by cell_index",
            (swept["experiment_id"],),
        ).fetchall()
    assert logged == [(r["id"], r["output"], r["finish_reason"], r["seed"]) for r in runs]


def test_search_finds_the_sweeps_runs_and_show_returns_one(app, swept):
    url, _ = app
    ids = {r["id"] for r in swept["runs"]}
    found = call_json(url, "search_runs", search="zanzibar", limit=10)
    assert {r["id"] for r in found} == ids
    assert all({"model", "created_at", "output"} <= set(r) for r in found)
    assert call_json(url, "search_runs", search="no such words anywhere") == []
    first = swept["runs"][0]
    run = call_json(url, "show_run", run_id=first["id"][:8])
    assert run["id"] == first["id"] and run["output"] == first["output"]
    assert PROMPT in run["rendered_prompt"]
    with_tokens = call_json(url, "show_run", run_id=first["id"], tokens=True)
    assert with_tokens["tokens"] is not None


def test_inspect_returns_the_inspect_json_document(app, tiny_model_dir, capsys):
    url, _ = app
    document = call_json(url, "inspect_tokenizer", model=str(tiny_model_dir))
    assert cli(["inspect", str(tiny_model_dir), "--json"]) == 0
    assert document == json.loads(capsys.readouterr().out)
    assert document["verdict"] == "ok"


def test_list_models_returns_the_models_json(app):
    url, _ = app
    models = call_json(url, "list_models")
    assert isinstance(models, list) and all("name" in m for m in models)


BAD_CALLS = {
    "unknown model": (
        "sweep",
        {"prompt": "Hi", "model": "/no/such/model", "max_tokens": [2]},
        "/no/such/model",
    ),
    "negative temperature": (
        "sweep",
        {"prompt": "Hi", "temperatures": [-1], "max_tokens": [2]},
        "temperature must be in [0, 10], not -1",
    ),
    "empty prompt": ("sweep", {"prompt": "  "}, "prompt"),
    "a number for a list": ("sweep", {"prompt": "Hi", "temperatures": 0.7}, "validation error"),
    "too many cells": ("sweep", {"prompt": "Hi", "seeds": list(range(65))}, "the limit is 64"),
    "unknown run": ("show_run", {"run_id": "nosuchrun"}, "No run with id 'nosuchrun'"),
    "limit 0": ("search_runs", {"limit": 0}, "limit must be from 1 to 500"),
    "bad variable": ("search_runs", {"variable": "no equals sign"}, "name=value"),
    "missing folder": ("inspect_tokenizer", {"model": "/no/such/folder"}, "/no/such/folder"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_input_is_an_error_result_with_a_plain_message(app, case):
    url, db = app
    tool, arguments, message = BAD_CALLS[case]
    with sqlite3.connect(db) as conn:
        before = conn.execute("select count(*) from runs").fetchone()[0]
    failed, text = call(url, tool, **arguments)
    assert failed and message in text, text
    assert "Traceback" not in text
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from runs").fetchone()[0] == before  # refused


def test_without_mcp_there_is_no_mcp_endpoint_and_no_tool_endpoint(tmp_path, tiny_model_dir):
    env = {"YILAB_HOME": str(tmp_path / "home")}
    with running_app_process(db=tmp_path / "runs.db", model=str(tiny_model_dir), env=env) as a:
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(a.url + MCP_PATH)
        assert err.value.code == 404
        with urllib.request.urlopen(a.url + "/gradio_api/info") as response:
            assert set(json.load(response)["named_endpoints"]) == {"/compare"}


def test_mcp_with_auth_is_refused_before_anything_starts(capsys):
    from app import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--mcp", "--auth", "ada:s3cret"])
    assert "--mcp does not work with --auth" in capsys.readouterr().err
    assert parse_args(["--mcp"]).mcp and not parse_args([]).mcp
