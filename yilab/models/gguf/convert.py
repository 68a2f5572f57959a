"""Convert a llama-architecture GGUF file into an mlx-lm model directory.

The header is read by :mod:`yilab.models.gguf.reader` (so an unsupported architecture or tensor
type is refused by name first), the tensors by ``mx.load``, which returns Q4_0/Q4_1/Q8_0
tensors as MLX affine triples (uint32 weight, scales, biases; 32 weights per group).
llama.cpp stores Q and K rows permuted for its rope layout: they are put back here.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yilab import __version__
from yilab.errors import ConversionError
from yilab.generation.mlx_thread import on_mlx_thread
from yilab.models.gguf.reader import GGUFHeader, file_sha256, read_gguf_header, read_gguf_metadata
from yilab.models.gguf.tokenizer import build_tokenizer, check_tokenizer, tokenizer_config

__all__ = [
    "check_convertible",
    "conversion_problem",
    "convert_gguf",
    "read_gguf_header",
    "read_gguf_metadata",
]

Progress = Callable[[float, str], None]

GROUP_SIZE = 32  # every ggml block type MLX reads packs 32 weights per block
SUPPORTED_ARCHITECTURES = ("llama",)
QUANT_BITS = {"Q4_0": 4, "Q4_1": 4, "Q8_0": 8}
SUPPORTED_TYPES = ("F32", "F16", *QUANT_BITS)
# GGUF tensor name -> mlx-lm llama name; "blk.N." becomes "model.layers.N."
LAYER_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
TOP_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}


def llama_config(meta: dict[str, Any]) -> dict[str, Any]:
    """An mlx-lm ``config.json`` dict from GGUF metadata; refuses other architectures."""
    arch = meta.get("general.architecture")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise ConversionError(f"unsupported GGUF architecture '{arch}' (supported: llama)")

    def get(key: str, default: Any = None) -> Any:
        value = meta.get(f"llama.{key}", default)
        if value is None:
            raise ConversionError(f"GGUF metadata lacks 'llama.{key}'")
        return value

    hidden, heads = get("embedding_length"), get("attention.head_count")
    head_dim = get("attention.key_length", hidden // heads)
    if get("rope.dimension_count", head_dim) != head_dim:
        raise ConversionError("partial rotary embeddings (rope.dimension_count) are not supported")
    if get("expert_count", 0):
        raise ConversionError("mixture-of-experts llama GGUFs (expert_count) are not supported")
    vocab_size = meta.get("llama.vocab_size") or len(meta.get("tokenizer.ggml.tokens", []))
    config = {
        "model_type": "llama",
        "hidden_size": hidden,
        "num_hidden_layers": get("block_count"),
        "intermediate_size": get("feed_forward_length"),
        "num_attention_heads": heads,
        "num_key_value_heads": get("attention.head_count_kv", heads),
        "rms_norm_eps": get("attention.layer_norm_rms_epsilon", 1e-5),
        "rope_theta": get("rope.freq_base", 10000.0),
        "max_position_embeddings": get("context_length", 4096),
        "vocab_size": vocab_size,
        "head_dim": head_dim,
    }
    for key in ("bos_token_id", "eos_token_id"):
        if (token_id := meta.get(f"tokenizer.ggml.{key}")) is not None:
            config[key] = token_id
    return config


def llama3_rope_factors(dims: int, base: float, scaling: dict[str, Any]) -> list[float]:
    """llama.cpp's ``rope_freqs``: how much Llama 3 rope scaling slows each frequency."""
    factor, low, high = (scaling[k] for k in ("factor", "low_freq_factor", "high_freq_factor"))
    context = scaling["original_max_position_embeddings"]
    factors = []
    for i in range(0, dims, 2):
        wavelen = 2 * math.pi * base ** (i / dims)
        smooth = (context / wavelen - low) / (high - low)
        medium = 1 / ((1 - smooth) / factor + smooth)
        factors.append(factor if wavelen > context / low else medium if smooth < 1 else 1.0)
    return factors


def rope_scaling(meta: dict[str, Any], config: dict, rope_freqs: list[float] | None) -> dict | None:
    """mlx-lm's ``rope_scaling`` for this GGUF, or None.

    Llama 3.1+ files hold per-frequency factors (``rope_freqs``), not the parameters behind
    them: the factor is their maximum, the other Llama 3 parameters are checked against them.
    """
    kind = meta.get("llama.rope.scaling.type", "none")
    if kind == "linear":
        return {"type": "linear", "factor": meta["llama.rope.scaling.factor"]}
    if kind != "none":
        raise ConversionError(f"unsupported rope scaling '{kind}'")
    if not rope_freqs or all(f == 1.0 for f in rope_freqs):
        return None
    scaling = {
        "rope_type": "llama3",
        "factor": max(rope_freqs),
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": meta.get(
            "llama.rope.scaling.original_context_length", 8192
        ),
    }
    expected = llama3_rope_factors(config["head_dim"], config["rope_theta"], scaling)
    if any(abs(a - b) > 1e-3 * b for a, b in zip(rope_freqs, expected, strict=True)):
        raise ConversionError("rope_freqs does not match Llama 3 rope scaling; not supported")
    return scaling


def unpermute_rows(x: Any, n_heads: int) -> Any:
    """Undo llama.cpp's rope permutation of Q/K output rows (weights, scales or biases).

    Rows are viewed as (n_heads, head_dim/2, 2, ...) and the middle axes swapped.
    """
    rows = x.shape[0]
    return x.reshape(n_heads, rows // n_heads // 2, 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)


def mlx_name(gguf_name: str) -> str:
    """``"blk.3.attn_q"`` -> ``"model.layers.3.self_attn.q_proj"``; unknown names raise."""
    parts = gguf_name.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[2] in LAYER_NAMES:
        return f"model.layers.{parts[1]}.{LAYER_NAMES[parts[2]]}"
    if gguf_name in TOP_NAMES:
        return TOP_NAMES[gguf_name]
    raise ConversionError(f"unsupported tensor '{gguf_name}' in a llama GGUF")


def _convert_one(base: str, parts: dict, ggml_type: str, config: dict, dequantize: bool) -> dict:
    """Convert one GGUF tensor (plain or quantized triple) into mlx-lm arrays."""
    import mlx.core as mx

    if base.endswith((".attn_q", ".attn_k")):
        heads = config["num_attention_heads" if base.endswith("q") else "num_key_value_heads"]
        parts = {k: unpermute_rows(v, heads) for k, v in parts.items()}
    name = mlx_name(base)
    if ggml_type not in QUANT_BITS:
        weight = parts["weight"]
        return {f"{name}.weight": weight.astype(mx.float32) if dequantize else weight}
    if not dequantize:
        return {f"{name}.{k}": v for k, v in parts.items()}
    scales, biases = (parts[k].astype(mx.float32) for k in ("scales", "biases"))
    weight = mx.dequantize(
        parts["weight"], scales, biases, group_size=GROUP_SIZE, bits=QUANT_BITS[ggml_type]
    )
    return {f"{name}.weight": weight}


def convert_tensors(
    weights: dict,
    types: dict[str, str],
    config: dict,
    *,
    dequantize: bool,
    progress: Progress | None = None,
) -> tuple[dict, dict | None]:
    """GGUF arrays (as ``mx.load`` gives them) -> (mlx-lm weights, quantization config or None)."""
    import mlx.core as mx

    bases = sorted({k.rsplit(".", 1)[0] for k in weights if k != "rope_freqs.weight"})
    out, bits = {}, {}
    for i, base in enumerate(bases):
        parts = {k.rsplit(".", 1)[1]: v for k, v in weights.items() if k.startswith(base + ".")}
        ggml_type = types.get(f"{base}.weight", "missing")
        converted = _convert_one(base, parts, ggml_type, config, dequantize)
        mx.eval(list(converted.values()))
        out.update(converted)
        if ggml_type in QUANT_BITS:
            bits[mlx_name(base)] = QUANT_BITS[ggml_type]
        if progress and (i % max(1, len(bases) // 8) == 0):
            progress(0.1 + 0.7 * i / len(bases), f"converting tensors {i + 1}/{len(bases)}")
    if dequantize or not bits:
        return out, None
    common = Counter(bits.values()).most_common(1)[0][0]
    quantization: dict[str, Any] = {"group_size": GROUP_SIZE, "bits": common}
    for name, b in sorted(bits.items()):
        if b != common:  # mlx-lm reads per-module entries before the defaults
            quantization[name] = {"group_size": GROUP_SIZE, "bits": b}
    return out, quantization


def _check_tensors(types: dict[str, str]) -> None:
    """Refuse unknown tensor names and types before any tensor is read."""
    for name in types:
        if name != "rope_freqs.weight":
            mlx_name(name.rsplit(".", 1)[0])
    bad = sorted({t for t in types.values() if t not in SUPPORTED_TYPES})
    if bad:
        raise ConversionError(
            f"unsupported GGUF tensor type {', '.join(bad)} "
            f"(supported: {', '.join(SUPPORTED_TYPES)})"
        )


def check_convertible(header: GGUFHeader) -> dict[str, Any]:
    """Everything the header alone can tell about converting this file: the architecture,
    its hyper-parameters, every tensor's name and type, the tokenizer. Returns the mlx-lm
    config; raises :class:`ConversionError` with the reason otherwise."""
    config = llama_config(header.metadata)
    _check_tensors(header.tensor_types)
    check_tokenizer(header.metadata)
    return config


def conversion_problem(header: GGUFHeader) -> str | None:
    """Why :func:`convert_gguf` would refuse this file, in its own words; None if it would
    not (as far as the header tells: the tensor data is not read).

    >>> conversion_problem(GGUFHeader(3, {"general.architecture": "qwen2"}, {}))
    "unsupported GGUF architecture 'qwen2' (supported: llama)"
    """
    try:
        check_convertible(header)
    except ConversionError as err:
        return str(err)
    return None


def _load_tensors(path: Path) -> dict:
    import mlx.core as mx

    try:
        return mx.load(str(path), format="gguf")
    except (RuntimeError, ValueError) as err:
        raise ConversionError(f"{path}: MLX cannot read the tensors ({err})") from err


def _write_weights(folder: Path, weights: dict) -> None:
    """``model.safetensors``, or shards plus an index when the weights are large."""
    import mlx.core as mx
    from mlx_lm.utils import make_shards

    shards = make_shards(weights)
    index: dict[str, str] = {}
    for i, shard in enumerate(shards, 1):
        name = (
            f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            if len(shards) > 1
            else "model.safetensors"
        )
        mx.save_safetensors(str(folder / name), shard, metadata={"format": "mlx"})
        index.update(dict.fromkeys(shard, name))
    total = sum(v.nbytes for v in weights.values())
    _write_json(
        folder / "model.safetensors.index.json",
        {"metadata": {"total_size": total}, "weight_map": dict(sorted(index.items()))},
    )


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _provenance(path: Path, header: GGUFHeader, dequantize: bool, sha256: str | None) -> dict:
    counts = Counter(header.tensor_types.values())
    matrices = Counter(t for n, t in header.tensor_types.items() if not n.endswith("norm.weight"))
    return {
        "source": str(path.resolve()),
        "source_sha256": sha256 or file_sha256(path),
        "source_name": header.metadata.get("general.name"),
        "dequantized": dequantize,
        "dtype": "float32" if dequantize else matrices.most_common(1)[0][0].lower(),
        "tensor_types": dict(sorted(counts.items())),
        "yilab_version": __version__,
        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _write_model(
    folder: Path,
    path: Path,
    header: GGUFHeader,
    dequantize: bool,
    sha256: str | None,
    progress: Progress,
) -> None:
    """Everything but the atomic rename: weights, configs, tokenizer, provenance."""

    meta, types = header.metadata, header.tensor_types
    config = check_convertible(header)
    tokenizer = build_tokenizer(meta)
    progress(0.02, "reading tensors")
    weights = _load_tensors(path)
    rope_freqs = weights.get("rope_freqs.weight")
    if scaling := rope_scaling(meta, config, None if rope_freqs is None else rope_freqs.tolist()):
        config["rope_scaling"] = scaling
    tensors, quantization = convert_tensors(
        weights, types, config, dequantize=dequantize, progress=progress
    )
    del weights
    config["tie_word_embeddings"] = "lm_head.weight" not in tensors
    if quantization:
        config["quantization"] = config["quantization_config"] = quantization
    progress(0.8, "writing weights")
    _write_weights(folder, tensors)
    _write_json(folder / "config.json", dict(sorted(config.items())))
    generation = {k: config[k] for k in ("bos_token_id", "eos_token_id") if k in config}
    _write_json(folder / "generation_config.json", generation)
    progress(0.9, "writing tokenizer")
    tokenizer.save(str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", tokenizer_config(meta))
    _write_json(folder / "yilab.json", _provenance(path, header, dequantize, sha256))


def convert_gguf(
    gguf_path: str | Path,
    out_dir: str | Path,
    *,
    dequantize: bool,
    progress: Progress | None = None,
    source_sha256: str | None = None,
) -> Path:
    """Convert a llama GGUF into an mlx-lm model folder at ``out_dir`` and return it.

    The folder is built next to ``out_dir`` and renamed into place at the end (replacing
    an older conversion), so an interrupted run never leaves a folder that looks valid.

    :param dequantize: store every weight as float32 (fast on CPU); otherwise keep
        Q4_0/Q4_1/Q8_0 tensors as MLX quantized weights and F16 ones as float16.
    :param progress: called as ``progress(fraction, message)`` a handful of times.
    :param source_sha256: the GGUF's sha256 if already known (computed otherwise).

    The MLX work runs on the MLX thread (:mod:`yilab.generation.mlx_thread`), whatever the caller's.
    """
    return on_mlx_thread(
        _convert_gguf,
        gguf_path,
        out_dir,
        dequantize,
        progress=progress,
        source_sha256=source_sha256,
    )


def _convert_gguf(
    gguf_path: str | Path,
    out_dir: str | Path,
    dequantize: bool,
    *,
    progress: Progress | None,
    source_sha256: str | None,
) -> Path:
    path, out_dir = Path(gguf_path), Path(out_dir)
    report = progress or (lambda fraction, message: None)
    report(0.0, f"reading {path.name}")
    header = read_gguf_header(path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_model(tmp, path, header, dequantize, source_sha256, report)
        _replace_dir(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(1.0, "done")
    return out_dir


def _replace_dir(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``; an existing ``target`` is moved aside, then deleted."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
