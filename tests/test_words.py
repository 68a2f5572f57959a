"""The one rule for a word, shared by the ``max-words`` check and a row's length, n-grams and
similarity: hand-checked cases in every script yilab users write, and the check and the
diversity counting the same words on the same texts. Pure: no MLX, no storage."""

import random

import pytest

from yilab.experiment.checks import evaluate, parse_check
from yilab.experiment.diversity import diversity
from yilab.experiment.words import units, word_count

CASES = [
    # English, whitespace and punctuation
    ("Hello, World!", ["hello", "world"]),
    ("  The\tcat\n\nSAT.  ", ["the", "cat", "sat"]),
    ("one two  three\nfour", ["one", "two", "three", "four"]),
    ("", []),
    (" \n\t ", []),
    (" ,.!? ", []),
    ("，。！?", []),
    ("Wait... what?! (yes) — no;", ["wait", "what", "yes", "no"]),
    ("snake_case and under_", ["snake", "case", "and", "under"]),
    ("end.Next,then", ["end", "next", "then"]),  # a point or comma joins digits only
    ("e.g. see p.12", ["e", "g", "see", "p", "12"]),
    # numbers
    ("3.14 and 1,000", ["3.14", "and", "1,000"]),
    ("1,000,000.50 v1.2.3 192.168.0.1", ["1,000,000.50", "v1.2.3", "192.168.0.1"]),
    ("It is 3. 14 is not", ["it", "is", "3", "14", "is", "not"]),
    ("1, 2, 3.", ["1", "2", "3"]),
    ("1,2 3.x .5 5.", ["1,2", "3", "x", "5", "5"]),
    ("３．１４ ２０２４年", ["3.14", "2024", "年"]),  # full-width digits and point
    ("选项1，2，3", ["选", "项", "1", "2", "3"]),  # the full-width comma lists
    ("圆周率是3.14。", ["圆", "周", "率", "是", "3.14"]),
    # apostrophes and hyphens
    ("don't stop", ["don't", "stop"]),
    ("Don’t", ["don't"]),  # a typographic apostrophe is the same word
    ("It’s state-of-the-art", ["it's", "state-of-the-art"]),
    ("non\u2011breaking hy\u2010phen", ["non-breaking", "hy-phen"]),
    ("'quoted' dogs' -dash- rock--roll", ["quoted", "dogs", "dash", "rock", "roll"]),
    ("GPT-4", ["gpt-4"]),
    ("'quoted' -- dash - x", ["quoted", "dash", "x"]),
    # Chinese, Japanese, Korean: a word per character
    ("我爱北京天安门", ["我", "爱", "北", "京", "天", "安", "门"]),
    ("我爱北京。你好！", ["我", "爱", "北", "京", "你", "好"]),
    ("ひらがなとカタカナ", ["ひ", "ら", "が", "な", "と", "カ", "タ", "カ", "ナ"]),
    ("ラーメン・カタカナ", ["ラ", "ー", "メ", "ン", "カ", "タ", "カ", "ナ"]),  # ・ is punctuation
    ("ｶﾀｶﾅ", ["カ", "タ", "カ", "ナ"]),  # half-width kana are the ordinary ones
    ("食べた", ["食", "べ", "た"]),
    ("か\u3099", ["が"]),  # a combining voiced mark is composed, not a word
    ("々〆〇", ["々", "〆", "〇"]),
    ("안녕하세요 문장", ["안", "녕", "하", "세", "요", "문", "장"]),
    ("\U00020000\uf900", ["\U00020000", "\u8c48"]),  # extension B; a compatibility ideograph
    # mixed
    ("hello 世界", ["hello", "世", "界"]),
    ("我爱Python!", ["我", "爱", "python"]),
    ("GPT-4 写诗", ["gpt-4", "写", "诗"]),
    ("用Python写代码", ["用", "python", "写", "代", "码"]),
    ("abc-写 AI的", ["abc", "写", "ai", "的"]),
    ("ＧＰＴ　モデル", ["gpt", "モ", "デ", "ル"]),  # full-width letters and space
    # accents and combining marks stay in their word
    ("café cafe\u0301 Straße", ["café", "café", "strasse"]),
    ("nai\u0308ve", ["naïve"]),
    ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),  # vowel signs are marks, not breaks
    ("\u0301 a", ["a"]),  # a mark with no word before it is nothing
    # scripts without spaces: a run is one word
    ("ภาษาไทย ง่าย", ["ภาษาไทย", "ง่าย"]),
    ("สวัสดีครับ", ["สวัสดีครับ"]),
    ("ພາສາລາວ ດີ", ["ພາສາລາວ", "ດີ"]),
    ("ភាសាខ្មែរ", ["ភាសាខ្មែរ"]),
    ("မြန်မာစာ", ["မြန်မာစာ"]),
    # zero-width (non-)joiners inside a word
    ("می\u200cخواهم", ["می\u200cخواهم"]),
    ("a\u200d 😀\u200d😀", ["a"]),
    # emoji and symbols are not words
    ("I ❤️ NY 🗽 1️⃣", ["i", "ny", "1"]),
    ("👍👍 ok 👨\u200d👩\u200d👧", ["ok"]),
    ("© → 50% $5 #1 @me", ["50", "5", "1", "me"]),
    # compatibility characters are read as NFKC reads them
    ("ﬁne ㎏ Ⅻ ② ™", ["fine", "kg", "xii", "2", "tm"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_units(text, expected):
    assert units(text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_word_count_counts_the_units(text, expected):
    assert word_count(text) == len(expected)


def test_word_count_is_the_number_of_units_on_many_texts():
    rng = random.Random(0)
    alphabet = list(
        "abcXYZ019 .,'-_’‐‑!?é\u0301我爱〆ーひ한ไท\u0e34ह\u093f😀❤\ufe0f，．ＡＢ３\u200c\u200d\n"
    )
    texts = [text for text, _ in CASES]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(0, 30))) for _ in range(2000)]
    for text in texts:
        assert word_count(text) == len(units(text)), text


def test_units_are_case_folded():
    assert units("PARIS Paris paris ΣΊΣΥΦΟΣ") == ["paris", "paris", "paris", "σίσυφοσ"]


def test_a_max_words_check_and_the_row_length_agree():
    outputs = [
        "Pi is 3.14, about.",
        "我爱北京天安门",
        "It’s 1,000 state-of-the-art words",
        "می\u200cخواهم ３．１４",
    ]
    for output in outputs:
        length = diversity([output]).length_mean
        verdict = evaluate(parse_check(f"max-words:{int(length)}"), output, "stop")
        assert verdict.passed is True
        assert verdict.detail.startswith(f"has {int(length)} words"), verdict.detail
        assert evaluate(parse_check(f"max-words:{int(length) - 1}"), output, "stop").passed is False
