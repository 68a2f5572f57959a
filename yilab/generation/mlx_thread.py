"""The one thread of a process that calls into MLX, and the device MLX computes on.

MLX is not safe to use from several Python threads at once: two threads evaluating
at the same time crash the process (SIGABRT or SIGSEGV, measured in 1-7 of 10 runs
here). So every MLX call yilab makes (loading and generating, GGUF conversion,
warm-up, memory queries) runs through :func:`on_mlx_thread`, which hands it to the
thread named ``yilab-mlx`` and waits for the result. Work queues in order: a
conversion asked for while a sweep runs goes between two of its cells.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

_tasks: queue.SimpleQueue[tuple[Future, Callable, tuple, dict]] = queue.SimpleQueue()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()


def on_mlx_thread(fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn(*args, **kwargs)`` run on the MLX thread (directly when already on it); its
    exception, if any, is raised here.

    >>> on_mlx_thread(lambda: threading.current_thread().name)
    'yilab-mlx'
    """
    if threading.current_thread() is _thread:
        return fn(*args, **kwargs)
    future: Future = Future()
    _ensure_started()
    _tasks.put((future, fn, args, kwargs))
    return future.result()


@functools.cache
def compute_device() -> str:
    """``"gpu"`` when MLX computes on Metal or CUDA by default, else ``"cpu"``. Asked once
    per process: a later call never waits behind a sweep on the MLX thread."""
    return on_mlx_thread(_compute_device)


def _compute_device() -> str:
    import mlx.core as mx

    if mx.default_device().type != mx.DeviceType.gpu:
        return "cpu"
    backends = [getattr(mx, name, None) for name in ("metal", "cuda")]
    return "gpu" if any(b is not None and b.is_available() for b in backends) else "cpu"


def is_mlx_thread() -> bool:
    """Whether the caller runs on the MLX thread."""
    return threading.current_thread() is _thread


def _ensure_started() -> None:
    global _thread
    with _start_lock:
        if _thread is None:
            _thread = threading.Thread(target=_serve, name="yilab-mlx", daemon=True)
            _thread.start()


def _serve() -> None:
    while True:
        future, fn, args, kwargs = _tasks.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            result = fn(*args, **kwargs)
        except BaseException as err:  # travels back to the caller
            future.set_exception(err)
        else:
            future.set_result(result)
