"""The Hugging Face cache, offline: HF_HUB_OFFLINE=1, and caches are laid out by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from yilab.errors import ModelNotFoundError, OfflineError
from yilab.models import hf
from yilab.models.resolve import list_models, resolve_model


def fake_hf_cache(root: Path, repo_id: str, model_dir: Path, rev: str = "a" * 40) -> Path:
    """Lay out ``models--org--name/snapshots/<rev>`` and ``refs/main`` like huggingface_hub."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / rev
    shutil.copytree(model_dir, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    return snapshot


def test_hf_offline_raises_offline_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(OfflineError, match="cannot download org/name: .*offline"):
        resolve_model("org/name")
    with pytest.raises(ModelNotFoundError, match="downloads are off"):
        resolve_model("org/name", allow_download=False)


def test_hf_cached_repo_resolves_offline(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    snapshot = fake_hf_cache(tmp_path / "hub", "org/name", tiny_model_dir)
    resolved = resolve_model("org/name")
    assert (resolved.name, resolved.source) == ("org/name", "huggingface")
    assert resolved.path == snapshot
    listed = {m["name"]: m for m in list_models()}
    assert listed["org/name"]["path"] == str(snapshot)
    assert listed["org/name"]["quantization"] == "float32"


def test_download_progress_is_forwarded():
    seen = []
    bar_class = hf._progress_tqdm(lambda f, m: seen.append((f, m)), "org/name")
    bar = bar_class(total=200, unit="B", disable=True)
    bar.update(50)
    bar.update(150)
    assert seen == [(0.25, "Downloading org/name…"), (1.0, "Downloading org/name…")]
