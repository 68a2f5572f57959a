"""The token view: a text or a rendered chat prompt as the model's own tokenizer sees it.

The tokenizer is loaded with ``transformers.AutoTokenizer`` (what mlx-lm uses), or
straight from ``tokenizer.json`` with ``tokenizers`` when transformers cannot load
it. Both imports are lazy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from yilab.errors import BadInputError, ModelLoadError
from yilab.i18n import Message
from yilab.inspector.chat_template import render
from yilab.inspector.diagnose import inspect_model

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
REPLACEMENT = "\ufffd"  # what a piece of a UTF-8 character decodes to on its own
MAX_CHAR_TOKENS = 4  # a UTF-8 character has at most 4 bytes


@dataclass
class TokenView:
    """Token by token: ``pieces`` are vocabulary strings (``Ġthe``), ``texts`` what each
    adds to the text (`` the``; a character split over byte tokens on its last one),
    ``special`` marks added special tokens (to highlight)."""

    text: str
    ids: list[int]
    pieces: list[str]
    texts: list[str]
    special: list[bool]
    count: int
    warnings: list[str] = field(default_factory=list)


class _Backend:
    """A loaded tokenizer behind one small interface (transformers or tokenizers)."""

    def __init__(self, tokenizer: Any, fast: bool):
        self.tokenizer, self.fast = tokenizer, fast

    def encode(self, text: str, add_special_tokens: bool) -> list[int]:
        """Token ids of ``text``."""
        if self.fast:
            return self.tokenizer.encode(text, add_special_tokens=add_special_tokens).ids
        return list(self.tokenizer.encode(text, add_special_tokens=add_special_tokens))

    def piece(self, token_id: int) -> str:
        """The vocabulary string of one id."""
        if self.fast:
            return self.tokenizer.id_to_token(token_id) or ""
        return str(self.tokenizer.convert_ids_to_tokens(token_id))

    def decode(self, ids: list[int]) -> str:
        """What ids decode to, special tokens kept."""
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    def special_ids(self) -> set[int]:
        """Ids of the added tokens marked special."""
        if self.fast:
            decoder = self.tokenizer.get_added_tokens_decoder()
        else:
            decoder = self.tokenizer.added_tokens_decoder
        return {i for i, tok in decoder.items() if getattr(tok, "special", False)}


def _stamp(model_dir: Path) -> tuple:
    """Modification times and sizes of the tokenizer files, so a fixed model reloads."""
    stats = [(p.stat() if p.exists() else None) for p in (model_dir / n for n in TOKENIZER_FILES)]
    return tuple((s.st_mtime_ns, s.st_size) if s else None for s in stats)


@lru_cache(maxsize=4)
def _load(model_dir: str, stamp: tuple) -> _Backend:
    """Load (and cache) a tokenizer; ``stamp`` only keys the cache."""
    try:
        from transformers import AutoTokenizer

        return _Backend(AutoTokenizer.from_pretrained(model_dir), fast=False)
    except Exception as err:  # any failure: try tokenizer.json directly
        path = Path(model_dir) / "tokenizer.json"
        if not path.is_file():
            said = Message("load.tokenizer_failed", path=model_dir, error=str(err))
            raise ModelLoadError(said) from err
    try:
        from tokenizers import Tokenizer

        return _Backend(Tokenizer.from_file(str(path)), fast=True)
    except Exception as err:
        raise ModelLoadError(Message("load.cannot_load", path=path, error=str(err))) from err


def load_tokenizer(model_dir: str | Path) -> _Backend:
    """The model directory's tokenizer, cached until its files change."""
    path = Path(model_dir).expanduser().resolve()
    if not path.is_dir():
        raise ModelLoadError(Message("load.not_model_dir", path=model_dir))
    return _load(str(path), _stamp(path))


def _view(backend: _Backend, text: str, add_special_tokens: bool) -> TokenView:
    """Encode ``text`` and lay it out token by token."""
    ids = backend.encode(text, add_special_tokens)
    special = backend.special_ids()
    return TokenView(
        text=text,
        ids=ids,
        pieces=[backend.piece(i) for i in ids],
        texts=_texts(backend, ids),
        special=[i in special for i in ids],
        count=len(ids),
    )


def _texts(backend: _Backend, ids: list[int]) -> list[str]:
    """What each token adds to the text. A character that a byte-level vocabulary splits
    (你 is three tokens in SmolLM2's) is said whole by the token that completes it, the
    tokens before it adding nothing: each alone would decode to "�".
    """
    texts: list[str] = []
    group: list[int] = []  # the tokens of a character not finished yet
    for token_id in ids:
        group.append(token_id)
        whole = backend.decode(group)
        if REPLACEMENT in whole and len(group) < MAX_CHAR_TOKENS:
            continue
        if REPLACEMENT in whole:  # not a split character after all: each as it decodes
            texts += [backend.decode([t]) for t in group]
        else:
            texts += [""] * (len(group) - 1) + [whole]
        group = []
    return texts + [backend.decode([t]) for t in group]  # an unfinished one at the end


def tokenize_text(
    model_dir: str | Path, text: str, *, add_special_tokens: bool = True
) -> TokenView:
    """Tokenize a plain text as ``tokenizer.encode(text)`` would: for a byte-level BPE
    model, ``tokenize_text(folder, "the").pieces`` is ``['Ġthe']``."""
    return _view(load_tokenizer(model_dir), text, add_special_tokens)


def _render(report, messages: list[dict], add_generation_prompt: bool) -> str:
    """Render ``messages`` with the template and special tokens of an inspection report."""
    template = report.chat_template.template
    if template is None:
        raise BadInputError(Message("tok.no_chat_template", path=report.path))
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        shape = "{'role': ..., 'content': ...}"
        raise BadInputError(Message("tok.bad_messages", shape=shape))
    tokens = {f"{r}_token": getattr(report, r).token for r in ("bos", "eos", "pad", "unk")}
    variables = {"enable_thinking": report.chat_template.enable_thinking}  # as mlx-lm does
    try:
        return render(
            template,
            messages,
            special_tokens=tokens,
            add_generation_prompt=add_generation_prompt,
            **variables,
        )
    except Exception as err:  # templates are untrusted code
        raise BadInputError(Message("tok.template_refused", error=str(err))) from err


def render_chat(
    model_dir: str | Path, messages: list[dict], *, add_generation_prompt: bool = True
) -> str:
    """Render ``messages`` with the chat template mlx-lm loads, as its tokenizer does
    (``enable_thinking`` set the way mlx-lm sets it)."""
    return _render(inspect_model(model_dir), messages, add_generation_prompt)


def tokenize_chat(
    model_dir: str | Path, messages: list[dict], *, add_generation_prompt: bool = True
) -> TokenView:
    """Render ``messages`` with the chat template, then tokenize the prompt with special
    tokens added; warn when that gives a double bos."""
    backend = load_tokenizer(model_dir)
    report = inspect_model(model_dir)
    view = _view(backend, _render(report, messages, add_generation_prompt), True)
    bos = report.bos
    bos_id = bos.id if bos.id is not None else getattr(backend.tokenizer, "bos_token_id", None)
    if bos_id is not None and view.ids[:2] == [bos_id, bos_id]:
        view.warnings.append(Message("warning.double_bos_chat", token=bos.token))
    return view
