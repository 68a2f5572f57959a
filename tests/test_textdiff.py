"""The word-level diff and its side-by-side HTML."""

import pytest

from yilab.render.textdiff import diff_summary, render_diff_html, tokenize, word_diff


@pytest.mark.parametrize(
    "text",
    ["", "one", "two  words\n", "  lead and trail  ", "tabs\tand\nnew\n\nlines", "日本語 テスト"],
)
def test_tokens_join_back_to_the_text(text):
    assert "".join(tokenize(text)) == text


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("the cat sat", "the dog sat"),
        ("", "all new"),
        ("all gone", ""),
        ("Paris.<|im_end|>\n<|im_start|>user", "Paris."),
        ("a b c d e", "a c e f"),
        ("same text", "same text"),
    ],
)
def test_ops_rebuild_both_sides(a, b):
    ops = word_diff(a, b)
    assert "".join(t for tag, t in ops if tag != "insert") == a
    assert "".join(t for tag, t in ops if tag != "delete") == b
    assert all(ops[i][0] != ops[i + 1][0] for i in range(len(ops) - 1))  # merged runs


def test_a_changed_word_is_one_delete_and_one_insert():
    assert word_diff("the cat sat", "the dog sat") == [
        ("equal", "the "),
        ("delete", "cat"),
        ("insert", "dog"),
        ("equal", " sat"),
    ]


def test_long_outputs_align_on_words_not_junk():
    a = " ".join(f"w{i}" for i in range(400))
    b = a.replace("w200", "CHANGED")
    ops = word_diff(a, b)
    assert [t for tag, t in ops if tag != "equal"] == ["w200", "CHANGED"]


def test_summary_counts_words():
    assert diff_summary(word_diff("a b", "a c")) == "1 same · 1 removed · 1 added"
    assert diff_summary(word_diff("same", "same")) == "identical"


def test_html_is_two_columns_with_marks_and_escaped():
    probe = "<img src=x onerror=alert(1)>"
    html = render_diff_html("safe " + probe, "safe <b>bold</b>", labels=("T=0 <a>", "B"))
    assert "<img" not in html and "<b>" not in html and "<a>" not in html
    assert '<del class="yl-del">&lt;img src=x onerror=alert(1)&gt;</del>' in html
    assert '<ins class="yl-ins">&lt;b&gt;bold&lt;/b&gt;</ins>' in html
    assert html.count('class="yl-diff-col"') == 2
    assert "T=0 &lt;a&gt;" in html
    left, right = html.split('class="yl-diff-col"')[1:]
    assert "yl-ins" not in left and "yl-del" not in right
