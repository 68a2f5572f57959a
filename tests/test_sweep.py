"""Sweep expansion and the parsing of typed values: pure, so exhaustive."""

import math
import random

import pytest

from yilab.errors import BadInputError
from yilab.experiment.sweep import (
    MAX_CELLS,
    SweepSpec,
    expand_sweep,
    grid_size,
    parse_floats,
    parse_ints,
    parse_seeds,
)


def test_grid_order_is_rows_of_temperatures_columns_of_seeds():
    cells = expand_sweep(SweepSpec(prompt="Hi", temperatures=(0.2, 0.7), seeds=(1, 2, 3)))
    assert [(c.temperature, c.seed) for c in cells] == [
        (0.2, 1),
        (0.2, 2),
        (0.2, 3),
        (0.7, 1),
        (0.7, 2),
        (0.7, 3),
    ]
    assert [c.index for c in cells] == list(range(6))


def test_every_axis_multiplies():
    spec = SweepSpec(
        prompt="Hi",
        models=("a", "b"),
        temperatures=(0, 1),
        seeds=(1, 2),
        top_ps=(0.9, 1.0),
        max_tokens=(8, 16),
    )
    cells = expand_sweep(spec)
    assert len(cells) == grid_size(spec) == 32
    assert len({(c.model, c.temperature, c.seed, c.top_p, c.max_tokens) for c in cells}) == 32
    assert cells[0].model == "a" and cells[-1].model == "b"


def test_temperature_zero_is_greedy():
    cells = expand_sweep(SweepSpec(prompt="Hi", temperatures=(0, 0.5)))
    assert [c.greedy for c in cells] == [True, False]


def test_seed_zero_and_temperature_zero_are_real_values():
    (cell,) = expand_sweep(SweepSpec(prompt="Hi", temperatures=(0.0,), seeds=(0,)))
    assert cell.seed == 0 and cell.temperature == 0.0


def test_grid_over_the_limit_is_refused():
    spec = SweepSpec(prompt="Hi", temperatures=tuple(range(9)), seeds=tuple(range(8)))
    assert grid_size(spec) == 72 > MAX_CELLS
    with pytest.raises(BadInputError, match="72 cells; the limit is 64"):
        expand_sweep(spec)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"prompt": ""}, "prompt is empty"),
        ({"prompt": "   \n"}, "prompt is empty"),
        ({"prompt": "x" * 1_000_001}, "limit is 1,000,000"),
        ({"prompt": "caf\udce9"}, "not valid UTF-8 text"),
        ({"system": "\udcff"}, "system prompt is not valid UTF-8"),
        ({"temperatures": (-0.1,)}, "temperature must be in"),
        ({"temperatures": (math.nan,)}, "temperature must be a number"),
        ({"temperatures": (1e9,)}, "temperature must be in"),
        ({"temperatures": ()}, "No temperatures"),
        ({"seeds": (-1,)}, "seed must be between"),
        ({"seeds": (2**40,)}, "seed must be between"),
        ({"top_ps": (0.0,)}, "top_p must be in"),
        ({"top_ps": (1.5,)}, "top_p must be in"),
        ({"max_tokens": (0,)}, "max_tokens must be between"),
        ({"max_tokens": (10**9,)}, "max_tokens must be between"),
        ({"repetition_penalty": -1.0}, "repetition_penalty"),
    ],
)
def test_bad_values_get_clear_errors(changes, message):
    spec = SweepSpec(**{"prompt": "Hi", **changes})
    with pytest.raises(BadInputError, match=message):
        expand_sweep(spec)


def test_parse_lists():
    assert parse_floats("0, 0.7  1.2;2", "temperatures") == (0.0, 0.7, 1.2, 2.0)
    assert parse_ints("64,128", "max_tokens") == (64, 128)
    assert parse_ints([1, "2"], "seeds") == (1, 2)


@pytest.mark.parametrize("text", ["warm", "0.2, hot", "nan", "inf", "1e999"])
def test_parse_floats_refuses_words_and_non_finite(text):
    with pytest.raises(BadInputError, match="temperatures"):
        parse_floats(text, "temperatures")


@pytest.mark.parametrize("text", ["", " , ", "1.5", "one"])
def test_parse_ints_refuses_empty_and_non_integers(text):
    with pytest.raises(BadInputError, match="max_tokens"):
        parse_ints(text, "max_tokens")


@pytest.mark.parametrize("text", ["3 random", "random:3", "3 random seeds", "RANDOM: 3"])
def test_random_seeds(text):
    seeds = parse_seeds(text, rng=random.Random(1))
    assert len(seeds) == 3 and all(0 <= s < 2**32 for s in seeds)
    assert parse_seeds(text, rng=random.Random(1)) == seeds


def test_too_many_random_seeds():
    with pytest.raises(BadInputError, match="random seeds"):
        parse_seeds("100 random")


def test_spec_round_trips_through_dict():
    spec = SweepSpec(
        prompt="Hi",
        system="Be brief",
        temperatures=(0, 0.7),
        seeds=(5,),
        top_ps=(0.9,),
        max_tokens=(32,),
        repetition_penalty=1.1,
        extra_eos_ids=(7,),
    )
    assert SweepSpec.from_dict(spec.to_dict()) == spec


def test_messages_for_chat_and_raw():
    assert SweepSpec(prompt="Hi").messages() == [{"role": "user", "content": "Hi"}]
    assert SweepSpec(prompt="Hi", system="S").messages()[0] == {"role": "system", "content": "S"}
    assert SweepSpec(prompt="Hi", raw=True).messages() is None


def test_engine_must_be_known():
    with pytest.raises(BadInputError, match="engine must be one of single, batch"):
        expand_sweep(SweepSpec(prompt="Hi", engine="turbo"))
