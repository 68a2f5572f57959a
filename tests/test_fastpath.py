"""The Linux CPU fast path: BLIS preloaded over the wheel's reference BLAS, safely."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from yilab import fastpath

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
    cmd = [sys.executable, "-m", "yilab", "compare", "Hello there", "--model", str(tiny_model_dir),
           "--temps", "0,1.0", "--seeds", "5", "--max-tokens", "48", "--db",
           str(tmp_path / f"{name}.db"), "--json"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env})  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@needs_blis
def test_same_outputs_with_and_without_blis(tiny_model_dir, tmp_path):
    fast = compare(tiny_model_dir, tmp_path, "fast", {"YILAB_BLAS": ""})
    slow = compare(tiny_model_dir, tmp_path, "slow", {"YILAB_BLAS": "bundled"})
    assert [r["output"] for r in fast["runs"]] == [r["output"] for r in slow["runs"]]
    from yilab.store import Store

    versions = json.loads(Store(tmp_path / "fast.db").list_runs()[0]["versions_json"])
    assert versions["blas"] == "libblis.so.4"
    versions = json.loads(Store(tmp_path / "slow.db").list_runs()[0]["versions_json"])
    assert versions["blas"] == "bundled"


@needs_blis
def test_no_crash_at_exit_after_blas_from_many_threads():
    script = (
        "from yilab.fastpath import reexec_with_fast_blas\n"
        "reexec_with_fast_blas()\n"
        "import os, threading, mlx.core as mx\n"
        "assert os.environ['YILAB_BLAS_ACTIVE'].endswith('libblis.so.4')\n"
        "def work():\n"
        "    a = mx.random.normal((256, 256))\n"
        "    for _ in range(20): mx.eval(a @ a)\n"
        "threads = [threading.Thread(target=work) for _ in range(4)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
