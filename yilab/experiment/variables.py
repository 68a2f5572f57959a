"""Pure: prompt variables (``{{name}}``) and the table of inputs that fills them.

A prompt (or system prompt) may name variables in double braces, ``{{city}}``; an
experiment then takes rows of values, one grid section per row. A name is a word
(letters, digits, ``_``; any script, so ``{{城市}}`` works) not starting with a digit;
spaces inside the braces are allowed (``{{ city }}``). Anything else in braces is left
as it is, so JSON examples in a prompt stay untouched.

The ``expected`` column is not a variable: it holds the value an ``equals`` check
compares an output with (it may still be used in the prompt like any column). Other
columns the prompt does not name are kept and logged with each run (an id, a note).

>>> fill("Capital of {{ country }}?", {"country": "France"})
'Capital of France?'
>>> placeholders("{{a}} and {{b}}, {{a}}", 'JSON stays: {"x": {"y": 1}}')
('a', 'b')
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping

from yilab.errors import BadInputError
from yilab.i18n import Message

EXPECTED = "expected"
MAX_INPUT_ROWS = 64  # one grid section each; the cell limit applies to the whole
MAX_VALUE_CHARS = 100_000
_PLACEHOLDER = re.compile(r"\{\{\s*([^\W\d]\w*)\s*\}\}")
_NAME = re.compile(r"^[^\W\d]\w*$")

Inputs = tuple[dict[str, str], ...]


def placeholders(*texts: str | None) -> tuple[str, ...]:
    """The variable names the texts use, in order of first use."""
    found = (m.group(1) for t in texts if t for m in _PLACEHOLDER.finditer(t))
    return tuple(dict.fromkeys(found))


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{{name}}`` replaced by its value (all in one pass, so a value
    that itself contains ``{{...}}`` is not filled again)."""
    missing = [n for n in placeholders(text) if n not in values]
    if missing:
        raise BadInputError(Message("inputs.no_value", names=_braced(missing)))
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def check_inputs(inputs: Inputs, *texts: str | None) -> None:
    """Refuse inputs that do not fit the prompt: variables without a value in some row,
    a table given to a prompt without variables, bad names, too many rows."""
    names = placeholders(*texts)
    if not inputs:
        if names:
            raise BadInputError(
                Message("inputs.needs_values", names=_braced(names), first=names[0])
            )
        return
    if len(inputs) > MAX_INPUT_ROWS:
        raise BadInputError(Message("inputs.too_many", n=len(inputs), limit=MAX_INPUT_ROWS))
    for n, row in enumerate(inputs, 1):
        _check_row(n, row)
        missing = [name for name in names if name not in row]
        if missing:
            raise BadInputError(Message("inputs.row_missing", n=n, names=_braced(missing)))
    if not names and any(set(row) - {EXPECTED} for row in inputs):
        raise BadInputError(Message("inputs.unused_columns"))


def _check_row(n: int, row: Mapping) -> None:
    if not isinstance(row, Mapping):
        raise BadInputError(Message("inputs.row_not_mapping", n=n))
    for name, value in row.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise BadInputError(Message("inputs.bad_column", n=n, column=repr(name)))
        if not isinstance(value, str):
            raise BadInputError(Message("inputs.value_not_text", n=n, column=repr(name)))
        if len(value) > MAX_VALUE_CHARS:
            raise BadInputError(
                Message(
                    "inputs.value_too_long",
                    n=n,
                    column=repr(name),
                    chars=len(value),
                    limit=MAX_VALUE_CHARS,
                )
            )


def parse_var(text: str) -> tuple[str, str]:
    """``"city=Paris"`` → ``("city", "Paris")`` (the CLI's ``--var``).

    >>> parse_var("q = 2+2=?")
    ('q', '2+2=?')
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not _NAME.match(name):
        raise BadInputError(f"--var takes name=value (a word, then =), not {text!r}.")
    return name, value.strip()


def inputs_from_vars(pairs: Iterable[tuple[str, str]]) -> Inputs:
    """One input row from ``--var`` pairs (a name given twice is refused)."""
    row: dict[str, str] = {}
    for name, value in pairs:
        if name in row:
            raise BadInputError(f"--var {name} is given twice.")
        row[name] = value
    return (row,) if row else ()


def read_inputs(text: str, name: str = "inputs.csv") -> Inputs:
    """An inputs table from a file's text: JSON Lines (``.jsonl``: one object per line),
    JSON (``.json``: a list of objects) or CSV (anything else; the first line names the
    columns). Numbers and booleans become text; blank rows are skipped."""
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "jsonl":
        rows = [_json_row(line, n) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    elif suffix == "json":
        rows = _json_rows(text)
    else:
        rows = _csv_rows(text)
    inputs = tuple(r for r in rows if any(v.strip() for v in r.values()))
    if not inputs:
        raise BadInputError(Message("inputs.no_rows", file=name))
    for n, row in enumerate(inputs, 1):
        _check_row(n, row)
    if len(inputs) > MAX_INPUT_ROWS:
        raise BadInputError(
            Message("inputs.file_too_many", file=name, n=len(inputs), limit=MAX_INPUT_ROWS)
        )
    return inputs


def inputs_csv(inputs: Inputs) -> str:
    """Input rows as CSV text (a header of every column, then one line per row), which
    :func:`read_inputs` reads back.

    >>> inputs_csv(({"city": "Paris", "expected": "France"},))
    'city,expected\\nParis,France\\n'
    """
    columns = list(dict.fromkeys(k for row in inputs for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(inputs)
    return buffer.getvalue()


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise BadInputError(Message("inputs.empty_file")) from None
    except csv.Error as err:  # csv's own English
        raise BadInputError(Message("inputs.bad_csv", error=str(err))) from None
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise BadInputError(Message("inputs.column_twice", columns=", ".join(duplicated)))
    rows = []
    try:
        for n, record in enumerate(reader, 2):
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise BadInputError(
                    Message("inputs.line_width", n=n, values=len(record), columns=len(header))
                )
            rows.append(dict(zip(header, record, strict=True)))
    except csv.Error as err:
        raise BadInputError(Message("inputs.bad_csv", error=str(err))) from None
    return rows


def _json_rows(text: str) -> list[dict[str, str]]:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise BadInputError(Message("inputs.bad_json", error=str(err))) from None  # json's
    if not isinstance(data, list):
        raise BadInputError(Message("inputs.json_not_list"))
    return [_as_row(item, n) for n, item in enumerate(data, 1)]


def _json_row(line: str, n: int) -> dict[str, str]:
    try:
        item = json.loads(line)
    except ValueError as err:
        raise BadInputError(Message("inputs.bad_json_line", n=n, error=str(err))) from None
    return _as_row(item, n)


def _as_row(item, n: int) -> dict[str, str]:
    if not isinstance(item, dict):
        raise BadInputError(Message("inputs.row_not_object", n=n))
    row = {}
    for key, value in item.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = json.dumps(value)
        elif value is None:
            value = ""
        elif not isinstance(value, str):
            raise BadInputError(
                Message("inputs.value_type", n=n, column=repr(key), type=type(value).__name__)
            )
        row[key] = value
    return row


def section_label(row: Mapping[str, str], width: int = 60) -> str:
    """A short label for an input row's grid section: ``city=Paris · lang=fr``
    (the expected value is left out).

    >>> section_label({"city": "Paris", "expected": "x"})
    'city=Paris'
    """
    parts = [f"{k}={' '.join(v.split())}" for k, v in row.items() if k != EXPECTED]
    label = " · ".join(parts) or "(no variables)"
    return label if len(label) <= width else label[: width - 1] + "…"


def _braced(names: Iterable[str]) -> str:
    return ", ".join("{{" + n + "}}" for n in names)
