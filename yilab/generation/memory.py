"""Refuse work that cannot fit in memory, before it starts swapping.

Two checks: a model's weights against the memory that is free before it loads,
and a sweep's KV caches (rows × (prompt + max_tokens) tokens) before it runs.
Free memory is the GPU's recommended working set minus what MLX holds (Metal),
else the system's available memory (``MemAvailable`` on Linux).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from yilab.errors import BadInputError, ModelLoadError
from yilab.generation.mlx_thread import on_mlx_thread
from yilab.i18n import Message

HEADROOM = 0.9  # leave a tenth for the OS, the app and activations
GB = 1e9


def free_bytes() -> int | None:
    """Memory this process can still use, or None when it cannot be told."""
    free = on_mlx_thread(_device_free_bytes)
    if free is not None:
        return free
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _device_free_bytes() -> int | None:
    """The GPU's recommended working set minus what MLX holds, where MLX says (Metal)."""
    import mlx.core as mx

    info = mx.device_info()
    limit = info.get("max_recommended_working_set_size") or info.get("memory_size")
    return int(limit) - int(mx.get_active_memory()) if limit else None


def weights_bytes(model_dir: Path) -> int:
    """The size of a model folder's weight files."""
    return sum(f.stat().st_size for f in Path(model_dir).glob("*.safetensors"))


def kv_bytes_per_token(model_dir: Path) -> int:
    """Keys and values for one token in every layer, from config.json (float32 if unsure).

    >>> # 30 layers × 2 × 3 kv heads × 64 dims × 4 bytes = 46,080 for SmolLM2-135M in float32
    """
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text())
        heads = int(config["num_attention_heads"])
        kv_heads = int(config.get("num_key_value_heads") or heads)
        head_dim = int(config.get("head_dim") or int(config["hidden_size"]) // heads)
        layers = int(config["num_hidden_layers"])
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        return 0
    width = 2 if str(config.get("torch_dtype")) in ("float16", "bfloat16") else 4
    return layers * 2 * kv_heads * head_dim * width


def check_model_fits(model_dir: Path) -> None:
    """Refuse to load weights larger than the free memory."""
    need, free = weights_bytes(model_dir), free_bytes()
    if free is not None and need > free * HEADROOM:
        raise ModelLoadError(
            Message("memory.weights", model=Path(model_dir).name, need=need / GB, free=free / GB)
        )


def check_sweep_fits(model_dir: Path, *, rows: int, tokens: int, max_tokens: int) -> None:
    """Refuse a group of cells whose KV caches would not fit in the free memory."""
    per_token, free = kv_bytes_per_token(model_dir), free_bytes()
    need = per_token * (rows * (tokens + max_tokens) + tokens)  # + the shared prompt prefix
    if free is not None and need > free * HEADROOM:
        raise BadInputError(
            Message(
                "memory.kv_caches",
                need=need / GB,
                rows=rows,
                tokens=tokens + max_tokens,
                free=free / GB,
            )
        )
