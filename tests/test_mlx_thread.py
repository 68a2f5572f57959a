"""MLX on one thread: every MLX call yilab makes runs on the ``yilab-mlx`` thread, so a
GGUF conversion asked for by a UI handler while a sweep streams cannot crash the process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from yilab.generation.mlx_thread import is_mlx_thread, on_mlx_thread

ROOT = Path(__file__).resolve().parents[1]


def test_work_runs_on_the_one_mlx_thread_and_errors_come_back():
    names = {on_mlx_thread(lambda: threading.current_thread().name) for _ in range(3)}
    assert names == {"yilab-mlx"}
    assert not is_mlx_thread()
    assert on_mlx_thread(is_mlx_thread)
    assert on_mlx_thread(lambda: on_mlx_thread(lambda: 7)) == 7  # no deadlock from inside
    with pytest.raises(ZeroDivisionError):
        on_mlx_thread(lambda: 1 / 0)
    assert on_mlx_thread(lambda: "still serving") == "still serving"


def test_generation_and_conversion_run_on_the_mlx_thread(service, tiny_model_dir, monkeypatch):
    import mlx_lm

    from yilab.experiment.sweep import SweepSpec
    from yilab.generation import worker as generation
    from yilab.models.gguf import convert as gguf

    seen = []
    real_load, real_write = generation.mlx_load, gguf._write_model

    def load(*args, **kwargs):
        seen.append(("load", threading.current_thread().name))
        return real_load(*args, **kwargs)

    def write(*args, **kwargs):
        seen.append(("convert", threading.current_thread().name))
        return real_write(*args, **kwargs)

    monkeypatch.setattr(generation, "mlx_load", load)
    monkeypatch.setattr(gguf, "_write_model", write)
    assert mlx_lm  # imported: the patch is on yilab's reference, not mlx-lm's
    _, runs = service.run_sweep(SweepSpec(prompt="Hi", models=(str(tiny_model_dir),)))
    assert runs[0]["status"] == "done"
    gguf_path = make_ggufs(service.db_path.parent, 1)[0]
    service.resolve(str(gguf_path))
    assert seen == [("load", "yilab-mlx"), ("convert", "yilab-mlx")]


def make_ggufs(folder: Path, count: int) -> list[Path]:
    """``count`` distinct GGUF files of a small llama (~17 MB each, so converting takes a while)."""
    from tests.test_gguf import gguf_metadata, gguf_tensors, tiny_llama, write_gguf

    model, config = tiny_llama(hidden_size=256, intermediate_size=1024, num_hidden_layers=4)
    tensors = gguf_tensors(model, config)
    paths = []
    for i in range(count):
        meta = {**gguf_metadata(config), "general.name": f"tiny-{i}"}
        paths.append(write_gguf(folder / f"model-{i}.gguf", tensors, meta))
    return paths


# Run in a process of its own: what is checked is that the process survives.
CONVERT_WHILE_STREAMING = """
import sys, threading
from pathlib import Path
from tests.test_mlx_thread import make_ggufs
from yilab.service import Service
from yilab.experiment.sweep import SweepSpec
from yilab.ui.models import resolve_and_report

tiny, folder = sys.argv[1], Path(sys.argv[2])
ggufs = make_ggufs(folder, 6)
service = Service(folder / "e.db")
spec = SweepSpec(prompt="Tell me a long story.", models=(tiny,), temperatures=(0.7, 1.0),
                 seeds=(1, 2, 3, 4), max_tokens=(300,))
sweep = service.start_sweep(spec)
messages = []
for path in ggufs:  # each import from a handler thread, as Gradio runs them
    handler = threading.Thread(target=lambda p=path: messages.append(
        resolve_and_report(service, str(p), lambda f, desc=None: None)[0]))
    handler.start()
    handler.join()
tokens = sum(1 for event in sweep.events() if type(event).__name__ == "Token")
sweep.wait()
runs = service.store.get_experiment(sweep.experiment_id)["runs"]
assert [r["status"] for r in runs] == ["done"] * 8, runs
assert all("Ready:" in m for m in messages), messages
print("ok", len(messages), tokens)
"""


def test_converting_while_a_sweep_streams_keeps_the_process_alive(tiny_model_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "YILAB_HOME": str(tmp_path / "home")}
    for attempt in range(3):
        folder = tmp_path / f"try-{attempt}"
        folder.mkdir()
        out = subprocess.run(
            [sys.executable, "-c", CONVERT_WHILE_STREAMING, str(tiny_model_dir), str(folder)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=ROOT,
        )
        assert out.returncode == 0, (
            f"attempt {attempt}: exit {out.returncode}\n{out.stderr[-2000:]}"
        )
        assert out.stdout.split()[:2] == ["ok", "6"]
