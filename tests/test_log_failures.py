"""A run that cannot be logged is never lost: disk full, the db deleted, a lock held past
the busy timeout. The outputs still reach the reader, the rows go to a spill file, and
the next open of the run log that can write merges them back (same ids, once)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from yilab.events import Token
from yilab.experiment.sweep import SweepSpec
from yilab.runlog import store as store_module
from yilab.runlog.spill import Spill, spill_paths
from yilab.runlog.store import Store
from yilab.service import Service

ROOT = Path(__file__).resolve().parents[1]
SPILLED = "they will be merged the next time the log can be written"


@pytest.fixture
def disk_full(monkeypatch):
    """``disk_full.fill(db)``: from now on no new connection may grow the db by a page
    (SQLite's ``max_page_count`` through the store's own connections, after a VACUUM
    packed its pages), so writes soon fail with "database or disk is full", as on a full
    filesystem. ``disk_full.free()`` makes room again."""
    connect = Store._connect

    class DiskFull:
        on = False

        def fill(self, db: Path) -> None:
            with sqlite3.connect(db) as conn:
                conn.execute("VACUUM")
            self.on = True

        def free(self) -> None:
            self.on = False

    full = DiskFull()

    def capped(self):
        db = connect(self)
        if full.on:
            pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
            db.conn.execute(f"PRAGMA max_page_count = {pages}")
        return db

    monkeypatch.setattr(Store, "_connect", capped)
    return full


# A long system prompt makes each run's row ~3 KB (messages and rendered prompt), more than
# the free room inside the db's pages, so a full disk stops the writes for sure.
LONG_SYSTEM = "You are a storyteller. " * 60


def sweep_spec(
    model: Path, max_tokens: int = 120, system: str | None = LONG_SYSTEM, engine: str = "single"
) -> SweepSpec:
    """Cells one after another by default: these tests fail the log at a chosen cell."""
    return SweepSpec(
        prompt="Write a long story about a dragon.",
        system=system,
        models=(str(model),),
        temperatures=(0.7, 1.0),
        seeds=(1, 2),
        max_tokens=(max_tokens,),
        engine=engine,
    )


def follow(sweep, on_first_token=None) -> dict[int, str]:
    """Read every event as the UI does; the text each cell streamed."""
    texts: dict[int, str] = {}
    for event in sweep.events():
        if isinstance(event, Token):
            if not texts and on_first_token:
                on_first_token()
            texts[event.cell] = texts.get(event.cell, "") + event.text
    sweep.wait()
    return texts


def test_disk_full_mid_sweep_keeps_every_run_and_merges_them_back(
    tmp_path, tiny_model_dir, disk_full
):
    db = tmp_path / "e.db"
    service = Service(db)
    disk_full.fill(db)
    sweep = service.start_sweep(sweep_spec(tiny_model_dir))
    streamed = follow(sweep)
    failure = sweep.log_failure
    assert failure is not None and not failure.merged
    assert failure.cause == "is full (database or disk is full)"
    assert failure.runs == 4 and failure.spill_path == str(spill_paths(db)[0])
    assert failure.message == (
        f"run log {db} is full (database or disk is full): 4 runs kept in "
        f"{failure.spill_path}; {SPILLED}"
    )
    runs = sweep.runs()  # what the CLI and the grid show: every output, in full
    assert [r["status"] for r in runs] == ["done"] * 4
    assert [r["output"] for r in runs] == [streamed[i] for i in range(4)]
    assert [r["status"] for r in Store(db).list_runs()].count("done") < 4  # still full

    disk_full.free()  # space is back: the next open merges the spill
    store = Store(db)
    assert [(m.runs, m.path) for m in store.merged] == [(4, failure.spill_path)]
    logged = store.get_experiment(sweep.experiment_id)["runs"]
    assert [r["id"] for r in logged] == [r["id"] for r in runs]
    assert [r["output"] for r in logged] == [r["output"] for r in runs]
    assert [r["finish_reason"] for r in logged] == [r["finish_reason"] for r in runs]
    assert not Path(failure.spill_path).exists()
    service.close()


def test_token_logs_of_a_sweep_whose_log_failed_are_merged_back(
    tmp_path, tiny_model_dir, disk_full
):
    db = tmp_path / "e.db"
    service = Service(db)
    disk_full.fill(db)
    sweep = service.start_sweep(sweep_spec(tiny_model_dir, max_tokens=30))
    follow(sweep)
    assert sweep.log_failure is not None and not sweep.log_failure.merged
    spilled = {row["id"]: row["data"] for row in sweep.log.token_rows.values()}
    assert len(spilled) == 4 and Store(db).get_token_logs(list(spilled)) != spilled
    disk_full.free()
    merged = Service(db)  # opening it merges the spill, blobs and all
    assert merged.store.get_token_logs(list(spilled)) == spilled
    for run in merged.get_experiment(sweep.experiment_id)["runs"]:
        log = merged.token_log(run["id"])
        assert log.text == run["output"] and len(log.steps) == run["generation_tokens"] == 30
    merged.close()
    service.close()


def test_disk_full_after_runs_started_merges_their_final_state(
    tmp_path, tiny_model_dir, monkeypatch
):
    monkeypatch.setattr("yilab.runlog.sweep_logger.FLUSH_INTERVAL_S", 0.0)  # flush every token
    db = tmp_path / "e.db"
    service = Service(db)
    writes = {"n": 0}
    update_output = Store.update_output

    def fill_up_after_a_few(self, *args):
        writes["n"] += 1
        if writes["n"] == 5:  # the disk fills up while the first cell streams
            with self._use() as conn:
                pages = conn.conn.execute("PRAGMA page_count").fetchone()[0]
                conn.conn.execute(f"PRAGMA max_page_count = {pages}")
        return update_output(self, *args)

    monkeypatch.setattr(Store, "update_output", fill_up_after_a_few)
    sweep = service.start_sweep(sweep_spec(tiny_model_dir, max_tokens=40))
    follow(sweep)
    assert sweep.log_failure is not None and sweep.log_failure.runs == 4
    raw = sqlite3.connect(db).execute("select status from runs").fetchall()
    assert raw == [("running",)]  # only the first run got in, half-written
    store = Store(db)  # new connections, no cap: the open merges the spill
    assert [m.runs for m in store.merged] == [4]
    runs = store.get_experiment(sweep.experiment_id)["runs"]
    assert [r["status"] for r in runs] == ["done"] * 4
    assert [r["output"] for r in runs] == [r["output"] for r in sweep.runs()]
    service.close()


def test_db_deleted_mid_sweep_is_noticed_and_the_runs_land_in_a_new_log(tmp_path, tiny_model_dir):
    db = tmp_path / "e.db"
    service = Service(db)

    def delete_db():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    sweep = service.start_sweep(sweep_spec(tiny_model_dir))
    streamed = follow(sweep, on_first_token=delete_db)
    failure = sweep.log_failure
    assert failure is not None and failure.cause == "was deleted"
    assert failure.merged  # the folder is there: the sweep's end made a new log and merged
    runs = Store(db).get_experiment(sweep.experiment_id)["runs"]
    assert [r["output"] for r in runs] == [streamed[i] for i in range(4)]
    service.close()


def test_db_folder_deleted_spills_under_yilab_home(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("YILAB_HOME", str(tmp_path / "home"))
    folder = tmp_path / "logs"
    folder.mkdir()
    db = folder / "e.db"
    service = Service(db)
    sweep = service.start_sweep(sweep_spec(tiny_model_dir, max_tokens=30))
    follow(sweep, on_first_token=lambda: shutil.rmtree(folder))
    failure = sweep.log_failure
    assert failure is not None and not failure.merged
    assert failure.cause == f"is gone (the folder {folder} does not exist)"
    assert failure.spill_path == str(spill_paths(db)[1])
    assert failure.spill_path.startswith(str(tmp_path / "home" / "spill"))
    folder.mkdir()  # the folder is back: the next open recovers the runs
    store = Store(db)
    assert [m.runs for m in store.merged] == [4]
    assert len(store.get_experiment(sweep.experiment_id)["runs"]) == 4
    service.close()


def test_lock_held_past_the_busy_timeout(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
    db = tmp_path / "e.db"
    service = Service(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer, holding on
    try:
        sweep = service.start_sweep(sweep_spec(tiny_model_dir, max_tokens=30))
        follow(sweep)
        failure = sweep.log_failure
        assert failure is not None and not failure.merged
        assert failure.cause == "is locked by another writer (database is locked)"
        assert len(sweep.runs()) == 4
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [m.runs for m in service.recover()] == [4]  # the app's next sweep or History view
    assert len(service.store.get_experiment(sweep.experiment_id)["runs"]) == 4
    service.close()


def test_merging_a_spill_twice_adds_nothing(tmp_path, tiny_model_dir, disk_full):
    db = tmp_path / "e.db"
    service = Service(db)
    disk_full.fill(db)
    sweep = service.start_sweep(sweep_spec(tiny_model_dir, max_tokens=120))
    follow(sweep)
    spill = Path(sweep.log_failure.spill_path)
    saved = spill.read_bytes()
    disk_full.free()
    first = Store(db)
    before = first.get_experiment(sweep.experiment_id)
    first.set_star(before["runs"][0]["id"], True)  # a change made after the merge stays
    spill.write_bytes(saved)  # the same spill again (say, restored from a backup)
    again = Store(db)
    assert [m.runs for m in again.merged] == [4]
    after = again.get_experiment(sweep.experiment_id)
    assert len(after["runs"]) == 4
    assert again._rows("select count(*) as n from experiments")[0]["n"] == 1
    assert after["runs"][0]["starred"] == 1
    assert [r["output"] for r in after["runs"]] == [r["output"] for r in before["runs"]]
    service.close()


def test_a_torn_last_line_is_skipped_and_reported(tmp_path):
    db = tmp_path / "e.db"
    Store(db).close()
    spill = Spill(db)
    run = {"id": "r-1", "experiment_id": "x-1", "cell_index": 0, "status": "done"}
    experiment = {"id": "x-1", "created_at": "2026-01-01", "model": "m", "prompt": "p"}
    path = spill.append([("experiments", experiment), ("runs", run)])
    with open(path, "ab") as f:
        f.write(b'{"db": "x", "table": "runs", "row": {"id": "r-2", "outp')  # a crash mid-write
    spill.append([("runs", {**run, "id": "r-3"})])  # a later writer starts a new line
    store = Store(db)
    assert [(m.runs, m.damaged_lines) for m in store.merged] == [(2, 1)]
    assert sorted(r["id"] for r in store.list_runs()) == ["r-1", "r-3"]


def test_when_the_spill_cannot_be_written_either_the_user_is_told(
    tmp_path, tiny_model_dir, disk_full, monkeypatch
):
    service = Service(tmp_path / "e.db")
    monkeypatch.setattr(service.store.spill, "paths", [Path("/proc/no-such/x.spill.jsonl")])
    disk_full.fill(tmp_path / "e.db")
    sweep = service.start_sweep(sweep_spec(tiny_model_dir))
    follow(sweep)
    failure = sweep.log_failure
    assert failure.spill_path is None
    assert "cannot write a spill file either" in failure.message
    assert failure.message.endswith("the outputs of 4 runs are not saved")
    assert len(sweep.runs()) == 4
    service.close()


def test_finished_runs_are_in_the_db_file_alone(tmp_path, tiny_model_dir):
    """The WAL is checkpointed when a sweep ends: a copy of the .db file alone has every run."""
    db = tmp_path / "e.db"
    service = Service(db)
    service.run_sweep(sweep_spec(tiny_model_dir, max_tokens=10))
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)  # the -wal file is not copied
    assert sqlite3.connect(copy).execute("select count(*) from runs").fetchone()[0] == 4
    service.close()


EXIT_CHECKPOINT = """
import os, signal, sys
from yilab.runlog.rows import experiment_row
from yilab.runlog.store import Store, exit_cleanly_on_sigterm
if sys.argv[2] == "handled":
    exit_cleanly_on_sigterm()
store = Store(sys.argv[1])
for i in range(8):
    store.insert("experiments", experiment_row(model="m", prompt=f"p{i}", sweep={}))
os.kill(os.getpid(), signal.SIGTERM)
"""


@pytest.mark.parametrize("handled", [True, False])
def test_kill_checkpoints_the_wal_where_the_entry_points_ask(tmp_path, handled):
    """The app and the CLI turn SIGTERM into a clean exit, so the WAL is copied into the
    db file; without that, a killed app leaves its newest rows in experiments.db-wal."""
    db = tmp_path / "e.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", EXIT_CHECKPOINT, str(db), "handled" if handled else "default"]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    assert done.returncode == (143 if handled else -15), done.stderr
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)  # the file alone, as people share it
    tables = sqlite3.connect(copy).execute("select name from sqlite_master").fetchall()
    if handled:
        count = sqlite3.connect(copy).execute("select count(*) from experiments").fetchone()[0]
        assert count == 8
    else:  # everything, the schema too, is still in e.db-wal
        assert tables == []


CLI_WITH_A_FULL_DISK = """
import sqlite3, sys
from yilab.runlog.store import Store
with sqlite3.connect(sys.argv[sys.argv.index("--db") + 1]) as conn:
    conn.execute("VACUUM")
connect = Store._connect
def capped(self):
    db = connect(self)
    pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages}")
    return db
Store._connect = capped
from yilab.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_says_it_once_prints_the_outputs_and_exits_non_zero(tmp_path, tiny_model_dir, as_json):
    db = tmp_path / "e.db"
    Store(db).close()  # the log exists; then the disk fills up
    args = ["compare", "Write a long story about a dragon.", "--model", str(tiny_model_dir)]
    args += ["--system", LONG_SYSTEM]
    args += ["--temps", "0.7,1.0", "--seeds", "1,2", "--max-tokens", "120", "--db", str(db)]
    args += ["--json"] if as_json else []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", CLI_WITH_A_FULL_DISK, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 3, out.stderr
    lines = out.stderr.splitlines()
    about_the_log = [line for line in lines if "run log" in line]
    assert about_the_log == [
        f"yilab: run log {db} is full (database or disk is full): 4 runs kept in "
        f"{db}.spill.jsonl; {SPILLED}"
    ]
    assert len(lines) == 6, lines  # "Loading tiny…", one line per cell, the line above
    runs = Store(db).list_runs()  # the real Store: no cap, so this open merges the spill
    assert len(runs) == 4 and all(r["output"] for r in runs)
    if as_json:
        document = json.loads(out.stdout)
        assert document["log_error"] == about_the_log[0].removeprefix("yilab: ")
        assert sorted(r["output"] for r in document["runs"]) == sorted(r["output"] for r in runs)
    else:
        assert "experiment" not in out.stdout  # no id of an experiment that is not logged
        for run in runs:
            assert run["id"][:8] in out.stdout


def tiny_fs(path: Path, size_kb: int) -> bool:
    """Mount a tmpfs of ``size_kb`` at ``path`` (root on Linux); False where not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)])
    return done.returncode == 0


def test_a_real_full_filesystem_end_to_end(tmp_path, tiny_model_dir):
    """The issue's story on a real tiny filesystem: the sweep exits non-zero with one line,
    prints its outputs, and after space is freed ``runs`` lists them in full."""
    mnt = tmp_path / "small"
    if not tiny_fs(mnt, 2048):
        pytest.skip("mounting a tmpfs needs root on Linux")
    try:
        db = mnt / "e.db"
        cli = [sys.executable, "-m", "yilab"]
        subprocess.run([*cli, "runs", "--db", str(db)], check=True, capture_output=True)
        free = shutil.disk_usage(mnt).free
        (mnt / "filler").write_bytes(b"\0" * (free - 60 * 1024))  # leave ~60 KiB
        compare = [*cli, "compare", "Write a long story about a dragon.", "--db", str(db)]
        compare += ["--model", str(tiny_model_dir), "--temps", "0.7,1.0", "--seeds", "1,2"]
        out = subprocess.run([*compare, "--max-tokens", "200"], capture_output=True, text=True)
        assert out.returncode == 3, out.stderr
        (said,) = [line for line in out.stderr.splitlines() if "run log" in line]
        assert said.startswith(f"yilab: run log {db} is full (") and "4 runs kept in" in said
        assert "(the disk is full" not in said  # the cause is said once
        runs_table = out.stdout.split("\n\n")[0].splitlines()
        assert len(runs_table) == 5  # the table's header and four runs (then their scores)
        (mnt / "filler").unlink()
        listed = subprocess.run(
            [*cli, "runs", "--db", str(db), "--json"], capture_output=True, text=True, check=True
        )
        runs = json.loads(listed.stdout)
        assert len(runs) == 4 and all(r["generation_tokens"] == 200 for r in runs)
        assert "recovered 4 runs" in listed.stderr
    finally:
        subprocess.run(["umount", str(mnt)])


def test_the_spill_is_locked_against_concurrent_appends(tmp_path):
    spill = Spill(tmp_path / "e.db")
    row = {"id": "r", "output": "x" * 5000}

    def append_many(n: int):
        for i in range(50):
            spill.append([("runs", {**row, "id": f"r-{n}-{i}"})])

    threads = [threading.Thread(target=append_many, args=(n,)) for n in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert spill.count_runs() == 200
