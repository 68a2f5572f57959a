"""A tiny model that misbehaves like Yi-6B-Chat did: its eos is ``<|endoftext|>`` while its
ChatML template ends turns with ``<|im_end|>``, and it does write ``<|im_end|>``.

The tiny random model never picks ``<|im_end|>`` by itself; scaling that token's (tied)
embedding row makes greedy decoding choose it within a few dozen tokens, so a run goes
``length`` (printing ``<|im_end|>``) with the files as they are and ``stop`` with the fix.
"""

from __future__ import annotations

from pathlib import Path

from tests.tinymodel import SPECIAL_TOKENS, build_tiny_model

IM_END = SPECIAL_TOKENS.index("<|im_end|>")  # 2
SCALE = 50.0  # checked: "What is the capital of France?" stops after ~27 of 48 tokens


def build_yi_like_model(path: Path) -> Path:
    """A tiny ChatML model with the Yi eos mistake that writes ``<|im_end|>`` when greedy."""
    import mlx.core as mx

    path = build_tiny_model(path, eos_token="<|endoftext|>")
    weights = mx.load(str(path / "model.safetensors"))
    embed = weights["model.embed_tokens.weight"]
    rows = [embed[:IM_END], embed[IM_END : IM_END + 1] * SCALE, embed[IM_END + 1 :]]
    weights["model.embed_tokens.weight"] = mx.concatenate(rows)
    mx.save_safetensors(str(path / "model.safetensors"), weights, metadata={"format": "mlx"})
    return path
