"""Judging a grid: scores per grid row from fixed runs (hand-computed), and for real — a sweep
over an inputs table on the tiny model, its checks edited and re-judged from the log without
generating again, carried by re-run, replay, the CLI and every export format."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.test_cli import cli
from yilab.cli.main import main
from yilab.errors import BadInputError, BundleError
from yilab.experiment.checks import parse_checks
from yilab.experiment.scoring import judged_runs, score_rows, verdicts
from yilab.experiment.sweep import SweepSpec
from yilab.render.scores import cells, headers, row_summary, scores_html
from yilab.runlog.store import Store
from yilab.share.bundle import import_bundle
from yilab.share.export import export


def run(cell, temperature, output, *, finish="stop", status="done", values=None, seed=1):
    return {
        "id": f"r{cell}",
        "cell_index": cell,
        "status": status,
        "output": output,
        "finish_reason": finish,
        "vars_json": json.dumps(values) if values is not None else None,
        "input_index": None if values is None else values["i"] != "a",
        "model": "m",
        "top_p": 1.0,
        "max_tokens": 64,
        "temperature": temperature,
        "seed": seed,
    }


CHECKS = parse_checks("capital=contains/i:paris\nshort=max-words:3\nstop")


def test_rows_pass_rates_pass_at_k_and_diversity_by_hand():
    runs = [
        run(0, 0.7, "Paris."),
        run(1, 0.7, "It is Paris, France."),  # 4 words: not short
        run(2, 0.7, "Lyon", finish="length"),
        run(3, 1.2, "Lyon"),
        run(4, 1.2, "x", status="cancelled"),  # not judged, not counted
    ]
    first, second = score_rows(runs, CHECKS)
    assert (first.temperature, first.runs, second.runs) == (0.7, 3, 1)
    assert first.pass_rates == {"capital": 2 / 3, "short": 2 / 3, "stop": 2 / 3}
    # all three checks: only "Paris." passes every one
    assert first.all_pass_rate == pytest.approx(1 / 3)
    assert (first.pass_at_k, first.pass_all_k) == (True, False)
    assert (second.all_pass_rate, second.pass_at_k, second.pass_all_k) == (0.0, False, False)
    d = first.diversity
    # units: [paris] [it is paris france] [lyon] → 6 words, 5 distinct
    assert (d.outputs, d.distinct_outputs, d.distinct_1) == (3, 3, pytest.approx(5 / 6))
    assert d.length_mean == pytest.approx(2.0)
    assert second.diversity.outputs == 1 and second.diversity.similarity is None
    assert row_summary(first, CHECKS) == "pass 33% · @3 yes · ^3 no · 3/3 distinct · sim 0.08"
    assert headers([first, second], CHECKS)[:5] == ["T", "runs", "capital", "short", "stop"]
    assert cells(first, [first, second], CHECKS)[:7] == [
        "0.7",
        "3",
        "67%",
        "67%",
        "67%",
        "33%",
        "yes",
    ]


def test_equals_uses_each_input_rows_expected_value_and_sections_split_rows():
    checks = parse_checks("answer=equals/i")
    runs = [
        run(0, 0.0, " paris ", values={"i": "a", "expected": "Paris"}),
        run(1, 0.0, "Tokyo", values={"i": "b", "expected": "Kyoto"}),
        run(2, 0.0, "Kyoto", values={"i": "b", "expected": ""}),  # blank: cannot judge
    ]
    assert verdicts(checks, runs[0])["answer"].passed is True
    assert verdicts(checks, runs[1])["answer"].passed is False
    assert verdicts(checks, runs[2])["answer"].passed is None
    a, b = score_rows(runs, checks)
    assert (a.label, a.all_pass_rate, b.label, b.all_pass_rate) == ("i=a", 1.0, "i=b", 0.0)
    html = scores_html([a, b], checks)
    assert "<th>input</th>" in html and "i=b" in html


def test_chinese_outputs_count_by_character():
    runs = [run(0, 0.7, "写一首歌"), run(1, 0.7, "写一首诗")]
    (row,) = score_rows(runs, parse_checks("max-words:4"))
    assert row.pass_rates == {"max-words 4": 1.0}
    d = row.diversity
    assert (d.length_mean, d.distinct_1, d.similarity) == (4.0, pytest.approx(5 / 8), 0.75)


def two_inputs(tiny_model_dir) -> SweepSpec:
    return SweepSpec(
        prompt="Tell me about {{topic}}.",
        system="Answer in {{style}} words.",
        models=(str(tiny_model_dir),),
        temperatures=(0.0, 0.9),
        seeds=(1, 2),
        max_tokens=(6,),
        inputs=(
            {"topic": "the sea", "style": "few", "expected": "x"},
            {"topic": "童话", "style": "plain", "expected": "y"},
        ),
        checks=parse_checks("stop\nshort=max-words:2"),
    )


def test_a_sweep_over_inputs_logs_each_rows_values_and_is_judged_again_without_generating(
    service, tiny_model_dir
):
    spec = two_inputs(tiny_model_dir)
    sweep, runs = service.run_sweep(spec)
    assert len(runs) == 8 and all(r["status"] == "done" for r in runs)
    assert [r["input_index"] for r in runs] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert json.loads(runs[5]["vars_json"]) == spec.inputs[1]
    messages = json.loads(runs[5]["messages_json"])
    assert messages == [
        {"role": "system", "content": "Answer in plain words."},
        {"role": "user", "content": "Tell me about 童话."},
    ]
    assert "童话" in runs[5]["rendered_prompt"]
    checks, scores = service.scores(sweep.experiment_id)
    assert [c.name for c in checks] == ["stop", "short"]
    assert [(s.input_index, s.temperature, s.runs) for s in scores] == [
        (0, 0.0, 2),
        (0, 0.9, 2),
        (1, 0.0, 2),
        (1, 0.9, 2),
    ]
    # 6 tokens of a random model never stop on their own
    assert all(s.pass_rates["stop"] == 0.0 for s in scores)
    assert scores[0].diversity.distinct_outputs == 1  # greedy: both seeds alike

    before = service.get_experiment(sweep.experiment_id)["runs"]
    words = len(runs[0]["output"].split())
    edited = service.set_checks(
        sweep.experiment_id, parse_checks(f"long=max-words:{10 * words + 10}\nnot-contains:§")
    )
    after = service.get_experiment(sweep.experiment_id)
    assert after["runs"] == before  # re-judging changes no run
    assert service.checks(sweep.experiment_id) == edited
    _, rescored = service.scores(sweep.experiment_id)
    assert all(s.all_pass_rate == 1.0 for s in rescored)
    with pytest.raises(BadInputError, match="named 'a'"):
        service.set_checks(sweep.experiment_id, parse_checks("a=stop") * 2)

    rerun = service.rerun(sweep.experiment_id)
    rerun.wait()
    again = service.get_experiment(rerun.experiment_id)
    assert [r["output"] for r in again["runs"]] == [r["output"] for r in runs]
    assert [r["vars_json"] for r in again["runs"]] == [r["vars_json"] for r in runs]
    assert json.loads(again["checks_json"]) == [c.to_dict() for c in edited]

    replay = service.replay(runs[5]["id"])
    assert replay.identical and replay.same_prompt
    assert replay.new["vars_json"] == runs[5]["vars_json"]
    assert [r["id"] for r in service.list_runs(variable=("topic", "童话"), limit=50)] == [
        replay.new["id"],
        *[r["id"] for r in reversed(again["runs"][4:])],
        *[r["id"] for r in reversed(runs[4:])],
    ]


def test_exports_carry_verdicts_and_row_scores_and_a_bundle_brings_checks_back(
    service, tiny_model_dir, tmp_path
):
    sweep, runs = service.run_sweep(two_inputs(tiny_model_dir))
    store = service.store
    export(store, [sweep.experiment_id], "csv", tmp_path / "out.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert [r["check:stop"] for r in rows] == ["0"] * 8
    assert {r["row_distinct_outputs"] for r in rows[:2]} == {"1"}  # T=0 row of input 1
    assert json.loads(rows[4]["vars_json"])["topic"] == "童话"

    export(store, [sweep.experiment_id], "jsonl", tmp_path / "out.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines[0]["checks"] == {"stop": False, "short": lines[0]["checks"]["short"]}
    assert lines[7]["row_scores"]["input"].startswith("topic=童话")
    assert lines[7]["vars"]["style"] == "plain"

    export(store, [sweep.experiment_id], "html", tmp_path / "report.html")
    report = (tmp_path / "report.html").read_text()
    assert 'class="yl-scores"' in report and "Input 2 · topic=童话" in report
    assert "short=max-words:2" in report

    export(store, [sweep.experiment_id], "bundle", tmp_path / "b.json")
    target = Store(tmp_path / "other.db")
    import_bundle(target, tmp_path / "b.json")
    imported = target.get_experiment(sweep.experiment_id)
    assert imported["checks_json"] == store.get_experiment(sweep.experiment_id)["checks_json"]
    assert [r["vars_json"] for r in imported["runs"]] == [r["vars_json"] for r in runs]
    assert judged_runs(imported).keys() == {r["id"] for r in runs}


def test_a_bundle_with_a_broken_check_is_refused(service, tiny_model_dir, tmp_path):
    sweep, _ = service.run_sweep(two_inputs(tiny_model_dir))
    export(service.store, [sweep.experiment_id], "bundle", tmp_path / "b.json")
    doc = json.loads((tmp_path / "b.json").read_text())
    doc["experiments"][0]["checks_json"] = json.dumps(
        [{"name": "bad", "kind": "regex", "arg": "(", "ignore_case": False}]
    )
    (tmp_path / "b.json").write_text(json.dumps(doc))
    target = Store(tmp_path / "other.db")
    with pytest.raises(BundleError, match="checks_json: expected JSON list of valid checks"):
        import_bundle(target, tmp_path / "b.json")
    assert target.list_experiments() == []


def test_cli_vars_file_checks_and_the_checks_command(capsys, tiny_model_dir, tmp_path):
    db = str(tmp_path / "cli.db")
    (tmp_path / "in.jsonl").write_text('{"n": 1}\n{"n": 2, "expected": "3"}\n')
    args = ["compare", "Count to {{n}}.", "--model", str(tiny_model_dir), "--db", db]
    args += ["--vars", str(tmp_path / "in.jsonl"), "--temps", "0", "--seeds", "1,2"]
    status, doc, _ = cli(capsys, *args, "--max-tokens", "4", "--check", "stop")
    assert status == 0 and len(doc["runs"]) == 4
    assert [r["vars"] for r in doc["runs"]] == [{"n": "1"}] * 2 + [{"n": "2", "expected": "3"}] * 2
    assert [s["input"] for s in doc["scores"]] == ["n=1", "n=2"]
    assert [s["pass_rates"] for s in doc["scores"]] == [{"stop": 0.0}, {"stop": 0.0}]

    experiment = doc["experiment_id"]
    status, judged, _ = cli(
        capsys, "checks", experiment[:8], "--db", db, "--add", "max-chars:1000", "--remove", "stop"
    )
    assert status == 0 and [c["name"] for c in judged["checks"]] == ["max-chars 1000"]
    assert [s["pass_rates"] for s in judged["scores"]] == [{"max-chars 1000": 1.0}] * 2
    assert all(r["checks"] == {"max-chars 1000": True} for r in judged["runs"])
    status, err, _ = cli(capsys, "checks", experiment, "--db", db, "--add", "regex:(")
    assert status == 2 and "regex" in err["error"]
    status, listed, _ = cli(capsys, "runs", "--db", db, "--var", "n=2")
    assert status == 0 and len(listed) == 2 and {r["vars"]["n"] for r in listed} == {"2"}

    status, err, _ = cli(
        capsys, "compare", "Hi {{who}}", "--db", db, "--model", str(tiny_model_dir)
    )
    assert status == 2 and "{{who}}" in err["error"]
    status, err, _ = cli(capsys, *args[:6], "--var", "n=1", "--vars", "x.csv")
    assert status == 2 and "not both" in err["error"]
    status, _, _ = cli(
        capsys,
        "compare",
        "Count to {{n}}.",
        "--db",
        db,
        "--model",
        str(tiny_model_dir),
        "--var",
        "n=3",
        "--max-tokens",
        "2",
    )
    assert status == 0


def test_the_cli_tables_name_each_runs_input_row(capsys, tiny_model_dir, tmp_path):
    db = str(tmp_path / "cli.db")
    args = ["compare", "Say {{w}}", "--model", str(tiny_model_dir), "--db", db]
    (tmp_path / "w.csv").write_text("w\nhi\nho\n")
    assert main([*args, "--vars", str(tmp_path / "w.csv"), "--max-tokens", "2"]) == 0
    out = capsys.readouterr().out
    runs, scores = out.split("\n\n")[:2]
    assert [line.split()[0] for line in runs.splitlines()] == ["in", "1", "2"]
    assert [line.split()[0] for line in scores.splitlines()[:3]] == ["input", "w=hi", "w=ho"]
