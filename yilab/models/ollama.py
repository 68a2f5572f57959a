"""Ollama's local store: which models are pulled, and the GGUF blob behind each.

A model name (``yi:6b-chat``, ``llama3``, ``someone/tiny:q4``) names a manifest under
``$OLLAMA_MODELS/manifests/<host>/<namespace>/<name>/<tag>``; its model layer is a GGUF
blob in ``blobs/``. Nothing here converts: ``yilab.models.resolve`` does that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from yilab.files import read_json

OLLAMA_REGISTRY = "registry.ollama.ai"
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"


@dataclass(frozen=True)
class OllamaModel:
    """One model in Ollama's store: its manifest's weights layer, a GGUF blob."""

    name: str  # "yi:6b-chat"; "namespace/name:tag" outside the library namespace
    blob: Path
    digest: str  # sha256 hex of the blob
    size_bytes: int
    quantization: str | None  # Ollama's file_type, e.g. "Q4_0"


def ollama_models_dir() -> Path:
    """``$OLLAMA_MODELS`` or ``~/.ollama/models``."""
    return Path(os.environ.get("OLLAMA_MODELS") or "~/.ollama/models").expanduser()


def find_ollama_model(spec: str) -> OllamaModel | None:
    """``yi:6b-chat``, ``llama3`` (tag latest) or ``ns/name:tag`` → its manifest, if pulled."""
    name, _, tag = spec.partition(":")
    parts = name.split("/")
    if len(parts) > 3 or any(p in ("", ".", "..") for p in parts) or "/" in tag or tag == "..":
        return None
    parts = [OLLAMA_REGISTRY, "library"][: 3 - len(parts)] + parts
    manifest = ollama_models_dir().joinpath("manifests", *parts, tag or "latest")
    return _read_manifest(manifest) if manifest.is_file() else None


def ollama_models() -> list[OllamaModel]:
    """Every model with a manifest in Ollama's store."""
    root = ollama_models_dir() / "manifests"
    found = (_read_manifest(m) for m in sorted(root.glob("*/*/*/*")) if m.is_file())
    return [m for m in found if m is not None]


def missing_ollama_message(spec: str) -> str:
    """Say which Ollama models exist when the one asked for does not."""
    names = ", ".join(m.name for m in ollama_models()) or "none"
    return f"no Ollama model {spec!r} in {ollama_models_dir()} (Ollama models there: {names})"


def _read_manifest(manifest: Path) -> OllamaModel | None:
    """The weights layer of one manifest (``manifests/<host>/<ns>/<name>/<tag>``)."""
    data = read_json(manifest) or {}
    layers = [x for x in data.get("layers", []) if x.get("mediaType") == OLLAMA_MODEL_LAYER]
    if not layers or not str(layers[0].get("digest", "")).startswith("sha256:"):
        return None
    host, ns, name, tag = manifest.parts[-4:]
    prefix = "" if host == OLLAMA_REGISTRY and ns == "library" else f"{ns}/"
    prefix = prefix if host == OLLAMA_REGISTRY else f"{host}/{prefix}"
    blobs = ollama_models_dir() / "blobs"
    config = read_json(blobs / str(data.get("config", {}).get("digest", "")).replace(":", "-"))
    digest = layers[0]["digest"].split(":", 1)[1]
    return OllamaModel(
        name=f"{prefix}{name}:{tag}",
        blob=blobs / f"sha256-{digest}",
        digest=digest,
        size_bytes=int(layers[0].get("size", 0)),
        quantization=(config or {}).get("file_type"),
    )
