"""What a GGUF file is, from its header alone: its architecture, what it is quantized to,
and whether yilab converts it (the converter itself is asked, so the answer and the reason
are the ones a conversion would give). Cheap enough for a model list: no tensor is read,
and a file's answer is kept until its size or modification time changes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from yilab.errors import ConversionError
from yilab.i18n import Message
from yilab.models.gguf.convert import conversion_problem
from yilab.models.gguf.reader import read_gguf_header


@dataclass(frozen=True)
class GGUFSummary:
    """One GGUF file at a glance; ``problem`` says why it cannot be converted (None: it can)."""

    architecture: str | None
    quantization: str | None
    problem: str | None
    eos_token: str | None = None
    eos_id: int | None = None

    @property
    def convertible(self) -> bool:
        return self.problem is None


def summarize_gguf(path: Path) -> GGUFSummary:
    """Read ``path``'s header and ask the converter about it; a missing or unreadable file
    is a summary with a problem, never an exception.

    >>> summarize_gguf(Path("no/such/blob")).problem
    'the file no/such/blob is missing'
    """
    try:
        stat = Path(path).stat()
    except OSError:
        return GGUFSummary(None, None, Message("convert.file_missing", path=path))
    return _summarize(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _summarize(path: str, size: int, mtime_ns: int) -> GGUFSummary:
    """The summary of one version of a file (``size`` and ``mtime_ns`` key the cache)."""
    try:
        header = read_gguf_header(path)
    except ConversionError as err:
        return GGUFSummary(None, None, err.message)
    meta = header.metadata
    arch = meta.get("general.architecture")
    eos_id = meta.get("tokenizer.ggml.eos_token_id")
    tokens = meta.get("tokenizer.ggml.tokens") or []
    eos_ok = isinstance(eos_id, int) and 0 <= eos_id < len(tokens)
    return GGUFSummary(
        architecture=arch if isinstance(arch, str) else None,
        quantization=header.quantization,
        problem=conversion_problem(header),
        eos_token=tokens[eos_id] if eos_ok else None,
        eos_id=eos_id if isinstance(eos_id, int) else None,
    )
