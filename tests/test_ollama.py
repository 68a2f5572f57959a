"""Ollama's store: manifests → GGUF blobs and the layers beside them (template, system,
params), the model list, importing (a real conversion of tiny GGUFs) and broken stores.

The store is laid out under tmp_path (``$OLLAMA_MODELS``, set by the autouse fixture) with
the shapes of real manifests: ``schemaVersion``, ``mediaType``, ``config`` and ``layers``
(``mediaType``, ``digest``, ``size``), every digest naming a blob in ``blobs/``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mlx.core as mx
import pytest

from tests.test_gguf import gguf_metadata, gguf_tensors, set_tensor_type, tiny_llama, write_gguf
from tests.tinymodel import CHATML_TEMPLATE
from yilab.cli.main import main
from yilab.errors import ConversionError, ModelLoadError, ModelNotFoundError
from yilab.files import OLLAMA_RECORD
from yilab.models.cache import models_dir
from yilab.models.listing import list_models
from yilab.models.ollama import find_ollama_model, ollama_models
from yilab.models.resolve import resolve_model

MEDIA = "application/vnd.ollama.image."
# What `ollama show --modelfile yi:6b-chat` shows: a ChatML Go template and two stops.
YI_TEMPLATE = (
    "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)
YI_PARAMS = {"stop": ["<|im_start|>", "<|im_end|>"]}
IM_END = 2  # the tiny GGUF vocabulary: <|endoftext|> 0, <|im_start|> 1, <|im_end|> 2
# Scaling <|im_end|>'s (tied) embedding row by this makes greedy decoding write it after
# 15 tokens of "What is the capital of France?" (checked: -1.5 never does, -2.5 at once).
IM_END_SCALE = -2.0


def put_blob(root: Path, data: bytes) -> str:
    """Store ``data`` as Ollama does, under its sha256; returns the hex digest."""
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / f"sha256-{digest}").write_bytes(data)
    return digest


def write_ollama_model(
    root: Path,
    blob_bytes: bytes,
    *,
    ns: str = "library",
    name: str = "yi",
    tag: str = "6b-chat",
    template: str | bytes | None = "{{ .Prompt }}",
    system: str | bytes | None = None,
    params: dict | bytes | None = None,
) -> str:
    """Lay out Ollama's store: a manifest naming a model layer, a config blob and a
    template/system/params layer for each one given; returns the model blob's digest."""
    digest = put_blob(root, blob_bytes)
    layers = [{"mediaType": MEDIA + "model", "digest": f"sha256:{digest}", "size": len(blob_bytes)}]
    for kind, content in (("template", template), ("system", system), ("params", params)):
        if content is None:
            continue
        data = json.dumps(content).encode() if isinstance(content, dict) else content
        data = data.encode() if isinstance(data, str) else data
        layers.append(
            {
                "mediaType": MEDIA + kind,
                "digest": f"sha256:{put_blob(root, data)}",
                "size": len(data),
            }
        )
    config = json.dumps({"model_format": "gguf", "file_type": "Q4_0"}).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": f"sha256:{put_blob(root, config)}",
            "size": len(config),
        },
        "layers": layers,
    }
    path = root / "manifests" / "registry.ollama.ai" / ns / name / tag
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest))
    return digest


def yi_gguf(path: Path, *, chat_template: bool = True, **meta_overrides) -> Path:
    """A tiny llama GGUF with Yi's mistake: its eos is ``<|endoftext|>`` (id 0) while its
    ChatML template ends turns with ``<|im_end|>``, which it writes when greedy."""
    model, config = tiny_llama()
    tensors = gguf_tensors(model, config)
    embed = tensors["token_embd.weight"]
    rows = [embed[:IM_END], embed[IM_END : IM_END + 1] * IM_END_SCALE, embed[IM_END + 1 :]]
    tensors["token_embd.weight"] = mx.concatenate(rows)
    tokenizer = {"tokenizer.ggml.eos_token_id": 0, "tokenizer.chat_template": CHATML_TEMPLATE}
    meta = gguf_metadata(config, **tokenizer, **meta_overrides)
    if not chat_template:
        del meta["tokenizer.chat_template"]
    return write_gguf(path, tensors, meta)


def write_yi(root: Path, tmp_path: Path, **kwargs) -> str:
    """The Yi story's Ollama model ``yi:6b-chat``: the tiny Yi GGUF, Ollama's template and stops."""
    gguf = yi_gguf(tmp_path / "gguf" / "yi.gguf")
    kwargs = {"template": YI_TEMPLATE, "params": YI_PARAMS, **kwargs}
    return write_ollama_model(root, gguf.read_bytes(), **kwargs)


def cli_json(capsys, *args):
    status = main([*args, "--json"])
    out, err = capsys.readouterr()
    return status, json.loads(out), err


def cache_entries() -> list[str]:
    """What the model cache holds (nothing at all when it was never created)."""
    root = models_dir()
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


@pytest.fixture
def ollama_root(tmp_path):
    return tmp_path / "ollama"  # what the autouse fixture set OLLAMA_MODELS to


# --- the store -------------------------------------------------------------------------------


def test_ollama_manifest_to_blob_and_layers(ollama_root):
    digest = write_ollama_model(ollama_root, b"GGUF ollama weights", params=YI_PARAMS)
    found = find_ollama_model("yi:6b-chat")
    assert found.blob == ollama_root / "blobs" / f"sha256-{digest}"
    assert (found.name, found.digest, found.quantization) == ("yi:6b-chat", digest, "Q4_0")
    assert [x.kind for x in found.layers] == ["model", "template", "params"]
    assert found.layer(MEDIA + "params").path.read_bytes() == json.dumps(YI_PARAMS).encode()
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


# --- the model list --------------------------------------------------------------------------


@pytest.fixture
def mixed_store(ollama_root, tmp_path):
    """One model of each kind yilab meets in an Ollama store."""
    write_yi(ollama_root, tmp_path)
    model, config = tiny_llama()
    tensors = gguf_tensors(model, config)
    neox = write_gguf(tmp_path / "g" / "neox.gguf", tensors, gguf_metadata(config, arch="gptneox"))
    write_ollama_model(ollama_root, neox.read_bytes(), name="neox", tag="latest")
    meta = gguf_metadata(config, **{"general.file_type": 15})  # Q4_K_M
    kquant = write_gguf(tmp_path / "g" / "k.gguf", tensors, meta)
    set_tensor_type(kquant, "blk.0.ffn_up.weight", 12)  # Q4_K
    write_ollama_model(ollama_root, kquant.read_bytes(), name="kquant", tag="q4_K_M")
    odd = write_gguf(tmp_path / "g" / "odd.gguf", tensors, gguf_metadata(config))
    set_tensor_type(odd, "blk.0.ffn_up.weight", 9)  # Q8_1: never stored in a real file
    write_ollama_model(ollama_root, odd.read_bytes(), name="odd", tag="latest")
    digest = write_ollama_model(ollama_root, b"GGUF gone", name="gone", tag="latest")
    (ollama_root / "blobs" / f"sha256-{digest}").unlink()
    broken = ollama_root / "manifests" / "registry.ollama.ai" / "library" / "broken" / "latest"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    return ollama_root


def test_models_lists_every_ollama_model_with_architecture_quantization_and_why_not(
    mixed_store, service
):
    listed = {m["name"]: m for m in service.list_models() if m["source"] == "ollama"}
    assert sorted(listed) == [
        "broken:latest",
        "gone:latest",
        "kquant:q4_K_M",
        "neox:latest",
        "odd:latest",
        "yi:6b-chat",
    ]
    for entry in listed.values():
        assert {"architecture", "convertible", "unsupported_reason", "quantization"} <= set(entry)
    yi = listed["yi:6b-chat"]
    assert (yi["architecture"], yi["quantization"], yi["convertible"]) == ("llama", "F32", True)
    assert yi["unsupported_reason"] is None and yi["path"] is None
    neox = listed["neox:latest"]
    assert (neox["architecture"], neox["convertible"]) == ("gptneox", False)
    assert neox["unsupported_reason"].startswith(
        "unsupported GGUF architecture 'gptneox' (supported: llama, qwen2"
    )
    kquant = listed["kquant:q4_K_M"]
    assert (kquant["architecture"], kquant["quantization"]) == ("llama", "Q4_K_M")
    assert (kquant["convertible"], kquant["unsupported_reason"]) == (True, None)
    odd = listed["odd:latest"]
    assert odd["unsupported_reason"].startswith("unsupported GGUF tensor type Q8_1 (supported:")
    assert "Q4_K" in odd["unsupported_reason"] and "MXFP4" in odd["unsupported_reason"]
    assert listed["gone:latest"]["convertible"] is False
    assert "is missing" in listed["gone:latest"]["unsupported_reason"]
    broken = listed["broken:latest"]
    assert broken["convertible"] is False and "is not JSON" in broken["unsupported_reason"]
    assert "ollama pull broken:latest" in broken["unsupported_reason"]


def test_models_cli_prints_and_json_lists_the_ollama_store(mixed_store, capsys):
    status, models, _ = cli_json(capsys, "models")
    assert status == 0
    by_name = {m["name"]: m for m in models}
    assert by_name["neox:latest"]["convertible"] is False
    assert by_name["yi:6b-chat"]["architecture"] == "llama"
    assert main(["models"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["yi:6b-chat"].split()[1:5] == ["ollama", "llama", "F32", "(converted"]
    assert "(cannot convert: unsupported GGUF architecture 'gptneox'" in lines["neox:latest"]
    assert "(cannot convert: unsupported GGUF tensor type Q8_1" in lines["odd:latest"]
    assert lines["kquant:q4_K_M"].split()[1:5] == ["ollama", "llama", "Q4_K_M", "(converted"]


# --- importing keeps what the manifest says ---------------------------------------------------


def test_import_records_template_system_and_params_beside_the_conversion(ollama_root, tmp_path):
    digest = write_yi(ollama_root, tmp_path, system="You are Yi.")
    resolved = resolve_model("yi:6b-chat")
    assert (resolved.name, resolved.source) == ("yi:6b-chat", "ollama")
    assert resolved.path.name.startswith(f"gguf-{digest[:16]}")
    record = json.loads((resolved.path / OLLAMA_RECORD).read_text())["models"]["yi:6b-chat"]
    assert record["template"] == YI_TEMPLATE and record["system"] == "You are Yi."
    assert record["params"] == YI_PARAMS
    assert record["gguf"] == {
        "architecture": "llama",
        "quantization": "F32",
        "eos_token": "<|endoftext|>",
        "eos_id": 0,
    }
    assert record["model_digest"] == f"sha256:{digest}"
    assert [x["mediaType"] for x in record["layers"]] == [
        MEDIA + "model",
        MEDIA + "template",
        MEDIA + "system",
        MEDIA + "params",
    ]
    listed = {m["name"]: m for m in list_models()}
    assert listed["yi:6b-chat"]["path"] == str(resolved.path)
    assert listed["yi:6b-chat"]["convertible"] is True


def test_two_names_sharing_a_blob_keep_their_own_params(ollama_root, tmp_path):
    write_yi(ollama_root, tmp_path)
    gguf = (tmp_path / "gguf" / "yi.gguf").read_bytes()
    params = {"stop": ["<|im_end|>"], "temperature": 0.3, "num_ctx": 2048}
    write_ollama_model(ollama_root, gguf, name="myyi", tag="latest", params=params)
    first, second = resolve_model("yi:6b-chat"), resolve_model("myyi")
    assert first.path == second.path  # converted once
    records = json.loads((first.path / OLLAMA_RECORD).read_text())["models"]
    assert records["yi:6b-chat"]["params"] == YI_PARAMS
    assert records["myyi:latest"]["params"] == params
    stamp = (first.path / OLLAMA_RECORD).stat().st_mtime_ns
    resolve_model("yi:6b-chat")
    assert (first.path / OLLAMA_RECORD).stat().st_mtime_ns == stamp  # unchanged: not rewritten


# --- a broken store: a clear error, nothing in the model cache --------------------------------


def _break_manifest(root: Path, tmp_path: Path) -> None:
    write_yi(root, tmp_path)
    (root / "manifests" / "registry.ollama.ai" / "library" / "yi" / "6b-chat").write_text("{oops")


def _drop_model_blob(root: Path, tmp_path: Path) -> None:
    digest = write_yi(root, tmp_path)
    (root / "blobs" / f"sha256-{digest}").unlink()


def _drop_template_blob(root: Path, tmp_path: Path) -> None:
    write_yi(root, tmp_path)
    (root / "blobs" / f"sha256-{hashlib.sha256(YI_TEMPLATE.encode()).hexdigest()}").unlink()


def _escape_through_a_digest(root: Path, tmp_path: Path) -> None:
    write_yi(root, tmp_path)
    path = root / "manifests" / "registry.ollama.ai" / "library" / "yi" / "6b-chat"
    manifest = json.loads(path.read_text())
    manifest["layers"][1]["digest"] = "sha256:../../../../etc/passwd"
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "breakage, error, message",
    [
        (
            _break_manifest,
            ModelLoadError,
            r"manifest .*6b-chat is not JSON .*ollama pull yi:6b-chat",
        ),
        (
            _drop_model_blob,
            ModelNotFoundError,
            r"yi:6b-chat: blob .*sha256-[0-9a-f]{64} is missing",
        ),
        (_drop_template_blob, ModelNotFoundError, r"its template layer's blob .* is missing"),
        (_escape_through_a_digest, ModelLoadError, r"layer 1 has no media type or sha256 digest"),
        (
            lambda root, tmp: write_yi(root, tmp, params=b"stop <|im_end|>"),
            ModelLoadError,
            r"its params layer .*sha256-[0-9a-f]{64} is not JSON",
        ),
        (
            lambda root, tmp: write_yi(root, tmp, params=b'["<|im_end|>"]'),
            ModelLoadError,
            r"params layer .* holds a JSON list, not an object",
        ),
        (
            lambda root, tmp: write_yi(root, tmp, params={"stop": [7]}),
            ModelLoadError,
            r"'stop' is \[7\], expected a list of strings",
        ),
    ],
)
def test_a_broken_ollama_model_is_a_clear_error_and_leaves_the_cache_empty(
    ollama_root, tmp_path, capsys, breakage, error, message
):
    breakage(ollama_root, tmp_path)
    with pytest.raises(error, match=message):
        resolve_model("yi:6b-chat")
    assert cache_entries() == []
    status, doc, _ = cli_json(capsys, "inspect", "yi:6b-chat")
    assert status == 2 and set(doc) == {"error"} and "yi:6b-chat" in doc["error"]
    assert cache_entries() == []


def test_a_model_yilab_cannot_convert_is_refused_before_converting(ollama_root, tmp_path):
    model, config = tiny_llama()
    neox = write_gguf(
        tmp_path / "neox.gguf", gguf_tensors(model, config), gguf_metadata(config, arch="gptneox")
    )
    write_ollama_model(ollama_root, neox.read_bytes(), name="neox", tag="latest")
    with pytest.raises(
        ConversionError,
        match=r"Ollama model neox:latest cannot be converted: unsupported GGUF architecture 'gptneox'",
    ):
        resolve_model("neox")
    assert cache_entries() == []
