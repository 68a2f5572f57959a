"""The Hugging Face hub cache: find a repo's snapshot, download it with progress, list it.

``huggingface_hub`` is imported inside each function: it is slow to import and reads
``HF_HUB_CACHE`` / ``HF_HOME`` only at import time, so the cache dir is computed here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yilab.errors import ModelNotFoundError, OfflineError
from yilab.files import read_json
from yilab.i18n import Message

HF_PATTERNS = ["*.json", "*.safetensors", "tokenizer.model", "*.jinja", "*.txt", "*.tiktoken"]
HF_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]*[A-Za-z0-9_]")

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class HFCachedModel:
    """A model repo in the hub cache, at its newest snapshot (``main`` preferred)."""

    repo_id: str  # "org/name"
    snapshot: Path
    size_bytes: int  # the whole repo on disk, every revision


def hf_snapshot(
    repo_id: str, *, progress: Progress | None = None, allow_download: bool = True
) -> Path:
    """The cached snapshot of ``repo_id``, downloading it if allowed and needed."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    kwargs = {"allow_patterns": HF_PATTERNS, "cache_dir": _cache_dir()}
    try:
        path = Path(snapshot_download(repo_id, local_files_only=True, **kwargs))
    except HFValidationError as err:
        said = Message("hf.bad_repo_id", repo=repo_id, error=str(err))
        raise ModelNotFoundError(said) from err
    except LocalEntryNotFoundError:
        path = _download(repo_id, progress, allow_download, kwargs)
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(Message("hf.no_config", repo=repo_id))
    return path


def cached_hf_models() -> list[HFCachedModel]:
    """Repos in the hub cache that look like LLMs (config.json + safetensors), by repo id."""
    from huggingface_hub import scan_cache_dir

    try:
        repos = scan_cache_dir(_cache_dir()).repos
    except Exception:  # no cache yet, or unreadable: no Hugging Face models here
        return []
    found = []
    for repo in sorted(repos, key=lambda r: r.repo_id):
        revs = sorted(repo.revisions, key=lambda r: ("main" in r.refs, r.last_modified))
        snapshot = revs[-1].snapshot_path if revs and repo.repo_type == "model" else None
        config = read_json(snapshot / "config.json") if snapshot else None
        if (
            isinstance(config, dict)
            and "model_type" in config
            and any(snapshot.glob("*.safetensors"))
        ):
            found.append(HFCachedModel(repo.repo_id, snapshot, repo.size_on_disk))
    return found


def _cache_dir() -> str | None:
    """The hub cache from the environment now (huggingface_hub reads it only at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    return (
        str(Path(os.environ["HF_HOME"]).expanduser() / "hub") if os.environ.get("HF_HOME") else None
    )


def _offline() -> bool:
    """``HF_HUB_OFFLINE`` set now or when huggingface_hub was imported."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    return flag or constants.HF_HUB_OFFLINE


def _download(
    repo_id: str, progress: Progress | None, allow_download: bool, kwargs: dict[str, Any]
) -> Path:
    """Download a snapshot with real progress; offline or unreachable → ``OfflineError``."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import RepositoryNotFoundError

    if not allow_download:
        raise ModelNotFoundError(Message("hf.not_cached", repo=repo_id))
    offline = OfflineError(Message("load.offline", repo=repo_id))
    if _offline():
        raise offline
    if progress is not None:
        progress(0.0, Message("progress.downloading_from", repo=repo_id))
    try:
        path = snapshot_download(repo_id, tqdm_class=_progress_tqdm(progress, repo_id), **kwargs)
    except RepositoryNotFoundError as err:
        raise ModelNotFoundError(Message("hf.not_found", repo=repo_id)) from err
    except Exception as err:
        if _is_connection_error(err):
            raise offline from err
        raise
    if progress is not None:
        progress(1.0, Message("progress.downloaded", repo=repo_id))
    return Path(path)


def _is_connection_error(err: Exception) -> bool:
    """No route to the hub: huggingface_hub's offline errors or an HTTP transport failure."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    if isinstance(err, (LocalEntryNotFoundError, ConnectionError, TimeoutError)):
        return True
    return any(c.__name__ == "TransportError" for c in type(err).__mro__)


def _progress_tqdm(progress: Progress | None, repo_id: str) -> type | None:
    """A huggingface_hub tqdm class that forwards byte progress (from worker threads)."""
    if progress is None:
        return None
    from huggingface_hub.utils import tqdm as hf_tqdm

    class ProgressTqdm(hf_tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._counts_bytes, self._done = kwargs.get("unit") == "B", 0
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            self._done += n or 0
            if self._counts_bytes and self.total:
                done = min(self._done / self.total, 1.0)
                progress(done, Message("progress.downloading", repo=repo_id))
            return super().update(n)

    return ProgressTqdm
