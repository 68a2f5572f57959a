"""Model specs → local mlx-lm model directories: the one resolver yilab uses everywhere.

A spec is nothing (the default model), a local mlx-lm folder, a ``.gguf`` file, a name from
``python -m yilab models``, an Ollama model (``yi:6b-chat``) or a Hugging Face repo id
(``org/name``). GGUF files and Ollama blobs are converted once into ``$YILAB_HOME/models``.
Finding Ollama blobs is ``yilab.models.ollama``'s job, importing them (with their manifest's
template and params) ``yilab.models.ollama_import``'s; the Hugging Face cache is ``yilab.models.hf``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yilab.errors import ModelNotFoundError
from yilab.i18n import Message
from yilab.models.cache import (
    DEFAULT_MODEL,
    Progress,
    conversion_mode,
    convert_cached,
    default_gguf_path,
    dequantize_now,
    gguf_dir,
    gguf_sha256,
    models_dir,
    ready_dir,
)
from yilab.models.hf import HF_REPO_ID, hf_snapshot
from yilab.models.listing import list_models
from yilab.models.ollama import find_ollama_model, missing_ollama_message
from yilab.models.ollama_import import import_ollama
from yilab.remote.config import find_remote, not_visible_message


@dataclass(frozen=True)
class ResolvedModel:
    """A model spec resolved to a local mlx-lm directory (``config.json`` inside)."""

    name: str  # display name: "smollm2-135m-instruct", a dir's name, "yi:6b-chat", "org/repo"
    path: Path
    source: str  # "default" | "local" | "gguf" | "ollama" | "huggingface" | "converted"
    spec: str  # what the user typed


def resolve_model(
    spec: str | None, *, progress: Progress | None = None, allow_download: bool = True
) -> ResolvedModel:
    """Turn a model spec into a local mlx-lm directory, converting or downloading once.

    ``resolve_model("yi:6b-chat").path`` is, after its first use,
    ``~/.cache/yilab/models/gguf-1a2b3c4d5e6f7a8b`` (the Ollama blob's digest).
    """
    spec = (spec or "").strip()
    if spec in ("", DEFAULT_MODEL):
        return ResolvedModel(DEFAULT_MODEL, _default_model_dir(progress), "default", spec)
    path = Path(spec).expanduser()
    if path.exists():
        return _resolve_path(path, spec, progress)
    _refuse_remote(spec)
    converted = models_dir() / spec
    if "/" not in spec and conversion_mode(converted) is not None:
        return ResolvedModel(spec, converted, "converted", spec)
    ollama = find_ollama_model(spec)
    if ollama is not None:
        return ResolvedModel(ollama.name, import_ollama(ollama, progress), "ollama", spec)
    if spec.startswith(("/", "~", ".")) or spec.endswith(".gguf"):
        raise ModelNotFoundError(Message("models.no_such_path", path=path))
    if ":" in spec:
        raise ModelNotFoundError(missing_ollama_message(spec))
    if HF_REPO_ID.fullmatch(spec):
        path = hf_snapshot(spec, progress=progress, allow_download=allow_download)
        return ResolvedModel(spec, path, "huggingface", spec)
    message = _unknown_spec_message(spec)
    raise ModelNotFoundError(message, key=message.key, **message.values)


def _refuse_remote(spec: str) -> None:
    """A remote model has no local folder: say so, rather than "unknown model"."""
    remote = find_remote(spec)
    if remote is not None:
        raise ModelNotFoundError(not_visible_message(remote))


def _resolve_path(path: Path, spec: str, progress: Progress | None) -> ResolvedModel:
    """An existing folder (mlx-lm) or file (GGUF); ``..`` is resolved before use."""
    path = path.resolve() if ".." in path.parts else path.absolute()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(Message("models.no_config", path=path))
        return ResolvedModel(path.name, path, "local", spec)
    if not _is_gguf(path):
        raise ModelNotFoundError(Message("models.not_a_model", path=path))
    digest = gguf_sha256(path, progress)
    message = Message("progress.converting", name=path.name)
    out = convert_cached(path, gguf_dir(digest), digest, progress, message)
    return ResolvedModel(path.name, out, "gguf", spec)


def _is_gguf(path: Path) -> bool:
    """A ``.gguf`` name or the GGUF magic bytes."""
    if path.suffix.lower() == ".gguf":
        return True
    with open(path, "rb") as f:
        return f.read(4) == b"GGUF"


def _default_model_dir(progress: Progress | None) -> Path:
    """The converted default model, converting it on first use."""
    base = models_dir() / DEFAULT_MODEL
    ready = ready_dir(base, dequantize_now())
    if ready is not None:
        return ready
    gguf = default_gguf_path()
    message = Message("progress.converting", name="SmolLM2-135M-Instruct")
    return convert_cached(gguf, base, gguf_sha256(gguf, progress), progress, message)


def _unknown_spec_message(spec: str) -> Message:
    """What a model spec may be, and which models are here."""
    known = ", ".join(m["name"] for m in list_models()) or Message("errors.no_models_yet")
    return Message("errors.unknown_model", spec=repr(spec), known=known)


# --- small helpers -----------------------------------------------------------------------
