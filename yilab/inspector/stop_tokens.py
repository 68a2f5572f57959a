"""The stop set mlx-lm will really use, and where each of its tokens comes from.

mlx-lm 0.32 stops at the tokenizer's eos plus ``generation_config.json``'s
``eos_token_id`` when that is truthy, else ``config.json``'s (``utils.load_config``,
``TokenizerWrapper``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yilab.inspector.model_files import ModelFiles, Vocab, is_token_id


@dataclass
class TokenInfo:
    """A special token as the tokenizer will use it, and the file it comes from."""

    token: str | None = None
    id: int | None = None
    source: str | None = None


@dataclass
class StopToken:
    """One id mlx-lm stops at; ``sources`` lists every file that names it."""

    token: str | None
    id: int | None
    source: str
    sources: list[str] = field(default_factory=list)


def _add_stop(entries: list[StopToken], token: str | None, token_id: int | None, source: str):
    """Add a stop entry, merging with an earlier one for the same id (or token)."""
    for entry in entries:
        same_id = token_id is not None and entry.id == token_id
        if same_id or (token_id is None and token is not None and entry.token == token):
            entry.sources.append(source)
            return
    entries.append(StopToken(token, token_id, source, [source]))


def mlx_stop_tokens(files: ModelFiles, eos: TokenInfo, vocab: Vocab) -> list[StopToken]:
    """The stop set of mlx-lm 0.32: the tokenizer's eos, plus generation_config.json's
    ``eos_token_id`` when truthy (0 and [] are ignored), else config.json's."""
    entries: list[StopToken] = []
    if eos.token is not None or eos.id is not None:
        _add_stop(entries, eos.token, eos.id, f"{eos.source} eos_token")
    name, value = "generation_config.json", files.data("generation_config.json").get("eos_token_id")
    if not value:
        name, value = "config.json", files.data("config.json").get("eos_token_id")
    for item in value if isinstance(value, list) else [value]:
        if is_token_id(item):
            _add_stop(entries, vocab.token_of(item), item, f"{name} eos_token_id")
    return entries


def stop_ids(stop: list[StopToken]) -> list[int]:
    """The known ids of a stop set."""
    return [s.id for s in stop if s.id is not None]


def names(info, token: str | None, token_id: int | None) -> bool:
    """Whether a token (TokenInfo, TokenSetting or StopToken) is ``token`` or ``token_id``."""
    return (info.token is not None and info.token == token) or (
        info.id is not None and info.id == token_id
    )
