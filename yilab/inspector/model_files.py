"""Read a model directory's config files, without loading a tokenizer or weights.

Pure reading and normalising: every file is optional, a file that does not parse
is recorded with its error (never raised), and special-token values in any of the
shapes found in the wild (a string, an ``AddedToken`` dict with or without
``__type``, an id, a list of ids) become :class:`TokenValue` entries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yilab.i18n import Message

JSON_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "config.json",
    "added_tokens.json",
    "chat_template.json",
    "tokenizer.json",
)
TEMPLATE_FILE = "chat_template.jinja"
TEMPLATE_DIR = "additional_chat_templates"  # named templates, one ``<name>.jinja`` each
LEGACY_TEMPLATE_FILE = "chat_template.json"  # processors read it; tokenizers do not


@dataclass
class ConfigFile:
    """One file of the model directory: parsed ``data`` (a dict) or an ``error``."""

    name: str
    present: bool = False
    data: dict | None = None
    text: str | None = None  # the raw text, kept for the Jinja templates only
    error: str | None = None
    crlf: bool = False
    bom: bool = False  # the file starts with a UTF-8 BOM (dropped from ``text``)


@dataclass
class ModelFiles:
    """The config files of one model directory, keyed by file name."""

    path: Path
    files: dict[str, ConfigFile]

    def data(self, name: str) -> dict:
        """The parsed object of ``name``, or ``{}`` when absent or unreadable.

        >>> ModelFiles(Path("."), {}).data("config.json")
        {}
        """
        file = self.files.get(name)
        return file.data if file is not None and file.data is not None else {}

    def present(self, name: str) -> bool:
        """Whether ``name`` exists in the directory (parsed or not)."""
        file = self.files.get(name)
        return bool(file and file.present)


@dataclass(frozen=True)
class TokenValue:
    """A special token as a config names it: a string, an id, or both once resolved."""

    token: str | None = None
    id: int | None = None


def _decode(raw: bytes) -> str:
    """UTF-8 text with an optional BOM removed."""
    return raw.decode("utf-8-sig")


def read_text_file(path: Path) -> ConfigFile:
    """Read a text file (the Jinja template) into a :class:`ConfigFile`."""
    file = ConfigFile(path.name)
    if not path.is_file():
        return file
    file.present = True
    try:
        raw = path.read_bytes()
        file.text = _decode(raw)
        file.crlf = b"\r\n" in raw
        file.bom = raw.startswith(b"\xef\xbb\xbf")
    except (OSError, UnicodeDecodeError) as err:
        file.error = Message("problem.not_utf8", error=str(err))
    return file


def read_json_file(path: Path) -> ConfigFile:
    """Read and parse one JSON file; errors are recorded, never raised.

    A file whose top level is not a JSON object counts as unparsable.
    """
    file = read_text_file(path)
    text, file.text = file.text, None
    if text is None:
        return file
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        file.error = Message("problem.not_json", error=str(err))
        return file
    if not isinstance(data, dict):
        file.error = Message("problem.not_object", type=type(data).__name__)
        return file
    file.data = data
    return file


def read_model_files(path: Path) -> ModelFiles:
    """Read every config file yilab looks at in ``path`` (missing ones are kept as absent),
    the named templates of ``additional_chat_templates/`` included."""
    files = {name: read_json_file(path / name) for name in JSON_FILES}
    files[TEMPLATE_FILE] = read_text_file(path / TEMPLATE_FILE)
    folder = path / TEMPLATE_DIR
    for extra in sorted(folder.glob("*.jinja")) if folder.is_dir() else []:
        files[f"{TEMPLATE_DIR}/{extra.name}"] = read_text_file(extra)
    return ModelFiles(path, files)


def named_templates(files: ModelFiles) -> dict[str, ConfigFile]:
    """The templates of ``additional_chat_templates/``, by name (the file name less
    ``.jinja``), as transformers lists them."""
    prefix = f"{TEMPLATE_DIR}/"
    return {
        name[len(prefix) : -len(".jinja")]: file
        for name, file in files.files.items()
        if name.startswith(prefix) and file.present
    }


def is_token_id(value: Any) -> bool:
    """A usable token id: a non-negative int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_token(value: Any) -> TokenValue | None:
    """One special token from a config value, or None if the shape is unusable.

    >>> parse_token({"__type": "AddedToken", "content": "<|im_end|>"})
    TokenValue(token='<|im_end|>', id=None)
    >>> parse_token(7)
    TokenValue(token=None, id=7)
    """
    if isinstance(value, str) and value:
        return TokenValue(token=value)
    if is_token_id(value):
        return TokenValue(id=value)
    if isinstance(value, dict):
        content = value.get("content")
        if isinstance(content, str) and content:
            return TokenValue(token=content)
    return None


def describe(value: Any, limit: int = 60) -> str:
    """A short printable form of a config value for messages.

    >>> describe("x" * 100, limit=10)
    '"xxxxxxxx…'
    """
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Vocab:
    """Token strings and ids known from the tokenizer files.

    ``added`` holds the added/special tokens (what a chat template writes);
    ``model`` the base vocabulary of ``tokenizer.json``, used for id look-ups only.
    """

    added: dict[str, int] = field(default_factory=dict)
    model: dict[str, int] = field(default_factory=dict)
    size: int | None = None
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (file, message)
    _by_id: dict[int, str] | None = None

    def id_of(self, token: str | None) -> int | None:
        """The id of ``token``, or None when no file says."""
        if token is None:
            return None
        found = self.added.get(token)
        return found if found is not None else self.model.get(token)

    def token_of(self, token_id: int | None) -> str | None:
        """The string of ``token_id``, or None when no file says."""
        if token_id is None:
            return None
        if self._by_id is None:
            self._by_id = {i: t for t, i in self.model.items()}
            self._by_id.update({i: t for t, i in self.added.items()})
        return self._by_id.get(token_id)

    def add(self, token: Any, token_id: Any, source: str) -> None:
        """Record an added token from ``source``, noting a disagreement with earlier files."""
        if not (isinstance(token, str) and token and is_token_id(token_id)):
            return
        known = self.added.get(token)
        if known is not None and known != token_id:
            message = Message("problem.id_conflict", token=token, id=token_id, known=known)
            self.conflicts.append((source, message))
            return
        self.added.setdefault(token, token_id)


def _tokenizer_json_vocab(vocab: Vocab, data: dict) -> None:
    """Fill ``vocab`` from tokenizer.json: its added tokens and its model's vocabulary."""
    added = data.get("added_tokens")
    for entry in added if isinstance(added, list) else []:
        if isinstance(entry, dict):
            vocab.add(entry.get("content"), entry.get("id"), "tokenizer.json")
    model = data.get("model")
    table = model.get("vocab") if isinstance(model, dict) else None
    if isinstance(table, dict):
        vocab.model = {t: i for t, i in table.items() if isinstance(t, str) and is_token_id(i)}
    elif isinstance(table, list):  # Unigram: [[piece, score], ...], the index is the id
        pieces = (item[0] if isinstance(item, list) and item else None for item in table)
        vocab.model = {p: i for i, p in enumerate(pieces) if isinstance(p, str)}
    ids = list(vocab.model.values()) + list(vocab.added.values())
    vocab.size = max(ids) + 1 if ids else None


def build_vocab(files: ModelFiles) -> Vocab:
    """Known token ids, by precedence: tokenizer.json, then ``added_tokens_decoder``,
    then added_tokens.json (the files transformers builds the tokenizer from)."""
    vocab = Vocab()
    _tokenizer_json_vocab(vocab, files.data("tokenizer.json"))
    decoder = files.data("tokenizer_config.json").get("added_tokens_decoder")
    for key, entry in decoder.items() if isinstance(decoder, dict) else []:
        token = parse_token(entry)
        if token is not None and isinstance(key, str) and key.isdigit():
            vocab.add(token.token, int(key), "tokenizer_config.json")
    for token, token_id in files.data("added_tokens.json").items():
        vocab.add(token, token_id, "added_tokens.json")
    return vocab


def tokenizer_adds_bos(files: ModelFiles, bos: str | None) -> bool | None:
    """Whether encoding adds a bos token: from tokenizer.json's post-processor when
    present, else tokenizer_config's ``add_bos_token``; None when nothing says."""
    data = files.data("tokenizer.json")
    if data:
        return bool(bos) and _post_processor_adds(data.get("post_processor"), bos)
    flag = files.data("tokenizer_config.json").get("add_bos_token")
    return flag if isinstance(flag, bool) else None


def _post_processor_adds(processor: Any, bos: str | None) -> bool:
    """Whether a tokenizer.json post-processor puts ``bos`` first in a single sequence."""
    if not isinstance(processor, dict):
        return False
    if processor.get("type") == "Sequence":
        parts = processor.get("processors")
        return any(_post_processor_adds(p, bos) for p in (parts if isinstance(parts, list) else []))
    single = processor.get("single")
    if processor.get("type") != "TemplateProcessing" or not isinstance(single, list) or not single:
        return False
    first = single[0]
    special = first.get("SpecialToken") if isinstance(first, dict) else None
    return isinstance(special, dict) and special.get("id") == bos
