"""The turn end a model wanted, on hand-built token logs."""

from __future__ import annotations

import math

import pytest

from yilab.experiment.token_log import TokenLog, TokenStep
from yilab.experiment.turn_end import missed_turn_end, percent, turn_end_track

EOT, IM_END = 2, 7  # the eos (a stop token) and the template's turn end (not one)
PIECES = {EOT: "<|endoftext|>", IM_END: "<|im_end|>", 5: "Hi", 6: "!"}


def step(token: int, eot: float, im_end: float, top: tuple | None = None) -> TokenStep:
    """A step where the two candidates have those probabilities."""
    if top is None:
        top = tuple(sorted(((token, -0.1), (IM_END, math.log(im_end))), key=lambda t: -t[1]))
    return TokenStep(
        token, PIECES[token], 0.0, -0.1, top=top, turn_end=(math.log(eot), math.log(im_end))
    )


def log(*steps: TokenStep) -> TokenLog:
    return TokenLog(steps, 2, (EOT, IM_END), PIECES)


def test_the_track_is_the_likeliest_candidate_per_step():
    track = turn_end_track(log(step(5, 0.01, 0.02), step(6, 0.3, 0.1), step(5, 0.05, 0.97)))
    assert [round(p, 3) for p in track] == [0.02, 0.3, 0.97]


def test_the_track_is_zero_where_nothing_was_recorded():
    steps = (TokenStep(5, "Hi", 0.0, -0.1), TokenStep(6, "!", 0.0, -0.1, turn_end=(math.nan,)))
    assert turn_end_track(TokenLog(steps, 0, (EOT,))) == [0.0, 0.0]


def test_a_turn_end_outside_the_stop_set_that_was_the_top_choice_is_missed():
    steps = [step(5, 0.01, 0.02)] * 8 + [step(IM_END, 0.01, 0.97), step(5, 0.01, 0.99)]
    missed = missed_turn_end(log(*steps), [EOT], "length")
    assert missed is not None
    assert (missed.position, missed.token, missed.text) == (8, IM_END, "<|im_end|>")
    assert math.isclose(missed.probability, 0.97, rel_tol=1e-6)
    assert missed.sentence == "<|im_end|> was 97% likely at token 9, but it is not a stop token"


def test_nothing_is_missed_when_the_run_stopped_or_the_turn_end_stops_it():
    steps = [step(5, 0.01, 0.02), step(IM_END, 0.01, 0.97)]
    assert missed_turn_end(log(*steps), [EOT], "stop") is None
    assert missed_turn_end(log(*steps), [EOT, IM_END], "length") is None


def test_a_likely_turn_end_that_was_not_the_top_choice_is_not_missed():
    top = ((5, math.log(0.5)), (IM_END, math.log(0.45)))
    assert missed_turn_end(log(step(5, 0.01, 0.45, top)), [EOT], "length") is None


@pytest.mark.parametrize(("p", "missed"), [(0.6, True), (0.4, False)])
def test_without_alternatives_more_than_half_counts_as_the_top_choice(p, missed):
    found = missed_turn_end(log(step(5, 0.01, p, top=())), [EOT], "length")
    assert (found is not None) == missed


def test_percentages_read_well():
    assert [percent(p) for p in (0.45, 0.3, 0.005, 1.0)] == ["45%", "30%", "<1%", ">99.9%"]
