"""What a row's diversity costs: the edit distance of one pair, and ``diversity()`` of a row.

    python bench/diversity_bench.py [--repeats 5]

Prints the median milliseconds of:
- ``units`` of 2,000 words of English prose (punctuation, numbers like 3.14, apostrophes,
  hyphens, accents) and of 2,000 Chinese characters: what every length, n-gram and
  ``max-words`` check reads;
- one 2,000 × 2,000-unit edit distance (``levenshtein``, bit-parallel) between two random
  texts with no shared prefix or suffix, so nothing is cut before the comparison;
- ``diversity()`` of a row of 8 texts × 500 units and of 64 texts × 2,000 units (2,016
  pairs), from the strings (``units`` included).

Texts are words drawn from a 300-word vocabulary, all different: the worst case, as rows
that repeat an output or share a beginning cost less.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from yilab.experiment.diversity import diversity, levenshtein  # noqa: E402
from yilab.experiment.words import units  # noqa: E402

VOCABULARY = [f"w{i}" for i in range(300)]
PROSE = (
    "The model's answer, state-of-the-art as ever, cost 3.14 dollars: about 1,000 tokens. "
    "Don’t stop! A naïve café on the Straße (GPT-4) said so; well-known, isn't it?"
)
HANZI = "我爱北京天安门你好世界模型回答问题。，"


def random_words(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(VOCABULARY) for _ in range(count)]


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    text_rng, rng = random.Random(1), random.Random(0)  # rng draws the rows as before
    prose_words = PROSE.split()
    prose = " ".join(text_rng.choice(prose_words) for _ in range(2000))
    chinese = "".join(text_rng.choice(HANZI) for _ in range(2000))
    units("warm up")  # the pattern is built on first use
    for name, text in (("English words", prose), ("Chinese characters", chinese)):
        ms = median_ms(lambda text=text: units(text), args.repeats * 20)
        print(f"units of 2,000 {name}: {ms:.2f} ms ({len(units(text)):,} units)")
    a, b = ["start"] + random_words(rng, 1998) + ["a"], ["other"] + random_words(rng, 1998) + ["b"]
    pair_ms = median_ms(lambda: levenshtein(a, b), args.repeats * 4)
    print(f"levenshtein 2,000 x 2,000 units: {pair_ms:.2f} ms (distance {levenshtein(a, b)})")
    for texts, length in ((8, 500), (64, 2000)):
        row = [" ".join(random_words(rng, length)) for _ in range(texts)]
        ms = median_ms(lambda row=row: diversity(row), args.repeats if texts < 64 else 1)
        pairs = texts * (texts - 1) // 2
        print(f"diversity {texts} texts x {length:,} units ({pairs:,} pairs): {ms:,.0f} ms")


if __name__ == "__main__":
    main()
