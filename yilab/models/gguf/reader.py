"""Read a GGUF file's header: its metadata and the ggml type of every tensor.

Parsed here rather than through ``mx.load``: it is cheap (no tensor data is read), gives
plain Python values, and tells the true ggml type of each tensor. (``mx.load`` quietly
turns types it has no MLX equivalent for, such as Q4_K or BF16, into float16.)
"""

from __future__ import annotations

import hashlib
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yilab.errors import ConversionError
from yilab.i18n import Message

GGUF_MAGIC = b"GGUF"
# ggml tensor type ids, in order (ids 4, 5 and 31-33 are retired types)
GGML_TYPES = dict(
    enumerate(
        "F32 F16 Q4_0 Q4_1 Q4_2 Q4_3 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ2_XXS "  # noqa: SIM905
        "IQ2_XS IQ3_XXS IQ1_S IQ4_NL IQ3_S IQ2_S IQ4_XS I8 I16 I32 I64 F64 IQ1_M BF16 Q4_0_4_4 "
        "Q4_0_4_8 Q4_0_8_8 TQ1_0 TQ2_0 - - - MXFP4".split()
    )
)
# llama.cpp's ``general.file_type`` (enum llama_ftype): what most tensors are quantized to
FILE_TYPES = dict(
    enumerate(
        "F32 F16 Q4_0 Q4_1 Q4_1_SOME_F16 Q4_2 Q4_3 Q8_0 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L "  # noqa: SIM905
        "Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K IQ2_XXS IQ2_XS Q2_K_S IQ3_XS IQ3_XXS IQ1_S IQ4_NL "
        "IQ3_S IQ3_M IQ2_S IQ2_M IQ4_XS IQ1_M BF16 Q4_0_4_4 Q4_0_4_8 Q4_0_8_8 TQ1_0 TQ2_0 "
        "MXFP4_MOE".split()
    )
)
# GGUF value type id -> struct format; 8 (string) and 9 (array) are read apart
_SCALARS = dict(zip([0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12], "BbHhIif?Qqd", strict=True))
_STRING, _ARRAY, _FLOAT32 = 8, 9, 6


@dataclass
class GGUFHeader:
    """What a GGUF file says about itself, without its tensor data."""

    version: int
    metadata: dict[str, Any]
    tensor_types: dict[str, str]  # tensor name -> ggml type name, e.g. "Q4_1"

    @property
    def quantization(self) -> str | None:
        """What the file is quantized to: ``general.file_type`` by name (``"Q4_0"``), else
        the most common type among its matrices (norms aside), else None.

        >>> GGUFHeader(3, {"general.file_type": 15}, {}).quantization
        'Q4_K_M'
        >>> GGUFHeader(3, {}, {"a.weight": "Q8_0", "b.weight": "Q8_0", "a_norm.weight": "F32"}).quantization
        'Q8_0'
        """
        file_type = self.metadata.get("general.file_type")
        if isinstance(file_type, int) and file_type in FILE_TYPES:
            return FILE_TYPES[file_type]
        matrices = [t for n, t in self.tensor_types.items() if not n.endswith("norm.weight")]
        return max(sorted(set(matrices)), key=matrices.count) if matrices else None


class _Reader:
    """Sequential little-endian reads over a memory-mapped file."""

    def __init__(self, buf: mmap.mmap, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def unpack(self, fmt: str) -> Any:
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.unpack("Q")
        self.pos += n
        return bytes(self.buf[self.pos - n : self.pos]).decode("utf-8", errors="replace")

    def value(self, vtype: int) -> Any:
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, n = self.unpack("I"), self.unpack("Q")
            return [self.value(etype) for _ in range(n)]
        if vtype not in _SCALARS:
            raise ValueError(f"unknown GGUF value type {vtype}")
        value = self.unpack(_SCALARS[vtype])
        return _short_float32(value) if vtype == _FLOAT32 else value


def _short_float32(value: float) -> float:
    """The shortest decimal that is the same float32: ``9.99999974e-06`` -> ``1e-05``."""
    for digits in range(6, 10):
        short = float(f"{value:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", short))[0] == value:
            return short
    return value


def _parse(buf: mmap.mmap, path: Path) -> GGUFHeader:
    if buf[:4] != GGUF_MAGIC:
        raise ConversionError(Message("convert.not_gguf", path=path))
    r = _Reader(buf, pos=4)
    version = r.unpack("I")
    if version < 2:
        raise ConversionError(Message("convert.too_old", path=path, version=version))
    n_tensors, n_kv = r.unpack("Q"), r.unpack("Q")
    metadata = {}
    for _ in range(n_kv):
        key = r.string()
        metadata[key] = r.value(r.unpack("I"))
    types = {}
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.unpack("I")
        r.pos += 8 * n_dims  # the shape: mx.load gives it
        ggml_type = r.unpack("I")
        r.pos += 8  # the data offset
        types[name] = GGML_TYPES.get(ggml_type, f"type {ggml_type}")
    return GGUFHeader(version, metadata, types)


def read_gguf_header(path: str | Path) -> GGUFHeader:
    """Parse a GGUF header: ``read_gguf_header(p).tensor_types["output_norm.weight"] == "F32"``."""
    path = Path(path)
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(buf, path)
    except (OSError, ValueError, struct.error, IndexError) as err:
        raise ConversionError(Message("convert.header_damaged", path=path, error=str(err))) from err


def read_gguf_metadata(path: str | Path) -> dict[str, Any]:
    """GGUF metadata as plain Python values: ``{"general.architecture": "llama", ...}``."""
    return read_gguf_header(path).metadata


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
