"""Remote model specs and ``$YILAB_HOME/remotes.json``: which OpenAI-compatible server
(mlx_lm.server, vLLM, Ollama) and which model a spec names.

A remote model is a spec ``openai+http://host:8080/v1#model-name`` (or ``https``), or a
name from ``$YILAB_HOME/remotes.json``::

    {"bigmac": {"url": "http://bigmac.local:8080/v1", "model": "mlx-community/Qwen3-8B-4bit",
                "api_key_env": "BIGMAC_API_KEY", "max_concurrency": 4,
                "hf_id": "Qwen/Qwen3-8B"}}

An API key only ever comes from the environment variable an entry names: it is never in a
spec, the config, the run log or an error message. URLs with credentials in them are refused.
Nothing here touches the network.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from yilab.errors import BadInputError
from yilab.files import yilab_home
from yilab.i18n import Message

SPEC_PREFIX = "openai+"
CONFIG_NAME = "remotes.json"
DEFAULT_MAX_CONCURRENCY = 4
MAX_CONCURRENCY_CEILING = 64
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_READ_TIMEOUT_S = 300.0  # a queued request may wait this long for its first byte
CONFIG_KEYS = {
    "url",
    "model",
    "api_key_env",
    "max_concurrency",
    "connect_timeout_s",
    "read_timeout_s",
    "hf_id",
}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class RemoteModel:
    """A model served over HTTP. ``url`` is the API base (``http://host:8080/v1``), never
    with credentials; ``model`` is the name sent in each request."""

    name: str  # the spec as typed, or the remotes.json entry's name
    url: str
    model: str
    spec: str
    api_key_env: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    hf_id: str | None = None
    source: str = "remote"

    @property
    def path(self) -> str:
        """What the run log's ``model_path`` holds for a remote model: its endpoint URL."""
        return self.url

    def api_key(self) -> str | None:
        """The key from the environment variable named by ``api_key_env`` (None if unnamed)."""
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise BadInputError(
                Message(
                    "remote.needs_key", name=self.name, env=self.api_key_env, path=config_path()
                )
            )
        return key


def config_path() -> Path:
    """``$YILAB_HOME/remotes.json``."""
    return yilab_home() / CONFIG_NAME


def find_remote(spec: str | None) -> RemoteModel | None:
    """The remote model a spec names, or None when it names no remote (a local model).

    >>> find_remote("openai+http://127.0.0.1:8080/v1#default_model").url
    'http://127.0.0.1:8080/v1'
    """
    spec = (spec or "").strip()
    if spec.startswith(SPEC_PREFIX):
        return parse_remote_spec(spec)
    return load_remotes().get(spec) if spec else None


def parse_remote_spec(spec: str) -> RemoteModel:
    """``openai+http://host:8080/v1#model`` → a :class:`RemoteModel` named by the spec.

    >>> parse_remote_spec("openai+https://gpu.example/v1#Qwen/Qwen3-8B").model
    'Qwen/Qwen3-8B'
    """
    url, _, model = spec[len(SPEC_PREFIX) :].partition("#")
    model = unquote(model).strip()
    if not model:
        raise BadInputError(Message("remote.no_model", spec=repr(spec)))
    return RemoteModel(name=spec, url=clean_url(url, spec), model=model, spec=spec)


def clean_url(url: str, where: str) -> str:
    """An http(s) API base without a trailing slash; credentials in it are refused.

    >>> clean_url("http://gpu.local:8000/v1/", "x")
    'http://gpu.local:8000/v1'
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as err:
        raise BadInputError(Message("remote.not_url", where=where, error=str(err))) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInputError(Message("remote.not_http", where=where))
    if "@" in parts.netloc:
        raise BadInputError(Message("remote.credentials", where=where, path=config_path()))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query, ""))


def load_remotes() -> dict[str, RemoteModel]:
    """The named remotes in ``remotes.json`` ({} when there is no file).

    A file that does not parse or has a wrong value raises :class:`BadInputError` naming
    the file and the place.
    """
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise BadInputError(Message("remote.cannot_read", path=path, error=str(err))) from None
    try:
        data = json.loads(text)
    except ValueError as err:
        raise BadInputError(Message("remote.bad_json", path=path, error=str(err))) from None
    if not isinstance(data, dict):
        raise BadInputError(Message("remote.not_object", path=path))
    return {name: _entry(path, name, value) for name, value in data.items()}


def _entry(path: Path, name: str, value: Any) -> RemoteModel:
    """One validated remotes.json entry."""
    where = Message("remote.entry", path=path, name=repr(name))
    if not name.strip() or name.startswith(SPEC_PREFIX) or not isinstance(value, dict):
        raise BadInputError(Message("remote.bad_entry", where=where))
    if "api_key" in value:
        raise BadInputError(Message("remote.no_keys_here", where=where))
    unknown = sorted(set(value) - CONFIG_KEYS)
    if unknown:
        known = ", ".join(sorted(CONFIG_KEYS))
        raise BadInputError(
            Message("remote.unknown_fields", where=where, names=", ".join(unknown), known=known)
        )
    model, url = value.get("model"), value.get("url")
    if not isinstance(model, str) or not model.strip() or not isinstance(url, str):
        raise BadInputError(Message("remote.url_and_model", where=where))
    return RemoteModel(
        name=name,
        url=clean_url(url, where),
        model=model.strip(),
        spec=name,
        api_key_env=_env_name(where, value.get("api_key_env")),
        max_concurrency=_number(where, value, "max_concurrency", DEFAULT_MAX_CONCURRENCY, int),
        connect_timeout_s=_number(where, value, "connect_timeout_s", DEFAULT_CONNECT_TIMEOUT_S),
        read_timeout_s=_number(where, value, "read_timeout_s", DEFAULT_READ_TIMEOUT_S),
        hf_id=_optional_str(where, value.get("hf_id"), "hf_id"),
    )


def _env_name(where: str, value: Any) -> str | None:
    """An environment variable's name (not a key: ``sk-…`` has a dash and is refused)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise BadInputError(Message("remote.env_name", where=where))
    return value


def _number(where: str, entry: dict, key: str, default: float, kind: type = float) -> Any:
    """A positive number field (an integer of at most 64 for ``max_concurrency``)."""
    value = entry.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if kind is int:
        ok = ok and isinstance(value, int) and value <= MAX_CONCURRENCY_CEILING
    if not ok:
        if kind is int:
            limit = Message("remote.limit_whole", high=MAX_CONCURRENCY_CEILING)
        else:
            limit = Message("remote.limit_positive")
        said = Message("remote.bad_number", where=where, key=key, limit=limit, value=repr(value))
        raise BadInputError(said)
    return kind(value)


def _optional_str(where: str, value: Any, key: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadInputError(Message("remote.not_string", where=where, key=key))
    return value or None


def remote_entries() -> list[dict[str, Any]]:
    """``list_models()`` rows for the named remotes."""
    return [
        {
            "name": r.name,
            "path": r.url,
            "source": "remote",
            "size_bytes": None,
            "quantization": None,
            "format": "openai",
            "model": r.model,
            "hf_id": r.hf_id,
        }
        for r in load_remotes().values()
    ]


def not_visible_message(remote: RemoteModel) -> str:
    """What the inspector can say about a remote model."""
    where = Message("remote.served_by", name=remote.name, url=remote.url, model=remote.model)
    if remote.hf_id:
        return Message("remote.hidden_hf", where=where, hf_id=remote.hf_id)
    return Message("remote.hidden", where=where, path=config_path())
