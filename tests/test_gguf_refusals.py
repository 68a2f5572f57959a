"""GGUF files yilab refuses, and how: unknown architectures and tensor types by name, files
that are not GGUF, and damaged ones (truncated, or a header that lies) with nothing left in
the model cache."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.test_gguf import (
    gguf_metadata,
    gguf_tensors,
    read_gguf_header,
    set_tensor_type,
    tiny_llama,
    write_gguf,
)
from yilab.errors import ConversionError
from yilab.models.gguf.convert import convert_gguf


@pytest.fixture
def tiny_file(tmp_path) -> Path:
    """A tiny F32 llama GGUF that converts."""
    model, config = tiny_llama()
    return write_gguf(tmp_path / "tiny.gguf", gguf_tensors(model, config), gguf_metadata(config))


def test_unsupported_architecture_is_named(tmp_path):
    model, config = tiny_llama()
    meta = gguf_metadata(config, arch="gptneox")
    path = write_gguf(tmp_path / "x.gguf", gguf_tensors(model, config), meta)
    with pytest.raises(ConversionError, match="architecture 'gptneox'"):
        convert_gguf(path, tmp_path / "out", dequantize=True)
    assert not (tmp_path / "out").exists()


def test_unsupported_tensor_type_is_named(tiny_file, tmp_path):
    path = tiny_file
    set_tensor_type(path, "blk.0.ffn_up.weight", 9)  # Q8_1: an intermediate type, never stored
    with pytest.raises(ConversionError, match="tensor type Q8_1 .supported: F32, F16, Q4_0"):
        convert_gguf(path, tmp_path / "out", dequantize=True)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 a zip file", b"GGUF\x03\x00"])
def test_a_file_that_is_not_gguf_is_refused(tmp_path, content):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(ConversionError, match="GGUF"):
        convert_gguf(path, tmp_path / "out", dequantize=True)
    assert not (tmp_path / "out").exists()


def damaged_copies(good: Path) -> dict[str, bytes]:
    """The good file truncated at several points, and with a header that lies: an array
    length of 2**40, a tensor dimension of a million, a tensor offset past the end."""
    raw = good.read_bytes()
    cases = {f"cut at {f:.1%}": raw[: int(len(raw) * f)] for f in (0.001, 0.01, 0.3, 0.9, 0.999)}
    key = b"tokenizer.ggml.tokens"
    at = raw.index(key) + len(key) + 8  # value type (u32), array item type (u32), then length
    cases["array length 2**40"] = _patched(raw, at, 2**40)
    name = b"blk.0.ffn_up.weight"
    info = raw.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)  # n_dims, dims…
    cases["dimension 1e6"] = _patched(raw, info + 4, 10**6)
    cases["offset past the end"] = _patched(raw, info + 4 + 16 + 4, 2**40)  # after the type
    return cases


def _patched(raw: bytes, at: int, value: int) -> bytes:
    data = bytearray(raw)
    struct.pack_into("<Q", data, at, value)
    return bytes(data)


def test_damaged_files_are_refused_and_leave_nothing(tiny_file, tmp_path):
    for case, data in damaged_copies(tiny_file).items():
        path = tmp_path / "damaged.gguf"
        path.write_bytes(data)
        out = tmp_path / "models" / "m"
        with pytest.raises(ConversionError, match="truncated or damaged"):
            convert_gguf(path, out, dequantize=True)
        assert not out.parent.exists() or list(out.parent.iterdir()) == [], case


def test_unsupported_reason_says_why_without_reading_tensors(tiny_file, tmp_path):
    from yilab.models.gguf.convert import conversion_problem as unsupported_reason

    assert unsupported_reason(read_gguf_header(tiny_file)) is None
    model, config = tiny_llama()
    path = write_gguf(
        tmp_path / "x.gguf", gguf_tensors(model, config), gguf_metadata(config, arch="gptneox")
    )
    assert "architecture 'gptneox'" in unsupported_reason(read_gguf_header(path))
    set_tensor_type(tiny_file, "blk.0.ffn_up.weight", 9)
    assert "tensor type Q8_1" in unsupported_reason(read_gguf_header(tiny_file))
