"""The service end to end on a real tiny model and a real SQLite file."""

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.tinymodel import build_tiny_model
from yilab.errors import BadInputError, ModelNotFoundError
from yilab.events import Token
from yilab.experiment.sweep import SweepSpec
from yilab.runlog.store import Store
from yilab.service import Service


def spec(model_dir, **kw):
    base = {"prompt": "Tell me a story", "models": (str(model_dir),), "max_tokens": (16,)}
    return SweepSpec(**{**base, **kw})


def test_a_sweep_logs_every_cell_with_its_settings(service, tiny_model_dir):
    sweep, runs = service.run_sweep(
        spec(tiny_model_dir, system="Be brief", temperatures=(0, 0.7), seeds=(1, 2))
    )
    assert [(r["temperature"], r["seed"]) for r in runs] == [(0, 1), (0, 2), (0.7, 1), (0.7, 2)]
    for run in runs:
        assert run["status"] == "done" and run["finish_reason"] == "length"
        assert run["generation_tokens"] == 16 and run["output"]
        assert run["model"] == "tiny" and run["model_path"] == str(tiny_model_dir)
        assert len(run["model_fingerprint"]) == 16
        assert json.loads(run["messages_json"])[0] == {"role": "system", "content": "Be brief"}
        assert run["rendered_prompt"].startswith("<|im_start|>system\nBe brief")
        assert json.loads(run["stop_token_ids_json"]) == [2]
        assert set(json.loads(run["versions_json"])) >= {"python", "mlx", "mlx-lm", "yilab"}
        assert run["ttft_s"] > 0 and run["generation_tps"] > 0 and run["prompt_tokens"] > 0
        assert run["engine_mode"] == "batch" and run["finished_at"]
    experiment = service.store.get_experiment(sweep.experiment_id)
    assert json.loads(experiment["sweep_json"])["temperatures"] == [0, 0.7]
    assert experiment["mode"] == "chat" and experiment["system_prompt"] == "Be brief"
    assert runs[0]["output"] == runs[1]["output"]  # T=0: the seed has no effect


def test_full_text_search_finds_a_logged_output(service, tiny_model_dir):
    _, runs = service.run_sweep(spec(tiny_model_dir, prompt="zebra crossing"))
    found = service.store.list_runs(search="zebra")
    assert [r["id"] for r in found] == [runs[0]["id"]]


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"prompt": ""}, BadInputError),
        ({"temperatures": (-1.0,)}, BadInputError),
        ({"temperatures": (float("nan"),)}, BadInputError),
        ({"max_tokens": (0,)}, BadInputError),
        ({"max_tokens": (10**9,)}, BadInputError),
        ({"models": ("no-such-model-anywhere",)}, ModelNotFoundError),
    ],
)
def test_bad_input_is_refused_with_nothing_written(service, tiny_model_dir, bad, error):
    with pytest.raises(error):
        service.start_sweep(spec(tiny_model_dir, **bad))
    assert service.store.list_experiments() == []
    assert service.store.list_runs() == []


def test_cancel_logs_partial_text_and_the_cells_not_started(service, tiny_model_dir):
    sweep = service.start_sweep(
        spec(tiny_model_dir, seeds=(1, 2, 3), max_tokens=(1500,), engine="single")
    )
    for event in sweep.events():
        if isinstance(event, Token) and event.generation_tokens >= 10:
            sweep.cancel()
    sweep.wait(30)
    runs = service.store.get_experiment(sweep.experiment_id)["runs"]
    assert [r["status"] for r in runs] == ["cancelled"] * 3
    assert runs[0]["output"] and 10 <= runs[0]["generation_tokens"] < 1500
    assert runs[1]["output"] == "" and runs[2]["generation_tokens"] == 0


def test_runs_are_logged_even_when_nobody_reads_the_events(service, tiny_model_dir):
    sweep = service.start_sweep(spec(tiny_model_dir, seeds=(1, 2)))
    assert sweep.wait(60)
    runs = service.store.get_experiment(sweep.experiment_id)["runs"]
    assert [r["status"] for r in runs] == ["done", "done"]


def test_a_failed_run_is_logged_with_its_error(service, tiny_model_dir):
    _, runs = service.run_sweep(spec(tiny_model_dir, max_tokens=(4000,)))
    assert runs[0]["status"] == "error" and "context length" in runs[0]["error"]


def test_replay_reproduces_a_sampled_run(service, tiny_model_dir):
    _, runs = service.run_sweep(spec(tiny_model_dir, temperatures=(0.9,), seeds=(123,)))
    replay = service.replay(runs[0]["id"][:8])
    assert replay.identical and replay.same_prompt
    assert replay.new["id"] != runs[0]["id"] and replay.new["seed"] == 123


def test_raw_mode_sends_the_prompt_as_is(service, tiny_model_dir):
    raw = "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
    _, runs = service.run_sweep(spec(tiny_model_dir, prompt=raw, raw=True))
    assert runs[0]["rendered_prompt"] == raw and runs[0]["messages_json"] is None
    replay = service.replay(runs[0]["id"])
    assert replay.identical


def test_kill_9_mid_sweep_leaves_interrupted_runs_with_partial_output(tmp_path):
    model = build_tiny_model(tmp_path / "deep", num_layers=12)
    db = tmp_path / "crash.db"
    cmd = [sys.executable, "-m", "yilab", "compare", "Go on", "--model", str(model)]
    cmd += ["--seeds", "1,2", "--max-tokens", "1900", "--engine", "single", "--db", str(db)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_partial_output(db, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = Store(db).list_runs()  # opening marks the dead process's runs
    assert len(runs) == 1
    assert runs[0]["status"] == "interrupted" and runs[0]["finish_reason"] == "interrupted"
    assert runs[0]["output"] and runs[0]["generation_tokens"] > 0


def _wait_for_partial_output(db, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    row = conn.execute(
                        "select length(output) from runs where status = 'running'"
                    ).fetchone()
                if row and row[0]:
                    return
            except sqlite3.OperationalError:
                pass  # schema not there yet
        time.sleep(0.1)
    raise AssertionError("no partial output was flushed")


def test_two_services_on_one_db_do_not_lock(tmp_path, tiny_model_dir):
    db = tmp_path / "shared.db"
    a, b = Service(db), Service(db)
    try:
        sa = a.start_sweep(spec(tiny_model_dir, seeds=(1, 2, 3)))
        sb = b.start_sweep(spec(tiny_model_dir, seeds=(4, 5, 6)))
        assert sa.wait(60) and sb.wait(60)
        statuses = [r["status"] for r in Store(db).list_runs(limit=-1)]
        assert statuses == ["done"] * 6
    finally:
        a.close()
        b.close()


def test_pid_of_this_process_is_never_marked(service, tiny_model_dir):
    sweep = service.start_sweep(spec(tiny_model_dir, max_tokens=(1500,)))
    store = Store(service.db_path)
    statuses, marked = [], []  # at each token: our run's status, what mark_interrupted() did
    for event in sweep.events():
        if isinstance(event, Token):
            (run,) = store.get_experiment(sweep.experiment_id)["runs"]
            statuses.append(run["status"])
            marked.append(store.mark_interrupted())
            sweep.cancel()
    store.close()
    assert sweep.wait(30)
    assert statuses, "no token arrived, so mark_interrupted() never ran beside a live run"
    assert statuses[0] == "running" and set(marked) == {0}
    (run,) = service.store.get_experiment(sweep.experiment_id)["runs"]
    assert run["status"] == "cancelled"


def test_rerun_starts_the_same_sweep_as_a_new_experiment(service, tiny_model_dir):
    first, runs = service.run_sweep(spec(tiny_model_dir, temperatures=(0.8,), seeds=(4, 5)))
    again = service.rerun(first.experiment_id[:8])
    assert again.wait(60) and again.experiment_id != first.experiment_id
    rerun = service.store.get_experiment(again.experiment_id)
    assert [r["output"] for r in rerun["runs"]] == [r["output"] for r in runs]
    assert rerun["note"] == f"re-run of {first.experiment_id}"


def test_inspect_a_model_spec(service, tiny_model_dir):
    assert service.inspect(str(tiny_model_dir)).verdict == "ok"


def test_batch_engine_is_logged_and_replays_exactly(service, tiny_model_dir):
    batched = spec(tiny_model_dir, temperatures=(0.8,), seeds=(1, 2, 3), engine="batch")
    _, runs = service.run_sweep(batched)
    assert [r["engine_mode"] for r in runs] == ["batch"] * 3
    assert all(r["status"] == "done" and r["output"] for r in runs)
    assert json.loads(runs[1]["versions_json"])["numerics"] == "row-invariant-wt"
    replay = service.replay(runs[1]["id"])  # row-invariant: the cell alone gives its tokens
    assert replay.identical and replay.new["engine_mode"] == "batch"
    assert replay.new["cell_index"] == 0 and len(service.list_runs(limit=10)) == 4


def test_a_plain_batch_run_replays_its_whole_batch(service, tiny_model_dir):
    plain = spec(tiny_model_dir, temperatures=(0.8,), seeds=(1, 2), numerics="plain")
    _, runs = service.run_sweep(plain)
    assert json.loads(runs[1]["versions_json"])["numerics"] == "plain"
    replay = service.replay(runs[1]["id"])  # its tokens may depend on its batch
    assert replay.identical and replay.new["cell_index"] == 1
    assert len(service.list_runs(limit=10)) == 4


def test_a_one_megabyte_prompt_is_a_clear_error_not_a_hang(service, tiny_model_dir):
    huge = "lorem ipsum dolor " * 55_000  # ~1 MB
    _, runs = service.run_sweep(spec(tiny_model_dir, prompt=huge))
    assert runs[0]["status"] == "error"
    assert "context length is 2048. Shorten the prompt" in runs[0]["error"]


def test_control_characters_are_kept_as_text(service, tiny_model_dir):
    odd = "ctrl \x01\x02 \x1b[31mred\x1b[0m tab\there \x7f nul\x00end"
    _, runs = service.run_sweep(spec(tiny_model_dir, prompt=odd, max_tokens=(3,)))
    assert runs[0]["status"] == "done"
    assert json.loads(runs[0]["messages_json"])[0]["content"] == odd


def test_runs_logged_before_numerics_were_recorded_replay_plain(service, tiny_model_dir):
    """Runs from before row-invariance ran mlx-lm's numerics: their replay must too."""
    from yilab.service.sweeps import replay_spec

    _, runs = service.run_sweep(spec(tiny_model_dir, engine="single"))
    experiment = service.get_experiment(runs[0]["experiment_id"])
    assert replay_spec(runs[0], experiment).numerics == "row-invariant-wt"
    versions = json.loads(runs[0]["versions_json"])
    del versions["numerics"]
    old = {**runs[0], "versions_json": json.dumps(versions)}
    sweep = json.loads(experiment["sweep_json"])
    del sweep["numerics"], sweep["engine"]
    assert SweepSpec.from_dict(sweep).numerics == "plain"
    assert SweepSpec.from_dict(sweep).engine == "single"  # the default of that time
    assert replay_spec(old, experiment).numerics == "plain"
    assert replay_spec(old, experiment).engine == "single"
