"""The tree is the architecture: which part may import which (the README's map), no import
cycles, the UI only through the service, and a remote sweep that never loads MLX.

Imports are read from the source with ``ast``, every one of them, including those inside
functions: a lazy import does not hide a cycle from this test.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "yilab"

# part → the parts it may import (besides itself and the ``yilab`` package's __version__).
# Shared by every layer: sweep, events, errors, files. This is the README's "Layout" map.
SHARED = {"experiment", "events", "errors", "files", "i18n"}
ALLOWED = {
    "__main__": {"cli", "generation", "runlog"},  # BLAS fast path first; SIGTERM exits cleanly
    "ui": {"service", "render", "experiment", "events", "errors", "i18n"},
    "cli": {"service", "inspector", "runlog", "render"} | SHARED,
    "service": {"generation", "models", "remote", "inspector", "runlog", "share"} | SHARED,
    "share": {"runlog", "render", "inspector"} | SHARED,
    "render": {"inspector"} | SHARED,
    "models": {"generation", "remote"} | SHARED,
    "inspector": SHARED,
    "generation": SHARED,
    "remote": SHARED,
    "runlog": SHARED,
    "experiment": {"errors", "i18n"},  # i18n: messages that keep their catalog key
    "events": {"experiment", "errors"},
    "errors": {"i18n"},
    "files": set(),
    "i18n": set(),  # the words in both languages: plain data, imports nothing
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """``yilab.models.gguf.convert`` → ``models``; ``yilab.experiment.sweep`` → ``experiment``."""
    return module.split(".")[1] if "." in module else "yilab"


def is_module(name: str) -> bool:
    base = ROOT / Path(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """Every yilab module that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("yilab")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("yilab"):
            subs = {f"{node.module}.{a.name}" for a in node.names}
            found |= {s for s in subs if is_module(s)} or {node.module}
    return found


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_part_imports_only_the_parts_below_it():
    wrong = []
    for module, imported in import_graph().items():
        part = part_of(module)
        for target in imported:
            other = part_of(target)
            if other not in (part, "yilab") and other not in ALLOWED[part]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_ui_goes_through_the_service_and_nothing_imports_the_ui():
    graph = import_graph()
    for module, imported in graph.items():
        if part_of(module) != "ui":
            assert not [t for t in imported if part_of(t) == "ui"], module
    ui = {t for m, imported in graph.items() if part_of(m) == "ui" for t in imported}
    allowed = {"ui", "service", "render", "experiment", "events", "errors", "i18n"}
    assert {part_of(t) for t in ui} <= allowed
    assert "yilab.service" in ui  # the tabs take a Service


def test_no_import_cycles():
    graph = import_graph()
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm over the modules (package ``__init__`` files included)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            out.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return out


def test_the_checks_above_can_fail():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert sorted(map(sorted, strongly_connected(graph))) == [["a", "b", "c"], ["d"]]
    assert part_of("yilab.models.gguf.convert") == "models" and part_of("yilab.files") == "files"


def test_each_package_says_what_it_does():
    top = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(top) <= 17, top  # 15 parts besides __init__ and __main__
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 60, f"{init} needs a docstring saying what the part does"


REMOTE_SWEEP = """
import sys
from tests.remoteservers import RecordingServer
from yilab.service import Service
from yilab.experiment.sweep import SweepSpec

server = RecordingServer()
service = Service(sys.argv[1])
spec = SweepSpec(prompt="Hi", models=(f"openai+{server.url}#echo",), seeds=(1, 2))
_, runs = service.run_sweep(spec)
assert [r["status"] for r in runs] == ["done", "done"], runs
service.list_runs(search="Hello")
# a run whose server streams logprobs: its token log is built and stored without MLX too
spec = SweepSpec(prompt="Hi", models=(f"openai+{server.url}#logprobs",))
_, runs = service.run_sweep(spec)
assert service.token_log(runs[0]["id"]).text == runs[0]["output"] == "Hi 你好", runs
loaded = sorted(m for m in sys.modules if m == "mlx" or m.startswith(("mlx.", "mlx_lm")))
print(loaded)
"""


def test_a_remote_sweep_loads_no_mlx(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", REMOTE_SWEEP, str(tmp_path / "e.db")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
