"""Token logs in exports: bundles carry and restore them, tampered ones are refused, JSONL
reads them, CSV summarises them, redaction cuts them with the outputs, the report gets them."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import sqlite3
import zlib
from itertools import takewhile
from pathlib import Path

import pytest

from tests.sharedata import swept_log
from yilab.cli.main import main
from yilab.errors import BundleError
from yilab.experiment.token_log import TokenLog
from yilab.runlog.store import Store
from yilab.service import Service
from yilab.share import export as export_module
from yilab.share import validate
from yilab.share.bundle import import_bundle
from yilab.share.export import export_experiments
from yilab.share.tokens import cut_log


@pytest.fixture(scope="module")
def swept(tmp_path_factory, tiny_model_dir) -> Path:
    """A run log filled by a real sweep on the tiny model, with its token logs."""
    path = tmp_path_factory.mktemp("swept") / "swept.db"
    return swept_log(path, tiny_model_dir, temperatures=(0, 0.9), max_tokens=16)


def table_rows(path: str | Path) -> dict[str, list[dict]]:
    """Every row of the three tables, by id."""
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return {
            t: [dict(r) for r in conn.execute(f"select * from {t} order by id")]
            for t in ("experiments", "runs", "run_tokens")
        }


def logs(path: Path) -> dict[str, TokenLog]:
    service = Service(path)
    ids = [r["id"] for r in service.list_runs(limit=-1)]
    return {i: log for i in ids if (log := service.token_log(i)) is not None}


def export(swept: Path, tmp_path: Path, fmt: str = "bundle", **kw) -> Path:
    return export_experiments(Store(swept), None, fmt, tmp_path / f"out.{fmt}", **kw)


def test_a_bundle_round_trip_restores_every_token_log(swept, tmp_path):
    original = logs(swept)
    assert len(original) == 4 and all(log.steps for log in original.values())
    bundle = export(swept, tmp_path)
    doc = json.loads(bundle.read_text())
    assert {row["id"] for row in doc["run_tokens"]} == set(original)
    assert all(isinstance(row["data"], str) for row in doc["run_tokens"])  # base64 text

    result = import_bundle(Store(tmp_path / "fresh.db"), bundle)
    assert (result.runs.added, result.run_tokens.added) == (4, 4)
    assert logs(tmp_path / "fresh.db") == original
    assert table_rows(tmp_path / "fresh.db") == table_rows(swept)  # blobs byte for byte
    again = import_bundle(Store(tmp_path / "fresh.db"), bundle)
    assert (again.run_tokens.added, again.run_tokens.skipped) == (0, 4)


def test_an_old_bundle_without_token_logs_still_imports(swept, tmp_path):
    doc = json.loads(export(swept, tmp_path).read_text())
    del doc["run_tokens"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    result = import_bundle(Store(tmp_path / "fresh.db"), old)
    assert (result.runs.added, result.run_tokens.added) == (4, 0)
    assert logs(tmp_path / "fresh.db") == {}


def _token_row(column: str, value):
    def mutate(doc):
        doc["run_tokens"][0][column] = value

    return mutate


def _blob_of(data: bytes):
    return _token_row("data", base64.b64encode(data).decode())


def _another_runs_log(doc):
    """The first token log given to a run that has its own already (its row twice)."""
    doc["run_tokens"].append(dict(doc["run_tokens"][0]))


TAMPERED = {
    "bad base64": (_token_row("data", "not base64!"), "run_tokens[0].data: not base64 text"),
    "blob as a number": (_token_row("data", 7), "run_tokens[0].data: expected base64 text"),
    "blob that does not parse": (_blob_of(b"hello"), "not a yilab token log"),
    "blob cut short": (
        lambda d: _blob_of(base64.b64decode(d["run_tokens"][0]["data"])[:-9])(d),
        "run_tokens[0].data: damaged token log",
    ),
    "run not in the bundle": (
        _token_row("id", "00000000-0000-4000-8000-000000000000"),
        "run_tokens[0].id: no run with that id in the bundle",
    ),
    "steps that disagree": (_token_row("steps", 999), "run_tokens[0].steps: 999, but its"),
    "unknown format": (_token_row("format", "yilab-tokens/9"), "is not one of yilab-tokens/1"),
    "missing source": (_token_row("source", None), "run_tokens[0].source: missing"),
    "unknown column": (_token_row("logits", "..."), "unknown column"),
    "the same run twice": (_another_runs_log, "appears twice"),
    "not a list": (lambda d: d.update(run_tokens={}), 'no "run_tokens" list'),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_token_log_is_refused_and_nothing_is_written(case, swept, tmp_path):
    mutate, message = TAMPERED[case]
    doc = json.loads(export(swept, tmp_path).read_text())
    mutate(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    target = Store(tmp_path / "theirs.db")
    with pytest.raises(BundleError, match=re.escape(message)):
        import_bundle(target, bad)
    assert table_rows(target.path) == {"experiments": [], "runs": [], "run_tokens": []}


def test_a_token_log_that_inflates_past_the_limit_is_refused(swept, tmp_path, monkeypatch):
    doc = json.loads(export(swept, tmp_path).read_text())
    blob = base64.b64decode(doc["run_tokens"][0]["data"])
    payload = zlib.decompress(blob[4:]) + bytes(50_000)  # 50 kB of zeros more: ~100 bytes
    bomb = blob[:4] + zlib.compress(payload, 9)
    doc["run_tokens"][0]["data"] = base64.b64encode(bomb).decode()
    bad = tmp_path / "bomb.json"
    bad.write_text(json.dumps(doc))
    monkeypatch.setattr(validate, "MAX_TOKEN_LOG_BYTES", 10_000)
    with pytest.raises(BundleError, match="inflates past 10,000 bytes"):
        import_bundle(Store(tmp_path / "theirs.db"), bad)


def test_jsonl_carries_each_run_s_tokens_readably(swept, tmp_path):
    original = logs(swept)
    lines = export(swept, tmp_path, "jsonl").read_text().splitlines()
    assert len(lines) == 4
    for line in lines:
        run = json.loads(line, parse_constant=pytest.fail)  # no NaN or Infinity
        tokens = run["tokens"]
        read, log = TokenLog.from_json(tokens), original[run["id"]]
        assert (read.steps, read.top_k, read.turn_end_ids) == (
            log.steps,
            log.top_k,
            log.turn_end_ids,
        )
        # the readable form names the alternatives and turn ends (a drawn token has its text)
        assert read.pieces.items() <= log.pieces.items()
        assert "".join(step["text"] for step in tokens["steps"]) == run["output"]
        assert all(len(step["top"]) == 5 for step in tokens["steps"])


def test_csv_has_no_blob_but_a_count_and_a_mean_logprob(swept, tmp_path):
    original = logs(swept)
    rows = list(csv.DictReader(io.StringIO(export(swept, tmp_path, "csv").read_text())))
    for row in rows:
        log = original[row["id"]]
        assert int(row["tokens_recorded"]) == len(log.steps) == int(row["generation_tokens"])
        mean = sum(s.raw_logprob for s in log.steps) / len(log.steps)
        assert float(row["mean_logprob"]) == pytest.approx(mean) and mean < 0
        assert "data" not in row and not any("YLT1" in v for v in row.values())


def test_truncated_outputs_cut_their_token_logs_too(swept, tmp_path):
    original = logs(swept)
    bundle = export(swept, tmp_path, truncate=5)
    import_bundle(Store(tmp_path / "fresh.db"), bundle)
    for run_id, log in logs(tmp_path / "fresh.db").items():
        full = original[run_id]
        assert len(log.text) <= 5 and full.text.startswith(log.text)
        assert log.steps == full.steps[: len(log.steps)]
        assert len(log.text) + len(full.steps[len(log.steps)].text) > 5  # no whole token less
        named = {*log.turn_end_ids, *log.ids(), *(t for s in log.steps for t, _ in s.top)}
        assert set(log.pieces) == named  # nothing of the cut text stays in the pieces
    jsonl = export(swept, tmp_path, "jsonl", truncate=5).read_text()
    for line in jsonl.splitlines():
        run = json.loads(line)
        assert len("".join(s["text"] for s in run["tokens"]["steps"])) <= 5


def test_cut_log_keeps_whole_tokens_within_the_limit(swept):
    log = next(iter(logs(swept).values()))
    assert cut_log(log, len(log.text)) == log
    assert cut_log(log, 0).steps == tuple(takewhile(lambda s: not s.text, log.steps))


def test_leaving_system_prompts_out_keeps_the_token_logs(swept, tmp_path):
    import_bundle(Store(tmp_path / "fresh.db"), export(swept, tmp_path, redact_system=True))
    assert logs(tmp_path / "fresh.db") == logs(swept)


def test_the_report_gets_each_run_s_token_log(swept, tmp_path, monkeypatch):
    seen = {}
    render_report = export_module.render_report

    def spy(experiments, meta, assets):
        seen.update({run["id"]: run["token_log"] for e in experiments for run in e["runs"]})
        return render_report(experiments, meta, assets)

    monkeypatch.setattr(export_module, "render_report", spy)
    html = export(swept, tmp_path, "html", truncate=5).read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert set(seen) == set(logs(swept)) and all(len(log.text) <= 5 for log in seen.values())


def test_cli_import_counts_the_token_logs(swept, tmp_path, capsys):
    bundle, other = export(swept, tmp_path), str(tmp_path / "other.db")
    assert main(["import", str(bundle), "--db", other, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["run_tokens"] == {"added": 4, "skipped": 0, "conflicts": 0}
    assert main(["import", str(bundle), "--db", other]) == 0
    assert " token logs: 0 added, 4 already here, 0 conflicts" in capsys.readouterr().out
