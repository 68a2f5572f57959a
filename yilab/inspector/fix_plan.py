"""Plan the smallest config change that makes a chat template's turn end a stop token,
or that puts a template mlx-lm ignores where it reads one.

Pure: the plan names files, JSON key paths and values (or a whole new file);
:mod:`yilab.inspector.fix` previews and applies it. The plan also carries the runtime
equivalents for people who would rather not touch the files.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from yilab.inspector.model_files import TEMPLATE_FILE, ModelFiles, is_token_id, parse_token

EOS_FILES = ("tokenizer_config.json", "special_tokens_map.json")


@dataclass
class FileChange:
    """Set the value at ``key`` (a JSON path: ``["eos_token", "content"]``) in ``file``;
    or, when ``kind`` is ``"create"``, write ``file`` anew with the text ``new`` (``key``
    is then empty and ``old`` None).

    ``old`` is the value found when planning (None: the key is added).
    """

    file: str
    key: list[str]
    old: Any
    new: Any
    reason: str
    kind: str = "set"


@dataclass
class FixPlan:
    """The file changes and their runtime equivalents.

    ``needed``: without a fix, mlx-lm runs to max_tokens. ``extra_eos_ids``: what
    yilab's generation worker adds to the stop set instead of editing files.
    """

    needed: bool = False
    changes: list[FileChange] = field(default_factory=list)
    extra_eos_ids: list[int] = field(default_factory=list)
    extra_eos_tokens: list[str] = field(default_factory=list)
    mlx_lm_cli: str | None = None
    mlx_lm_python: str | None = None
    ollama_modelfile: str | None = None


def _eos_changes(files: ModelFiles, turn_end: str) -> list[FileChange]:
    """Point every tokenizer file's ``eos_token`` at the turn end (keeping an
    AddedToken dict a dict); add it to tokenizer_config.json if no file has one."""
    reason = f"make the tokenizer's eos the template's turn end, {turn_end}"
    changes, seen = [], False
    for name in EOS_FILES:
        data = files.data(name)
        if "eos_token" not in data:
            continue
        seen, value = True, data["eos_token"]
        token = parse_token(value)
        if token is not None and token.token == turn_end:
            continue
        if isinstance(value, dict) and isinstance(value.get("content"), str):
            changes.append(
                FileChange(name, ["eos_token", "content"], value["content"], turn_end, reason)
            )
        else:
            changes.append(FileChange(name, ["eos_token"], value, turn_end, reason))
    if not seen and files.data("tokenizer_config.json"):
        changes.append(FileChange("tokenizer_config.json", ["eos_token"], None, turn_end, reason))
    return changes


def _generation_change(files: ModelFiles, new_ids: list[int]) -> FileChange | None:
    """Append ids to generation_config.json's ``eos_token_id`` when that is set (mlx-lm
    stops at that list, and transformers' ``generate`` reads only it)."""
    value = files.data("generation_config.json").get("eos_token_id")
    ids = value if isinstance(value, list) else [value]
    if not value or not all(is_token_id(i) for i in ids):
        return None
    added = [i for i in dict.fromkeys(new_ids) if i not in ids]
    if not added:
        return None
    listed = ", ".join(str(i) for i in added)
    reason = f"stop at id {listed} too (mlx-lm and transformers' generate read this list)"
    return FileChange("generation_config.json", ["eos_token_id"], value, ids + added, reason)


def _runtime(plan: FixPlan, path: str, turn_end: str | None, others: list[str]) -> None:
    """Fill in the runtime equivalents of the fix: the turn end becomes the eos, the other
    tokens (tool-call terminators) are added to the stop set."""
    tokens = ([turn_end] if turn_end else []) + [t for t in others if t != turn_end]
    plan.extra_eos_tokens = tokens
    quoted = " ".join(shlex.quote(t) for t in tokens)
    plan.mlx_lm_cli = f"mlx_lm.generate --model {shlex.quote(path)} --extra-eos-token {quoted}"
    if turn_end:
        config = json.dumps({"eos_token": turn_end}, ensure_ascii=False)
        plan.mlx_lm_python = f"load({json.dumps(path)}, tokenizer_config={config})"
    else:
        plan.mlx_lm_python = f"model, tokenizer = load({json.dumps(path)})"
    for token in tokens[1:] if turn_end else tokens:
        plan.mlx_lm_python += f"; tokenizer.add_eos_token({json.dumps(token, ensure_ascii=False)})"
    plan.ollama_modelfile = "\n".join(
        f"PARAMETER stop {json.dumps(t, ensure_ascii=False)}" for t in tokens
    )


def _template_plan(text: str) -> FixPlan:
    """Write a template that only chat_template.json holds to chat_template.jinja."""
    reason = "transformers' tokenizer (so mlx-lm) reads chat_template.jinja, not chat_template.json"
    change = FileChange(TEMPLATE_FILE, [], None, text, reason, kind="create")
    return FixPlan(needed=True, changes=[change])


def plan_fix(
    files: ModelFiles,
    verdict: str,
    turn_end: str | None,
    turn_end_id: int | None,
    stop_ids: list[int],
    *,
    template_text: str | None = None,
    tool_ends: list[tuple[str, int | None]] = (),
) -> FixPlan:
    """The fix for a verdict: for ``eos_mismatch`` the tokenizer's eos becomes the turn
    end (and generation_config's list gains it); for ``tokenizer_eos_mismatch`` the
    same tokenizer change is offered but not needed; tool-call terminators mlx-lm runs
    past (``tool_ends``) join generation_config's list and the runtime stop set (offered,
    not needed); for a template mlx-lm does not load (``template_text``, from
    chat_template.json) it is written to chat_template.jinja; otherwise nothing.

    A turn end is never a token the template writes mid-answer: the caller leaves those out.
    """
    if template_text is not None and not files.present(TEMPLATE_FILE):
        return _template_plan(template_text)
    plan = FixPlan()
    answer = verdict in ("eos_mismatch", "tokenizer_eos_mismatch") and turn_end is not None
    if not answer and not tool_ends:
        return plan
    new_ids = [i for _, i in tool_ends if i is not None]
    if answer:
        plan.needed = verdict == "eos_mismatch"
        # A turn end missing from tokenizer.json cannot become the eos: runtime fixes only.
        unknown = turn_end_id is None and bool(files.data("tokenizer.json"))
        plan.changes = [] if unknown else _eos_changes(files, turn_end)
        if plan.needed and turn_end_id is not None:
            new_ids.insert(0, turn_end_id)
    generation = _generation_change(files, new_ids)
    if generation is not None:
        plan.changes.append(generation)
    extra = ([turn_end_id] if answer else []) + [i for _, i in tool_ends]
    plan.extra_eos_ids = [i for i in dict.fromkeys(extra) if i is not None and i not in stop_ids]
    _runtime(plan, str(files.path), turn_end if answer else None, [t for t, _ in tool_ends])
    return plan
