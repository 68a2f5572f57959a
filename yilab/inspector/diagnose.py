"""Diagnose a model directory's bos/eos settings against its chat template.

Pure functions over the JSON config files (tokenizer.json and weights are optional):
the special tokens file by file, the chat template and its assistant turn end, the
stop set mlx-lm will really use, a verdict, problems and a fix plan.

Verdicts (a contract): ``ok``, ``eos_mismatch``, ``tokenizer_eos_mismatch``,
``no_chat_template``, ``invalid_config``. Problem codes: ``invalid_json``,
``unreadable_file``, ``invalid_value``, ``template_error`` (these four make the config
invalid); ``eos_mismatch``, ``tokenizer_eos_mismatch``, ``bos_mismatch``, ``double_bos``,
``pad_is_eos``, ``eos_out_of_vocab``, ``no_eos``, ``token_id_conflict``,
``unknown_token_id``, ``no_turn_end``, ``no_generation_prompt``, ``no_system_role``,
``template_choice``, ``no_config_json``; the template mlx-lm loads: ``template_not_loaded``,
``template_ignored``, ``empty_template``, ``template_bom``; turns that end differently when
generated: ``tool_call_not_stop``, ``stop_mid_answer``, ``ambiguous_turn_end``.

>>> report = inspect_model("tests/fixtures/yi-6b-chat-2023")
>>> report.verdict, report.chat_template.turn_end
('eos_mismatch', '<|im_end|>')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yilab.errors import InspectorError, YilabError
from yilab.i18n import ENGLISH, Message, Translator
from yilab.inspector.fix_plan import FixPlan, plan_fix
from yilab.inspector.model_files import (
    ModelFiles,
    Vocab,
    build_vocab,
    describe,
    is_token_id,
    parse_token,
    read_model_files,
    tokenizer_adds_bos,
)
from yilab.inspector.stop_tokens import StopToken, TokenInfo, mlx_stop_tokens, names, stop_ids
from yilab.inspector.template_info import ROLES, ChatTemplateInfo, stop_notes, template_info

VERDICTS = ("ok", "eos_mismatch", "tokenizer_eos_mismatch", "no_chat_template", "invalid_config")
INVALID_CODES = frozenset({"invalid_json", "unreadable_file", "invalid_value", "template_error"})
TOKENIZER_FILES = ("tokenizer_config.json", "special_tokens_map.json")
ID_FILES = ("generation_config.json", "config.json")


@dataclass
class TokenSetting:
    """One special-token setting in one file; ``conflict`` marks a disagreement
    (for eos: it does not name the template's turn end)."""

    key: str
    role: str
    token: str | None
    id: int | None
    conflict: bool = False


@dataclass
class Problem:
    """Something wrong or worth knowing: ``severity`` is error, warning or info."""

    code: str
    severity: str
    file: str | None
    message: str


@dataclass
class InspectionReport:
    """Everything the inspector found; ``to_dict()`` is the ``inspect --json`` document."""

    path: str
    verdict: str
    summary: str
    chat_template: ChatTemplateInfo
    bos: TokenInfo
    eos: TokenInfo
    pad: TokenInfo
    unk: TokenInfo
    adds_bos: bool | None
    stop_tokens: list[StopToken]
    problems: list[Problem]
    fix: FixPlan
    files: dict[str, list[TokenSetting]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps(report.to_dict())`` always works)."""
        return dataclasses.asdict(self)

    @property
    def stop_ids(self) -> list[int]:
        """The ids mlx-lm stops at (those whose id is known)."""
        return [s.id for s in self.stop_tokens if s.id is not None]


def inspect_model(path: str | Path) -> InspectionReport:
    """Inspect the model directory at ``path``; raises only :class:`InspectorError`."""
    model_dir = Path(path).expanduser()
    if not model_dir.is_dir():
        raise InspectorError(Message("load.not_model_dir", path=path))
    try:
        return _inspect(model_dir)
    except YilabError:
        raise
    except Exception as err:  # a bug here must not crash the UI: report it as ours
        said = Message("inspect.failed", path=path, type=type(err).__name__, error=str(err))
        raise InspectorError(said) from err


def _inspect(model_dir: Path) -> InspectionReport:
    """The inspection itself, step by step."""
    files = read_model_files(model_dir)
    vocab = build_vocab(files)
    problems = _file_problems(files, vocab)
    settings = _read_settings(files, vocab, problems)
    specials = {role: _tokenizer_token(files, settings, role) for role in ROLES}
    template, found, notes = template_info(files, specials, vocab)
    stop = mlx_stop_tokens(files, specials["eos"], vocab)
    notes += stop_notes(template, stop)
    problems += [Problem(*note) for note in notes]
    adds_bos = tokenizer_adds_bos(files, specials["bos"].token)
    _mark_conflicts(settings, specials, template)
    problems += _token_problems(files, specials, template, stop, vocab, adds_bos)
    verdict = decide_verdict(problems, template, specials["eos"], stop)
    summary = summarize(verdict, template, specials["eos"], stop, problems)
    if verdict in ("eos_mismatch", "tokenizer_eos_mismatch"):
        severity = "error" if verdict == "eos_mismatch" else "warning"
        problems.append(Problem(verdict, severity, specials["eos"].source, summary))
    plan = plan_fix(
        files,
        verdict,
        template.turn_end,
        template.turn_end_id,
        stop_ids(stop),
        template_text=found.orphan,
        tool_ends=[(e.token, e.id) for e in template.turn_ends if _runs_past(e)],
    )
    return InspectionReport(
        path=str(model_dir),
        verdict=verdict,
        summary=summary,
        chat_template=template,
        bos=specials["bos"],
        eos=specials["eos"],
        pad=specials["pad"],
        unk=specials["unk"],
        adds_bos=adds_bos,
        stop_tokens=stop,
        problems=problems,
        fix=plan,
        files=settings,
    )


def _runs_past(end) -> bool:
    """A tool call's terminator that mlx-lm should stop at and does not."""
    return end.kind == "tool_call" and not end.stops and not end.mid_answer


def _file_problems(files: ModelFiles, vocab: Vocab) -> list[Problem]:
    """Unparsable files, disagreeing token ids, a missing config.json."""
    problems = []
    for name, file in files.files.items():
        if file.error is not None:
            code = "invalid_json" if name.endswith(".json") else "unreadable_file"
            said = Message("problem.in_file", name=name, problem=file.error)
            problems.append(Problem(code, "error", name, said))
    for name, message in vocab.conflicts:
        said = Message("problem.in_file", name=name, problem=message)
        problems.append(Problem("token_id_conflict", "warning", name, said))
    if not files.present("config.json"):
        message = Message("problem.no_config_json")
        problems.append(Problem("no_config_json", "warning", "config.json", message))
    return problems


def _setting(key: str, role: str, token: str | None, token_id: int | None, vocab: Vocab):
    """A setting with whichever of token and id was missing looked up."""
    token = token if token is not None else vocab.token_of(token_id)
    token_id = token_id if token_id is not None else vocab.id_of(token)
    return TokenSetting(key, role, token, token_id)


def _invalid(problems: list[Problem], file: str, key: str, value: Any, expected: str) -> None:
    """Record a setting whose value has an unusable shape."""
    message = Message(
        "problem.invalid_value", file=file, key=key, value=describe(value), expected=expected
    )
    problems.append(Problem("invalid_value", "error", file, message))


def _read_settings(files: ModelFiles, vocab: Vocab, problems: list[Problem]):
    """Every bos/eos/pad/unk setting, file by file; unusable values become problems."""
    settings: dict[str, list[TokenSetting]] = {}
    for file in TOKENIZER_FILES:
        data = files.data(file)
        for role in (r for r in ROLES if f"{r}_token" in data):
            key, value = f"{role}_token", data[f"{role}_token"]
            token = parse_token(value)
            if token is None and value is not None:
                _invalid(problems, file, key, value, Message("problem.expected_token"))
            elif token is not None:
                entry = _setting(key, role, token.token, token.id, vocab)
                settings.setdefault(file, []).append(entry)
    for file in ID_FILES:
        data = files.data(file)
        for role in (r for r in ROLES[:3] if f"{r}_token_id" in data):
            key, value = f"{role}_token_id", data[f"{role}_token_id"]
            items = value if isinstance(value, list) else [value]
            if value is not None and not all(is_token_id(i) for i in items):
                _invalid(problems, file, key, value, Message("problem.expected_id"))
                continue
            for item in (i for i in items if i is not None):
                settings.setdefault(file, []).append(_setting(key, role, None, item, vocab))
    return settings


def _tokenizer_token(files: ModelFiles, settings, role: str) -> TokenInfo:
    """The tokenizer's bos/eos/pad/unk as transformers 5 resolves it: special_tokens_map.json
    overrides tokenizer_config.json only when the latter has no ``added_tokens_decoder``."""
    key = f"{role}_token"
    config = files.data("tokenizer_config.json")
    use_map = key in files.data("special_tokens_map.json") and "added_tokens_decoder" not in config
    source = "special_tokens_map.json" if use_map else "tokenizer_config.json"
    for entry in settings.get(source, []):
        if entry.key == key:
            return TokenInfo(entry.token, entry.id, source)
    return TokenInfo()


def _comparable(a, b) -> bool:
    """Whether two tokens can be compared: both strings known, or both ids."""
    return (a.token is not None and b.token is not None) or (a.id is not None and b.id is not None)


def _mark_conflicts(settings, specials, template: ChatTemplateInfo) -> None:
    """Flag settings that disagree: eos ones that miss the turn end, others that differ
    from what the tokenizer uses. A list (generation_config) is fine if one entry matches."""
    for entries in settings.values():
        groups: dict[str, list[TokenSetting]] = {}
        for entry in entries:
            groups.setdefault(entry.key, []).append(entry)
        for group in groups.values():
            role = group[0].role
            if role == "eos" and template.turn_end is not None:
                ref = TokenInfo(template.turn_end, template.turn_end_id)
            else:
                ref = specials[role]
            if ref.token is None and ref.id is None:
                continue
            comparable = [e for e in group if _comparable(e, ref)]
            if comparable and not any(names(e, ref.token, ref.id) for e in group):
                for entry in comparable:
                    entry.conflict = True


def _token_problems(files, specials, template, stop, vocab, adds_bos) -> list[Problem]:
    """bos mismatches, double bos, pad equal to eos, eos outside the vocabulary, unknown ids."""
    problems = _bos_problems(files, specials["bos"], template, adds_bos)
    eos, pad = specials["eos"], specials["pad"]
    if pad.token is not None and names(eos, pad.token, pad.id):
        message = Message("problem.pad_is_eos", token=pad.token)
        problems.append(Problem("pad_is_eos", "warning", pad.source, message))
    problems += _vocab_problems(files, stop, vocab, template)
    if eos.token is None and eos.id is None:
        message = Message("problem.no_eos")
        problems.append(Problem("no_eos", "warning", "tokenizer_config.json", message))
    return problems


def _bos_problems(files, bos: TokenInfo, template, adds_bos) -> list[Problem]:
    """A bos that differs between files; a template that writes bos when the tokenizer adds one."""
    problems = []
    ids = {f"{bos.source} bos_token": bos.id} if bos.id is not None else {}
    for name in ID_FILES:
        value = files.data(name).get("bos_token_id")
        if is_token_id(value):
            ids[f"{name} bos_token_id"] = value
    if len(set(ids.values())) > 1:
        listed = ", ".join(f"{k} = {v}" for k, v in ids.items())
        message = Message("problem.bos_mismatch", ids=listed)
        problems.append(Problem("bos_mismatch", "warning", bos.source, message))
    if template.starts_with_bos and adds_bos:
        message = Message("problem.double_bos", token=bos.token)
        problems.append(Problem("double_bos", "warning", template.source, message))
    return problems


def _vocab_problems(files, stop, vocab: Vocab, template) -> list[Problem]:
    """Stop ids beyond the vocabulary; tokens whose id no file gives."""
    problems = []
    size = files.data("config.json").get("vocab_size")
    size = size if is_token_id(size) else vocab.size
    for entry in stop:
        if size is not None and entry.id is not None and entry.id >= size:
            message = Message(
                "problem.eos_out_of_vocab", id=entry.id, source=entry.source, size=size
            )
            problems.append(Problem("eos_out_of_vocab", "error", entry.source.split()[0], message))
    unknown = [s.token for s in stop if s.id is None and s.token is not None]
    if template.turn_end is not None and template.turn_end_id is None:
        unknown.append(template.turn_end)
    for token in dict.fromkeys(unknown):
        message = Message("problem.unknown_token_id", token=token)
        problems.append(Problem("unknown_token_id", "info", None, message))
    return problems


def decide_verdict(problems, template: ChatTemplateInfo, eos: TokenInfo, stop) -> str:
    """One of :data:`VERDICTS`, from the most fundamental trouble down."""
    if any(p.code in INVALID_CODES for p in problems):
        return "invalid_config"
    if template.source is None:
        return "no_chat_template"
    turn_end, turn_end_id = template.turn_end, template.turn_end_id
    if turn_end is None or names(eos, turn_end, turn_end_id):
        return "ok"
    if any(names(s, turn_end, turn_end_id) for s in stop):
        return "tokenizer_eos_mismatch"
    return "eos_mismatch"


def _no_template_summary(problems, tr: Translator = ENGLISH) -> str:
    """Why mlx-lm has no chat template: none at all, or one it does not read."""
    codes = {p.code for p in problems}
    if "template_not_loaded" in codes:
        return tr("summary.template_not_loaded")
    if "empty_template" in codes:
        return tr("summary.empty_template")
    return tr("summary.no_template")


def label(token: str | None, token_id: int | None) -> str:
    """A token for people to read.

    >>> label("<|im_end|>", 7), label(None, 2), label("<x>", None)
    ('<|im_end|> (id 7)', 'id 2', '<x> (id unknown)')
    """
    if token is None:
        return f"id {token_id}"
    return f"{token} (id {token_id if token_id is not None else 'unknown'})"


def summarize(
    verdict: str, template, eos: TokenInfo, stop, problems, tr: Translator = ENGLISH
) -> str:
    """The verdict in plain words (in ``tr``'s language: the Tokenizer tab asks again in
    the reader's; the report's ``summary`` and ``inspect --json`` stay English)."""
    end = label(template.turn_end, template.turn_end_id)
    stops = ", ".join(label(s.token, s.id) for s in stop) or tr("summary.nothing")
    if verdict == "invalid_config":
        first = next(p for p in problems if p.code in INVALID_CODES)
        return tr("summary.invalid_config", message=tr.say(first.message))
    if verdict == "no_chat_template":
        return _no_template_summary(problems, tr)
    if verdict == "ok" and template.turn_end is None:
        ambiguous = next((e for e in template.turn_ends if e.mid_answer), None)
        if ambiguous is not None and ambiguous.kind == "answer":
            return tr("summary.ambiguous", token=ambiguous.token, stops=stops)
        return tr("summary.no_turn_end", stops=stops)
    if verdict == "ok":
        return tr("summary.ok", end=end)
    if verdict == "tokenizer_eos_mismatch":
        entry = next(s for s in stop if names(s, template.turn_end, template.turn_end_id))
        return tr(
            "summary.tokenizer_eos_mismatch",
            end=end,
            source=entry.source.split()[0],
            eos=label(eos.token, eos.id),
        )
    return tr("summary.eos_mismatch", end=end, stops=stops, token=template.turn_end)


def summary_in(report: InspectionReport, tr: Translator) -> str:
    """A report's summary again, in ``tr``'s language."""
    return summarize(
        report.verdict, report.chat_template, report.eos, report.stop_tokens, report.problems, tr
    )
