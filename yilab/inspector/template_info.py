"""The chat template's part of an inspection: which template mlx-lm loads, how a turn
ends in the history and when the model generates it (answer, tool call), what it writes
mid-answer, and the problems these show against the stop set.

Problems come back as ``(code, severity, file, message)`` tuples; :mod:`.diagnose` makes
them :class:`~yilab.inspector.diagnose.Problem` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yilab.i18n import Message
from yilab.inspector.chat_template import (
    SYSTEM,
    THINKING_PAIRS,
    USER,
    XTML_TOKENS,
    FoundTemplate,
    Renderer,
    candidates,
    find_chat_template,
    find_turn_end,
    has_thinking,
    readable,
)
from yilab.inspector.model_files import ModelFiles, Vocab
from yilab.inspector.stop_tokens import StopToken, names
from yilab.inspector.turn_ends import GeneratedTurns, generated_turns

ROLES = ("bos", "eos", "pad", "unk")


@dataclass
class TurnEndInfo:
    """A token that ends a generated turn: ``kind`` is ``answer`` or ``tool_call``;
    ``stops``: mlx-lm's stop set holds it; ``mid_answer``: the template also writes it
    inside a generated turn, so it must not be a stop token."""

    kind: str
    token: str
    id: int | None
    stops: bool = False
    mid_answer: bool = False


@dataclass
class ChatTemplateInfo:
    """The chat template mlx-lm loads, where it came from, and how turns end.

    ``turn_end`` is what ends a generated answer (the verdict is about it);
    ``history_turn_end`` what closes an assistant message in the history; ``turn_ends``
    every token that ends a generated turn; ``inner_tokens`` the special tokens written
    mid-answer; ``reasoning_end`` the one that closes the reasoning.
    """

    source: str | None = None
    turn_end: str | None = None
    turn_end_id: int | None = None
    has_generation_prompt: bool | None = None
    starts_with_bos: bool = False
    example: str | None = None  # a short conversation rendered, ready for a reply
    template: str | None = None
    ignored: list[str] = field(default_factory=list)  # files whose template is not used
    enable_thinking: bool | None = None  # what mlx-lm passes to the template
    history_turn_end: str | None = None
    history_turn_end_id: int | None = None
    turn_ends: list[TurnEndInfo] = field(default_factory=list)
    reasoning_end: str | None = None
    inner_tokens: list[str] = field(default_factory=list)


def _markers(vocab: Vocab) -> list[str]:
    """The reasoning markers of mlx-lm's list that this vocabulary has."""
    tokens = [t for pair in THINKING_PAIRS for t in pair] + list(XTML_TOKENS)
    return [t for t in tokens if vocab.id_of(t) is not None]


def template_info(files: ModelFiles, specials, vocab: Vocab):
    """Find and render the template mlx-lm loads. Returns ``(info, found, notes)``."""
    found = find_chat_template(files)
    notes = [("invalid_value", "error", name, f"{name}: {msg}") for name, msg in found.unusable]
    notes += found.notes
    markers = _markers(vocab)
    thinking = has_thinking(set(markers))
    if found.text is None:
        return ChatTemplateInfo(ignored=found.ignored, enable_thinking=thinking), found, notes
    if found.note:
        notes.append(("template_choice", "info", found.source, found.note))
    strings = {f"{r}_token": specials[r].token for r in ROLES if specials[r].token}
    known = set(vocab.added) | set(strings.values())
    variables = {"enable_thinking": thinking}
    history = find_turn_end(found.text, strings, known, variables)
    turns = GeneratedTurns()
    if history.error is None:
        base = [{"role": "user", "content": USER}]
        if not history.dropped_system:
            base.insert(0, {"role": "system", "content": SYSTEM})
        renderer = Renderer(found.text, strings, variables)
        turns = generated_turns(renderer, base, candidates(known), markers)
    info = _info(found, history, turns, vocab, specials["bos"].token)
    info.enable_thinking = thinking
    notes += [(c, s, found.source, m) for c, s, m in _history_notes(history, info, turns)]
    return info, found, notes


def _info(found: FoundTemplate, history, turns: GeneratedTurns, vocab: Vocab, bos):
    """The report's part from the history rendering and the generated turns."""
    answer = turns.answer_end if turns.answer_end is not None else history.turn_end
    ends = [("answer", answer)] if answer else []
    ends += [("tool_call", t) for t in turns.tool_call_ends]
    rendered = history.rendered or ""
    return ChatTemplateInfo(
        source=found.source,
        turn_end=None if answer in turns.inner else answer,
        turn_end_id=None if answer in turns.inner else vocab.id_of(answer),
        has_generation_prompt=history.has_generation_prompt,
        starts_with_bos=bool(bos) and rendered.startswith(bos),
        example=readable(rendered) if history.rendered is not None else None,
        template=found.text,
        ignored=found.ignored,
        history_turn_end=history.turn_end,
        history_turn_end_id=vocab.id_of(history.turn_end),
        turn_ends=[TurnEndInfo(k, t, vocab.id_of(t), mid_answer=t in turns.inner) for k, t in ends],
        reasoning_end=turns.reasoning_end,
        inner_tokens=list(turns.inner),
    )


def _history_notes(result, info: ChatTemplateInfo, turns: GeneratedTurns):
    """(code, severity, message) for what rendering the template showed."""
    if result.error is not None:
        return [("template_error", "error", Message("problem.template_error", error=result.error))]
    notes = []
    if result.dropped_system:
        notes.append(("no_system_role", "info", Message("problem.no_system_role")))
    answer = next((e for e in info.turn_ends if e.kind == "answer"), None)
    if answer is not None and answer.mid_answer:
        message = Message("problem.ambiguous_turn_end", token=answer.token)
        notes.append(("ambiguous_turn_end", "warning", message))
    elif result.assistant_missing and turns.answer_end is None:
        notes.append(("no_turn_end", "warning", Message("problem.assistant_dropped")))
    elif answer is None:
        notes.append(("no_turn_end", "warning", Message("problem.no_turn_end")))
    if result.has_generation_prompt is False:
        notes.append(("no_generation_prompt", "warning", Message("problem.no_generation_prompt")))
    return notes


def stop_notes(info: ChatTemplateInfo, stop: list[StopToken]):
    """Mark which turn ends mlx-lm stops at; (code, severity, file, message) for a tool
    call it runs past and for a stop token the template writes mid-answer."""
    notes = []
    for end in info.turn_ends:
        end.stops = any(names(s, end.token, end.id) for s in stop)
        if end.kind == "tool_call" and not end.stops and not end.mid_answer:
            message = Message("problem.tool_call_not_stop", token=end.token)
            notes.append(("tool_call_not_stop", "warning", info.source, message))
    for entry in stop:
        if entry.token is not None and entry.token in info.inner_tokens:
            message = Message("problem.stop_mid_answer", token=entry.token, source=entry.source)
            notes.append(("stop_mid_answer", "warning", entry.source.split()[0], message))
    return notes
