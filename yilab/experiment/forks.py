"""Where runs of one grid row (or column) part: the first token a run did not share.

Runs of one group share the model, the experiment (its prompt) and every setting but the
varied one (the seed across a grid row, the temperature down a column), so until they
part they saw the same context and the same model distribution. A run's :class:`Fork` is
where it leaves its closest sibling (the one it shares the longest prefix with): the token
it took there, the alternatives the model offered, and what each sibling that came this
far took instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from yilab.experiment.token_log import TokenLog

# Settings that must be equal for two runs to be compared (besides the varied one).
GROUP_FIELDS = (
    "experiment_id",
    "model",
    "messages_json",
    "top_p",
    "top_k",
    "min_p",
    "repetition_penalty",
    "max_tokens",
    "stop_token_ids_json",
)
VARIED = {"seed": "temperature", "temperature": "seed"}  # varied → the one held equal


@dataclass(frozen=True)
class Alternative:
    """A token the model offered at a fork, with its model probability."""

    token: int
    text: str
    probability: float


@dataclass(frozen=True)
class SiblingChoice:
    """What a sibling that shared the prefix took at the fork (``token`` None: it ended)."""

    run_id: str
    token: int | None
    text: str
    probability: float | None


@dataclass(frozen=True)
class Fork:
    """Where run ``run_id`` parts from its group: at step ``position`` (0-based) it took
    ``token`` (``text``: its piece), which is ``output[offset : offset + length]``."""

    run_id: str
    position: int
    offset: int
    length: int
    token: int
    text: str
    probability: float | None
    alternatives: tuple[Alternative, ...]
    siblings: tuple[SiblingChoice, ...]


def common_prefix(a: TokenLog, b: TokenLog) -> int:
    """How many leading steps two logs share: token ids when both come from MLX (ids
    number the same vocabulary), else the steps' texts.

    >>> from yilab.experiment.token_log import TokenStep
    >>> log = lambda ids: TokenLog(tuple(TokenStep(i, str(i), 0.0, 0.0) for i in ids), 0)
    >>> common_prefix(log([1, 2, 3]), log([1, 2, 4, 5]))
    2
    """
    by_id = a.source == "mlx" and b.source == "mlx"
    n = 0
    for x, y in zip(a.steps, b.steps, strict=False):
        if (x.token != y.token) if by_id else (x.text != y.text):
            break
        n += 1
    return n


def group_key(run: dict, vary: str = "seed") -> tuple:
    """The settings a run shares with the rest of its group (all but ``vary``).

    >>> group_key({"model": "m", "temperature": 0.7, "seed": 3, "max_tokens": 8})[-1]
    0.7
    """
    if vary not in VARIED:
        raise ValueError(f"vary must be one of {sorted(VARIED)}, not {vary!r}")
    return (*(run.get(f) for f in GROUP_FIELDS), run.get(VARIED[vary]))


def find_forks(runs: list[dict], logs: dict[str, TokenLog], vary: str = "seed") -> dict[str, Fork]:
    """Run id → where that run parts from its group, for each run with a log that has a
    sibling. A run whose tokens equal a sibling's, or that ended inside a sibling's
    output, gets none.

    >>> from yilab.experiment.token_log import TokenStep
    >>> step = lambda i, lp=-0.5: TokenStep(i, f"t{i}", lp, lp, top=((i, lp),))
    >>> logs = {"a": TokenLog((step(1), step(2)), 1), "b": TokenLog((step(1), step(3)), 1)}
    >>> runs = [{"id": "a", "seed": 1}, {"id": "b", "seed": 2}]
    >>> fork = find_forks(runs, logs)["a"]
    >>> fork.position, fork.offset, fork.text, [s.text for s in fork.siblings]
    (1, 2, 't2', ['t3'])
    """
    groups: dict[tuple, list[str]] = {}
    for run in runs:
        if run.get("id") in logs:
            groups.setdefault(group_key(run, vary), []).append(run["id"])
    forks = {}
    for ids in groups.values():
        for run_id in ids:
            fork = _fork(run_id, [i for i in ids if i != run_id], logs)
            if fork is not None:
                forks[run_id] = fork
    return forks


def first_fork(forks: Iterable[Fork]) -> Fork | None:
    """The earliest of some forks (a group's: where it first parts), or None."""
    return min(forks, key=lambda f: f.position, default=None)


def _fork(run_id: str, others: list[str], logs: dict[str, TokenLog]) -> Fork | None:
    log = logs[run_id]
    shared = {other: common_prefix(log, logs[other]) for other in others}
    if not shared:
        return None
    position = max(shared.values())
    if position >= len(log.steps):  # identical, or it ended where a sibling went on
        return None
    step = log.steps[position]
    return Fork(
        run_id=run_id,
        position=position,
        offset=sum(len(s.text) for s in log.steps[:position]),
        length=len(step.text),
        token=step.token,
        text=log.pieces.get(step.token, step.text),
        probability=step.probability,
        alternatives=tuple(
            Alternative(token, log.piece(token), math.exp(lp)) for token, lp in step.top
        ),
        siblings=tuple(
            _choice(other, logs[other], position) for other, n in shared.items() if n == position
        ),
    )


def _choice(run_id: str, log: TokenLog, position: int) -> SiblingChoice:
    if position >= len(log.steps):
        return SiblingChoice(run_id, None, "", None)
    step = log.steps[position]
    text = log.pieces.get(step.token, step.text)
    return SiblingChoice(run_id, step.token, text, step.probability)
