"""Pure: refuse the regexes that can take exponential time, before a sweep runs them.

Python's ``re`` has no timeout, so a ``regex:`` check with a catastrophic pattern could
hang judging on an output it almost matches. :func:`nested_repeat` reads the pattern as
Python's own parser does (``re._parser``, ``sre_parse`` before 3.11) and finds the
textbook shapes.

>>> nested_repeat("(a+)+$"), nested_repeat("(a+){2}"), nested_repeat("(a|b)*c")
(True, False, False)
"""

from __future__ import annotations

import re


def nested_repeat(pattern: str) -> bool:
    """The textbook catastrophic shapes: an unbounded repeat inside a repeat whose other
    items may all match nothing, so the same text splits between them in exponentially
    many ways: ``(a+)+``, ``(\\w+\\s*)*``, ``(a*b*)+``. Not every slow pattern (``(a|aa)+``
    passes): this is a guard, not a proof, and ``re`` has no timeout to fall back on."""
    parser = getattr(re, "_parser", None)
    if parser is None:  # Python 3.10
        import sre_parse as parser
    try:
        return _has_nested_repeat(parser.parse(pattern), parser)
    except Exception:  # a private module: if a later Python changes it, skip the guard
        return False


def _has_nested_repeat(items, parser) -> bool:
    for op, av in items:
        if str(op) in ("MAX_REPEAT", "MIN_REPEAT") and av[1] > 10:  # (a+){2} is only slow
            body = list(av[2])
            while len(body) == 1 and str(body[0][0]) == "SUBPATTERN":
                body = list(body[0][1][-1])
            for i, (inner_op, inner) in enumerate(body):
                others = body[:i] + body[i + 1 :]
                if _is_repeat(inner_op, inner, parser) and all(_optional(o) for o in others):
                    return True
        if any(_has_nested_repeat(sub, parser) for sub in _subpatterns(av, parser)):
            return True
    return False


def _is_repeat(op, av, parser) -> bool:
    return str(op) in ("MAX_REPEAT", "MIN_REPEAT") and av[1] == parser.MAXREPEAT


def _optional(item) -> bool:
    op, av = item
    return str(op) in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] == 0


def _subpatterns(value, parser):
    if isinstance(value, parser.SubPattern):
        yield value
    elif isinstance(value, (tuple, list)):
        for part in value:
            yield from _subpatterns(part, parser)
