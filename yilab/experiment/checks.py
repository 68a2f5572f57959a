"""Pure: checks that judge a model output, each typed as one line ``[name=]kind[/i][:arg]``.

- ``contains:TEXT`` / ``not-contains:TEXT``: TEXT is (is not) in the output.
- ``regex:PATTERN``: Python's ``re.search`` finds PATTERN anywhere in the output as
  generated; ``^`` and ``$`` are its start and end (``(?m)`` makes them lines). A repeat
  inside a repeat, like ``(a+)+``, is refused: it can take exponential time
  (:mod:`yilab.experiment.regex_guard`).
- ``equals``: the output is the input row's ``expected`` value, surrounding whitespace
  ignored on both sides. A row without one is not judged (``passed`` is None).
- ``json``: the output is JSON, alone or as the only thing in a fenced block (three
  backticks, usually followed by ``json``: a common model habit).
- ``json-schema:SCHEMA``: the output is JSON that matches SCHEMA, a JSON Schema on one line.
- ``max-words:N``: at most N words, counted by :func:`yilab.experiment.words.word_count`
  (Chinese by characters), as a grid row's length is.
- ``max-chars:N``: at most N characters (code points), surrounding whitespace ignored.
- ``stop``: the model ended the answer itself (finish reason ``stop``), not at the limit.

``/i`` ignores case (contains, not-contains, equals, regex). An argument loses its
surrounding spaces; to match spaces, use a regex. Without ``name=`` a check is named after
itself. Everything is validated when a check is typed or imported, so a bad regex or schema
is an error at entry, never halfway through a sweep; checks can be re-evaluated on logged
outputs at any time, without generating again.

>>> checks = parse_checks(["capital=regex/i:^paris", "max-words:5", "stop"])
>>> [c.name for c in checks]
['capital', 'max-words 5', 'stop']
>>> verdicts = evaluate_all(checks, "Paris is the capital.", "stop")
>>> {name: v.passed for name, v in verdicts.items()}
{'capital': True, 'max-words 5': True, 'stop': True}
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, best_match
from referencing.exceptions import Unresolvable  # jsonschema's own dependency

from yilab.errors import BadInputError
from yilab.experiment.regex_guard import nested_repeat
from yilab.experiment.words import word_count
from yilab.i18n import Message, said_state

EXAMPLES = {
    "contains": "contains:Paris",
    "not-contains": "not-contains/i:as an AI",
    "regex": "regex:^Paris",
    "equals": "equals",
    "json": "json",
    "json-schema": 'json-schema:{"type": "object", "required": ["name"]}',
    "max-words": "max-words:50",
    "max-chars": "max-chars:280",
    "stop": "stop",
}
KINDS = tuple(EXAMPLES)  # contains, not-contains, regex, equals, json, json-schema, ...
NO_ARG = ("equals", "json", "stop")
COUNTS = ("max-words", "max-chars")
CASE_KINDS = ("contains", "not-contains", "equals", "regex")
MAX_CHECKS = 20
MAX_ARG_CHARS = 10_000
MAX_NAME_CHARS = 60
DEFAULT_NAME_CHARS = 40
MAX_COUNT = 1_000_000_000
_FIELDS = ("name", "kind", "arg", "ignore_case")
_FENCE = re.compile(r"\A```(?:json)?[ \t]*\n(.*?)\n?```\Z", re.S | re.I)


@dataclass(frozen=True)
class Check:
    """One check, valid by construction (:class:`BadInputError` otherwise).
    ``name`` is shown on cards and table columns, unique within an experiment."""

    name: str
    kind: str  # one of KINDS
    arg: str | None = None  # text, pattern, schema JSON or N; None for equals, json, stop
    ignore_case: bool = False  # contains, not-contains, equals, regex

    def __post_init__(self) -> None:
        _validate_kind(self.kind, self.arg, self.ignore_case)
        _validate_name(self.name, _default_name(self.kind, self.arg, self.ignore_case))

    def to_dict(self) -> dict:
        """JSON-ready form, stored and exported with the experiment."""
        return {f: getattr(self, f) for f in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict) -> Check:
        """Inverse of :meth:`to_dict`, validated like :func:`parse_check` (an imported
        bundle may have been edited by hand)."""
        if not isinstance(data, dict):
            raise BadInputError(Message("check.not_object", type=type(data).__name__))
        if set(data) - set(_FIELDS) or "name" not in data or "kind" not in data:
            got = ", ".join(map(str, data)) or Message("check.none")
            raise BadInputError(Message("check.fields", fields=", ".join(_FIELDS), got=got))
        return cls(data["name"], data["kind"], data.get("arg"), data.get("ignore_case", False))

    def spec(self) -> str:
        """The line :func:`parse_check` reads back; a default name is left out.

        >>> Check("capital", "regex", "^paris", ignore_case=True).spec()
        'capital=regex/i:^paris'
        """
        text = self.kind + ("/i" if self.ignore_case else "")
        text += f":{self.arg}" if self.arg is not None else ""
        default = _default_name(self.kind, self.arg, self.ignore_case)
        return text if self.name == default else f"{self.name}={text}"


@dataclass(frozen=True)
class Verdict:
    """What one check says about one output. ``passed`` is None when it cannot be
    judged (``equals`` on an input without an expected value); ``detail`` says why."""

    passed: bool | None
    detail: str


def parse_check(text: str) -> Check:
    """One line ``[name=]kind[/i][:arg]``. A name is the text before an ``=`` that
    comes before any ``:`` (so a name has neither), and an argument may contain both.

    >>> parse_check("regex:^Paris")
    Check(name='regex ^Paris', kind='regex', arg='^Paris', ignore_case=False)
    >>> parse_check("sum=contains:a=b").arg
    'a=b'
    """
    if not isinstance(text, str):
        raise BadInputError(Message("check.not_text", type=type(text).__name__))
    text = text.strip()
    if not text:
        raise BadInputError(Message("check.empty"))
    eq, colon = text.find("="), text.find(":")
    name = None
    if eq != -1 and (colon == -1 or eq < colon):
        name, text = text[:eq].strip(), text[eq + 1 :].strip()
    head, _, arg = text.partition(":")
    kind, slash, flag = head.strip().partition("/")
    kind = kind.strip().lower()
    _validate_kind_name(kind)
    if slash and flag.strip().lower() != "i":
        raise BadInputError(Message("check.bad_flag", kind=kind, flag=flag))
    arg = arg.strip() or None  # "json:" is plain json; "contains:" lacks its text: Check says
    default = _default_name(kind, arg, bool(slash))
    return Check(default if name is None else name, kind, arg, bool(slash))


def parse_checks(lines: str | Iterable[str]) -> tuple[Check, ...]:
    """One check per non-blank line (a string, or one line per item); lines starting
    with ``#`` are comments. Names must be unique; at most ``MAX_CHECKS``.

    >>> [c.name for c in parse_checks("# sanity\\njson\\n\\nshort=max-chars:280")]
    ['json', 'short']
    """
    if isinstance(lines, str):
        lines = lines.splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, 1) if not _is_blank_or_comment(line)]
    if len(numbered) > MAX_CHECKS:
        raise BadInputError(Message("check.too_many", n=len(numbered), limit=MAX_CHECKS))
    checks, seen = [], {}
    for n, line in numbered:
        try:
            check = parse_check(line)
        except BadInputError as err:
            raise BadInputError(Message("check.on_line", n=n, error=err.message)) from None
        if check.name in seen:
            raise BadInputError(
                Message(
                    "check.twice",
                    check=repr(check.name),
                    first=seen[check.name],
                    n=n,
                    spec=check.spec(),
                )
            )
        seen[check.name] = n
        checks.append(check)
    return tuple(checks)


def _is_blank_or_comment(line: object) -> bool:
    return isinstance(line, str) and (not line.strip() or line.strip().startswith("#"))


def _default_name(kind: str, arg: str | None, ignore_case: bool) -> str:
    """``regex ^Paris``, ``max-words 50``: the spec read aloud, at most 40 characters."""
    name = kind + ("/i" if ignore_case else "") + (f" {arg}" if arg is not None else "")
    return name if len(name) <= DEFAULT_NAME_CHARS else name[: DEFAULT_NAME_CHARS - 1] + "…"


def _validate_kind_name(kind: object) -> None:
    if kind in KINDS:
        return
    close = difflib.get_close_matches(str(kind), KINDS, n=1)
    hint = Message("check.did_you_mean", kind=close[0]) if close else ""
    raise BadInputError(
        Message("check.unknown_kind", kind=repr(kind), kinds=", ".join(KINDS), hint=hint)
    )


def _validate_name(name: object, default: str) -> None:
    """Any name a line can spell back: not empty, no ``=``, ``:`` or line break, not a
    comment. The default name is always fine (``spec`` leaves it out)."""
    if name == default:
        return
    if not isinstance(name, str):
        raise BadInputError(Message("check.name_not_text", type=type(name).__name__))
    if not name.strip():
        raise BadInputError(Message("check.name_empty"))
    if (
        any(c in name for c in "=:\n\r")
        or name != name.strip()
        or name.startswith("#")
        or len(name) > MAX_NAME_CHARS
    ):
        raise BadInputError(Message("check.bad_name", check=repr(name), n=MAX_NAME_CHARS))


def _validate_kind(kind: object, arg: object, ignore_case: object) -> None:
    """The kind, its argument and its /i flag, as the user can fix them."""
    _validate_kind_name(kind)
    if not isinstance(ignore_case, bool):
        raise BadInputError(Message("check.bad_ignore_case", kind=kind, value=repr(ignore_case)))
    if ignore_case and kind not in CASE_KINDS:
        raise BadInputError(Message("check.case_kinds", kind=kind, kinds=", ".join(CASE_KINDS)))
    if kind in NO_ARG:
        if arg is not None:
            raise BadInputError(Message("check.no_arg", kind=kind, arg=repr(arg)))
        return
    if arg is not None and not isinstance(arg, str):
        raise BadInputError(Message("check.arg_not_text", kind=kind, type=type(arg).__name__))
    if arg is None or not arg.strip():
        raise BadInputError(Message("check.needs_arg", kind=kind, example=EXAMPLES[kind]))
    if len(arg) > MAX_ARG_CHARS:
        raise BadInputError(
            Message("check.arg_too_long", kind=kind, n=len(arg), limit=MAX_ARG_CHARS)
        )
    if "\n" in arg or "\r" in arg or arg != arg.strip():
        raise BadInputError(Message("check.arg_one_line", kind=kind))
    if kind == "regex":
        _compiled(arg, ignore_case)
    elif kind == "json-schema":
        _schema_validator(arg)
    elif kind in COUNTS:
        _count(kind, arg)


def _count(kind: str, arg: str) -> int:
    """N of max-words / max-chars: ASCII digits, 1 to MAX_COUNT (``int()`` would also
    take ``+5``, ``1_000`` and other scripts' digits)."""
    if re.fullmatch(r"[0-9]{1,10}", arg) and 1 <= int(arg) <= MAX_COUNT:
        return int(arg)
    raise BadInputError(
        Message(
            "check.bad_count", kind=kind, limit=MAX_COUNT, example=EXAMPLES[kind], arg=_show(arg)
        )
    )


@lru_cache(maxsize=64)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern:
    try:
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as err:
        where = Message("check.at_position", pos=err.pos) if err.pos is not None else ""
        said = Message("check.bad_regex", pattern=repr(pattern), error=err.msg, where=where)
        raise BadInputError(said) from None  # err.msg: re's own English
    except RecursionError:
        raise BadInputError(Message("check.regex_deep", pattern=_show(pattern))) from None
    if nested_repeat(pattern):
        raise BadInputError(Message("check.nested_repeat", pattern=repr(pattern)))
    return compiled


@lru_cache(maxsize=64)
def _schema_validator(text: str):
    """A validator for the JSON Schema ``text``, of the draft its ``$schema`` names
    (2020-12 by default). Remote ``$ref`` are never fetched."""
    try:
        schema = json.loads(text)
        if not isinstance(schema, (dict, bool)):
            raise BadInputError(Message("check.schema_not_object", text=text))
        cls = validators.validator_for(schema, default=Draft202012Validator)
        cls.check_schema(schema)
    except json.JSONDecodeError as err:
        raise BadInputError(Message("check.schema_not_json", error=_json_error(err))) from None
    except SchemaError as err:  # err.message: jsonschema's own English
        where = Message("check.at_path", path=err.json_path) if err.path else ""
        said = Message("check.schema_invalid", where=where, error=err.message)
        raise BadInputError(said) from None
    except RecursionError:
        raise BadInputError(Message("check.schema_deep")) from None
    return cls(schema)


def evaluate(
    check: Check, output: str | None, finish_reason: str | None, expected: str | None = None
) -> Verdict:
    """Judge one output. ``expected`` is the input row's expected value (``equals``
    only; None or blank: not judged). No output (a failed run) is judged as empty.

    >>> evaluate(parse_check("max-words:3"), "one two three four", "stop")
    Verdict(passed=False, detail='has 4 words (at most 3)')
    """
    return _EVALUATE[check.kind](check, output or "", finish_reason, expected)


def evaluate_all(
    checks: Iterable[Check],
    output: str | None,
    finish_reason: str | None,
    expected: str | None = None,
) -> dict[str, Verdict]:
    """Every check on one output, by check name, in check order."""
    return {c.name: evaluate(c, output, finish_reason, expected) for c in checks}


def _contains(check: Check, output: str, _reason, _expected) -> Verdict:
    needle, text = check.arg, output
    if check.ignore_case:
        needle, text = needle.casefold(), text.casefold()
    found = needle in text
    said = Message("judged.contains" if found else "judged.lacks", text=_show(check.arg))
    return Verdict(found == (check.kind == "contains"), said)


def _regex(check: Check, output: str, _reason, _expected) -> Verdict:
    match = _compiled(check.arg, check.ignore_case).search(output)
    if match is None:
        return Verdict(False, Message("judged.no_match", pattern=_show(check.arg, 60)))
    return Verdict(True, Message("judged.matched", text=_show(match.group(0)), pos=match.start()))


def _equals(check: Check, output: str, _reason, expected: str | None) -> Verdict:
    if expected is None or not expected.strip():
        return Verdict(None, Message("judged.no_expected"))
    got, want = output.strip(), expected.strip()
    same = got.casefold() == want.casefold() if check.ignore_case else got == want
    if same:
        return Verdict(True, Message("judged.equals"))
    return Verdict(False, Message("judged.differs", got=_show(got), want=_show(want)))


def _json(check: Check, output: str, _reason, _expected) -> Verdict:
    try:
        value, fenced = _parse_json(output)
    except ValueError as err:
        return Verdict(False, Message("judged.not_json", error=err.args[0]))
    where = Message("judged.fenced") if fenced else ""
    if check.kind == "json":
        return Verdict(True, Message("judged.valid_json", where=where))
    try:
        error = best_match(_schema_validator(check.arg).iter_errors(value))
    except Unresolvable as err:
        ref = _show(err.ref)
        return Verdict(None, Message("judged.unresolvable", ref=ref))
    except RecursionError:
        return Verdict(None, Message("judged.json_deep"))
    if error is None:
        return Verdict(True, Message("judged.matches_schema", where=where))
    at = f"{error.json_path}: " if error.path else ""
    return Verdict(False, _shorten(at + error.message, 200))


def _parse_json(output: str) -> tuple[object, bool]:
    """The JSON value of the stripped output or of its single fenced block, and whether
    it was fenced. ValueError in plain words if it is not JSON."""
    text = output.strip()
    fence = _FENCE.match(text)
    if fence:
        text = fence.group(1).strip()
    if not text:
        raise ValueError(Message("judged.empty_output"))
    try:
        return json.loads(text, parse_constant=_refuse_constant), bool(fence)
    except json.JSONDecodeError as err:
        raise ValueError(_json_error(err)) from None
    except RecursionError:
        raise ValueError(Message("judged.nested")) from None


def _refuse_constant(name: str):
    raise ValueError(Message("judged.constant", constant=name))  # Python reads NaN; JSON has none


def _json_error(err: json.JSONDecodeError) -> Message:
    """json's own English message, and where (in the reader's language)."""
    return Message("check.json_error", error=err.msg, line=err.lineno, column=err.colno)


def _max_count(check: Check, output: str, _reason, _expected) -> Verdict:
    limit = _count(check.kind, check.arg)
    text = output.strip()
    n, unit = (word_count(text), "words") if check.kind == "max-words" else (len(text), "chars")
    key = f"judged.{unit}_one" if n == 1 else f"judged.{unit}"
    return Verdict(n <= limit, Message(key, n=n, limit=limit))


def _stop(check: Check, _output, finish_reason: str | None, _expected) -> Verdict:
    if finish_reason == "stop":
        return Verdict(True, Message("judged.stopped"))
    if finish_reason is None:
        return Verdict(False, Message("judged.unfinished"))
    if finish_reason == "length":
        return Verdict(False, Message("judged.hit_limit"))
    return Verdict(False, Message("judged.not_stopped", reason=said_state(finish_reason)))


_EVALUATE = {
    "contains": _contains,
    "not-contains": _contains,
    "regex": _regex,
    "equals": _equals,
    "json": _json,
    "json-schema": _json,
    "max-words": _max_count,
    "max-chars": _max_count,
    "stop": _stop,
}


def pass_rate(verdicts: Iterable[bool | None]) -> float | None:
    """The share of judged verdicts that passed; None when none was judged.

    >>> pass_rate([True, False, None, True])
    0.6666666666666666
    """
    judged = [v for v in verdicts if v is not None]
    return sum(map(bool, judged)) / len(judged) if judged else None


def pass_at_k(verdicts: Iterable[bool | None]) -> bool | None:
    """pass@k: at least one of the k judged verdicts (one per seed) passed.

    >>> pass_at_k([False, True, None]), pass_at_k([None])
    (True, None)
    """
    judged = [v for v in verdicts if v is not None]
    return any(judged) if judged else None


def pass_all_k(verdicts: Iterable[bool | None]) -> bool | None:
    """pass^k: all k judged verdicts passed (a prompt that works every time).

    >>> pass_all_k([True, True, None]), pass_all_k([True, False]), pass_all_k([])
    (True, False, None)
    """
    judged = [v for v in verdicts if v is not None]
    return all(judged) if judged else None


def _show(text: str, limit: int = 40) -> str:
    return repr(_shorten(text, limit))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
