"""Apply an inspector fix plan to a model directory: preview, backup, atomic write, undo.

Only the JSON config files in :data:`EDITABLE` are ever edited, and only the files in
:data:`CREATABLE` (``chat_template.jinja``) ever created, never weights, never outside
the model directory and never through a symlink. An edit changes the one value it must
and keeps the rest of the file as it was (indentation, key order, line endings, a BOM).
The first fix keeps the pristine original in ``<file>.yilab-bak``; a created file gets an
empty ``<file>.yilab-new`` marker, written first; :func:`undo_fix` puts the originals
back and removes what was created.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring
from pathlib import Path
from typing import Any

from yilab.errors import FixError
from yilab.files import write_atomic
from yilab.i18n import Message
from yilab.inspector.diagnose import InspectionReport, inspect_model
from yilab.inspector.fix_plan import FileChange, FixPlan

BACKUP_SUFFIX = ".yilab-bak"
CREATED_SUFFIX = ".yilab-new"
EDITABLE = frozenset(
    {"tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "config.json"}
)
CREATABLE = frozenset({"chat_template.jinja"})
_BOM = b"\xef\xbb\xbf"
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_MISSING = object()


@dataclass
class FileEdit:
    """The new text of one file and its unified diff against the current one
    (against nothing when ``created``)."""

    file: str
    diff: str
    new_text: str = field(repr=False)
    created: bool = False


@dataclass
class FixResult:
    """What :func:`apply_fix` or :func:`undo_fix` wrote (``created``: new files, which
    undo removes)."""

    files: list[str]
    backups: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)


def runtime_override(report: InspectionReport) -> list[int]:
    """The extra eos ids the generation worker adds to the stop set instead of a file fix.

    >>> runtime_override(inspect_model("tests/fixtures/yi-6b-chat-2023"))
    [7]
    """
    return list(report.fix.extra_eos_ids)


# ---- editing JSON text in place -------------------------------------------------------


def _members(text: str, start: int) -> tuple[list[tuple[str, int, int, int, int]], int]:
    """The members of the object at ``text[start] == "{"`` as
    ``(key, key_start, key_end, value_start, value_end)``, and the index of its ``}``."""
    if text[start] != "{":
        raise ValueError(f"expected an object at {start}")
    members, i = [], _WS.match(text, start + 1).end()
    if text[i] == "}":
        return members, i
    while True:
        if text[i] != '"':
            raise ValueError(f"expected a key at {i}")
        key, key_end = scanstring(text, i + 1)
        colon = _WS.match(text, key_end).end()
        if text[colon] != ":":
            raise ValueError(f"expected ':' at {colon}")
        value_start = _WS.match(text, colon + 1).end()
        _, value_end = _DECODER.raw_decode(text, value_start)
        members.append((key, i, key_end, value_start, value_end))
        after = _WS.match(text, value_end).end()
        if text[after] == "}":
            return members, after
        if text[after] != ",":
            raise ValueError(f"expected ',' or '}}' at {after}")
        i = _WS.match(text, after + 1).end()


def _dump(value: Any, old_text: str | None, ascii_only: bool) -> str:
    """``value`` as JSON, multi-line like ``old_text`` when that was a multi-line list."""
    if isinstance(value, list) and old_text and old_text.startswith("[") and "\n" in old_text:
        indent = re.search(r"\n([ \t]*)\S", old_text)
        inner = indent.group(1) if indent else "  "
        closing = re.search(r"\n([ \t]*)\]$", old_text)
        close = closing.group(1) if closing else ""
        items = [json.dumps(v, ensure_ascii=ascii_only) for v in value]
        return "[\n" + ",\n".join(inner + item for item in items) + "\n" + close + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def _set_in_text(text: str, start: int, key: list[str], value: Any, ascii_only: bool) -> str:
    """Set ``key`` (a path) in the object at ``start``, keeping the rest of the text."""
    members, close = _members(text, start)
    found = [m for m in members if m[0] == key[0]]
    if found:
        _, _, _, v_start, v_end = found[-1]  # json.loads keeps the last duplicate
        if len(key) > 1:
            return _set_in_text(text, v_start, key[1:], value, ascii_only)
        new = _dump(value, text[v_start:v_end], ascii_only)
        return text[:v_start] + new + text[v_end:]
    if len(key) > 1:
        raise ValueError(f"no {key[0]!r} to edit inside")
    if not members:
        entry = json.dumps(key[0], ensure_ascii=ascii_only) + ": " + _dump(value, None, ascii_only)
        return text[: start + 1] + entry + text[close:]
    _, k_start, k_end, v_start, v_end = members[-1]
    lead = text[text.rfind(",", 0, k_start) + 1 : k_start] if len(members) > 1 else None
    lead = lead if lead is not None else (text[start + 1 : k_start] or " ")
    colon = text[k_end:v_start]
    entry = json.dumps(key[0], ensure_ascii=ascii_only) + colon + _dump(value, None, ascii_only)
    return text[:v_end] + "," + lead + entry + text[v_end:]


def _set_in_data(data: dict, key: list[str], value: Any) -> dict:
    """A deep copy of ``data`` with ``key`` (a path) set to ``value``."""
    result = copy.deepcopy(data)
    node = result
    for part in key[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise ValueError(f"{'.'.join(key[:-1])} is not an object")
    node[key[-1]] = value
    return result


def _get(data: Any, key: list[str]) -> Any:
    """The value at ``key`` (a path), or a marker when absent."""
    for part in key:
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _indent_of(text: str) -> int | str | None:
    """The indentation of a JSON text's first member: 2, "\\t", or None when compact."""
    match = re.match(r"\s*\{\n([ \t]*)", text)
    if match is None:
        return None
    lead = match.group(1)
    return lead if "\t" in lead else len(lead)


def edit_json_text(text: str, key: list[str], value: Any) -> str:
    """Set ``key`` in a JSON object text, changing as few characters as possible.

    >>> edit_json_text('{\\n  "a": 1,\\n  "b": "x"\\n}\\n', ["b"], "y")
    '{\\n  "a": 1,\\n  "b": "y"\\n}\\n'
    """
    data = json.loads(text)
    expected = _set_in_data(data, key, value)
    ascii_only = text.isascii()
    try:
        start = _WS.match(text).end()
        new = _set_in_text(text, start, key, value, ascii_only)
        if json.loads(new) == expected:
            return new
    except (ValueError, IndexError, RecursionError):
        pass
    # The text is unusual (duplicate nested keys, odd spacing): rewrite the whole file.
    tail = "\n" if text.endswith("\n") else ""
    return json.dumps(expected, indent=_indent_of(text), ensure_ascii=ascii_only) + tail


# ---- files ---------------------------------------------------------------------------


def _model_dir(path: str | Path) -> Path:
    """The resolved model directory, or FixError."""
    model_dir = Path(path).expanduser()
    if not model_dir.is_dir():
        raise FixError(Message("load.not_model_dir", path=path))
    return model_dir.resolve()


def _allowed(name: str) -> bool:
    """Whether yilab may write ``name``: an editable or creatable file, or the backup or
    marker of one."""
    if name in EDITABLE or name in CREATABLE:
        return True
    if name.endswith(BACKUP_SUFFIX):
        return name[: -len(BACKUP_SUFFIX)] in EDITABLE
    return name.endswith(CREATED_SUFFIX) and name[: -len(CREATED_SUFFIX)] in CREATABLE


def _safe_path(model_dir: Path, name: str, *, must_exist: bool = True) -> Path:
    """``model_dir / name`` after checking it is an editable config file (or a creatable
    one), is not a symlink and stays inside the directory."""
    if not _allowed(name):
        allowed = ", ".join(sorted(EDITABLE | CREATABLE))
        raise FixError(Message("fix.only_edits", allowed=allowed, name=repr(name)))
    path = model_dir / name
    if path.is_symlink():
        raise FixError(Message("fix.symlink", path=path))
    if path.resolve().parent != model_dir:
        raise FixError(Message("fix.outside", path=path, folder=model_dir))
    if must_exist and not path.is_file():
        raise FixError(Message("fix.missing", path=path))
    return path


def _read(path: Path) -> tuple[str, bool, bool]:
    """A file's text (CRLF ends made LF), and whether it had CRLF ends and a BOM."""
    raw = path.read_bytes()
    bom = raw.startswith(_BOM)
    try:
        text = raw[len(_BOM) if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError as err:
        raise FixError(Message("fix.not_utf8", name=path.name, error=str(err))) from err
    crlf = text.count("\r\n") == text.count("\n") > 0  # mixed ends are left alone
    return (text.replace("\r\n", "\n") if crlf else text), crlf, bom


def _encode(text: str, crlf: bool, bom: bool) -> bytes:
    """Text back to bytes with the file's own line ends and BOM."""
    data = (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")
    return _BOM + data if bom else data


def _diff(name: str, old: str, new: str, *, created: bool = False) -> str:
    """A unified diff of one file (from ``/dev/null`` when it is created)."""
    lines = [(t if t.endswith("\n") else t + "\n").splitlines(keepends=True) for t in (old, new)]
    if created:
        lines[0] = []
    before = "/dev/null" if created else f"a/{name}"
    return "".join(difflib.unified_diff(*lines, fromfile=before, tofile=f"b/{name}"))


def _apply_changes(name: str, text: str, changes: list[FileChange]) -> str:
    """Apply a file's changes to its text, checking each one still finds its old value."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise FixError(Message("fix.bad_json", name=name, error=str(err))) from err
    for change in changes:
        found = _get(data, change.key)
        if (None if found is _MISSING else found) != change.old:
            raise FixError(Message("fix.changed", name=name))
        try:
            text = edit_json_text(text, change.key, change.new)
        except ValueError as err:
            key = ".".join(change.key)
            # err: the JSON scanner's own English, inside the sentence
            said = Message("fix.cannot_set", key=key, name=name, error=str(err))
            raise FixError(said) from err
        data = json.loads(text)
    return text


def _creation(root: Path, change: FileChange) -> FileEdit:
    """The edit that creates a file, refused when the file is there already."""
    if change.file not in CREATABLE or not isinstance(change.new, str):
        creatable = ", ".join(sorted(CREATABLE))
        raise FixError(Message("fix.only_creates", creatable=creatable, name=repr(change.file)))
    path = _safe_path(root, change.file, must_exist=False)
    if path.exists():
        raise FixError(Message("fix.exists", name=change.file))
    return FileEdit(change.file, _diff(change.file, "", change.new, created=True), change.new, True)


def preview_fix(model_dir: str | Path, plan: FixPlan | None = None) -> list[FileEdit]:
    """The edits a plan makes (``inspect_model(model_dir).fix`` by default), with diffs."""
    root = _model_dir(model_dir)
    plan = plan if plan is not None else inspect_model(root).fix
    by_file: dict[str, list[FileChange]] = {}
    edits = []
    for change in plan.changes:
        if change.kind == "create":
            edits.append(_creation(root, change))
        else:
            by_file.setdefault(change.file, []).append(change)
    for name, changes in by_file.items():
        text, _, _ = _read(_safe_path(root, name))
        new = _apply_changes(name, text, changes)
        if new != text:
            edits.append(FileEdit(name, _diff(name, text, new), new))
    return edits


def _write_edit(root: Path, edit: FileEdit, result: FixResult) -> None:
    """Write one edited file after backing up its original once."""
    path = _safe_path(root, edit.file)
    backup = _safe_path(root, edit.file + BACKUP_SUFFIX, must_exist=False)
    _, crlf, bom = _read(path)
    if not backup.exists():
        write_atomic(backup, path.read_bytes())
        result.backups.append(backup.name)
    write_atomic(path, _encode(edit.new_text, crlf, bom))


def _write_created(root: Path, edit: FileEdit) -> None:
    """Create a file, its marker first (so undo can remove it even after a crash)."""
    path = _safe_path(root, edit.file, must_exist=False)
    marker = _safe_path(root, edit.file + CREATED_SUFFIX, must_exist=False)
    if path.exists():
        raise FixError(Message("fix.exists", name=edit.file))
    write_atomic(marker, b"")
    write_atomic(path, edit.new_text.encode("utf-8"))


def apply_fix(model_dir: str | Path, plan: FixPlan | None = None) -> FixResult:
    """Apply a plan: back up each file once (the pristine original), then write it
    atomically; create new files after writing their undo marker."""
    root = _model_dir(model_dir)
    edits = preview_fix(root, plan)
    if not edits:
        raise FixError(Message("fix.nothing", folder=root))
    result = FixResult([])
    for edit in edits:
        try:
            if edit.created:
                _write_created(root, edit)
                result.created.append(edit.file)
            else:
                _write_edit(root, edit, result)
        except OSError as err:
            raise FixError(
                Message("fix.cannot_write", path=root / edit.file, error=str(err))
            ) from err
        result.files.append(edit.file)
    return result


def backups(model_dir: str | Path) -> list[str]:
    """The files of ``model_dir`` that undo would restore (a yilab backup) or remove
    (created by a fix)."""
    root = _model_dir(model_dir)
    saved = [n for n in EDITABLE if (root / (n + BACKUP_SUFFIX)).is_file()]
    created = [n for n in CREATABLE if (root / (n + CREATED_SUFFIX)).is_file()]
    return sorted(saved + created)


def _undo_one(root: Path, name: str) -> None:
    """Put one file back as it was before the first fix."""
    target = _safe_path(root, name, must_exist=False)
    if name in CREATABLE:
        marker = _safe_path(root, name + CREATED_SUFFIX)
        target.unlink(missing_ok=True)
        marker.unlink()
        return
    backup = _safe_path(root, name + BACKUP_SUFFIX)
    write_atomic(target, backup.read_bytes())
    backup.unlink()


def undo_fix(model_dir: str | Path) -> FixResult:
    """Restore every backed-up file to its original bytes, remove the files a fix created,
    and remove the backups and markers."""
    root = _model_dir(model_dir)
    names = backups(root)
    if not names:
        raise FixError(Message("fix.no_backup", folder=root))
    for name in names:
        try:
            _undo_one(root, name)
        except OSError as err:
            raise FixError(Message("fix.cannot_restore", path=root / name, error=str(err))) from err
    return FixResult(names)
