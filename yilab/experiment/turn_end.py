"""The turn end a model wanted: how likely a turn-end token was at each step, and the
first step where a turn end that is not in the stop set was the model's top choice in a
run that went on to ``max_tokens`` (the "this model never stops" story, measured)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from yilab.experiment.token_log import TokenLog, TokenStep

LIKELY = 0.5  # without recorded alternatives, a turn end this likely was the top choice


@dataclass(frozen=True)
class MissedTurnEnd:
    """A turn end the model wanted at step ``position`` (0-based) that did not stop the run."""

    position: int
    token: int
    text: str  # the token's piece, e.g. <|im_end|>
    probability: float
    sentence: str


def percent(p: float) -> str:
    """A probability as a short percentage.

    >>> percent(0.973), percent(0.004), percent(0.0), percent(0.9996)
    ('97%', '<1%', '0%', '>99.9%')
    """
    if p <= 0:
        return "0%"
    if p < 0.01:
        return "<1%"
    if p > 0.999:
        return ">99.9%"
    return f"{p * 100:.0f}%"


def turn_end_track(log: TokenLog) -> list[float]:
    """Per step, the probability of the *most likely* turn-end candidate (not the sum
    over candidates): 0 where none was recorded.

    >>> from yilab.experiment.token_log import TokenStep
    >>> steps = (TokenStep(5, "Hi", 0.0, -0.1, turn_end=(math.log(0.2), math.log(0.6))),)
    >>> [round(p, 2) for p in turn_end_track(TokenLog(steps, 0, (1, 2)))]
    [0.6]
    """
    return [max((p for _, p in _candidates(log, step)), default=0.0) for step in log.steps]


def missed_turn_end(log: TokenLog, stop_ids: list[int], finish_reason: str) -> MissedTurnEnd | None:
    """In a run that ended by ``length``, the first step where a turn-end candidate that
    is not in ``stop_ids`` was the model's top choice (``top[0]`` when alternatives were
    recorded, else more than 50% likely); None otherwise.

    >>> from yilab.experiment.token_log import TokenStep
    >>> at = TokenStep(7, "", 0.0, -0.03, top=((7, -0.03),), turn_end=(-0.03,))
    >>> log = TokenLog((TokenStep(5, "Hi", 0.0, -0.1), at), 1, (7,), {7: "<|im_end|>"})
    >>> missed_turn_end(log, [2], "length").sentence
    '<|im_end|> was 97% likely at token 2, but it is not a stop token'
    """
    if finish_reason != "length":
        return None
    stops = set(stop_ids)
    for position, step in enumerate(log.steps):
        for token, p in _candidates(log, step):
            top = step.top[0][0] == token if step.top else p > LIKELY
            if top and token not in stops:
                text = log.piece(token)
                sentence = (
                    f"{text} was {percent(p)} likely at token {position + 1}, "
                    "but it is not a stop token"
                )
                return MissedTurnEnd(position, token, text, p, sentence)
    return None


def _candidates(log: TokenLog, step: TokenStep) -> list[tuple[int, float]]:
    """(turn-end id, model probability) at one step, skipping values not recorded."""
    return [
        (token, math.exp(lp))
        for token, lp in zip(log.turn_end_ids, step.turn_end, strict=False)
        if not math.isnan(lp)
    ]
