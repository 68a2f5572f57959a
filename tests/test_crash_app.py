"""The real app (``python app.py``) under faults: kill -9 mid-sweep, concurrent writers.

kill -9's CLI twin is in tests/test_service.py. Afterwards every started run is in the db,
shown as ``interrupted`` with its partial output, and the db passes an integrity check.
"""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from tests.appserver import running_app_process
from tests.tinymodel import build_tiny_model
from yilab.runlog.store import Store
from yilab.service import FLUSH_INTERVAL_S


def running_output(db) -> tuple[int, int] | None:
    """(length of output, generation_tokens) of the running run, once it has flushed any."""
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            row = conn.execute(
                "select length(output), generation_tokens from runs where status = 'running'"
            ).fetchone()
    except sqlite3.OperationalError:
        return None  # no schema yet
    return row if row and row[0] else None


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_of_the_app_mid_sweep(tmp_path):
    from gradio_client import Client

    assert FLUSH_INTERVAL_S <= 1.0
    model = build_tiny_model(tmp_path / "deep", num_layers=12)  # slow enough to catch mid-run
    db = tmp_path / "app.db"
    with running_app_process(db=db, model=str(model)) as app:
        client = Client(app.url, verbose=False)
        client.submit(
            str(model),
            "chat",
            "Be long",
            "Go on and on",
            "0.8",
            "1, 2",
            "1.0",
            "1900",
            "single",
            api_name="/compare",
        )
        first = wait_for(lambda: running_output(db), 45, "partial output in the db")
        time.sleep(1.2)
        second = wait_for(lambda: running_output(db), 5, "the run to keep running")
        assert second[0] > first[0] and second[1] > first[1]  # flushed again within ~1 s
        os.kill(app.proc.pid, signal.SIGKILL)
        app.proc.wait(10)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = Store(db)  # opening marks the dead process's runs
    experiments = store.list_experiments()
    assert len(experiments) == 1 and experiments[0]["prompt"] == "Go on and on"
    runs = store.get_experiment(experiments[0]["id"])["runs"]
    assert len(runs) == 1  # cell 2 never started
    run = runs[0]
    assert run["status"] == "interrupted" and run["finish_reason"] == "interrupted"
    assert run["output"] and len(run["output"]) >= second[0]
    assert second[1] <= run["generation_tokens"] < 1900
    assert run["seed"] == 1 and run["rendered_prompt"].startswith("<|im_start|>system\nBe long")


def slow_writer(db, stop: threading.Event) -> None:
    """A third writer that holds the write lock 0.2 s at a time (as a big import would),
    so the app's and the CLI's writes must queue behind it rather than fail."""
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    while not stop.is_set():
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("update runs set note = note where 0")
        time.sleep(0.2)
        conn.execute("COMMIT")
        time.sleep(0.05)
    conn.close()


def test_two_sessions_and_a_cli_sweep_share_one_db(tmp_path):
    """Two API sessions on the app, a CLI sweep and a slow writer share one db at once:
    no lock errors, every run done, each session's grid holds only its own runs."""
    from gradio_client import Client

    model = str(build_tiny_model(tmp_path / "deep", num_layers=12))
    db = tmp_path / "shared.db"
    sessions = {"first session": (101, 102), "second session": (201, 202)}
    with running_app_process(db=db, model=model) as app:
        cli = subprocess.Popen(
            [sys.executable, "-m", "yilab", "compare", "cli prompt", "--model", model]
            + ["--temps", "0.8", "--seeds", "301,302,303", "--max-tokens", "500"]
            + ["--db", str(db), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: running_output(db), 60, "the CLI sweep to be writing")
        stop = threading.Event()
        hog = threading.Thread(target=slow_writer, args=(db, stop))
        hog.start()
        jobs = {
            prompt: Client(app.url, verbose=False).submit(
                model,
                "chat",
                "",
                prompt,
                "0.8",
                ", ".join(map(str, seeds)),
                "1.0",
                "150",
                "single",
                api_name="/compare",
            )
            for prompt, seeds in sessions.items()
        }
        try:
            htmls = {prompt: job.result(timeout=120) for prompt, job in jobs.items()}
        finally:
            stop.set()
            hog.join()
        cli_out, cli_err = cli.communicate(timeout=120)
    app_log = app.proc.stdout.read().decode(errors="replace")
    assert cli.returncode == 0, cli_err
    for log in (cli_err, app_log):
        assert "locked" not in log and "could not log" not in log, log
    store = Store(db)
    runs = store.list_runs(limit=-1)
    assert len(runs) == 7 and {(r["status"], r["error"]) for r in runs} == {("done", None)}
    experiments = {e["id"]: e["prompt"] for e in store.list_experiments()}
    assert sorted(experiments.values()) == ["cli prompt", "first session", "second session"]
    cli_runs = [r for r in runs if experiments[r["experiment_id"]] == "cli prompt"]
    app_runs = [r for r in runs if r not in cli_runs]
    assert min(r["created_at"] for r in app_runs) < max(r["finished_at"] for r in cli_runs)
    by_id = {r["id"]: r for r in runs}
    for prompt, html in htmls.items():
        card_runs = [by_id[i] for i in re.findall(r'data-run="([0-9a-f-]+)"', html)]
        assert [r["seed"] for r in card_runs] == list(sessions[prompt])
        assert {experiments[r["experiment_id"]] for r in card_runs} == {prompt}
    assert [r["seed"] for r in json.loads(cli_out)["runs"]] == [301, 302, 303]
