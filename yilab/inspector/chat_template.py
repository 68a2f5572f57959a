"""Find a model's chat template, render it as transformers does, and read its turn end.

The turn end is found by rendering a conversation whose contents are sentinels
(system, user, assistant, user) and reading the special token written right after
the assistant's sentinel. That covers templates that write it literally, through
``eos_token``, or through a ``{% set %}`` variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from yilab.inspector.model_files import (
    LEGACY_TEMPLATE_FILE,
    TEMPLATE_DIR,
    TEMPLATE_FILE,
    ModelFiles,
    named_templates,
)

SYSTEM = "yilabSystemSentinel1"
USER = "yilabUserSentinel2"
ASSISTANT = "yilabAssistantSentinel3"
USER_AGAIN = "yilabUserSentinel4"
READABLE = {
    SYSTEM: "You are a helpful assistant.",
    USER: "Hello!",
    ASSISTANT: "Hi! How can I help?",
    USER_AGAIN: "What is the capital of France?",
}
# What a special token looks like when no vocabulary file lists it.
TOKEN_LIKE = re.compile(r"<\|[^<>|\s]{1,64}\|>|<[A-Za-z_/][^<>\s]{0,62}>|\[/?[A-Z_]{2,32}\]")
SPECIAL_KEYS = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)


@dataclass
class FoundTemplate:
    """The chat template the tokenizer loads, and the file it came from.

    ``note`` explains a choice made; ``unusable`` lists (file, message) for values that
    cannot be a template; ``notes`` lists (code, severity, file, message) worth reporting;
    ``ignored`` the files whose template the tokenizer does not use; ``orphan`` the text
    of a template that only ``chat_template.json`` holds (what a fix writes out).
    """

    source: str | None = None
    text: str | None = None
    note: str | None = None
    unusable: list[tuple[str, str]] = field(default_factory=list)  # (file, message)
    notes: list[tuple[str, str, str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    orphan: str | None = None


@dataclass
class TurnEnd:
    """What rendering the sentinel conversation showed.

    ``turn_end``: the token after the assistant's content (None if none found);
    ``rendered``: the prompt for a reply (generation prompt on), with sentinels;
    ``has_generation_prompt``: False when the prompt just closes the user's turn.
    """

    turn_end: str | None = None
    rendered: str | None = None
    error: str | None = None
    dropped_system: bool = False
    assistant_missing: bool = False
    has_generation_prompt: bool | None = None


def _named_template(value: Any) -> tuple[str | None, str | None]:
    """A template from a string, or from a list of ``{"name", "template"}`` (the one named
    "default", as transformers picks it when no tools are passed).

    A list without a "default" gives ``(None, message)``: transformers refuses it.
    """
    if isinstance(value, str):
        return value, None
    if not isinstance(value, list):
        return None, None
    named = {
        item.get("name"): item.get("template")
        for item in value
        if isinstance(item, dict)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("template"), str)
    }
    if "default" in named:
        return named["default"], 'the template named "default" was picked from a list'
    if named:
        listed = ", ".join(f'"{name}"' for name in named)
        return None, (
            f'chat_template lists templates ({listed}) but none is named "default": '
            "transformers refuses to pick one, so every chat prompt fails"
        )
    return None, None


def find_chat_template(files: ModelFiles) -> FoundTemplate:
    """The template transformers 5 gives the tokenizer, which mlx-lm renders with:
    ``chat_template.jinja`` (and ``additional_chat_templates/``) over
    ``tokenizer_config.json``'s ``chat_template``. ``chat_template.json`` is read by
    processors only, never by a tokenizer: a template there is reported, not used."""
    found = _file_template(files)
    if found is None:
        found = _config_template(files)
    _note_ignored(files, found)
    return found


def _file_template(files: ModelFiles) -> FoundTemplate | None:
    """The template from template files, or None when there are none (a present
    ``chat_template.jinja`` wins even when empty, as in transformers)."""
    templates: dict[str, tuple[str, Any]] = {}
    jinja = files.files.get(TEMPLATE_FILE)
    if jinja is not None and jinja.present:
        templates["default"] = (TEMPLATE_FILE, jinja)
    for name, file in named_templates(files).items():
        templates[name] = (f"{TEMPLATE_DIR}/{name}.jinja", file)
    if not templates:
        return None
    if "default" not in templates:
        listed = ", ".join(f'"{name}"' for name in templates)
        message = (
            f"holds templates ({listed}) and there is no chat_template.jinja: transformers "
            "uses them instead of tokenizer_config.json's and refuses to pick one"
        )
        return FoundTemplate(unusable=[(TEMPLATE_DIR, message)])
    source, file = templates["default"]
    if file.text is None:  # unreadable: already reported as such
        return FoundTemplate()
    return _loaded_file(source, file, len(templates))


def _loaded_file(source: str, file, count: int) -> FoundTemplate:
    """A template file as transformers reads it (a BOM is kept), with what is worth saying."""
    text = ("\ufeff" if file.bom else "") + file.text
    if not file.text.strip():
        message = (
            f"{source} is empty, and transformers uses it anyway (over any other "
            "template): every chat prompt comes out empty"
        )
        return FoundTemplate(notes=[("empty_template", "error", source, message)])
    found = FoundTemplate(source, text)
    if file.bom:
        message = (
            f"{source} starts with a UTF-8 BOM, which transformers keeps: every prompt "
            "starts with an invisible U+FEFF"
        )
        found.notes.append(("template_bom", "warning", source, message))
    if count > 1:
        found.note = f'{count} templates are loaded; "default" ({source}) is used without tools'
    return found


def _config_template(files: ModelFiles) -> FoundTemplate:
    """tokenizer_config.json's ``chat_template`` (a string, or a list with a "default")."""
    name = "tokenizer_config.json"
    value = files.data(name).get("chat_template")
    text, note = _named_template(value)
    if text is not None and text.strip():
        return FoundTemplate(name, text, note)
    if value is not None and text is None:
        message = note or "chat_template is neither a string nor a list of templates"
        return FoundTemplate(unusable=[(name, message)])
    return FoundTemplate()


def _note_ignored(files: ModelFiles, found: FoundTemplate) -> None:
    """Templates in files the tokenizer does not read (or that lose to another file)."""
    loaded = found.text
    nothing = found.source is None and not found.unusable and not found.notes
    config = files.data("tokenizer_config.json").get("chat_template")
    config_text, _ = _named_template(config)
    if found.source and found.source != "tokenizer_config.json" and config_text:
        found.ignored.append("tokenizer_config.json")
        if config_text != loaded:
            message = (
                f"tokenizer_config.json's chat_template differs from {found.source}, "
                f"which transformers uses instead"
            )
            found.notes.append(("template_ignored", "info", "tokenizer_config.json", message))
    legacy, _ = _named_template(files.data(LEGACY_TEMPLATE_FILE).get("chat_template"))
    if not legacy or not legacy.strip():
        return
    found.ignored.append(LEGACY_TEMPLATE_FILE)
    if nothing:
        found.orphan = legacy
        message = (
            "chat_template.json holds the chat template, but transformers' tokenizer (so "
            "mlx-lm) never reads that file: no template is loaded and chat prompts fail. "
            "Write it to chat_template.jinja"
        )
        found.notes.append(("template_not_loaded", "error", LEGACY_TEMPLATE_FILE, message))
    elif legacy != loaded:
        used = f" (it renders with {found.source}'s)" if found.source else ""
        message = f"chat_template.json holds a different template, which mlx-lm ignores{used}"
        found.notes.append(("template_ignored", "warning", LEGACY_TEMPLATE_FILE, message))


def _tojson(x: Any, ensure_ascii: bool = False, indent=None, separators=None, sort_keys=False):
    """transformers' ``tojson`` filter: no HTML escaping, non-ASCII kept."""
    return json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _raise_exception(message: str):
    """The ``raise_exception`` global templates call to refuse a conversation."""
    import jinja2

    raise jinja2.exceptions.TemplateError(message)


def _strftime_now(fmt: str) -> str:
    """The ``strftime_now`` global (Llama 3.1 puts today's date in the system turn)."""
    return datetime.now().strftime(fmt)


@lru_cache(maxsize=32)
def compile_template(text: str):
    """Compile ``text`` in the sandboxed Jinja environment transformers uses."""
    import jinja2
    from jinja2 import nodes
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTag(Extension):
        """``{% generation %}…{% endgeneration %}`` renders its body (assistant masks)."""

        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            call = self.call_method("_body")
            return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

        def _body(self, caller):
            return caller()

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[GenerationTag, jinja2.ext.loopcontrols],
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(text)


def render(
    text: str,
    messages: list[dict],
    *,
    special_tokens: dict[str, str],
    add_generation_prompt: bool = False,
    **template_kwargs: Any,
) -> str:
    """Render a conversation as ``tokenizer.apply_chat_template(tokenize=False)`` would.

    ``special_tokens`` maps ``bos_token`` etc. to strings; ``template_kwargs`` are the
    extra variables (``enable_thinking``, ``tools``…); errors of the template (syntax,
    ``raise_exception``, anything) propagate to the caller.
    """
    tokens = {k: v for k, v in special_tokens.items() if k in SPECIAL_KEYS and isinstance(v, str)}
    variables = {"tools": None, "documents": None, **template_kwargs}
    return compile_template(text).render(
        messages=messages,
        add_generation_prompt=add_generation_prompt,
        **variables,
        **tokens,
    )


# The reasoning markers mlx-lm's tokenizer wrapper looks for (``_infer_thinking``): when
# the vocabulary has one pair, it renders every prompt with ``enable_thinking=True``, else
# with ``enable_thinking=False``.
THINKING_PAIRS = (
    ("<think>", "</think>"),
    ("<longcat_think>", "</longcat_think>"),
    ("<|think:start|>", "<|think:end|>"),
    ("<|channel>", "<channel|>"),
)
XTML_TOKENS = ("<|open|>", "<|close|>", "<|sep|>", "<|end_of_msg|>")


def has_thinking(vocabulary) -> bool:
    """Whether mlx-lm's tokenizer wrapper sees a thinking model in ``vocabulary`` (any
    container of token strings), and so passes ``enable_thinking=True`` to the template.

    >>> has_thinking({"<think>", "</think>"}), has_thinking({"<think>"})
    (True, False)
    """
    pairs = any(a in vocabulary and b in vocabulary for a, b in THINKING_PAIRS)
    return pairs or all(t in vocabulary for t in XTML_TOKENS)


def _conversations() -> list[tuple[list[dict], bool]]:
    """The sentinel conversations to try, and whether each one drops the system turn."""
    turns = [("user", USER), ("assistant", ASSISTANT), ("user", USER_AGAIN)]
    with_system = [{"role": "system", "content": SYSTEM}] + [
        {"role": r, "content": c} for r, c in turns
    ]
    return [(with_system, False), (with_system[1:], True)]


def token_after(text: str, start: int, candidates: list[str]) -> str | None:
    """The special token at ``start`` (after whitespace): the longest known
    candidate, else anything that looks like a special token.

    >>> token_after("Hi<|im_end|>\\n", 2, ["<|im_end|>"])
    '<|im_end|>'
    """
    rest = text[start:].lstrip()
    for cand in candidates:
        if rest.startswith(cand):
            return cand
    match = TOKEN_LIKE.match(rest)
    return match.group(0) if match else None


def candidates(tokens: set[str]) -> list[str]:
    """Known special tokens worth matching, longest first.

    >>> candidates({"<a>", "<abc>", "x", " "})
    ['<abc>', '<a>']
    """
    return sorted((t for t in tokens if t.strip() and len(t) > 1), key=len, reverse=True)


@dataclass(frozen=True)
class Renderer:
    """One template with the special tokens and variables it is rendered with."""

    text: str
    special_tokens: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    def __call__(self, messages: list[dict], add_generation_prompt: bool = False, **extra) -> str:
        """The conversation rendered (template errors propagate)."""
        return render(
            self.text,
            messages,
            special_tokens=self.special_tokens,
            add_generation_prompt=add_generation_prompt,
            **{**self.variables, **extra},
        )


def _render_sentinels(renderer: Renderer):
    """Render the first sentinel conversation the template accepts: (messages, text, dropped)."""
    error = None
    for messages, dropped in _conversations():
        try:
            return messages, renderer(messages), dropped, None
        except Exception as err:  # templates are untrusted code
            error = f"{type(err).__name__}: {err}"
    return None, None, False, error


def _generation_prompt(renderer: Renderer, messages, plain, turn_end) -> tuple[str, bool | None]:
    """The prompt with the generation prompt on, and whether it opens an assistant turn."""
    try:
        prompt = renderer(messages, add_generation_prompt=True)
    except Exception:
        return plain, None
    if prompt != plain or turn_end is None:
        return prompt, True
    tail = prompt[prompt.rfind(USER_AGAIN) + len(USER_AGAIN) :].rstrip()
    return prompt, not tail.endswith(turn_end)


def find_turn_end(
    text: str, special_tokens: dict[str, str], known: set[str], variables: dict | None = None
) -> TurnEnd:
    """Render the sentinel conversation and read the assistant's turn end.

    >>> find_turn_end("{% for m in messages %}{{ m.content }}<end>{% endfor %}", {}, {"<end>"}).turn_end
    '<end>'
    """
    renderer = Renderer(text, special_tokens, variables or {})
    messages, plain, dropped, error = _render_sentinels(renderer)
    if plain is None:
        return TurnEnd(error=error)
    result = TurnEnd(dropped_system=dropped)
    at = plain.find(ASSISTANT)
    if at < 0:
        result.assistant_missing = True
    else:
        result.turn_end = token_after(plain, at + len(ASSISTANT), candidates(known))
    prompt, result.has_generation_prompt = _generation_prompt(
        renderer, messages, plain, result.turn_end
    )
    result.rendered = prompt
    return result


def reworded(example: str, sentences: Sequence[str]) -> str:
    """A :func:`readable` example with its four sentences (system, user, assistant, user
    again) replaced by ``sentences``: the same conversation in the reader's language.

    >>> reworded("<|im_start|>user\\nHello!<|im_end|>", ["系统", "你好！", "嗨", "再问"])
    '<|im_start|>user\\n你好！<|im_end|>'
    """
    for english, words in zip(READABLE.values(), sentences, strict=True):
        example = example.replace(english, words)
    return example


def readable(rendered: str) -> str:
    """Replace the sentinels in a rendered prompt with ordinary sentences (for display).

    >>> readable("<|im_start|>user\\nyilabUserSentinel2<|im_end|>")
    '<|im_start|>user\\nHello!<|im_end|>'
    """
    for sentinel, words in READABLE.items():
        rendered = rendered.replace(sentinel, words)
    return rendered
