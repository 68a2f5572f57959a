"""Find a model's chat template, render it as transformers does, and read its turn end.

The turn end is found by rendering a conversation whose contents are sentinels
(system, user, assistant, user) and reading the special token written right after
the assistant's sentinel. That covers templates that write it literally, through
``eos_token``, or through a ``{% set %}`` variable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from yilab.inspector.model_files import TEMPLATE_FILE, ModelFiles

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
    """The chat template text and the file it came from; ``note`` explains a choice made."""

    source: str | None = None
    text: str | None = None
    note: str | None = None
    unusable: list[tuple[str, str]] = field(default_factory=list)  # (file, message)


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
    """A template from a string, or from a list of ``{"name", "template"}`` (pick "default")."""
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
        name, text = next(iter(named.items()))
        return text, f'no template is named "default"; the first one ("{name}") was used'
    return None, None


def find_chat_template(files: ModelFiles) -> FoundTemplate:
    """The template transformers would use: ``chat_template.jinja`` first, then
    ``chat_template.json``, then ``tokenizer_config.json``'s ``chat_template``."""
    jinja = files.files.get(TEMPLATE_FILE)
    if jinja is not None and jinja.text is not None and jinja.text.strip():
        return FoundTemplate(TEMPLATE_FILE, jinja.text)
    unusable = []
    for name in ("chat_template.json", "tokenizer_config.json"):
        value = files.data(name).get("chat_template")
        text, note = _named_template(value)
        if text is not None and text.strip():
            return FoundTemplate(name, text, note, unusable)
        if value is not None and text is None:
            unusable.append((name, "chat_template is neither a string nor a list of templates"))
    return FoundTemplate(unusable=unusable)


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
) -> str:
    """Render a conversation as ``tokenizer.apply_chat_template(tokenize=False)`` would.

    ``special_tokens`` maps ``bos_token`` etc. to strings; errors of the template
    (syntax, ``raise_exception``, anything) propagate to the caller.
    """
    tokens = {k: v for k, v in special_tokens.items() if k in SPECIAL_KEYS and isinstance(v, str)}
    return compile_template(text).render(
        messages=messages,
        tools=None,
        documents=None,
        add_generation_prompt=add_generation_prompt,
        **tokens,
    )


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


def _candidates(tokens: set[str]) -> list[str]:
    """Known special tokens worth matching, longest first."""
    return sorted((t for t in tokens if t.strip() and len(t) > 1), key=len, reverse=True)


def _render_sentinels(text: str, special_tokens: dict[str, str]):
    """Render the first sentinel conversation the template accepts: (messages, text, dropped)."""
    error = None
    for messages, dropped in _conversations():
        try:
            return messages, render(text, messages, special_tokens=special_tokens), dropped, None
        except Exception as err:  # templates are untrusted code
            error = f"{type(err).__name__}: {err}"
    return None, None, False, error


def _generation_prompt(text, messages, special_tokens, plain, turn_end) -> tuple[str, bool | None]:
    """The prompt with the generation prompt on, and whether it opens an assistant turn."""
    try:
        prompt = render(text, messages, special_tokens=special_tokens, add_generation_prompt=True)
    except Exception:
        return plain, None
    if prompt != plain or turn_end is None:
        return prompt, True
    tail = prompt[prompt.rfind(USER_AGAIN) + len(USER_AGAIN) :].rstrip()
    return prompt, not tail.endswith(turn_end)


def find_turn_end(text: str, special_tokens: dict[str, str], known: set[str]) -> TurnEnd:
    """Render the sentinel conversation and read the assistant's turn end.

    >>> find_turn_end("{% for m in messages %}{{ m.content }}<end>{% endfor %}", {}, {"<end>"}).turn_end
    '<end>'
    """
    messages, plain, dropped, error = _render_sentinels(text, special_tokens)
    if plain is None:
        return TurnEnd(error=error)
    result = TurnEnd(dropped_system=dropped)
    at = plain.find(ASSISTANT)
    if at < 0:
        result.assistant_missing = True
    else:
        result.turn_end = token_after(plain, at + len(ASSISTANT), _candidates(known))
    prompt, result.has_generation_prompt = _generation_prompt(
        text, messages, special_tokens, plain, result.turn_end
    )
    result.rendered = prompt
    return result


def readable(rendered: str) -> str:
    """Replace the sentinels in a rendered prompt with ordinary sentences (for display).

    >>> readable("<|im_start|>user\\nyilabUserSentinel2<|im_end|>")
    '<|im_start|>user\\nHello!<|im_end|>'
    """
    for sentinel, words in READABLE.items():
        rendered = rendered.replace(sentinel, words)
    return rendered
