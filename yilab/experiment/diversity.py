"""How different the outputs of one temperature row are (its runs differ only by seed).

A row's :class:`Diversity`: how many outputs are distinct, distinct-1 and distinct-2 (unique
n-grams over all n-grams), the mean pairwise similarity of the outputs (normalised edit
distance over units, see :func:`similarity`) and the length mean and spread. Everything
counts :func:`yilab.experiment.words.units`: words, but every Chinese, Japanese or Korean
character on its own, since those scripts do not separate words by spaces; a ``max-words``
check counts the same words.

>>> d = diversity(["the cat sat", "the cat ran"])
>>> d.distinct_outputs, round(d.distinct_1, 4), d.distinct_2, round(d.similarity, 4)
(2, 0.6667, 0.75, 0.6667)
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations

from yilab.experiment.words import units
from yilab.i18n import Message

SIMILARITY_METHOD = Message("scores.similarity_method")  # reads as its English


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Unique n-grams over all n-grams of units, pooled over ``texts`` (an n-gram never
    spans two texts); None when there is no n-gram at all.

    >>> distinct_n(["the cat sat", "the cat ran"], 2)  # {the cat, cat sat, cat ran} / 4
    0.75
    """
    return _distinct_n([units(text) for text in texts], n)


def _distinct_n(unit_lists: Sequence[Sequence[str]], n: int) -> float | None:
    if n < 1:
        raise ValueError(f"n-grams need n >= 1, not {n}.")
    grams = [tuple(us[i : i + n]) for us in unit_lists for i in range(len(us) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def similarity(a: str, b: str) -> float:
    """1 - the Levenshtein distance between the units of ``a`` and ``b`` over the longer
    one's length: 1.0 for the same units, 0.0 for nothing in common; 1.0 when neither has
    a unit (both empty).

    >>> round(similarity("the cat sat", "the cat ran"), 4)  # one substitution in 3 words
    0.6667
    >>> similarity("我爱你", "我恨你爱")  # 1 substitution + 1 insertion over 4 characters
    0.5
    """
    return _similarity(units(a), units(b))


def _similarity(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    longest = max(len(a), len(b))
    return 1.0 - levenshtein(a, b) / longest if longest else 1.0


def mean_pairwise_similarity(texts: Sequence[str]) -> float | None:
    """The mean :func:`similarity` over all unordered pairs of ``texts``; None for fewer
    than two texts.

    >>> mean_pairwise_similarity(["a b", "a b", "a c"])  # (1 + 0.5 + 0.5) / 3
    0.6666666666666666
    """
    return _mean_pairwise_similarity([units(text) for text in texts])


def _mean_pairwise_similarity(unit_lists: Sequence[Sequence[str]]) -> float | None:
    """Each distinct unit sequence is compared once, weighted by how often it occurs: rows
    at low temperature often repeat an output, and a pair of equal ones needs no work."""
    if len(unit_lists) < 2:
        return None
    counts = Counter(tuple(us) for us in unit_lists)
    total = sum(c * (c - 1) / 2 for c in counts.values())  # equal pairs: similarity 1
    for (a, count_a), (b, count_b) in combinations(counts.items(), 2):
        total += count_a * count_b * _similarity(a, b)
    return total / math.comb(len(unit_lists), 2)


def levenshtein(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """The edit distance (insertions, deletions, substitutions) between two sequences.

    Bit-parallel (Myers 1999, in Hyyrö's 2003 form): one Python int holds a whole column
    of the dynamic-programming table as vertical +1/-1 bit vectors over the longer
    sequence, so each element of the shorter one costs ~15 big-int operations instead of
    a loop over the longer one. (The longer one is the bit vector because Python's
    per-operation overhead outweighs the width of the ints: ~0.7 ms for 2,000 × 500
    units against ~1 ms the other way round.) A shared prefix and suffix are cut first.

    >>> levenshtein("kitten", "sitting")
    3
    """
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    a, b = a[start:end_a], b[start:end_b]
    pattern, text = (a, b) if len(a) >= len(b) else (b, a)
    return _myers(pattern, text) if text else len(pattern)


def _myers(pattern: Sequence[Hashable], text: Sequence[Hashable]) -> int:
    """Bit i of ``pv`` (``mv``) is set where row i+1 of the current column is one more
    (less) than row i; the last column's rows sum to the distance."""
    masks: dict[Hashable, int] = {}  # symbol -> the positions in pattern that hold it
    bit = 1
    for symbol in pattern:
        masks[symbol] = masks.get(symbol, 0) | bit
        bit <<= 1
    full = bit - 1
    pv, mv = full, 0
    get = masks.get
    for symbol in text:
        eq = get(symbol, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (full ^ (xh | pv))
        mh = pv & xh
        ph = (ph << 1) | 1  # row 0 of the table grows by one each column
        pv = ((mh << 1) | (full ^ (xv | ph))) & full
        mv = ph & xv
    return len(text) + pv.bit_count() - mv.bit_count()


@dataclass(frozen=True)
class Diversity:
    """How different the outputs of one row are; lengths and n-grams count :func:`units`.
    A field is None where it has no value: no texts, no n-gram, fewer than two texts."""

    outputs: int  # how many texts
    distinct_outputs: int  # distinct after stripping surrounding whitespace
    distinct_1: float | None
    distinct_2: float | None
    similarity: float | None  # mean pairwise, see SIMILARITY_METHOD
    length_mean: float | None  # in units
    length_sd: float | None  # population standard deviation, in units

    def to_dict(self) -> dict:
        """JSON-ready, floats rounded to 4 places.

        >>> diversity(["a b c", "a"]).to_dict()["distinct_2"]
        1.0
        """
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def diversity(texts: Sequence[str]) -> Diversity:
    """The :class:`Diversity` of one row's outputs.

    >>> diversity(["same", " same "]).distinct_outputs
    1
    """
    unit_lists = [units(text) for text in texts]
    lengths = [len(us) for us in unit_lists]
    return Diversity(
        outputs=len(texts),
        distinct_outputs=len({text.strip() for text in texts}),
        distinct_1=_distinct_n(unit_lists, 1),
        distinct_2=_distinct_n(unit_lists, 2),
        similarity=_mean_pairwise_similarity(unit_lists),
        length_mean=statistics.fmean(lengths) if lengths else None,
        length_sd=statistics.pstdev(lengths) if lengths else None,
    )
