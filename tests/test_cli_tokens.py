"""``show RUN --tokens``: the token table, its JSON, and the runs that have no record."""

from __future__ import annotations

import json
import re

import pytest

from tests.remoteservers import RecordingServer
from tests.sharedata import add_experiment
from yilab.cli.main import main
from yilab.cli.token_table import display_width, escape_token, fit, percent
from yilab.experiment.sweep import SweepSpec
from yilab.experiment.token_log import TokenLog, TokenStep
from yilab.runlog.rows import token_log_row
from yilab.service import Service


def show(capsys, db, run_id: str, *extra: str) -> tuple[int, str, str]:
    status = main(["show", run_id, "--tokens", "--db", str(db), *extra])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def swept(tmp_path, tiny_model_dir):
    """(db path, service, runs) of a sweep at temperature 0 and 0.9 on the tiny model."""
    db = tmp_path / "cli.db"
    service = Service(db)
    spec = SweepSpec(
        prompt="Hello", models=(str(tiny_model_dir),), temperatures=(0, 0.9), max_tokens=(10,)
    )
    _, runs = service.run_sweep(spec)
    yield db, service, runs
    service.close()


def test_json_carries_the_token_log(capsys, swept):
    db, service, runs = swept
    for run in runs:
        status, out, _ = show(capsys, db, run["id"][:8], "--json")
        doc = json.loads(out)
        assert status == 0 and doc["id"] == run["id"] and doc["output"] == run["output"]
        assert doc["tokens"] == service.token_log(run["id"]).to_json()
        assert len(doc["tokens"]["steps"]) == run["generation_tokens"] == 10
    assert main(["show", runs[0]["id"], "--db", str(db), "--json"]) == 0
    assert "tokens" not in json.loads(capsys.readouterr().out)  # only when asked


def test_the_table_has_a_line_per_token_after_the_run(capsys, swept):
    db, service, runs = swept
    greedy, sampled = runs
    status, out, _ = show(capsys, db, sampled["id"])
    assert status == 0
    before, table = out.split("--- tokens: ", 1)
    assert "--- output ---" in before and "temperature: 0.9" in before
    lines = table.splitlines()
    assert lines[0].startswith('10 tokens (mlx), 5 alternatives each; turn ends ⏎: "<|im_end|>"')
    assert lines[1].split() == ["pos", "token", "p", "p", "drawn", "entropy", "end", "top"]
    log = service.token_log(sampled["id"])
    for n, (line, step) in enumerate(zip(lines[2:], log.steps, strict=True)):
        assert line.startswith(f"{n + 1:>5}  {fit(escape_token(log.piece(step.token)), 18)} ")
        assert f" {percent(step.raw_logprob):>7} {percent(step.logprob):>7} " in line
        assert f"{step.entropy:.2f}" in line
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", table)  # control characters escaped
    _, out, _ = show(capsys, db, greedy["id"])
    rows = out.split("--- tokens: ", 1)[1].splitlines()[2:]
    assert all(row[34:41].strip() == "100.0%" for row in rows)  # p drawn at temperature 0


def test_a_branch_s_given_tokens_say_given(capsys, swept):
    db, service, runs = swept
    parent = runs[1]
    alternative = service.token_log(parent["id"]).steps[3].top[-1][0]
    sweep = service.branch(parent["id"], 3, alternative)
    for _ in sweep.events():
        pass
    sweep.wait()
    (branch,) = service.sweep_runs(sweep)
    _, out, _ = show(capsys, db, branch["id"])
    rows = out.split("--- tokens: ", 1)[1].splitlines()[2:]
    assert [row[34:41].strip() for row in rows[:4]] == ["given"] * 4
    assert all(row[34:41].strip() not in ("given", "-") for row in rows[4:])
    assert len(rows) == branch["generation_tokens"] > 4


def test_turn_end_tokens_are_marked():
    from yilab.cli.token_table import token_lines

    log = TokenLog(
        steps=(
            TokenStep(5, "童话", -0.1, -0.2, 1.5, ((5, -0.2), (2, -2.5))),
            TokenStep(2, "", -0.05, -0.3, 0.4, ((2, -0.3),)),
        ),
        top_k=2,
        turn_end_ids=(2,),
        pieces={5: "童话", 2: "<|im_end|>"},
    )
    header, first, last = token_lines(log)
    assert "⏎" not in first and last.split()[5] == "⏎"
    end_of_p = header.index(" p ") + 2  # the column where "p" ends
    assert display_width(first[: first.index("81.9%")]) + 5 == end_of_p  # 童话 is 4 columns
    assert display_width(last[: last.index("74.1%")]) + 5 == end_of_p


def test_a_run_without_a_record_says_so(capsys, tmp_path, tiny_model_dir):
    db = tmp_path / "off.db"
    service = Service(db)
    spec = SweepSpec(prompt="Hi", models=(str(tiny_model_dir),), max_tokens=(3,), top_logprobs=None)
    _, (off,) = service.run_sweep(spec)
    older = service.get_experiment(add_experiment(service.store, ["Paris."]))["runs"][0]
    service.close()
    status, out, _ = show(capsys, db, off["id"])
    assert status == 0
    assert out.endswith("no token record for this run (recording was off for its sweep)\n")
    status, out, err = show(capsys, db, older["id"], "--json")
    assert status == 0 and json.loads(out)["tokens"] is None
    assert err == (
        "no token record for this run (token probabilities are recorded from yilab 0.1.0 on; "
        "this run is older)\n"
    )


def test_a_remote_run_shows_what_its_server_returned(capsys, tmp_path):
    server, db = RecordingServer(), tmp_path / "remote.db"
    service = Service(db)
    try:
        _, (run,) = service.run_sweep(
            SweepSpec(prompt="Hi", models=(f"openai+{server.url}#echo",), max_tokens=(5,))
        )
    finally:
        server.close()
    status, out, _ = show(capsys, db, run["id"])
    assert status == 0 and run["output"] == "Hello world"
    assert out.endswith("(its server returned no token probabilities)\n")
    served = TokenLog(
        steps=(TokenStep(0, "Hello", None, -0.5), TokenStep(1, " world", None, -1.2)),
        top_k=0,
        pieces={0: "Hello", 1: " world"},
        source="server",
    )
    service.store.insert("run_tokens", token_log_row(run["id"], served))
    _, out, _ = show(capsys, db, run["id"])
    table = out.split("--- tokens: ", 1)[1].splitlines()
    assert table[0].startswith("2 tokens (as the server returned them), 0 alternatives each")
    assert [(row[7:25].rstrip(), row[26:33].strip(), row[34:41].strip()) for row in table[2:]] == [
        ('"Hello"', "60.7%", "-"),
        ('" world"', "30.1%", "-"),
    ]
    service.close()


@pytest.mark.parametrize(
    "text, shown",
    [
        ("Hi\n", '"Hi\\n"'),
        ("\t\r", '"\\t\\r"'),
        ("\x1b[31m", '"\\x1b[31m"'),
        ("a\u202eb", '"a\\u202eb"'),  # a right-to-left override would flip the line
        ("\ud83d", '"\\ud83d"'),  # half a surrogate pair (a byte fragment)
        ("童话", '"童话"'),
        ("", '""'),
    ],
)
def test_escape_token(text, shown):
    assert escape_token(text) == shown


def test_widths_and_percentages():
    assert display_width("童话 ok") == 7 and display_width("e\u0301") == 1
    assert fit("童话故事", 5) == "童话…" and display_width(fit("童话故事", 6)) == 6
    assert fit("ab", 4) == "ab  "
    assert [percent(x) for x in (0.0, -0.105, -5.0, -12.0, None)] == [
        "100.0%",
        "90.0%",
        "0.67%",
        "<0.01%",
        "-",
    ]


def test_the_runs_table_fits_chinese_outputs_in_the_terminal(capsys, monkeypatch):
    """Chinese takes two columns a character: the line is cut by columns, not characters,
    and a Chinese model name keeps the output column in place."""
    import os

    from yilab.cli.display import print_runs_table
    from yilab.cli.token_table import clip

    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: os.terminal_size((90, 24)))
    run = {"temperature": 0.7, "seed": 1, "top_p": 1.0, "generation_tokens": 40}
    run |= {"generation_tps": 12.5, "finish_reason": "length", "status": "done"}
    runs = [
        {**run, "id": "a" * 36, "model": "小模型", "output": "从前有一只小兔子，" * 20},
        {**run, "id": "b" * 36, "model": "tiny", "output": "Once upon a time " * 20},
    ]
    print_runs_table(runs, with_model=True)
    header, chinese, english = capsys.readouterr().out.splitlines()
    assert all(display_width(line) <= 90 for line in (header, chinese, english))
    assert display_width(chinese) >= 89  # filled up to the edge, a wide character short at most
    start = header.index("output")
    assert display_width(chinese[: chinese.index("从")]) == start == english.index("Once")
    assert clip("写一首歌", 5) == "写一" and clip("ab", 5) == "ab"
