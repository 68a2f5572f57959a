"""Row diversity: distinct-n, similarity and the row summary against values worked out by
hand, and the bit-parallel edit distance against a plain dynamic-programming table. What a
unit (a word) is: test_words.py."""

import json
import math
import random

import pytest

from yilab.experiment.diversity import (
    SIMILARITY_METHOD,
    Diversity,
    _myers,
    distinct_n,
    diversity,
    levenshtein,
    mean_pairwise_similarity,
    similarity,
)


def test_distinct_n_hand_computed():
    texts = ["the cat sat", "the cat ran"]
    # 1-grams: the cat sat the cat ran = 6; unique {the, cat, sat, ran} = 4 -> 4/6
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    # 2-grams: (the cat) (cat sat) (the cat) (cat ran) = 4; unique 3 -> 3/4
    assert distinct_n(texts, 2) == 0.75
    # 3-grams: (the cat sat) (the cat ran) = 2, both unique
    assert distinct_n(texts, 3) == 1.0
    # one text: (a b c) (b c a) (c a b) (a b c) = 4; unique 3
    assert distinct_n(["a b c a b c"], 3) == 0.75


def test_distinct_n_of_chinese_counts_characters():
    # 1-grams: 我 爱 你 我 恨 你 = 6; unique {我, 爱, 你, 恨} = 4 -> 4/6
    assert distinct_n(["我爱你", "我恨你"], 1) == pytest.approx(4 / 6)
    # 2-grams: 我爱 爱你 我恨 恨你 = 4, all unique
    assert distinct_n(["我爱你", "我恨你"], 2) == 1.0
    # 2-grams: 我爱 爱你 我爱 爱他 = 4; unique 3 (by spaces there would be no 2-gram)
    assert distinct_n(["我爱你", "我爱他"], 2) == 0.75


def test_distinct_n_grams_do_not_cross_texts():
    # within: (a b) (a b) = 2, unique 1; across the boundary (b a) would make it 2/3
    assert distinct_n(["a b", "a b"], 2) == 0.5
    assert distinct_n(["a", "b"], 2) is None


def test_distinct_n_is_none_without_ngrams():
    assert distinct_n([], 1) is None
    assert distinct_n(["", "  ", "?!"], 1) is None
    assert distinct_n(["one"], 2) is None
    with pytest.raises(ValueError):
        distinct_n(["a b"], 0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("the cat sat", "the cat ran", 1 - 1 / 3),  # 1 substitution over 3 words
        ("a b c d", "b c d e", 1 - 2 / 4),  # delete a, insert e
        ("a", "a b c d", 1 - 3 / 4),  # 3 insertions over 4
        ("x y", "p q r", 0.0),  # 2 substitutions + 1 insertion over 3
        ("Hello, world!", "hello world", 1.0),  # case and punctuation are not units
        ("我爱你", "我恨你", 1 - 1 / 3),  # 1 substitution over 3 characters
        ("我爱你", "我恨你爱", 1 - 2 / 4),  # 1 substitution + 1 insertion over 4
        ("", "", 1.0),
        ("...", "!", 1.0),  # no units on either side
        ("", "a b", 0.0),
    ],
)
def test_similarity_hand_computed(a, b, expected):
    assert similarity(a, b) == pytest.approx(expected)
    assert similarity(b, a) == pytest.approx(expected)


def test_mean_pairwise_similarity_hand_computed():
    # pairs: (ab, ab) 1, (ab, ac) 1/2, (ab, ac) 1/2 -> 2/3
    assert mean_pairwise_similarity(["a b", "a b", "a c"]) == pytest.approx(2 / 3)
    # 3 equal pairs (1) and 3 pairs (a b, a c) (1/2) over 6 pairs -> 4.5/6
    assert mean_pairwise_similarity(["a b"] * 3 + ["a c"]) == 0.75
    assert mean_pairwise_similarity(["a", "b", "c"]) == 0.0
    assert mean_pairwise_similarity(["same words"] * 5) == 1.0


def test_mean_pairwise_similarity_needs_two_texts():
    assert mean_pairwise_similarity([]) is None
    assert mean_pairwise_similarity(["alone"]) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("kitten", "sitting", 3), ("flaw", "lawn", 2), ("", "abc", 3), ("abc", "abc", 0)],
)
def test_levenshtein_known_distances(a, b, expected):
    assert levenshtein(a, b) == expected
    assert levenshtein(list(b), list(a)) == expected


def dp_levenshtein(a, b):
    """The textbook table, one row at a time."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


# 0, 1, and either side of the 64- and 128-bit word boundaries a fixed-width version has.
LENGTHS = (0, 1, 2, 5, 63, 64, 65, 127, 128, 129, 200, 300)


def test_levenshtein_matches_the_table_on_random_sequences():
    rng = random.Random(15)
    cases = [(rng.choice(LENGTHS), rng.choice(LENGTHS)) for _ in range(150)]
    cases += [(rng.randrange(40), rng.randrange(40)) for _ in range(300)]
    for len_a, len_b in cases:
        alphabet = rng.choice((2, 4, 30))  # small alphabets make long matching runs
        a = [f"w{rng.randrange(alphabet)}" for _ in range(len_a)]
        b = [f"w{rng.randrange(alphabet)}" for _ in range(len_b)]
        expected = dp_levenshtein(a, b)
        assert levenshtein(a, b) == expected, (a, b)
        assert levenshtein(b, a) == expected, (a, b)
        if a and b:  # the bit-parallel core alone, without the prefix and suffix cut
            assert _myers(a, b) == expected, (a, b)
            assert _myers(b, a) == expected, (a, b)


def test_levenshtein_of_equal_and_edited_long_sequences():
    rng = random.Random(7)
    a = [rng.randrange(50) for _ in range(300)]
    assert levenshtein(a, list(a)) == 0
    assert _myers(a, a) == 0
    # 1 substitution (at 100), 1 deletion (at 200), 1 insertion (at the end)
    edited = a[:100] + [999] + a[101:200] + a[201:] + [998]
    assert levenshtein(a, edited) == 3 == dp_levenshtein(a, edited)
    assert _myers(a, edited) == 3


def test_diversity_of_a_row_hand_computed():
    d = diversity(["The cat sat.", "the cat ran", "A dog"])
    assert d.outputs == 3
    assert d.distinct_outputs == 3
    # 1-grams: 3 + 3 + 2 = 8; unique {the, cat, sat, ran, a, dog} = 6
    assert d.distinct_1 == 0.75
    # 2-grams: (the cat) (cat sat) (the cat) (cat ran) (a dog) = 5; unique 4
    assert d.distinct_2 == 0.8
    # pairs: sat/ran 2/3; "a dog" shares nothing with either (3 edits over 3) -> 0, 0
    assert d.similarity == pytest.approx((2 / 3) / 3)
    # lengths 3, 3, 2: mean 8/3; deviations 1/3, 1/3, -2/3 -> variance (1 + 1 + 4)/9/3 = 2/9
    assert d.length_mean == pytest.approx(8 / 3)
    assert d.length_sd == pytest.approx(math.sqrt(2 / 9))


def test_diversity_lengths_count_chinese_characters():
    d = diversity(["我爱你。", "你好"])  # 3 and 2 characters: mean 2.5, deviations ±0.5
    assert d.length_mean == 2.5
    assert d.length_sd == 0.5
    d = diversity(["a", "a b c", "a b c d e"])  # 1, 3, 5: variance (4 + 0 + 4)/3
    assert d.length_mean == 3.0
    assert d.length_sd == pytest.approx(math.sqrt(8 / 3))


def test_identical_outputs():
    d = diversity(["The cat.", "The cat.\n", " The cat."])
    assert (d.outputs, d.distinct_outputs, d.similarity) == (3, 1, 1.0)
    assert d.distinct_1 == pytest.approx(2 / 6)  # {the, cat} of 6
    assert d.distinct_2 == pytest.approx(1 / 3)  # (the cat) three times
    assert (d.length_mean, d.length_sd) == (2.0, 0.0)


def test_outputs_differing_only_in_case_are_distinct_but_similar():
    d = diversity(["Hi there", "hi there!"])
    assert d.distinct_outputs == 2
    assert d.similarity == 1.0


def test_empty_outputs():
    d = diversity(["", "  \n"])
    assert d == Diversity(
        outputs=2,
        distinct_outputs=1,
        distinct_1=None,
        distinct_2=None,
        similarity=1.0,
        length_mean=0.0,
        length_sd=0.0,
    )
    assert diversity(["", "a b"]).similarity == 0.0


def test_none_cases():
    assert diversity([]) == Diversity(0, 0, None, None, None, None, None)
    d = diversity(["only one"])
    assert (d.similarity, d.distinct_1, d.distinct_2, d.length_sd) == (None, 1.0, 1.0, 0.0)
    assert diversity(["one", "two"]).distinct_2 is None


def test_to_dict_rounds_floats_to_four_places():
    data = diversity(["the cat sat", "the cat ran", "a dog"]).to_dict()
    assert data == {
        "outputs": 3,
        "distinct_outputs": 3,
        "distinct_1": 0.75,
        "distinct_2": 0.8,
        "similarity": 0.2222,
        "length_mean": 2.6667,
        "length_sd": 0.4714,
    }
    assert isinstance(data["outputs"], int)
    assert json.loads(json.dumps(data)) == data
    empty = diversity([]).to_dict()
    assert empty["similarity"] is None
    assert json.loads(json.dumps(empty)) == empty


def test_similarity_method_is_one_line():
    assert SIMILARITY_METHOD and "\n" not in SIMILARITY_METHOD
    assert "edit distance" in SIMILARITY_METHOD
