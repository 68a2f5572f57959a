"""GGUF tensors as float arrays, read and dequantized by the ``gguf`` package (llama.cpp's
own Python reader, with its reference dequantization for every ggml type it knows: F16,
BF16, Q4_0…Q8_0, all K-quants, the IQ types, TQ1_0/TQ2_0, MXFP4).

Where the weights stay quantized (a GPU, which has fast quantized kernels), a tensor is
re-quantized to MLX's affine format with the bits of its ggml type (:data:`MLX_BITS`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from yilab.errors import ConversionError
from yilab.i18n import Message

# MLX affine bits for a quantized ggml type kept quantized (MLX has 2, 3, 4, 5, 6 and 8)
MLX_BITS = {
    **dict.fromkeys(("Q2_K", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_S", "IQ1_M", "TQ1_0"), 2),
    **dict.fromkeys(("TQ2_0",), 2),
    **dict.fromkeys(("Q3_K", "IQ3_XXS", "IQ3_S"), 3),
    **dict.fromkeys(("Q4_0", "Q4_1", "Q4_K", "IQ4_NL", "IQ4_XS", "MXFP4", "NVFP4"), 4),
    **dict.fromkeys(("Q5_0", "Q5_1", "Q5_K"), 5),
    **dict.fromkeys(("Q6_K",), 6),
    **dict.fromkeys(("Q8_0", "Q8_1", "Q8_K"), 8),
}
FLOAT_TYPES = ("F32", "F16", "BF16")
# types that mx.load reads as exact MLX affine triples (32 weights a group): kept as they are
MLX_NATIVE = ("Q4_0", "Q4_1", "Q8_0")
GROUP_SIZE = 32  # MLX group size for re-quantized weights: the ggml (sub-)block size


@dataclass(frozen=True)
class GGUFTensor:
    """One tensor of a GGUF file: its name, ggml type and shape (rows first, as numpy)."""

    name: str
    type: str
    shape: tuple[int, ...]
    data: np.ndarray  # raw: typed for float types, bytes per row for quantized ones

    def dequantized(self) -> np.ndarray:
        """The tensor as float32, in its numpy shape."""
        from gguf import GGMLQuantizationType, quants

        try:
            values = quants.dequantize(self.data, GGMLQuantizationType[self.type])
        except (NotImplementedError, ValueError) as err:
            said = Message("convert.cannot_dequantize", tensor=self.name, type=self.type)
            raise ConversionError(said) from err
        return np.asarray(values, dtype=np.float32).reshape(self.shape)


@cache
def dequantizable_types() -> tuple[str, ...]:
    """The ggml types the installed gguf package can dequantize (a one-block probe each)."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, quants

    found = []
    for qtype, (block, size) in GGML_QUANT_SIZES.items():
        probe = np.zeros((1, size), dtype=np.uint8)
        if qtype.name in FLOAT_TYPES:
            found.append(qtype.name)
            continue
        try:
            values = quants.dequantize(probe, qtype)
        except (NotImplementedError, ValueError, KeyError):
            continue
        if np.asarray(values).size == block:
            found.append(qtype.name)
    return tuple(sorted(found, key=lambda n: GGMLQuantizationType[n].value))


def read_tensors(path: Path) -> Iterator[GGUFTensor]:
    """Every tensor of the GGUF at ``path``, memory-mapped (nothing is copied until used)."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path, "r")
    except (ValueError, OSError, IndexError, KeyError, struct.error) as err:
        raise ConversionError(Message("convert.damaged", path=path, error=str(err))) from err
    end = path.stat().st_size
    for tensor in reader.tensors:
        if tensor.data_offset + tensor.n_bytes > end:
            said = Message("convert.past_the_end", path=path, tensor=tensor.name)
            raise ConversionError(said)
        shape = tuple(int(n) for n in reversed(tensor.shape.tolist()))
        yield GGUFTensor(tensor.name, tensor.tensor_type.name, shape, tensor.data)
