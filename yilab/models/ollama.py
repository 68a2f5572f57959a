"""Ollama's local store: which models are pulled, and what each manifest holds.

A model name (``yi:6b-chat``, ``llama3``, ``someone/tiny:q4``) names a manifest under
``$OLLAMA_MODELS/manifests/<host>/<namespace>/<name>/<tag>``: a JSON document whose
``layers`` name blobs in ``blobs/`` by their sha256. The model layer is a GGUF; the
template, system and params layers hold what ``ollama run`` adds to it (its prompt
template, its default system prompt, its ``PARAMETER`` values such as ``stop``).
Nothing here converts (:mod:`yilab.models.ollama_import` does) or reads a GGUF.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yilab.errors import ModelLoadError, ModelNotFoundError
from yilab.files import read_json
from yilab.i18n import Message

OLLAMA_REGISTRY = "registry.ollama.ai"
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_TEMPLATE_LAYER = "application/vnd.ollama.image.template"
OLLAMA_SYSTEM_LAYER = "application/vnd.ollama.image.system"
OLLAMA_PARAMS_LAYER = "application/vnd.ollama.image.params"
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class OllamaLayer:
    """One layer of a manifest: a blob named by its sha256."""

    media_type: str
    digest: str  # sha256 hex
    size: int
    path: Path  # blobs/sha256-<digest>

    @property
    def kind(self) -> str:
        """``"template"`` for ``application/vnd.ollama.image.template``."""
        return self.media_type.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class OllamaModel:
    """One model in Ollama's store: its manifest, its weights (a GGUF blob), its layers."""

    name: str  # "yi:6b-chat"; "namespace/name:tag" outside the library namespace
    manifest: Path
    blob: Path  # the model layer's blob
    digest: str  # sha256 hex of the blob
    size_bytes: int
    quantization: str | None  # Ollama's file_type, e.g. "Q4_0"
    layers: tuple[OllamaLayer, ...]

    def layer(self, media_type: str) -> OllamaLayer | None:
        """The first layer of this media type, if the manifest has one."""
        return next((x for x in self.layers if x.media_type == media_type), None)


@dataclass(frozen=True)
class UnusableManifest:
    """A manifest in the store that names no usable model, and why."""

    name: str
    manifest: Path
    problem: str


def ollama_models_dir() -> Path:
    """``$OLLAMA_MODELS`` or ``~/.ollama/models``."""
    return Path(os.environ.get("OLLAMA_MODELS") or "~/.ollama/models").expanduser()


def find_ollama_model(spec: str) -> OllamaModel | None:
    """``yi:6b-chat``, ``llama3`` (tag latest) or ``ns/name:tag`` → its manifest, if pulled.
    A manifest that is there but broken raises :class:`ModelLoadError`."""
    name, _, tag = spec.partition(":")
    parts = name.split("/")
    if len(parts) > 3 or any(p in ("", ".", "..") for p in parts) or "/" in tag or tag == "..":
        return None
    parts = [OLLAMA_REGISTRY, "library"][: 3 - len(parts)] + parts
    manifest = ollama_models_dir().joinpath("manifests", *parts, tag or "latest")
    return read_manifest(manifest) if manifest.is_file() else None


def scan_ollama_store() -> list[OllamaModel | UnusableManifest]:
    """Every manifest in Ollama's store, usable or not, sorted by path."""
    root = ollama_models_dir() / "manifests"
    found: list[OllamaModel | UnusableManifest] = []
    for manifest in sorted(m for m in root.glob("*/*/*/*") if m.is_file()):
        try:
            found.append(read_manifest(manifest))
        except ModelLoadError as err:
            found.append(UnusableManifest(model_name(manifest), manifest, err.message))
    return found


def ollama_models() -> list[OllamaModel]:
    """Every model with a usable manifest in Ollama's store."""
    return [m for m in scan_ollama_store() if isinstance(m, OllamaModel)]


def missing_ollama_message(spec: str) -> str:
    """Say which Ollama models exist when the one asked for does not."""
    names = ", ".join(m.name for m in ollama_models()) or Message("ollama.none")
    return Message("ollama.not_pulled", spec=repr(spec), folder=ollama_models_dir(), names=names)


def model_name(manifest: Path) -> str:
    """``manifests/registry.ollama.ai/library/yi/6b-chat`` → ``yi:6b-chat``."""
    host, ns, name, tag = manifest.parts[-4:]
    prefix = "" if host == OLLAMA_REGISTRY and ns == "library" else f"{ns}/"
    prefix = prefix if host == OLLAMA_REGISTRY else f"{host}/{prefix}"
    return f"{prefix}{name}:{tag}"


def read_manifest(manifest: Path) -> OllamaModel:
    """One manifest (``manifests/<host>/<ns>/<name>/<tag>``) and its layers; raises
    :class:`ModelLoadError` for one that is not JSON, has no layers or no model layer."""
    name = model_name(manifest)
    where = Message("ollama.manifest", name=name, manifest=manifest)
    data = _parse_json(manifest, where, _pull_again(name))
    layers = data.get("layers") if isinstance(data, dict) else None
    if not isinstance(layers, list):
        raise ModelLoadError(Message("ollama.no_layers", where=where, hint=_pull_again(name)))
    parsed = tuple(_layer(entry, i, where, name) for i, entry in enumerate(layers))
    weights = next((x for x in parsed if x.media_type == OLLAMA_MODEL_LAYER), None)
    if weights is None:
        raise ModelLoadError(
            Message("ollama.no_model_layer", where=where, layer=OLLAMA_MODEL_LAYER)
        )
    config = data.get("config")
    digest = _DIGEST.fullmatch(str(config.get("digest", ""))) if isinstance(config, dict) else None
    config_data = read_json(_blob(digest.group(1))) if digest else None
    quantization = config_data.get("file_type") if isinstance(config_data, dict) else None
    return OllamaModel(
        name=name,
        manifest=manifest,
        blob=weights.path,
        digest=weights.digest,
        size_bytes=weights.size,
        quantization=quantization if isinstance(quantization, str) else None,
        layers=parsed,
    )


def read_layer_text(model: OllamaModel, media_type: str) -> str | None:
    """The text of a layer (the template, the system prompt), None if there is no such
    layer; a layer whose blob is missing raises :class:`ModelNotFoundError`."""
    layer = model.layer(media_type)
    if layer is None:
        return None
    try:
        return layer.path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        said = Message(
            "ollama.layer_blob_missing",
            name=model.name,
            kind=layer.kind,
            path=layer.path,
            hint=_pull_again(model.name),
        )
        raise ModelNotFoundError(said) from None
    except (OSError, UnicodeDecodeError) as err:
        said = Message(
            "ollama.layer_unreadable",
            name=model.name,
            kind=layer.kind,
            path=layer.path,
            error=str(err),
        )
        raise ModelLoadError(said) from err


def read_params(model: OllamaModel) -> dict[str, Any]:
    """The params layer (``{"stop": [...], "temperature": 0.7, ...}``), ``{}`` without one;
    raises :class:`ModelLoadError` when it is not a JSON object or ``stop`` is not a
    list of strings (a lone string is taken as a list of one)."""
    text = read_layer_text(model, OLLAMA_PARAMS_LAYER)
    if text is None:
        return {}
    layer = model.layer(OLLAMA_PARAMS_LAYER)
    where = Message("ollama.params", name=model.name, path=layer.path)
    try:
        params = json.loads(text)
    except ValueError as err:
        hint = _pull_again(model.name)
        raise ModelLoadError(
            Message("ollama.not_json", where=where, error=str(err), hint=hint)
        ) from err
    if not isinstance(params, dict):
        said = Message("ollama.not_object", where=where, type=type(params).__name__)
        raise ModelLoadError(said)
    stop = params.get("stop", [])
    stop = [stop] if isinstance(stop, str) else stop
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise ModelLoadError(Message("ollama.bad_stop", where=where, stop=repr(stop)))
    return {**params, "stop": stop} if "stop" in params else params


def _parse_json(path: Path, where: str, hint: str) -> Any:
    """A JSON file's content; unreadable or not JSON raises :class:`ModelLoadError`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        said = Message("ollama.unreadable", where=where, error=str(err), hint=hint)
        raise ModelLoadError(said) from err
    except ValueError as err:
        said = Message("ollama.not_json", where=where, error=str(err), hint=hint)
        raise ModelLoadError(said) from err


def _layer(entry: Any, index: int, where: str, name: str) -> OllamaLayer:
    """One entry of ``layers``: a media type and a ``sha256:<64 hex>`` digest (the digest
    becomes a file name, so nothing else is accepted)."""
    media_type = entry.get("mediaType") if isinstance(entry, dict) else None
    match = _DIGEST.fullmatch(str(entry.get("digest", ""))) if isinstance(entry, dict) else None
    if not isinstance(media_type, str) or match is None:
        raise ModelLoadError(
            Message("ollama.bad_layer", where=where, index=index, hint=_pull_again(name))
        )
    size = entry.get("size")
    digest = match.group(1)
    return OllamaLayer(media_type, digest, size if isinstance(size, int) else 0, _blob(digest))


def _blob(digest: str) -> Path:
    return ollama_models_dir() / "blobs" / f"sha256-{digest}"


def _pull_again(name: str) -> str:
    return Message("ollama.pull_again", name=name)
