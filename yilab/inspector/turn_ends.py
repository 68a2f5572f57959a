"""What ends a *generated* assistant turn, read from the chat template.

A message in the history can end differently from what the model writes when it answers:
harmony (gpt-oss) closes every message in the history with ``<|end|>``, but the model
ends its final answer with ``<|return|>``, a tool call with ``<|call|>``, and writes
``<|end|>`` *inside* an answer, after its reasoning. So the template is rendered with the
assistant's message last (as in training data, ``add_generation_prompt`` off), in three
shapes: a plain answer, an answer with reasoning (``reasoning_content`` / ``thinking``)
and a tool call. What the model generates is that rendering past the prompt for a reply
(the longest common prefix of the two); its last special token ends the turn, and every
special token before it is written mid-answer and must never become a stop token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from yilab.inspector.chat_template import TOKEN_LIKE, Renderer, token_after

ANSWER = "yilabAnswerSentinel5"
REASONING = "yilabReasoningSentinel6"
TOOL = "yilab_tool_sentinel"
ARGUMENT = "yilabArgumentSentinel7"
TOOL_SPEC = {
    "type": "function",
    "function": {
        "name": TOOL,
        "description": "A tool.",
        "parameters": {
            "type": "object",
            "properties": {"arg": {"type": "string", "description": "An argument."}},
            "required": ["arg"],
        },
    },
}


@dataclass
class Generated:
    """One rendering of the assistant's message last: what the model writes for it
    (``text``), its last special token (``end``) and the special tokens before it."""

    kind: str  # "answer", "reasoning" or "tool_call"
    text: str
    end: str | None
    inner: list[str]


@dataclass
class GeneratedTurns:
    """What the renderings showed: the answer's terminator, the tool calls' ones, the
    token that closes the reasoning, and every special token written mid-answer."""

    answer_end: str | None = None
    tool_call_ends: list[str] = field(default_factory=list)
    reasoning_end: str | None = None
    inner: list[str] = field(default_factory=list)
    rendered: dict[str, str] = field(default_factory=dict)  # kind → generated text


def special_tokens(text: str, candidates: list[str]) -> list[tuple[int, str]]:
    """Every special token in ``text`` with its offset: known ones (``candidates``, longest
    first), else anything that looks like one.

    >>> special_tokens("a<|end|>b<x>", ["<|end|>"])
    [(1, '<|end|>'), (9, '<x>')]
    """
    found, i = [], 0
    while i < len(text):
        token = next((c for c in candidates if text.startswith(c, i)), None)
        if token is None:
            match = TOKEN_LIKE.match(text, i)
            token = match.group(0) if match else None
        if token is None:
            i += 1
            continue
        found.append((i, token))
        i += len(token)
    return found


def _generated_start(prompt: str, full: str, tokens: list[tuple[int, str]]) -> int:
    """Where the generated part of ``full`` starts: after its common prefix with the
    prompt, moved back to the start of a special token that the prefix cuts through."""
    common = 0
    for a, b in zip(prompt, full, strict=False):
        if a != b:
            break
        common += 1
    for at, token in tokens:
        if at < common < at + len(token):
            return at
    return common


def _answer_messages(base: list[dict], reasoning: bool) -> list[dict]:
    """The conversation with the assistant's answer last (with reasoning or not)."""
    message = {"role": "assistant", "content": ANSWER}
    if reasoning:
        message.update(reasoning_content=REASONING, thinking=REASONING)
    return [*base, message]


def _tool_shapes():
    """Assistant tool-call messages, most to least common shape (two calls first: some
    templates close a list of calls only after the second one)."""
    for count in (2, 1):
        for content in (None, ""):
            for arguments in ({"arg": ARGUMENT}, json.dumps({"arg": ARGUMENT})):
                calls = [
                    {
                        "id": f"c{i}a2b3c4d",
                        "type": "function",
                        "function": {"name": TOOL, "arguments": arguments},
                    }
                    for i in range(count)
                ]
                yield {"role": "assistant", "content": content, "tool_calls": calls}


def _render(renderer: Renderer, messages: list[dict], **extra) -> tuple[str, str] | None:
    """(prompt for a reply, the conversation with its last message) or None if refused."""
    try:
        prompt = renderer(messages[:-1], add_generation_prompt=True, **extra)
        return prompt, renderer(messages, **extra)
    except Exception:  # templates are untrusted code; a refusal means "not supported"
        return None


def _generated(kind: str, prompt: str, full: str, sentinel: str, candidates) -> Generated:
    """The generated part of ``full`` and its last special token after ``sentinel``."""
    tokens = special_tokens(full, candidates)
    start = _generated_start(prompt, full, tokens)
    after = full.rfind(sentinel) + len(sentinel)
    if kind == "tool_call":
        ends = [t for at, t in tokens if at >= after]
        end = ends[-1] if ends else None
    else:
        end = token_after(full, after, candidates)
    end_at = next((at for at, t in tokens if at >= after and t == end), len(full))
    inner = [t for at, t in tokens if start <= at < end_at]
    return Generated(kind, full[start:], end, inner)


def _answers(renderer: Renderer, base: list[dict], candidates) -> list[Generated]:
    """The plain answer and the answer with reasoning, where the template renders them."""
    found = []
    for kind, reasoning in (("answer", False), ("reasoning", True)):
        rendered = _render(renderer, _answer_messages(base, reasoning))
        if rendered is not None and ANSWER in rendered[1]:
            found.append(_generated(kind, *rendered, ANSWER, candidates))
    return found


def _tool_calls(renderer: Renderer, base: list[dict], candidates) -> list[Generated]:
    """A tool call as the template renders it, plain and as a built-in tool (Llama 3.1's
    ipython mode ends those with ``<|eom_id|>``), where the template renders one."""
    found = []
    for extra in ({"tools": [TOOL_SPEC]}, {"tools": [TOOL_SPEC], "builtin_tools": [TOOL]}):
        for message in _tool_shapes():
            rendered = _render(renderer, [*base, message], **extra)
            if rendered is not None and ARGUMENT in rendered[1]:
                found.append(_generated("tool_call", *rendered, ARGUMENT, candidates))
                break
    return found


def _reasoning_end(generated: list[Generated], candidates) -> str | None:
    """The special token right after the reasoning, where the template shows it."""
    for item in generated:
        if item.kind == "reasoning" and REASONING in item.text:
            at = item.text.find(REASONING) + len(REASONING)
            return token_after(item.text, at, candidates)
    return None


def generated_turns(
    renderer: Renderer, base: list[dict], candidates: list[str], markers: list[str] = ()
) -> GeneratedTurns:
    """What ends a generated turn, for the user-side conversation ``base``.

    ``candidates`` are the known special tokens (longest first); ``markers`` reasoning
    markers of the vocabulary, which a model writes mid-answer even where the template
    hides its reasoning.
    """
    generated = _answers(renderer, base, candidates) + _tool_calls(renderer, base, candidates)
    result = GeneratedTurns(reasoning_end=_reasoning_end(generated, candidates))
    inner = [t for item in generated for t in item.inner] + list(markers)
    result.inner = list(dict.fromkeys(inner))
    for item in generated:
        result.rendered.setdefault(item.kind, item.text)
        if item.kind == "tool_call" and item.end and item.end not in result.tool_call_ends:
            result.tool_call_ends.append(item.end)
    answers = [g.end for g in generated if g.kind == "answer"]
    result.answer_end = answers[0] if answers else None
    return result
