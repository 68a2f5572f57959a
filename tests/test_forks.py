"""Where runs of one grid row part, on hand-built token logs."""

from __future__ import annotations

import math

import pytest

from yilab.experiment.forks import common_prefix, find_forks, first_fork, group_key
from yilab.experiment.token_log import TokenLog, TokenStep

EOS = 0
PIECES = {EOS: "<|endoftext|>", **{i: f" w{i}" for i in range(1, 40)}}


def step(token: int, lp: float = -0.7, top: tuple = ()) -> TokenStep:
    text = "" if token == EOS else PIECES[token]
    return TokenStep(token, text, lp, lp, entropy=1.0, top=top or ((token, lp), (39, -2.0)))


def log(ids: list[int], source: str = "mlx") -> TokenLog:
    return TokenLog(tuple(step(i) for i in ids), 2, (EOS,), PIECES, source)


def row(**ids: list[int]) -> tuple[list[dict], dict[str, TokenLog]]:
    """One grid row: a run per seed, same everything else."""
    runs = [
        {"id": name, "experiment_id": "e", "model": "m", "temperature": 0.7, "seed": n}
        for n, name in enumerate(ids, 1)
    ]
    return runs, {name: log(tokens) for name, tokens in ids.items()}


def test_identical_runs_have_no_fork():
    runs, logs = row(a=[1, 2, 3, EOS], b=[1, 2, 3, EOS])
    assert common_prefix(logs["a"], logs["b"]) == 4
    assert find_forks(runs, logs) == {}


def test_runs_that_part_at_the_first_token():
    runs, logs = row(a=[1, 2], b=[3, 2])
    forks = find_forks(runs, logs)
    assert forks["a"].position == 0 and forks["a"].offset == 0
    assert forks["a"].token == 1 and forks["a"].text == " w1"
    assert [(s.run_id, s.token, s.text) for s in forks["a"].siblings] == [("b", 3, " w3")]
    assert forks["b"].siblings[0].run_id == "a"


def test_runs_that_part_at_token_5_mark_the_char_offset():
    runs, logs = row(a=[1, 2, 3, 4, 5, 6, 7], b=[1, 2, 3, 4, 5, 8, 9])
    fork = find_forks(runs, logs)["a"]
    assert fork.position == 5
    output = logs["a"].text
    assert output[fork.offset : fork.offset + fork.length] == " w6"
    assert fork.offset == len(" w1 w2 w3 w4 w5")
    assert math.isclose(fork.probability, math.exp(-0.7), rel_tol=1e-6)
    assert [a.token for a in fork.alternatives] == [6, 39]
    assert math.isclose(fork.alternatives[1].probability, math.exp(-2.0), rel_tol=1e-6)
    sibling = fork.siblings[0]
    assert (sibling.token, sibling.text) == (8, " w8")
    assert math.isclose(sibling.probability, math.exp(-0.7), rel_tol=1e-6)


def test_a_run_that_stops_early_parts_at_its_eos():
    runs, logs = row(a=[1, 2, EOS], b=[1, 2, 3, 4])
    forks = find_forks(runs, logs)
    assert forks["a"].position == 2 and forks["a"].token == EOS
    assert forks["a"].length == 0 and forks["a"].offset == len(logs["a"].text)
    assert forks["a"].text == "<|endoftext|>"
    assert forks["b"].siblings[0].token == EOS


def test_a_run_cut_short_inside_a_sibling_s_output_gets_no_fork():
    runs, logs = row(a=[1, 2], b=[1, 2, 3])
    forks = find_forks(runs, logs)
    assert "a" not in forks
    assert forks["b"].position == 2
    assert forks["b"].siblings[0].token is None  # a ended there


def test_three_seeds_where_two_stay_together_longer():
    runs, logs = row(a=[1, 2, 3, 4, 5], b=[1, 2, 3, 6, 7], c=[1, 9, 9, 9, 9])
    forks = find_forks(runs, logs)
    assert forks["a"].position == 3 and [s.run_id for s in forks["a"].siblings] == ["b"]
    assert forks["b"].position == 3 and [s.run_id for s in forks["b"].siblings] == ["a"]
    assert forks["c"].position == 1
    assert [(s.run_id, s.token) for s in forks["c"].siblings] == [("a", 2), ("b", 2)]
    assert first_fork(forks.values()).run_id == "c"
    assert first_fork([]) is None


def test_runs_group_by_row_or_by_column():
    runs, logs = row(a=[1, 2], b=[1, 3])
    runs[1]["temperature"] = 1.0  # now a column, not a row
    assert find_forks(runs, logs) == {}
    runs[1]["seed"] = 1
    assert set(find_forks(runs, logs, vary="temperature")) == {"a", "b"}
    runs[1]["model"] = "other"
    assert find_forks(runs, logs, vary="temperature") == {}
    with pytest.raises(ValueError, match="vary"):
        group_key(runs[0], vary="top_p")


def test_runs_without_a_log_are_left_out():
    runs, logs = row(a=[1, 2], b=[1, 3])
    del logs["b"]
    assert find_forks(runs, logs) == {}


def test_server_logs_compare_texts_not_ids():
    a = TokenLog((TokenStep(1, "Hi", 0.0, 0.0), TokenStep(2, "!", 0.0, 0.0)), 0, source="server")
    b = TokenLog((TokenStep(7, "Hi", 0.0, 0.0), TokenStep(8, ".", 0.0, 0.0)), 0, source="server")
    assert common_prefix(a, b) == 1
    assert common_prefix(log([1, 2]), log([1, 2])) == 2
