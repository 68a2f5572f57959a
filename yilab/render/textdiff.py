"""Pure: a word-level diff of two outputs, and its side-by-side HTML.

Text is split into words and the whitespace between them, so a diff never cuts a
word in half and joining the pieces gives the text back exactly. Chinese and Japanese
have no spaces between words: each of their characters is a word here (as in
:mod:`yilab.experiment.words`), so 小兔子 vs 小熊 differs by 兔子 / 熊, not by the
whole sentence. Model output is hostile text: every piece goes through ``html.escape``
before it reaches the page.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from html import escape

from yilab.experiment.words import CJK_CHARS
from yilab.i18n import ENGLISH, Translator

# the same pattern splits in the report's script (it reads it from the report's data)
SPLIT_PATTERN = f"\\s+|[{CJK_CHARS}]|[^\\s{CJK_CHARS}]+"
_TOKENS = re.compile(SPLIT_PATTERN)


def tokenize(text: str) -> list[str]:
    """Words (a CJK character is one) and runs of whitespace, in order.

    ``tokenize("a  b\\n")`` → ``['a', '  ', 'b', '\\n']``;
    ``tokenize("小兔子, ok")`` → ``['小', '兔', '子', ',', ' ', 'ok']``
    """
    return _TOKENS.findall(text)


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """The ops that turn ``a`` into ``b``: ``equal``, ``delete`` (from a), ``insert`` (into b).

    ``word_diff("the cat sat", "the dog sat")`` →
    ``[('equal', 'the '), ('delete', 'cat'), ('insert', 'dog'), ('equal', ' sat')]``
    """
    ta, tb = tokenize(a), tokenize(b)
    ops: list[tuple[str, str]] = []
    # autojunk off: in long outputs " " is frequent, and junking it garbles the alignment
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if tag == "equal":
            _append(ops, "equal", "".join(ta[i1:i2]))
            continue
        if i2 > i1:
            _append(ops, "delete", "".join(ta[i1:i2]))
        if j2 > j1:
            _append(ops, "insert", "".join(tb[j1:j2]))
    return ops


def _append(ops: list[tuple[str, str]], tag: str, text: str) -> None:
    """Add an op, merging it into the previous one when the tag is the same."""
    if ops and ops[-1][0] == tag:
        ops[-1] = (tag, ops[-1][1] + text)
    else:
        ops.append((tag, text))


def diff_summary(ops: list[tuple[str, str]], tr: Translator = ENGLISH) -> str:
    """Counts of words kept, removed and added.

    ``diff_summary(word_diff("a b", "a c"))`` → ``'1 same · 1 removed · 1 added'``
    """
    counts = {"equal": 0, "delete": 0, "insert": 0}
    for tag, text in ops:
        counts[tag] += sum(1 for token in tokenize(text) if not token.isspace())
    if not counts["delete"] and not counts["insert"]:
        return tr("diff.identical")
    return tr(
        "diff.counts",
        same=counts["equal"],
        removed=counts["delete"],
        added=counts["insert"],
    )


def render_diff_html(
    a: str, b: str, *, labels: tuple[str, str] = ("A", "B"), tr: Translator = ENGLISH
) -> str:
    """Two columns: ``a`` with deletions marked, ``b`` with insertions marked; all escaped.

    ``render_diff_html("hi <b>", "hi <i>")`` contains
    ``<del class="yl-del">&lt;b&gt;</del>`` in the left column and
    ``<ins class="yl-ins">&lt;i&gt;</ins>`` in the right one.
    """
    ops = word_diff(a, b)
    left = "".join(_span(tag, text) for tag, text in ops if tag != "insert")
    right = "".join(_span(tag, text) for tag, text in ops if tag != "delete")
    return (
        f'<div class="yl-diff-summary">{escape(diff_summary(ops, tr))}</div>'
        '<div class="yl-diff">'
        f'<div class="yl-diff-col"><div class="yl-diff-head">{escape(labels[0])}</div>'
        f'<pre class="yl-out yl-diff-a">{left}</pre></div>'
        f'<div class="yl-diff-col"><div class="yl-diff-head">{escape(labels[1])}</div>'
        f'<pre class="yl-out yl-diff-b">{right}</pre></div>'
        "</div>"
    )


def _span(tag: str, text: str) -> str:
    if tag == "delete":
        return f'<del class="yl-del">{escape(text)}</del>'
    if tag == "insert":
        return f'<ins class="yl-ins">{escape(text)}</ins>'
    return escape(text)
