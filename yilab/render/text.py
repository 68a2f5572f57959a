"""Short text for tables and tables of contents: one-line snippets and local times."""

from __future__ import annotations

from datetime import datetime

SNIPPET_CHARS = 70


def snippet(text: str | None, limit: int = SNIPPET_CHARS) -> str:
    """The start of a text on one line, cut with "…".

    >>> snippet("a\\n  b", 10)
    'a b'
    >>> snippet("one two three", 8)
    'one two…'
    """
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def short_time(iso: str | None, now: datetime | None = None) -> str:
    """A logged UTC timestamp in local time: the time of day if it is today, else date and time.

    ``short_time("2025-01-31T12:00:00.5+00:00")`` → ``"12:00:00"`` on that day (UTC machine),
    ``"01-31 12:00"`` on a later day.
    """
    if not iso:
        return ""
    when = datetime.fromisoformat(iso).astimezone()
    today = (now or datetime.now().astimezone()).date()
    return when.strftime("%H:%M:%S" if when.date() == today else "%m-%d %H:%M")
