"""Pure: judge a grid — each run's check verdicts, and per row (one input, one set of
settings, the seeds side by side) the pass rates, pass@k / pass^k and diversity.

Works on runs as the log stores them (dicts with ``output``, ``finish_reason``,
``status``, ``temperature``, …, ``vars_json``), so checks edited after a sweep are
evaluated again from the log without generating anything. Only finished runs
(``done``) are judged: a cancelled or failed run's output is not an answer.

pass@k here is the plain "at least one of the row's k seeds passes every check" and
pass^k "all k pass" (not the unbiased estimator from samples, which needs n > k).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from yilab.experiment.checks import Check, Verdict, evaluate_all, pass_all_k, pass_at_k, pass_rate
from yilab.experiment.diversity import Diversity, diversity
from yilab.experiment.variables import EXPECTED, section_label

# what makes two runs the same row of a grid: all but the seed
ROW_KEYS = ("input_index", "model", "top_p", "max_tokens", "temperature")


def row_key(run: dict) -> tuple:
    """The grid row a run (or anything with the :data:`ROW_KEYS` attributes) belongs to."""
    if isinstance(run, dict):
        return tuple(run.get(k) for k in ROW_KEYS)
    return tuple(getattr(run, k) for k in ROW_KEYS)


def checks_of(experiment: dict) -> tuple[Check, ...]:
    """A logged experiment's checks (``checks_json``; none for one logged before checks)."""
    return tuple(Check.from_dict(c) for c in json.loads(experiment.get("checks_json") or "[]"))


def run_values(run: dict) -> dict[str, str]:
    """A logged run's input-row values ({} without inputs)."""
    return json.loads(run["vars_json"]) if run.get("vars_json") else {}


def verdicts(checks: Sequence[Check], run: dict) -> dict[str, Verdict]:
    """One run's verdict per check, by name ({} for a run that did not finish)."""
    if run.get("status") != "done":
        return {}
    expected = run_values(run).get(EXPECTED)
    return evaluate_all(checks, run.get("output") or "", run.get("finish_reason"), expected)


def passed_all(found: dict[str, Verdict]) -> bool | None:
    """Whether a run passed every check that could judge it (None when none could)."""
    judged = [v.passed for v in found.values() if v.passed is not None]
    return all(judged) if judged else None


@dataclass(frozen=True)
class RowScore:
    """One row of a grid: the runs that share every setting but the seed."""

    input_index: int | None
    label: str  # the input row's values, short ("" without inputs)
    model: str
    top_p: float
    max_tokens: int
    temperature: float
    runs: int  # finished runs judged (cancelled and failed ones are not)
    pass_rates: dict[str, float | None]  # by check name
    all_pass_rate: float | None  # share passing every check
    pass_at_k: bool | None  # at least one of the k seeds passes every check
    pass_all_k: bool | None  # all k do (pass^k)
    diversity: Diversity

    def to_dict(self) -> dict:
        """JSON-ready (``--json``, the exports, the report)."""
        return {
            "input_index": self.input_index,
            "input": self.label,
            "model": self.model,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "runs": self.runs,
            "pass_rates": {k: _round(v) for k, v in self.pass_rates.items()},
            "all_pass_rate": _round(self.all_pass_rate),
            "pass_at_k": self.pass_at_k,
            "pass_all_k": self.pass_all_k,
            **self.diversity.to_dict(),
        }


def score_rows(runs: Iterable[dict], checks: Sequence[Check]) -> list[RowScore]:
    """Each grid row's scores, in grid order (runs are grouped by :data:`ROW_KEYS`)."""
    rows: dict[tuple, list[dict]] = {}
    for run in sorted(runs, key=lambda r: r.get("cell_index") or 0):
        rows.setdefault(row_key(run), []).append(run)
    return [_score(key, members, checks) for key, members in rows.items()]


def _score(key: tuple, members: list[dict], checks: Sequence[Check]) -> RowScore:
    done = [r for r in members if r.get("status") == "done"]
    found = [verdicts(checks, r) for r in done]
    every = [passed_all(f) for f in found] if checks else []
    values = run_values(members[0])
    input_index, model, top_p, max_tokens, temperature = key
    return RowScore(
        input_index=input_index,
        label=section_label(values) if input_index is not None else "",
        model=model,
        top_p=top_p,
        max_tokens=max_tokens,
        temperature=temperature,
        runs=len(done),
        pass_rates={c.name: pass_rate(f[c.name].passed for f in found) for c in checks},
        all_pass_rate=pass_rate(every),
        pass_at_k=pass_at_k(every),
        pass_all_k=pass_all_k(every),
        diversity=diversity([r.get("output") or "" for r in done]),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def judged_runs(experiment: dict) -> dict[str, tuple[dict[str, Verdict], RowScore]]:
    """For each run of a logged experiment (a dict with ``runs`` and ``checks_json``): its
    verdicts and its row's scores, by run id — what the exports add to each run."""
    checks = checks_of(experiment)
    scores = score_rows(experiment["runs"], checks)
    by_key = {row_key(s): s for s in scores}
    return {run["id"]: (verdicts(checks, run), by_key[row_key(run)]) for run in experiment["runs"]}
