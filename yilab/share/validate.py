"""Pure: check a parsed bundle before anything of it reaches the run log.

A bundle comes from someone else, so every value is checked against the run log's
own schema (the columns and declared types of a fresh db) and a few rules of its
own: ids are canonical UUIDs, times are ISO-8601, ``*_json`` columns hold JSON of
the right shape, strings have a size limit, numbers are finite, model paths are
plain absolute paths. A token log (``run_tokens``, optional) must decode from base64,
parse as a token log within :data:`MAX_TOKEN_LOG_BYTES`, belong to a run of the bundle
and agree with its row (steps, top_k, source). The first problem raises
:class:`BundleError` naming the place, e.g. ``runs[3].temperature: expected a number, got 'hot'``.

HTML or JavaScript in an output is not a problem here: outputs are text, stored as
text, and every view escapes them (see ``yilab.render.grid`` and ``yilab.share.report``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yilab.errors import BadInputError, BundleError
from yilab.experiment.checks import Check
from yilab.experiment.token_log import FORMAT as TOKEN_LOG_FORMAT
from yilab.experiment.token_log import TokenLog
from yilab.i18n import Message
from yilab.runlog.rows import MODES, STATUSES

FORMAT = "yilab-bundle"
VERSION = 1
TABLES = ("experiments", "runs", "run_tokens")  # in the order they are merged
OPTIONAL_TABLES = frozenset({"run_tokens"})  # absent from bundles written before token logs
MAX_TOKEN_LOG_BYTES = 64 * 1024 * 1024  # one token log, inflated: ~600,000 tokens at k = 20
MAX_LONG_TEXT = 2_000_000  # characters: prompts, outputs, rendered prompts, sweep specs
MAX_SHORT_TEXT = 4_096  # ids, names, paths, times, statuses
LONG_TEXT = frozenset(
    {
        "prompt",
        "system_prompt",
        "sweep_json",
        "note",
        "rendered_prompt",
        "messages_json",
        "output",
        "error",
    }
)
REQUIRED = {
    "experiments": ("id", "created_at", "prompt"),
    # the grid needs these to lay out and label a card
    "runs": ("id", "experiment_id", "created_at", "status", "temperature", "seed", "max_tokens"),
    "run_tokens": ("id", "format", "steps", "top_k", "source", "data"),
}
INT64 = 2**63
_FINISH_REASON = re.compile(r"[a-z_]{1,32}")
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


@dataclass
class CheckedBundle:
    """A bundle that passed every check: complete rows, ready for ``Store.merge_rows``."""

    experiments: list[dict]
    runs: list[dict]
    models: list[str] = field(default_factory=list)
    redaction: dict = field(default_factory=dict)
    run_tokens: list[dict] = field(default_factory=list)  # ``data`` decoded to bytes


def validate_bundle(doc: Any, columns: dict[str, dict[str, str]]) -> CheckedBundle:
    """Check a parsed bundle against ``columns`` (table → column → declared SQL type).

    ``validate_bundle({"format": "zip"}, cols)`` raises ``BundleError("not a yilab bundle …")``.
    """
    _check_header(doc)
    rows = {
        t: [check_row(t, i, r, columns[t]) for i, r in enumerate(_list(doc, t))] for t in TABLES
    }
    for table in TABLES:
        _check_unique(table, rows[table])
    experiment_ids = {row["id"] for row in rows["experiments"]}
    for i, run in enumerate(rows["runs"]):
        if run["experiment_id"] not in experiment_ids:
            raise BundleError(Message("bundle.no_experiment", where=f"runs[{i}].experiment_id"))
    _check_token_logs(rows["run_tokens"], {row["id"] for row in rows["runs"]})
    redaction = doc.get("redaction")
    return CheckedBundle(
        rows["experiments"],
        rows["runs"],
        models=_model_names(doc.get("models")),
        redaction=redaction if isinstance(redaction, dict) else {},
        run_tokens=rows["run_tokens"],
    )


def _check_header(doc: Any) -> None:
    """The format tag and version."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError(Message("bundle.not_bundle", format=FORMAT))
    version = doc.get("version")
    if type(version) is not int or version < 1:
        raise BundleError(Message("bundle.bad_version", version=_short(version)))
    if version > VERSION:
        raise BundleError(Message("bundle.newer", version=version, reads=VERSION))


def _list(doc: dict, key: str) -> list:
    """``doc[key]``, which must be a list (an optional table may be absent: no rows)."""
    if key in OPTIONAL_TABLES and key not in doc:
        return []
    value = doc.get(key)
    if not isinstance(value, list):
        raise BundleError(Message("bundle.no_list", key=key))
    return value


def check_row(table: str, index: int, row: Any, columns: dict[str, str]) -> dict:
    """One row made complete (every column, None where absent) and checked.

    ``check_row("runs", 0, {"id": "x"}, cols)`` raises ``runs[0].id: not a UUID: 'x'``.
    """
    where = f"{table}[{index}]"
    if not isinstance(row, dict):
        raise BundleError(Message("bundle.not_object", where=where, type=type(row).__name__))
    unknown = [name for name in row if name not in columns]
    if unknown:
        names = ", ".join(_short(n) for n in unknown[:5])
        raise BundleError(Message("bundle.unknown_columns", where=where, names=names))
    full = {name: row.get(name) for name in columns}
    if "starred" in full and full["starred"] is None:
        full["starred"] = 0
    for name, sql_type in columns.items():
        full[name] = check_value(f"{where}.{name}", name, full[name], sql_type)
    for name in REQUIRED[table]:
        if full.get(name) is None:
            raise BundleError(Message("bundle.missing", where=f"{where}.{name}"))
    return full


def check_value(where: str, column: str, value: Any, sql_type: str) -> Any:
    """One value checked against its column's SQL type and rule; returns it as stored."""
    if value is None:
        return None
    if sql_type == "TEXT":
        _check_text(where, column, value)
    elif sql_type == "INTEGER":
        if type(value) is not int or not -INT64 <= value < INT64:
            raise BundleError(Message("bundle.not_whole", where=where, value=_short(value)))
    elif sql_type in ("FLOAT", "REAL"):
        if type(value) not in (int, float) or not math.isfinite(value):
            raise BundleError(Message("bundle.not_number", where=where, value=_short(value)))
        value = float(value)
    elif sql_type == "BLOB":
        value = _blob(where, value)
    rule = RULES.get(column)
    if rule is not None:
        rule(where, value)
    return value


def _check_text(where: str, column: str, value: Any) -> None:
    if not isinstance(value, str):
        raise BundleError(Message("bundle.not_text", where=where, value=_short(value)))
    limit = MAX_LONG_TEXT if column in LONG_TEXT else MAX_SHORT_TEXT
    if len(value) > limit:
        raise BundleError(Message("bundle.too_long", where=where, n=len(value), limit=limit))
    if column not in LONG_TEXT and "\x00" in value:
        raise BundleError(Message("bundle.nul", where=where))


def _blob(where: str, value: Any) -> bytes:
    """A blob, which a bundle carries as base64 text."""
    if not isinstance(value, str):
        raise BundleError(Message("bundle.not_base64_text", where=where, value=_short(value)))
    if len(value) > MAX_TOKEN_LOG_BYTES:
        raise BundleError(Message("bundle.blob_too_long", where=where, n=len(value)))
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(Message("bundle.not_base64", where=where)) from None


def _check_token_logs(rows: list[dict], run_ids: set[str]) -> None:
    """Each token log belongs to a run of the bundle, parses, and agrees with its row."""
    for i, row in enumerate(rows):
        where = f"run_tokens[{i}]"
        if row["id"] not in run_ids:
            raise BundleError(Message("bundle.no_run", where=f"{where}.id"))
        try:
            log = TokenLog.from_blob(row["data"], max_body=MAX_TOKEN_LOG_BYTES)
        except BadInputError as err:
            said = Message("bundle.data", where=f"{where}.data", error=err.message)
            raise BundleError(said) from None
        for name, value in (
            ("steps", len(log.steps)),
            ("top_k", log.top_k),
            ("source", log.source),
        ):
            if row[name] != value:
                raise BundleError(
                    Message(
                        "bundle.disagrees",
                        where=f"{where}.{name}",
                        value=_short(row[name]),
                        logged=_short(value),
                    )
                )


def _short(value: Any, limit: int = 40) -> str:
    """A value for an error message, cut short: ``_short("x" * 99)`` → ``'xxx…'``."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- column rules ----------------------------------------------------------------


def _uuid(where: str, value: str) -> None:
    try:
        ok = str(uuid.UUID(value)) == value
    except ValueError:
        ok = False
    if not ok:
        raise BundleError(Message("bundle.not_uuid", where=where, value=_short(value)))


def _timestamp(where: str, value: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise BundleError(Message("bundle.not_time", where=where, value=_short(value))) from None


def _one_of(choices: tuple[str, ...]) -> Callable[[str, str], None]:
    def check(where: str, value: str) -> None:
        if value not in choices:
            said = Message(
                "bundle.not_one_of", where=where, value=_short(value), choices=", ".join(choices)
            )
            raise BundleError(said)

    return check


def _finish_reason(where: str, value: str) -> None:
    if not _FINISH_REASON.fullmatch(value):
        raise BundleError(Message("bundle.not_finish", where=where, value=_short(value)))


def _flag(where: str, value: int) -> None:
    if value not in (0, 1):
        raise BundleError(Message("bundle.not_flag", where=where, value=_short(value)))


def _not_negative(where: str, value: int) -> None:
    if value < 0:
        raise BundleError(Message("bundle.negative", where=where, value=value))


_REMOTE_URL = re.compile(r"^https?://[^/@\s]+(/[^@\s]*)?$")  # no user:password@


def _model_path(where: str, value: str) -> None:
    """A model as logged: an absolute local folder, or a remote endpoint's http(s) URL
    without credentials (import never opens either)."""
    if any(ord(c) < 32 for c in value):
        raise BundleError(Message("bundle.control_chars", where=where))
    if _REMOTE_URL.match(value):
        return
    if "://" in value or value.startswith(("//", "\\\\")):
        raise BundleError(Message("bundle.not_local", where=where, value=_short(value)))
    if not (value.startswith("/") or _DRIVE.match(value)):
        raise BundleError(Message("bundle.not_absolute", where=where, value=_short(value)))
    if ".." in re.split(r"[\\/]", value):
        raise BundleError(Message("bundle.dotdot", where=where, value=_short(value)))


def _json_of(shape: str, ok: Callable[[Any], bool]) -> Callable[[str, str], None]:
    """A rule for a ``*_json`` column: valid JSON (no NaN) that ``ok`` accepts."""

    def check(where: str, value: str) -> None:
        try:
            data = json.loads(value, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise BundleError(Message("bundle.not_json", where=where)) from None
        if not ok(data):
            raise BundleError(Message("bundle.json_shape", where=where, shape=shape))

    return check


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _is_messages(data: Any) -> bool:
    return isinstance(data, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
        for m in data
    )


def _is_int_list(data: Any) -> bool:
    return isinstance(data, list) and all(type(i) is int for i in data)


def _is_flat_dict(data: Any) -> bool:
    return isinstance(data, dict) and all(
        v is None or isinstance(v, (str, int, float)) for v in data.values()
    )


def _is_texts(data: Any) -> bool:
    return isinstance(data, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    )


def _is_checks(data: Any) -> bool:
    """A list of checks as :class:`Check` writes them, each valid (a regex that compiles…)."""
    if not isinstance(data, list):
        return False
    try:
        checks = [Check.from_dict(c) for c in data]
    except (BadInputError, TypeError, KeyError, AttributeError):
        return False
    return len({c.name for c in checks}) == len(checks)


RULES: dict[str, Callable[[str, Any], None]] = {
    "id": _uuid,
    "experiment_id": _uuid,
    "created_at": _timestamp,
    "finished_at": _timestamp,
    "status": _one_of(STATUSES),
    "mode": _one_of(MODES),
    "finish_reason": _finish_reason,
    "starred": _flag,
    "cell_index": _not_negative,
    "max_tokens": _not_negative,
    "model_path": _model_path,
    "sweep_json": _json_of("object", lambda d: isinstance(d, dict)),
    "messages_json": _json_of("list of {role, content}", _is_messages),
    "stop_token_ids_json": _json_of("list of token ids", _is_int_list),
    "versions_json": _json_of("object of versions", _is_flat_dict),
    "branch_of": _uuid,
    "branch_at": _not_negative,
    "input_index": _not_negative,
    "vars_json": _json_of("object of variable: text", _is_texts),
    "checks_json": _json_of("list of valid checks", _is_checks),
    "format": _one_of((TOKEN_LOG_FORMAT,)),
    "steps": _not_negative,
    "top_k": _not_negative,
}


def _check_unique(table: str, rows: list[dict]) -> None:
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if row["id"] in seen:
            raise BundleError(Message("bundle.same_id", where=f"{table}[{i}].id"))
        seen.add(row["id"])


def _model_names(models: Any) -> list[str]:
    """The model names the bundle describes (informational: they are not imported)."""
    if not isinstance(models, list):
        return []
    names = [m.get("name") for m in models if isinstance(m, dict)]
    return [n for n in names if isinstance(n, str) and len(n) <= MAX_SHORT_TEXT]
