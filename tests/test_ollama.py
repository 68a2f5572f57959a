"""Ollama's store: manifests → GGUF blobs. The store is laid out under tmp_path
(``$OLLAMA_MODELS``, set by the autouse fixture); nothing here converts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from yilab.errors import ModelNotFoundError
from yilab.models.ollama import find_ollama_model, ollama_models
from yilab.models.resolve import resolve_model


def write_ollama_model(root: Path, blob_bytes: bytes, *, ns="library", name="yi", tag="6b-chat"):
    """Lay out Ollama's store: a manifest naming a model layer and a config blob."""
    digest = hashlib.sha256(blob_bytes).hexdigest()
    config = json.dumps({"model_format": "gguf", "file_type": "Q4_0"}).encode()
    config_digest = hashlib.sha256(config).hexdigest()
    blobs = root / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    (blobs / f"sha256-{digest}").write_bytes(blob_bytes)
    (blobs / f"sha256-{config_digest}").write_bytes(config)
    manifest = root / "manifests" / "registry.ollama.ai" / ns / name / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    layers = [
        {
            "mediaType": "application/vnd.ollama.image.model",
            "digest": f"sha256:{digest}",
            "size": len(blob_bytes),
        },
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:00", "size": 1},
    ]
    config_layer = {
        "mediaType": "application/vnd.docker.container.image.v1+json",
        "digest": f"sha256:{config_digest}",
        "size": len(config),
    }
    manifest.write_text(json.dumps({"schemaVersion": 2, "config": config_layer, "layers": layers}))
    return digest


@pytest.fixture
def ollama_root(tmp_path):
    return tmp_path / "ollama"  # what the autouse fixture set OLLAMA_MODELS to


def test_ollama_manifest_to_blob(ollama_root):
    digest = write_ollama_model(ollama_root, b"GGUF ollama weights")
    found = find_ollama_model("yi:6b-chat")
    assert found.blob == ollama_root / "blobs" / f"sha256-{digest}"
    assert (found.name, found.digest, found.quantization) == ("yi:6b-chat", digest, "Q4_0")
    assert find_ollama_model("library/yi:6b-chat") == found
    assert find_ollama_model("yi:34b") is None
    assert find_ollama_model("../yi:6b-chat") is None


def test_ollama_latest_and_namespace(ollama_root):
    write_ollama_model(ollama_root, b"GGUF a", name="llama3", tag="latest")
    write_ollama_model(ollama_root, b"GGUF b", ns="someone", name="tiny", tag="q4")
    assert find_ollama_model("llama3").name == "llama3:latest"
    assert find_ollama_model("someone/tiny:q4").name == "someone/tiny:q4"
    names = [m.name for m in ollama_models()]
    assert names == ["llama3:latest", "someone/tiny:q4"]


def test_missing_ollama_model_lists_what_exists(ollama_root):
    write_ollama_model(ollama_root, b"GGUF x")
    with pytest.raises(ModelNotFoundError, match=r"no Ollama model 'yi:34b'.*yi:6b-chat"):
        resolve_model("yi:34b")
