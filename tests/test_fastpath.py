"""The Linux CPU fast path: BLIS preloaded over the wheel's reference BLAS, safely."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from yilab.generation import fastpath

ROOT = Path(__file__).resolve().parents[1]

HAS_BLIS = any(Path(lib).exists() for lib in fastpath.BLIS_LIBRARIES)
needs_blis = pytest.mark.skipif(
    not (HAS_BLIS and sys.platform == "linux"), reason="libblis4-serial not installed"
)


def test_opt_out_and_already_preloaded(monkeypatch):
    assert fastpath.fast_blas_library({"YILAB_BLAS": "bundled"}) is None
    monkeypatch.setattr(fastpath.sys, "platform", "darwin")
    assert fastpath.fast_blas_library({}) is None


@needs_blis
def test_blis_is_chosen_where_installed():
    library = fastpath.fast_blas_library({})
    assert library and library.endswith("libblis.so.4")
    assert fastpath.fast_blas_library({"LD_PRELOAD": library}) is None


def compare(tiny_model_dir, tmp_path, name, env):
    cmd = [
        *(sys.executable, "-m", "yilab", "compare", "Hello there", "--model", str(tiny_model_dir)),
        *("--temps", "0,1.0", "--seeds", "5", "--max-tokens", "48"),
        *("--db", str(tmp_path / f"{name}.db"), "--json"),
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@needs_blis
def test_same_outputs_with_and_without_blis(tiny_model_dir, tmp_path):
    fast = compare(tiny_model_dir, tmp_path, "fast", {"YILAB_BLAS": ""})
    slow = compare(tiny_model_dir, tmp_path, "slow", {"YILAB_BLAS": "bundled"})
    assert [r["output"] for r in fast["runs"]] == [r["output"] for r in slow["runs"]]
    from yilab.runlog.store import Store

    versions = json.loads(Store(tmp_path / "fast.db").list_runs()[0]["versions_json"])
    assert versions["blas"] == "libblis.so.4"
    versions = json.loads(Store(tmp_path / "slow.db").list_runs()[0]["versions_json"])
    assert versions["blas"] == "bundled"


# What yilab does: MLX (and so BLAS) used from several threads one after another (a test's
# main thread, then the MLX thread), never at once; then the process exits. Two threads
# evaluating at the same time crash MLX in 1-7 of 10 runs: that is what mlx_thread prevents.
SEQUENTIAL_THREADS = """
from yilab.generation.fastpath import reexec_with_fast_blas
reexec_with_fast_blas()
import os, threading, mlx.core as mx
from yilab.generation.mlx_thread import on_mlx_thread
assert os.environ["YILAB_BLAS_ACTIVE"].endswith("libblis.so.4")
def work():
    a = mx.random.normal((256, 256))
    for _ in range(20):
        mx.eval(a @ a)
for _ in range(3):
    t = threading.Thread(target=work)
    t.start()
    t.join()
on_mlx_thread(work)
work()
print("ok")
"""


@needs_blis
def test_no_crash_at_exit_after_blas_from_threads_in_turn():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    failures = []
    for _ in range(50):
        out = subprocess.run(
            [sys.executable, "-c", SEQUENTIAL_THREADS],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        if out.returncode != 0 or out.stdout.strip() != "ok":
            failures.append((out.returncode, out.stderr[-300:]))
    assert failures == [], f"{len(failures)} of 50 runs failed: {failures[:3]}"
