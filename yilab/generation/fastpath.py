"""Linux CPU fast path: run MLX on Debian's BLIS instead of the wheel's reference BLAS.

The ``mlx[cpu]`` wheel links a reference (netlib) BLAS: float32 matmuls run at
~6 GFLOP/s on this kind of machine, ~80 with BLIS. A shared library can only be
swapped before the process starts, so the entry points (``app.py`` and
``python -m yilab``) re-execute themselves once with ``LD_PRELOAD`` naming BLIS
when it is installed (``apt-get install libblis4-serial``). The *serial* build
is deliberate: the pthread OpenBLAS aborts at exit once BLAS was used from
three or more threads. ``YILAB_BLAS=bundled`` opts out.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

OPT_OUT_ENV = "YILAB_BLAS"
ACTIVE_ENV = "YILAB_BLAS_ACTIVE"  # set in the re-executed process: what it preloaded
BLIS_LIBRARIES = (
    "/usr/lib/x86_64-linux-gnu/blis-serial/libblis.so.4",
    "/usr/lib/aarch64-linux-gnu/blis-serial/libblis.so.4",
)


def fast_blas_library(env: dict[str, str] | None = None) -> str | None:
    """The BLIS library to preload, or None where the fast path does not apply.

    It applies on Linux with the CPU-only MLX wheel, when BLIS is installed, the
    user has not opted out and nothing preloaded it already.
    """
    env = os.environ if env is None else env
    if sys.platform != "linux" or env.get(OPT_OUT_ENV, "").lower() == "bundled":
        return None
    if not _cpu_only_mlx():
        return None
    library = next((lib for lib in BLIS_LIBRARIES if Path(lib).exists()), None)
    if library is None or library in env.get("LD_PRELOAD", ""):
        return None
    return library


def _cpu_only_mlx() -> bool:
    """True for the ``mlx-cpu`` wheel without a CUDA backend beside it."""
    for name, wanted in (("mlx-cpu", True), ("mlx-cuda-13", False), ("mlx-cuda-12", False)):
        try:
            distribution(name)
            installed = True
        except PackageNotFoundError:
            installed = False
        if installed != wanted:
            return False
    return True


def reexec_with_fast_blas() -> None:
    """Replace this process with itself plus ``LD_PRELOAD=<BLIS>``; no-op when not applicable.

    Call it first thing in an entry point, before MLX is imported.
    """
    library = fast_blas_library()
    if library is None:
        return
    preload = ":".join(p for p in (library, os.environ.get("LD_PRELOAD", "")) if p)
    env = {**os.environ, "LD_PRELOAD": preload, ACTIVE_ENV: library}
    argv = [sys.executable, *sys.orig_argv[1:]]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)


def blas_in_use() -> str:
    """What the run log records: the preloaded library's name, or ``bundled``."""
    active = os.environ.get(ACTIVE_ENV)
    return Path(active).name if active else "bundled"
