"""Every GGUF architecture yilab converts, round trip: a tiny random mlx-lm model of each
kind is written the way llama.cpp's converter writes it (its tensor names, Gemma's norms as
1 + w, the metadata keys), converted back, and must give the original model's logits.

Settings are chosen so that each known mistake changes the logits: rope bases and head
sizes differ from the defaults, Gemma's soft-caps bite on these logits, the sliding window
is shorter than the prompt, Qwen2's q/k/v have biases, Phi-3's projections are fused.
"""

from __future__ import annotations

import importlib

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten

from tests.llamacpp_reference import tiny_vocab_meta
from tests.test_gguf import (
    gguf_metadata,
    llama_cpp_permute,
    load_converted,
    u32,
    write_typed_gguf,
)
from yilab.models.gguf.convert import convert_gguf

VOCAB = len(tiny_vocab_meta()["tokenizer.ggml.tokens"])
BASE = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "intermediate_size": 96,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-6,
    "vocab_size": VOCAB,
    "max_position_embeddings": 2048,
    "rope_theta": 5000.0,
}
CONFIGS = {
    "llama": {"model_type": "llama", "tie_word_embeddings": False},
    "qwen2": {"model_type": "qwen2", "tie_word_embeddings": True},
    "qwen3": {"model_type": "qwen3", "head_dim": 32, "tie_word_embeddings": False},
    "phi3": {"model_type": "phi3", "tie_word_embeddings": False},
    "gemma2": {
        "model_type": "gemma2",
        "head_dim": 32,
        "query_pre_attn_scalar": 32,
        "attn_logit_softcapping": 2.0,
        "final_logit_softcapping": 1.5,
    },
    "gemma3": {
        "model_type": "gemma3_text",
        "head_dim": 32,
        "query_pre_attn_scalar": 32,
        "sliding_window": 3,
        "sliding_window_pattern": 2,
        "rope_local_base_freq": 10000.0,
    },
}
PROMPT = (1, 40, 41, 42, 260, 7, 8, 9, 2)


def tiny_model(arch: str, *, seed: int = 3, scale: float = 0.3, **sizes):
    """A random mlx-lm model of ``arch`` (``sizes`` override the config), its weights spread
    so that attention is far from uniform and norms are far from 1."""
    config = {**BASE, **CONFIGS[arch], **sizes}
    module = importlib.import_module(f"mlx_lm.models.{config['model_type']}")
    mx.random.seed(seed)
    model = module.Model(module.ModelArgs.from_dict(config))
    params = [
        (name, mx.random.normal(w.shape) * (0.5 if "norm" in name else scale))
        for name, w in tree_flatten(model.parameters())
    ]
    model.load_weights(params)
    mx.eval(model.parameters())
    return model, config


def as_gguf(arch: str, model, config: dict) -> tuple[dict, dict]:
    """(tensors, metadata) as llama.cpp's converter writes this model."""
    import gguf

    arch_id = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[arch]
    names = gguf.get_tensor_name_map(arch_id, config["num_hidden_layers"])
    tensors = {}
    for name, weight in tree_flatten(model.parameters()):
        stem, suffix = name.rsplit(".", 1)
        if arch.startswith("gemma") and stem.endswith("norm"):
            weight = weight + 1.0  # llama.cpp stores Gemma's RMSNorm weights as 1 + w
        if arch == "llama" and stem.endswith(("q_proj", "k_proj")):  # its rope layout
            heads = config["num_attention_heads" if "q_proj" in stem else "num_key_value_heads"]
            weight = llama_cpp_permute(weight, heads)
        tensors[f"{names.get_name(stem)}.{suffix}"] = weight
    meta = gguf_metadata(config, arch=arch)
    if "head_dim" in config:
        meta[f"{arch}.attention.key_length"] = u32(config["head_dim"])
        meta[f"{arch}.attention.value_length"] = u32(config["head_dim"])
    for key in ("attn_logit_softcapping", "final_logit_softcapping"):
        if key in config:
            meta[f"{arch}.{key}"] = mx.array(config[key], dtype=mx.float32)
    if "sliding_window" in config:
        meta[f"{arch}.attention.sliding_window"] = u32(config["sliding_window"])
        meta[f"{arch}.attention.sliding_window_pattern"] = u32(config["sliding_window_pattern"])
    return tensors, meta


def logits(model) -> mx.array:
    return model(mx.array([list(PROMPT)]))


@pytest.mark.parametrize("arch", list(CONFIGS))
def test_each_architecture_converts_back_to_the_same_model(tmp_path, arch):
    model, config = tiny_model(arch)
    tensors, meta = as_gguf(arch, model, config)
    path = write_typed_gguf(tmp_path / f"{arch}.gguf", tensors, meta, {})
    converted = load_converted(convert_gguf(path, tmp_path / "out", dequantize=True))
    expected, got = logits(model), logits(converted)
    assert mx.allclose(got, expected, atol=1e-4).item(), float(mx.abs(got - expected).max())


@pytest.mark.parametrize("arch", ["gemma2", "gemma3"])
def test_gemma_norms_matter(tmp_path, arch):
    """Sensitivity: written without llama.cpp's + 1, the norms give other logits."""
    model, config = tiny_model(arch)
    tensors, meta = as_gguf(arch, model, config)
    tensors = {n: (w - 1.0 if n.endswith("norm.weight") else w) for n, w in tensors.items()}
    path = write_typed_gguf(tmp_path / "wrong.gguf", tensors, meta, {})
    converted = load_converted(convert_gguf(path, tmp_path / "out", dequantize=True))
    assert not mx.allclose(logits(converted), logits(model), atol=1e-2).item()


def test_gemma2_softcaps_and_gemma3_window_matter(tmp_path):
    """Sensitivity: the settings read from the metadata change these logits."""
    for arch, key, other in (
        ("gemma2", "final_logit_softcapping", 30.0),
        ("gemma3", "sliding_window", 512),
    ):
        model, config = tiny_model(arch)
        module = importlib.import_module(f"mlx_lm.models.{config['model_type']}")
        changed = module.Model(module.ModelArgs.from_dict({**config, key: other}))
        changed.load_weights(list(tree_flatten(model.parameters())))
        diff = np.abs(np.array(logits(changed)) - np.array(logits(model))).max()
        assert diff > 1e-2, (arch, key)
