"""Stored English read back as a :class:`Message`, so the dashboard can say it again.

The run log keeps a failed run's error as the English text it was raised with (the CLI,
exports and other tools read it as it is). When the dashboard shows that run again, the
text is matched against the English catalog: a message yilab wrote comes back with its
key and values, and a Chinese reader sees it in Chinese, as the live card said it. Text
that is not one of yilab's messages (a library's or a server's own words) stays as it is.
"""

from __future__ import annotations

import re
from functools import cache
from string import Formatter

from yilab.i18n import EN, Message

_PLACEHOLDER = r"(?P<{}>.+?)"
# Entries with less text of their own than this ("{where}: {error}") would claim any
# library's "a: b" as theirs: they are not recognized.
MIN_LITERAL = 6


def recognize(text: str | None) -> str | None:
    """``text`` as the :class:`Message` it was written from, or as it is.

    >>> m = recognize("No run with id abc in runs.db")
    >>> m.key, m.values
    ('store.not_found', {'kind': 'run', 'ident': 'abc', 'path': 'runs.db'})
    >>> recognize("CUDA out of memory"), recognize(None)
    ('CUDA out of memory', None)
    """
    if not text or isinstance(text, Message):
        return text
    for key, pattern, specs in _patterns():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        section = key.partition(".")[0]
        values = {
            name: _typed(value, specs[name], section) for name, value in match.groupdict().items()
        }
        try:
            message = Message(key, **values)
        except (ValueError, TypeError, KeyError):
            continue
        if message == text:  # the values read back give the very same English
            return message
    return text


@cache
def _patterns() -> list[tuple[str, re.Pattern, dict[str, str]]]:
    """A full-text pattern per English entry with placeholders, the most specific first
    (more text of its own), so a general entry is tried after those it could eat."""
    patterns = []
    for key, template in EN.items():
        parts, specs, literal = [], {}, 0
        for text, name, spec, _ in Formatter().parse(template):
            parts.append(re.escape(text))
            literal += sum(c.isalnum() for c in text)
            if name is None:
                continue
            if name in specs:
                parts.append(f"(?P={name})")
            else:
                parts.append(_PLACEHOLDER.format(name))
                specs[name] = spec or ""
        if specs and literal >= MIN_LITERAL:
            patterns.append((literal, key, re.compile("".join(parts), re.DOTALL), specs))
    patterns.sort(key=lambda p: -p[0])
    return [(key, pattern, specs) for _, key, pattern, specs in patterns]


def _typed(value: str, spec: str, section: str) -> object:
    """A number again where the template formats one (``{need:.1f}``, ``{tokens:,}``); a
    nested message again where it is one: any of yilab's messages with values, or a word
    of the same section (``store.not_found``'s ``{kind}`` is ``store.run``)."""
    if spec:
        try:
            return int(value.replace(",", "")) if spec.endswith((",", "d")) else float(value)
        except ValueError:
            return value
    word = _words().get((section, value))
    return Message(word) if word else recognize(value)


@cache
def _words() -> dict[tuple[str, str], str]:
    """(section, English) → key, for the entries without placeholders."""
    return {
        (key.partition(".")[0], text): key
        for key, text in EN.items()
        if not any(name is not None for _, name, _, _ in Formatter().parse(text))
    }
