"""GGUF architectures as mlx-lm models: the ``config.json`` a file's metadata makes, the mlx-lm
name of each GGUF tensor, and how llama.cpp's converter changed a tensor on the way in.

Tensor names come from the ``gguf`` package's own map (the one llama.cpp's converter writes
with), applied to the parameter names of the mlx-lm model class built from the config (lazily:
no weight is allocated). The changes undone here: llama's Q/K rows permuted for its rope
layout, and Gemma's RMSNorm weights stored as ``1 + w``.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from yilab.errors import ConversionError
from yilab.generation.mlx_thread import on_mlx_thread
from yilab.i18n import Message


@dataclass(frozen=True)
class Architecture:
    """How one GGUF architecture becomes an mlx-lm model."""

    model_type: str  # mlx-lm's module under mlx_lm.models
    permute_qk: bool = False  # llama.cpp permuted Q/K rows (its "norm" rope layout)
    norm_plus_one: bool = False  # llama.cpp stored RMSNorm weights as 1 + w (Gemma)
    extra: dict[str, str] = field(default_factory=dict)  # GGUF key suffix -> config key
    defaults: dict[str, Any] = field(default_factory=dict)


ARCHITECTURES = {
    "llama": Architecture("llama", permute_qk=True),
    "qwen2": Architecture("qwen2"),
    "qwen3": Architecture("qwen3"),
    "phi3": Architecture("phi3"),
    "gemma2": Architecture(
        "gemma2",
        norm_plus_one=True,
        extra={
            "attn_logit_softcapping": "attn_logit_softcapping",
            "final_logit_softcapping": "final_logit_softcapping",
        },
    ),
    "gemma3": Architecture(
        "gemma3_text",
        norm_plus_one=True,
        extra={
            "attention.sliding_window": "sliding_window",
            "attention.sliding_window_pattern": "sliding_window_pattern",
        },
        defaults={"rope_local_base_freq": 10000.0},
    ),
}
# GGUF key suffix -> config key, for every architecture
COMMON_KEYS = {
    "block_count": "num_hidden_layers",
    "context_length": "max_position_embeddings",
    "embedding_length": "hidden_size",
    "feed_forward_length": "intermediate_size",
    "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads",
    "attention.layer_norm_rms_epsilon": "rms_norm_eps",
    "rope.freq_base": "rope_theta",
}
REQUIRED = ("block_count", "embedding_length", "feed_forward_length", "attention.head_count")


def architecture(meta: dict[str, Any]) -> tuple[str, Architecture]:
    """The file's architecture name and how to convert it; refuses unknown ones by name."""
    name = meta.get("general.architecture")
    if name not in ARCHITECTURES:
        supported = ", ".join(ARCHITECTURES)
        raise ConversionError(
            Message("convert.architecture", arch=f"'{name}'", supported=supported)
        )
    return name, ARCHITECTURES[name]


def model_config(meta: dict[str, Any], has_output: bool) -> dict[str, Any]:
    """An mlx-lm ``config.json`` dict from GGUF metadata.

    :param has_output: whether the file has its own ``output.weight`` (untied embeddings).
    """
    name, arch = architecture(meta)
    for key in REQUIRED:
        if meta.get(f"{name}.{key}") is None:
            raise ConversionError(Message("convert.lacks_metadata", key=f"{name}.{key}"))
    config: dict[str, Any] = {"model_type": arch.model_type, **arch.defaults}
    for key, target in {**COMMON_KEYS, **arch.extra}.items():
        if (value := meta.get(f"{name}.{key}")) is not None:
            config[target] = value
    config.setdefault("num_key_value_heads", config["num_attention_heads"])
    config.setdefault("rms_norm_eps", 1e-5)
    config.setdefault("rope_theta", 10000.0)
    config.setdefault("max_position_embeddings", 4096)
    heads = config["num_attention_heads"]
    head_dim = meta.get(f"{name}.attention.key_length", config["hidden_size"] // heads)
    config["head_dim"] = head_dim
    rotary = meta.get(f"{name}.rope.dimension_count", head_dim)
    if rotary != head_dim:
        if name != "phi3":
            raise ConversionError(Message("convert.partial_rotary", arch=name))
        config["partial_rotary_factor"] = rotary / head_dim
    if meta.get(f"{name}.expert_count"):
        raise ConversionError(Message("convert.experts", arch=name))
    if name.startswith("gemma"):
        # llama.cpp scales queries by 1/sqrt(head_dim), except for the 27B models (46 and 62
        # layers), which use 1/sqrt(hidden_size / heads) as their HF configs do
        big = config["num_hidden_layers"] == {"gemma2": 46, "gemma3": 62}[name]
        config["query_pre_attn_scalar"] = config["hidden_size"] // heads if big else head_dim
    config["vocab_size"] = meta.get(f"{name}.vocab_size") or len(
        meta.get("tokenizer.ggml.tokens", [])
    )
    config["tie_word_embeddings"] = not has_output
    for key in ("bos_token_id", "eos_token_id"):
        if (token_id := meta.get(f"tokenizer.ggml.{key}")) is not None:
            config[key] = token_id
    return config


def tensor_names(meta: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """GGUF tensor name -> mlx-lm parameter name, for every parameter of the mlx-lm model
    that ``config`` describes (built lazily: its weights are never computed)."""
    import gguf

    name, _ = architecture(meta)
    arch_id = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[name]
    name_map = gguf.get_tensor_name_map(arch_id, config["num_hidden_layers"])
    names = {}
    for parameter in parameter_names(json.dumps(config, sort_keys=True)):
        stem, suffix = parameter.rsplit(".", 1)
        gguf_stem = name_map.get_name(stem)
        if gguf_stem is None:
            raise ConversionError(Message("convert.no_gguf_name", parameter=parameter, arch=name))
        names[f"{gguf_stem}.{suffix}"] = parameter
    return names


@lru_cache(maxsize=32)
def parameter_names(config_json: str) -> tuple[str, ...]:
    """The parameter names of the mlx-lm model a config (as JSON) describes. Building the
    model calls MLX (its random initial weights, never computed), so it runs on the MLX
    thread; model lists ask for every Ollama model again, so it is done once per config."""
    return on_mlx_thread(_parameter_names, json.loads(config_json))


def _parameter_names(config: dict[str, Any]) -> tuple[str, ...]:
    from mlx.utils import tree_flatten

    module = importlib.import_module(f"mlx_lm.models.{config['model_type']}")
    model = module.Model(module.ModelArgs.from_dict(config))
    return tuple(name for name, _ in tree_flatten(model.parameters()))


def undo_conversion(arch: Architecture, gguf_name: str, values, config: dict[str, Any]):
    """A tensor as mlx-lm expects it: llama's Q/K rows un-permuted, Gemma's norms less one."""
    if arch.permute_qk and gguf_name.endswith((".attn_q.weight", ".attn_k.weight")):
        kind = "num_attention_heads" if ".attn_q." in gguf_name else "num_key_value_heads"
        return unpermute_rows(values, config[kind])
    if arch.norm_plus_one and gguf_name.endswith("norm.weight"):
        return values - 1.0
    return values


def unpermute_rows(x: Any, n_heads: int) -> Any:
    """Undo llama.cpp's rope permutation of Q/K output rows (weights, scales or biases).

    Rows are viewed as (n_heads, head_dim/2, 2, ...) and the middle axes swapped.
    """
    rows = x.shape[0]
    return x.reshape(n_heads, rows // n_heads // 2, 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)
