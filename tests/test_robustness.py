"""Bad input everywhere: broken model folders through the service, bad sweep values and
prompts through the app's API, undecodable bytes through the CLI. Each is a clear message
(a refusal that writes nothing, or a logged ``error`` run), and the next sweep still works.

max_tokens over the model's context length: tests/test_service.py
(``test_a_failed_run_is_logged_with_its_error``).
"""

import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from tests.appserver import ROOT, running_app
from yilab.errors import ModelNotFoundError
from yilab.experiment.sweep import SweepSpec
from yilab.runlog.store import Store
from yilab.service import Service


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    s = Service(tmp_path_factory.mktemp("robust") / "runs.db")
    yield s
    s.close()


def sweep_on(service, model, **kw) -> list[dict]:
    spec = SweepSpec(prompt="Hi", models=(str(model),), max_tokens=(4,), **kw)
    sweep = service.start_sweep(spec)
    assert sweep.wait(60), "the worker stopped serving"
    return service.store.get_experiment(sweep.experiment_id)["runs"]


def assert_still_serves(service, model) -> None:
    runs = sweep_on(service, model, seeds=(1, 2))
    assert [r["status"] for r in runs] == ["done", "done"]


# -- model specs and broken model folders -------------------------------------------------


def _rewrite_json(name: str, change) -> callable:
    def edit(folder):
        path = folder / name
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return edit


BROKEN_MODELS = {
    "garbage safetensors": (
        lambda d: (d / "model.safetensors").write_bytes(b"\x00junk" * 99),
        "Invalid json header length",
    ),
    "truncated safetensors": (
        lambda d: (d / "model.safetensors").write_bytes(
            (d / "model.safetensors").read_bytes()[:5000]
        ),
        "exceeding the size of the file",
    ),
    "empty safetensors": (lambda d: (d / "model.safetensors").write_bytes(b""), "Unable to read"),
    "no weights": (lambda d: (d / "model.safetensors").unlink(), "No safetensors found"),
    "no tokenizer files": (
        lambda d: [(d / f).unlink() for f in ("tokenizer.json", "tokenizer_config.json")],
        "it has no tokenizer file (tokenizer.json",
    ),
    "no tokenizer_config.json": (
        lambda d: (d / "tokenizer_config.json").unlink(),
        "no chat template: use raw mode",
    ),
    "truncated config.json": (
        lambda d: (d / "config.json").write_text((d / "config.json").read_text()[:40]),
        "Unterminated string",
    ),
    "config.json is a list": (
        lambda d: (d / "config.json").write_text("[[1, 2], [3]]"),
        "Could not load the model",
    ),
    "eos id as lists of lists": (
        _rewrite_json("config.json", lambda c: {**c, "eos_token_id": [[2]]}),
        "eos_token_id",
    ),
    "sizes as strings": (
        _rewrite_json("config.json", lambda c: {**c, "hidden_size": "64"}),
        "Could not load the model",
    ),
    "eos token as a number": (
        _rewrite_json("tokenizer_config.json", lambda c: {**c, "eos_token": 2}),
        "eos_token",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_MODELS))
def test_a_broken_model_folder_is_a_logged_error_and_the_worker_keeps_serving(
    service, tiny_model_dir, tmp_path, case
):
    damage, message = BROKEN_MODELS[case]
    broken = shutil.copytree(tiny_model_dir, tmp_path / "broken")
    damage(broken)
    runs = sweep_on(service, broken)
    assert len(runs) == 1 and runs[0]["status"] == "error"
    assert message in runs[0]["error"], runs[0]["error"]
    assert runs[0]["error"].startswith(("Could not load the model", "This model has no chat"))
    assert_still_serves(service, tiny_model_dir)


def _not_a_model(tmp_path, _):
    (tmp_path / "notes.txt").write_text("hello, I am not a model")
    return tmp_path / "notes.txt", "not a model"


def _no_config(tmp_path, _):
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty", "has no config.json"


def _dotdot_to_nothing(tmp_path, model):
    return model / ".." / ".." / "no-such-model", "no such file or folder"


@pytest.mark.parametrize("make", [_not_a_model, _no_config, _dotdot_to_nothing])
def test_a_spec_naming_no_model_is_refused_with_nothing_written(
    service, tiny_model_dir, tmp_path, make
):
    before = len(service.store.list_experiments(limit=-1))
    spec, message = make(tmp_path, tiny_model_dir)
    with pytest.raises(ModelNotFoundError, match=message):
        sweep_on(service, spec)
    assert len(service.store.list_experiments(limit=-1)) == before
    assert_still_serves(service, tiny_model_dir)


def test_a_spec_with_dotdot_is_resolved_before_it_is_logged(service, tiny_model_dir):
    spec = tiny_model_dir / ".." / tiny_model_dir.name
    runs = sweep_on(service, spec)
    assert runs[0]["status"] == "done" and runs[0]["model_path"] == str(tiny_model_dir.resolve())


# -- bad sweep values and prompts through the app's API ---------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_model_dir):
    db = tmp_path_factory.mktemp("api") / "api.db"
    with running_app(db=db, model=str(tiny_model_dir)) as url:
        from gradio_client import Client

        yield Client(url, verbose=False), db


def compare(
    app, model, *, prompt="Hi", temps="0.5", seeds="1", max_tokens="4", system="", **judging
):
    """The /compare endpoint, positionally as before inputs and checks existed; ``judging``
    (``inputs``, ``checks``) goes by keyword."""
    client, _ = app
    return client.predict(
        str(model),
        "chat",
        system,
        prompt,
        temps,
        seeds,
        "1.0",
        max_tokens,
        "single",
        api_name="/compare",
        **judging,
    )


def counts(db) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        return tuple(
            conn.execute(f"select count(*) from {t}").fetchone()[0] for t in ("experiments", "runs")
        )


REFUSED = {
    "temps nan": ({"temps": "nan"}, "temperatures: 'nan' is not a finite number."),
    "temps -1": ({"temps": "-1"}, "temperature must be in [0, 10], not -1.0."),
    "temps 1e9": ({"temps": "1e9"}, "temperature must be in [0, 10], not 1000000000.0."),
    "temps empty": ({"temps": ""}, "temperatures: give at least one value."),
    "temps words": ({"temps": "hot"}, "temperatures: 'hot' is not a number."),
    "seeds words": ({"seeds": "x"}, "seeds: 'x' is not a whole number."),
    "max_tokens 0": ({"max_tokens": "0"}, "max_tokens must be between 1 and 32,768, not 0."),
    "max_tokens huge": ({"max_tokens": "999999999"}, "max_tokens must be between 1 and 32,768"),
    "10,000 cells": (
        {
            "temps": ",".join(str(i / 10) for i in range(100)),
            "seeds": ",".join(map(str, range(100))),
        },
        "That sweep has 10000 cells; the limit is 64.",
    ),
    "empty prompt": ({"prompt": " \n\t"}, "The prompt is empty"),
    "1 MiB prompt": ({"prompt": "x" * 2**20}, "The prompt has 1,048,576 characters; the limit"),
    "1 MiB system": ({"system": "s" * 2**20}, "The system prompt has 1,048,576 characters"),
    "bad regex check": ({"checks": "regex:("}, "regex"),
    "schema not JSON": ({"checks": "json-schema:{oops"}, "The JSON Schema is not JSON"),
    "variable without value": ({"prompt": "Hi {{who}}"}, "uses {{who}}"),
    "inputs missing a variable": (
        {"prompt": "Hi {{who}}", "inputs": "name\nAda\n"},
        "Input row 1 has no value for {{who}}",
    ),
    "64-cell cap across inputs": (
        {
            "prompt": "Hi {{who}}",
            "inputs": "who\n" + "".join(f"p{i}\n" for i in range(9)),
            "temps": "0, 0.5",
            "seeds": "1, 2, 3, 4",
        },
        "72 cells (9 inputs × 8); the limit is 64",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_input_through_the_api_is_a_readable_error_and_writes_nothing(
    app, tiny_model_dir, case
):
    from gradio_client.exceptions import AppError

    inputs, message = REFUSED[case]
    before = counts(app[1])
    with pytest.raises(AppError) as raised:
        compare(app, tiny_model_dir, **inputs)
    assert message in str(raised.value) and "Traceback" not in str(raised.value)
    assert counts(app[1]) == before


def test_a_prompt_over_the_context_length_is_a_logged_error_run(app, tiny_model_dir):
    html = compare(app, tiny_model_dir, prompt="lorem ipsum " * 80_000)  # ~1 MB, 1 cell
    assert "context length is 2048. Shorten the prompt" in html
    run = Store(app[1]).list_runs(limit=1)[0]
    assert run["status"] == "error" and "Shorten the prompt" in run["error"]


def test_control_characters_go_through_as_text(app, tiny_model_dir):
    odd = "nul\x00 bell\x07 esc\x1b[31m del\x7f bidi\u202e zero\u200b line\u2028end"
    html = compare(app, tiny_model_dir, prompt=odd, system="sys\x00\x1b")
    assert "Done: 1 length" in html
    run = Store(app[1]).list_runs(limit=1)[0]
    assert run["status"] == "done"
    assert json.loads(run["messages_json"]) == [
        {"role": "system", "content": "sys\x00\x1b"},
        {"role": "user", "content": odd},
    ]


def test_inputs_and_checks_through_the_api(app, tiny_model_dir):
    html = compare(
        app,
        tiny_model_dir,
        prompt="Say {{word}}.",
        seeds="1, 2",
        inputs="word,expected\nhello,hi\n你好,好\n",
        checks="stop\nanswer=equals",
    )
    assert html.count('class="yl-card') == 4 and html.count('class="yl-section"') == 2
    assert "Input 2 · word=你好" in html and html.count('class="yl-row-score"') == 2
    assert html.count("✗ stop") == 4  # 4 tokens of the tiny model never stop
    runs = Store(app[1]).list_runs(limit=4)
    assert sorted(json.loads(r["vars_json"])["word"] for r in runs) == [
        "hello",
        "hello",
        "你好",
        "你好",
    ]
    experiment = Store(app[1]).get_experiment(runs[0]["experiment_id"])
    assert [c["name"] for c in json.loads(experiment["checks_json"])] == ["stop", "answer"]


def test_after_all_that_the_app_still_serves_a_normal_sweep(app, tiny_model_dir):
    html = compare(app, tiny_model_dir, temps="0, 0.7", seeds="1, 2", max_tokens="5")
    assert html.count('class="yl-card') == 4 and "Done: 4 length" in html
    with sqlite3.connect(app[1]) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r["status"] for r in Store(app[1]).list_runs(limit=-1)} <= {"done", "error"}


# -- invalid UTF-8 cannot travel as JSON: the CLI -------------------------------------------


@pytest.mark.parametrize("where", ["prompt", "system"])
def test_undecodable_bytes_in_the_cli_are_refused_with_nothing_written(
    tiny_model_dir, tmp_path, where
):
    db = tmp_path / "utf8.db"
    args = [b"caf\xe9"] if where == "prompt" else ["Hi", "--system", b"\xff\xfe sys"]
    cmd = [sys.executable, "-m", "yilab", "compare", *args]
    cmd += ["--model", str(tiny_model_dir), "--db", str(db), "--json"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=120)
    assert done.returncode == 2, done.stderr
    label = "prompt" if where == "prompt" else "system prompt"
    expected = f"The {label} is not valid UTF-8 text (an undecodable byte at position"
    assert expected in json.loads(done.stdout)["error"]
    assert b"Traceback" not in done.stderr
    assert not db.exists() or counts(db) == (0, 0)
