"""Where yilab keeps things, and how it reads and writes files there.

Its home (converted models, caches, spills) and the default run log; one atomic write
(a temporary file, fsync, rename) for everything yilab writes in place; lenient JSON
reads; the fingerprint of a model folder's config and tokenizer files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_DB = "experiments.db"
# beside a model converted from Ollama: what its manifest said (template, params, system),
# written by yilab.models and read by the inspector
OLLAMA_RECORD = "ollama.json"
# the files that decide how a model tokenizes, templates and stops (weights excluded)
FINGERPRINT_GLOBS = (
    "config.json",
    "tokenizer*.json",
    "generation_config.json",
    "special_tokens_map.json",
    "chat_template.*",
    "additional_chat_templates/*.jinja",
)


def yilab_home() -> Path:
    """``$YILAB_HOME`` or ``~/.cache/yilab``: converted models live under ``models/``."""
    return Path(os.environ.get("YILAB_HOME") or Path.home() / ".cache" / "yilab").expanduser()


def default_db_path() -> Path:
    """``$YILAB_DB`` or ``./experiments.db``."""
    return Path(os.environ.get("YILAB_DB") or DEFAULT_DB)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8, line ends kept) to a temporary file beside ``path``,
    sync it, then rename it over ``path``: readers never see half a file, and a crash
    leaves the old one. The file keeps its permissions (new files get 0644).

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "a.txt", "héllo"); (folder / "a.txt").read_text()
    'héllo'
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """A JSON file's content, or None if it is missing or does not parse.

    >>> read_json(Path("no/such/file.json")) is None
    True
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON atomically (see :func:`write_atomic`), making the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=1))


def model_fingerprint(path: Path) -> str:
    """A 16-hex digest of a model folder's config and tokenizer files (weights excluded):
    the worker keys loaded models by it and every run logs it.

    >>> model_fingerprint(Path("no/such/folder"))  # no files: the digest of nothing
    'e3b0c44298fc1c14'
    """
    path = Path(path)
    names = {f.relative_to(path).as_posix() for g in FINGERPRINT_GLOBS for f in path.glob(g)}
    names = {n for n in names if (path / n).is_file()}
    digest = hashlib.sha256()
    for name in sorted(names):
        data = (path / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()[:16]
