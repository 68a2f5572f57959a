"""Token logs in exports: each run's record of its tokens' probabilities
(:mod:`yilab.experiment.token_log`), read with the runs, cut when outputs are, and carried
as ``run_tokens`` rows (bundles: the blob as base64 text) or readable JSON (JSONL).

Redaction: a token log records generated tokens only, never the prompt, so leaving system
prompts out keeps it as it is. Cutting outputs to N characters cuts each token log whose
text is longer to its first whole tokens whose text together is at most N characters, and
keeps only the token pieces those tokens still name: a token log repeats the output text,
token by token, and (for a server's log) names every token text it drew.
"""

from __future__ import annotations

import base64
from dataclasses import replace

from yilab.experiment.token_log import TokenLog
from yilab.runlog.rows import token_log_row
from yilab.runlog.store import Store


def token_rows(store: Store, experiments: list[dict]) -> dict[str, dict]:
    """The ``run_tokens`` rows of the experiments' runs that have one, by run id, in run order."""
    return store.get_token_rows([run["id"] for e in experiments for run in e["runs"]])


def cut_log(log: TokenLog, limit: int) -> TokenLog:
    """``log``'s first tokens whose text together is at most ``limit`` characters, with only
    the pieces they name: tokens ``"Par" "is" " is"`` cut to 5 keep ``"Par" "is"``."""
    kept, used = [], 0
    for step in log.steps:
        used += len(step.text)
        if used > limit:
            break
        kept.append(step)
    named = {*log.turn_end_ids, *(s.token for s in kept), *(t for s in kept for t, _ in s.top)}
    pieces = {t: p for t, p in log.pieces.items() if t in named}
    return replace(log, steps=tuple(kept), pieces=pieces)


def redact_token_rows(rows: dict[str, dict], truncate: int | None) -> dict[str, dict]:
    """``rows`` with each token log longer than ``truncate`` characters cut (see the module's
    docstring); the others, and all of them when ``truncate`` is None, as stored."""
    if truncate is None:
        return rows
    out = {}
    for run_id, row in rows.items():
        log = TokenLog.from_blob(row["data"])
        out[run_id] = (
            row if len(log.text) <= truncate else token_log_row(run_id, cut_log(log, truncate))
        )
    return out


def read_logs(rows: dict[str, dict]) -> dict[str, TokenLog]:
    """The token logs of ``rows``, by run id."""
    return {run_id: TokenLog.from_blob(row["data"]) for run_id, row in rows.items()}


def bundle_rows(rows: dict[str, dict]) -> list[dict]:
    """``run_tokens`` rows for a bundle: column for column, the blob as base64 text."""
    return [{**row, "data": base64.b64encode(row["data"]).decode("ascii")} for row in rows.values()]


def mean_logprob(log: TokenLog) -> float | None:
    """The mean of the model's log-probability of each token that has one (a branch's given
    tokens included): ``exp(-mean)`` is the run's perplexity under the model."""
    values = [s.raw_logprob for s in log.steps if s.raw_logprob is not None]
    return sum(values) / len(values) if values else None
