"""Convert a GGUF file (llama, qwen2, qwen3, phi3, gemma2, gemma3) into an mlx-lm model folder.

The header is read by :mod:`yilab.models.gguf.reader` (so an unsupported architecture or tensor
type is refused by name first), the tensors by the ``gguf`` package
(:mod:`yilab.models.gguf.tensors`), which dequantizes every ggml type it knows; names and the
changes llama.cpp's converter made are :mod:`yilab.models.gguf.arch`'s. On a CPU the weights
are stored as float32; where MLX computes on a GPU, quantized tensors stay quantized.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from yilab import __version__
from yilab.errors import ConversionError
from yilab.generation.mlx_thread import on_mlx_thread
from yilab.i18n import Message
from yilab.models.gguf.arch import (
    Architecture,
    architecture,
    model_config,
    tensor_names,
    undo_conversion,
    unpermute_rows,
)
from yilab.models.gguf.reader import GGUFHeader, file_sha256, read_gguf_header, read_gguf_metadata
from yilab.models.gguf.tensors import (
    FLOAT_TYPES,
    GROUP_SIZE,
    MLX_BITS,
    MLX_NATIVE,
    GGUFTensor,
    dequantizable_types,
    read_tensors,
)
from yilab.models.gguf.tokenizer import build_tokenizer, check_tokenizer, tokenizer_config

__all__ = [
    "check_convertible",
    "conversion_problem",
    "convert_gguf",
    "read_gguf_header",
    "read_gguf_metadata",
    "unpermute_rows",
]

Progress = Callable[[float, str], None]
SHARD_BYTES = 2 * 2**30  # weights gather in memory up to one shard before it is written


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
    arch = meta.get("general.architecture")
    kind = meta.get(f"{arch}.rope.scaling.type", "none")
    if kind == "linear":
        return {"type": "linear", "factor": meta[f"{arch}.rope.scaling.factor"]}
    if kind != "none":
        raise ConversionError(Message("convert.rope_scaling", kind=kind))
    if not rope_freqs or all(f == 1.0 for f in rope_freqs):
        return None
    scaling = {
        "rope_type": "llama3",
        "factor": max(rope_freqs),
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": meta.get(
            f"{arch}.rope.scaling.original_context_length", 8192
        ),
    }
    expected = llama3_rope_factors(config["head_dim"], config["rope_theta"], scaling)
    if any(abs(a - b) > 1e-3 * b for a, b in zip(rope_freqs, expected, strict=True)):
        raise ConversionError(Message("convert.rope_freqs"))
    return scaling


def convert_tensors(
    tensors: list[GGUFTensor],
    config: dict,
    names: dict[str, str],
    arch: Architecture,
    *,
    dequantize: bool,
    bits: dict[str, int],
    native: dict | None = None,
    progress: Progress | None = None,
) -> Iterator[dict]:
    """GGUF tensors -> mlx-lm weights, one tensor's arrays at a time (so they can be written
    as they come); ``bits`` collects the bits of each module kept quantized.

    Each tensor is dequantized to float32 and llama.cpp's changes undone (``names`` maps GGUF
    names to mlx-lm's, see :func:`yilab.models.gguf.arch.tensor_names`), then kept as float32
    (``dequantize``), re-quantized to MLX affine with its type's bits, or, for F16/BF16
    tensors on a GPU, kept in that float type. Q4_0/Q4_1/Q8_0 tensors that ``mx.load``
    read as MLX triples (``native``) are kept exactly as they are, rows un-permuted.
    """
    import mlx.core as mx

    for i, tensor in enumerate(tensors):
        base = tensor.name.rsplit(".", 1)[0]
        name = names[tensor.name]
        stem = name.removesuffix(".weight")
        if not dequantize and native is not None and tensor.type in MLX_NATIVE:
            parts = {k: native[f"{base}.{k}"] for k in ("weight", "scales", "biases")}
            out = {
                f"{stem}.{k}": undo_conversion(arch, tensor.name, v, config)
                for k, v in parts.items()
            }
            bits[stem] = MLX_BITS[tensor.type]
        else:
            weight = mx.array(undo_conversion(arch, tensor.name, tensor.dequantized(), config))
            if dequantize or tensor.type == "F32":
                out = {name: weight}
            elif tensor.type in ("F16", "BF16"):
                out = {name: weight.astype(mx.float16 if tensor.type == "F16" else mx.bfloat16)}
            else:
                bits[stem] = MLX_BITS[tensor.type]
                packed, scales, biases = mx.quantize(weight, group_size=GROUP_SIZE, bits=bits[stem])
                out = {name: packed, f"{stem}.scales": scales, f"{stem}.biases": biases}
        mx.eval(list(out.values()))
        if progress and (i % max(1, len(tensors) // 8) == 0):
            message = Message("progress.tensors", i=i + 1, n=len(tensors))
            progress(0.1 + 0.8 * i / len(tensors), message)
        yield out


def quantization_config(bits: dict[str, int]) -> dict[str, Any] | None:
    """mlx-lm's ``quantization``: the most common bits, and an entry for every other module.

    >>> quantization_config({"a": 4, "b": 4, "c": 8})
    {'group_size': 32, 'bits': 4, 'c': {'group_size': 32, 'bits': 8}}
    """
    if not bits:
        return None
    common = Counter(bits.values()).most_common(1)[0][0]
    quantization: dict[str, Any] = {"group_size": GROUP_SIZE, "bits": common}
    for name, b in sorted(bits.items()):
        if b != common:  # mlx-lm reads per-module entries before the defaults
            quantization[name] = {"group_size": GROUP_SIZE, "bits": b}
    return quantization


def _native_triples(path: Path, tensors: list[GGUFTensor]) -> dict | None:
    """``mx.load``'s exact MLX triples for a file whose quantized tensors are all Q4_0, Q4_1
    or Q8_0 (the types MLX reads itself), else None (they are re-quantized instead)."""
    import mlx.core as mx

    quantized = {t.type for t in tensors if t.type not in FLOAT_TYPES}
    if not quantized or not quantized <= set(MLX_NATIVE):
        return None
    try:
        return mx.load(str(path), format="gguf")
    except (RuntimeError, ValueError) as err:
        raise ConversionError(
            Message("convert.mlx_cannot_read", path=path, error=str(err))
        ) from err


def check_convertible(header: GGUFHeader) -> tuple[dict[str, Any], dict[str, str]]:
    """Everything the header alone can tell about converting this file: the architecture,
    its hyper-parameters, every tensor's name and type, the tokenizer. Returns the mlx-lm
    config and the GGUF -> mlx-lm tensor names; raises :class:`ConversionError` otherwise."""
    meta, types = header.metadata, header.tensor_types
    arch_name, _ = architecture(meta)
    config = model_config(meta, has_output="output.weight" in types)
    names = tensor_names(meta, config)
    _check_tensors(types, names, arch_name)
    check_tokenizer(meta)
    return config, names


def conversion_problem(header: GGUFHeader) -> str | None:
    """Why :func:`convert_gguf` would refuse this file, in its own words; None if it would
    not (as far as the header tells: the tensor data is not read).

    >>> conversion_problem(GGUFHeader(3, {"general.architecture": "gptneox"}, {}))
    "unsupported GGUF architecture 'gptneox' (supported: llama, qwen2, qwen3, phi3, gemma2, gemma3)"
    """
    try:
        check_convertible(header)
    except ConversionError as err:
        return err.message  # with its key, to be said in the reader's language
    return None


def _check_tensors(types: dict[str, str], names: dict[str, str], arch: str) -> None:
    """Refuse unknown or missing tensors and unsupported types before any tensor is read."""
    unknown = sorted(n for n in types if n not in names and n != "rope_freqs.weight")
    if unknown:
        raise ConversionError(Message("convert.unknown_tensor", tensor=unknown[0], arch=arch))
    missing = sorted(n for n in names if n not in types)
    if missing:
        raise ConversionError(Message("convert.lacks_tensor", tensor=missing[0], arch=arch))
    supported = [t for t in dequantizable_types() if t in FLOAT_TYPES or t in MLX_BITS]
    bad = sorted({t for t in types.values() if t not in supported})
    if bad:
        raise ConversionError(
            Message("convert.tensor_type", types=", ".join(bad), supported=", ".join(supported))
        )


def _write_weights(folder: Path, converted: Iterable[dict]) -> None:
    """Write the weights as they come, a shard whenever :data:`SHARD_BYTES` have gathered
    (so converting holds about one shard, not the model), then name the shards
    ``model.safetensors`` or ``model-0000i-of-0000N.safetensors`` and write the index."""
    import mlx.core as mx

    written: list[tuple[Path, list[str]]] = []
    shard: dict = {}
    total = 0

    def flush() -> None:
        if shard:
            part = folder / f".part-{len(written)}.safetensors"
            mx.save_safetensors(str(part), shard, metadata={"format": "mlx"})
            written.append((part, list(shard)))
            shard.clear()

    for arrays in converted:
        size = sum(v.nbytes for v in arrays.values())
        if shard and sum(v.nbytes for v in shard.values()) + size > SHARD_BYTES:
            flush()
        shard.update(arrays)
        total += size
    flush()
    index: dict[str, str] = {}
    for i, (part, keys) in enumerate(written, 1):
        many = len(written) > 1
        name = f"model-{i:05d}-of-{len(written):05d}.safetensors" if many else "model.safetensors"
        os.replace(part, folder / name)
        index.update(dict.fromkeys(keys, name))
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

    meta = header.metadata
    config, names = check_convertible(header)
    arch = architecture(meta)[1]
    tokenizer = build_tokenizer(meta)
    progress(0.02, Message("progress.reading"))
    gguf_tensors = list(read_tensors(path))
    freqs = [t.dequantized().tolist() for t in gguf_tensors if t.name == "rope_freqs.weight"]
    if scaling := rope_scaling(meta, config, freqs[0] if freqs else None):
        config["rope_scaling"] = scaling
    gguf_tensors = [t for t in gguf_tensors if t.name != "rope_freqs.weight"]
    native = None if dequantize else _native_triples(path, gguf_tensors)
    bits: dict[str, int] = {}
    converted = convert_tensors(
        gguf_tensors,
        config,
        names,
        arch,
        dequantize=dequantize,
        bits=bits,
        native=native,
        progress=progress,
    )
    _write_weights(folder, converted)
    del gguf_tensors, native
    if (quantization := None if dequantize else quantization_config(bits)) is not None:
        config["quantization"] = config["quantization_config"] = quantization
    _write_json(folder / "config.json", dict(sorted(config.items())))
    generation = {k: config[k] for k in ("bos_token_id", "eos_token_id") if k in config}
    _write_json(folder / "generation_config.json", generation)
    progress(0.9, Message("progress.tokenizer"))
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

    :param dequantize: store every weight as float32 (fast on CPU); otherwise re-quantize
        quantized tensors to MLX affine with their type's bits and keep F16/BF16 ones.
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
