"""Import an Ollama model: convert its GGUF blob once and keep, beside the conversion,
what its manifest says that the GGUF does not.

``ollama run`` applies the manifest's template, system and params layers (``stop``,
``temperature``, ``num_ctx``…) on top of the GGUF; yilab runs the GGUF alone. The
layers are recorded in the converted folder's ``ollama.json`` (:data:`OLLAMA_RECORD`),
one entry per Ollama name, since two names can share one blob with different params:

    {"models": {"yi:6b-chat": {"name", "manifest", "model_digest", "layers",
                               "template", "system", "params", "gguf"}}}

Every layer is read and the GGUF's header checked before anything is converted, so a
broken or unsupported model leaves nothing in the model cache; the record is written
atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from yilab.errors import ConversionError, ModelNotFoundError
from yilab.files import OLLAMA_RECORD, read_json, write_atomic
from yilab.i18n import Message
from yilab.models.cache import Progress, convert_cached, folder_lock, gguf_dir
from yilab.models.gguf.summary import summarize_gguf
from yilab.models.ollama import (
    OLLAMA_SYSTEM_LAYER,
    OLLAMA_TEMPLATE_LAYER,
    OllamaModel,
    read_layer_text,
    read_params,
)


def import_ollama(model: OllamaModel, progress: Progress | None = None) -> Path:
    """Convert ``model``'s blob into ``gguf-<digest>`` (once; the same folder a GGUF file
    with these bytes gets) and record its manifest's layers there; returns the folder."""
    record = ollama_record(model)  # raises before any conversion
    problem = summarize_gguf(model.blob).problem
    if problem is not None:
        said = Message("convert.ollama", name=model.name, problem=problem)
        raise ConversionError(said)
    message = Message("progress.converting_ollama", name=model.name)
    folder = convert_cached(model.blob, gguf_dir(model.digest), model.digest, progress, message)
    save_record(folder, record)
    return folder


def ollama_record(model: OllamaModel) -> dict[str, Any]:
    """What ``model``'s manifest says beyond the GGUF, JSON-ready; a missing blob raises
    :class:`ModelNotFoundError`, a broken params layer :class:`ModelLoadError`."""
    if not model.blob.is_file():
        hint = Message("ollama.pull_again", name=model.name)
        said = Message("ollama.blob_missing", name=model.name, path=model.blob, hint=hint)
        raise ModelNotFoundError(said)
    params = read_params(model)
    gguf = summarize_gguf(model.blob)
    return {
        "name": model.name,
        "manifest": str(model.manifest),
        "model_digest": f"sha256:{model.digest}",
        "layers": [
            {"mediaType": x.media_type, "digest": f"sha256:{x.digest}", "size": x.size}
            for x in model.layers
        ],
        "template": read_layer_text(model, OLLAMA_TEMPLATE_LAYER),
        "system": read_layer_text(model, OLLAMA_SYSTEM_LAYER),
        "params": params,
        "gguf": {
            "architecture": gguf.architecture,
            "quantization": gguf.quantization,
            "eos_token": gguf.eos_token,
            "eos_id": gguf.eos_id,
        },
    }


def save_record(folder: Path, record: dict[str, Any]) -> None:
    """Put ``record`` into ``folder/ollama.json`` under its name, keeping other names'
    entries; written atomically, and only when it changed."""
    path = folder / OLLAMA_RECORD
    with folder_lock(folder):
        current = read_json(path)
        models = current.get("models") if isinstance(current, dict) else None
        models = dict(models) if isinstance(models, dict) else {}
        if models.get(record["name"]) == record:
            return
        models[record["name"]] = record
        document = {"models": dict(sorted(models.items()))}
        write_atomic(path, json.dumps(document, indent=1, ensure_ascii=False) + "\n")
