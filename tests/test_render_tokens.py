"""The probability view, the fork mark and the turn-end track as HTML, without a browser."""

from __future__ import annotations

import math
import re
from html import unescape

from yilab.events import Finished, RunResult, Started
from yilab.experiment.forks import find_forks
from yilab.experiment.sweep import SweepSpec, expand_sweep
from yilab.experiment.token_log import TokenLog, TokenStep
from yilab.experiment.turn_end import missed_turn_end
from yilab.render.grid import GridView, render_grid, view_from_runs
from yilab.render.tokens import fork_marked_text, probability_view, turn_end_html

XSS = "<img src=x onerror=alert(1)>"
EOS, IM_END = 2, 9
PIECES = {EOS: "<|endoftext|>", IM_END: "<|im_end|>", 3: " the", 4: " a", 5: "Hi", 6: XSS}


def step(token: int, p: float, top: dict[int, float], *, im_end: float = 0.01, given=False):
    lp = math.log(p)
    return TokenStep(
        token,
        "" if token in (EOS, IM_END) else PIECES[token],
        None if given else lp,
        lp,
        entropy=1.5,
        top=tuple((t, math.log(q)) for t, q in top.items()),
        turn_end=(math.log(0.01), math.log(im_end)),
    )


def log(*steps: TokenStep) -> TokenLog:
    return TokenLog(steps, 3, (EOS, IM_END), PIECES)


def tokens_of(html: str) -> list[str]:
    """The visible text of each token span (its tip left out)."""
    spans = re.findall(r'<span class="yl-tok[^"]*"[^>]*>(.*?)<span class="yl-tip"', html)
    return [unescape(s) for s in spans]


def test_each_token_carries_both_shades_and_a_tip_with_its_alternatives():
    html = probability_view(log(step(5, 0.8, {5: 0.8, 3: 0.1}), step(3, 0.45, {3: 0.45, 4: 0.3})))
    assert tokens_of(html) == ["Hi", " the"]
    assert 'style="--p:0.800;--h:0.500"' in html and 'style="--p:0.450;--h:0.500"' in html
    assert html.count('tabindex="0"') == 2
    tip = html.split('<span class="yl-tip"')[2]
    assert "&#x27; the&#x27;" in tip and "45%" in tip and "30%" in tip
    assert '<span class="yl-alt-note">drawn</span>' in tip
    assert "<button" not in html  # no branching unless asked


def test_alternatives_branch_with_their_position_and_token():
    html = probability_view(
        log(step(5, 0.8, {5: 0.8}), step(3, 0.45, {3: 0.45, 4: 0.3})), branch=True
    )
    assert html.count('onclick="yilabBranch(this)"') == 3
    assert 'data-pos="1" data-token="4"' in html and 'data-pos="0" data-token="5"' in html


def test_server_logs_do_not_branch():
    server = TokenLog((step(5, 0.8, {5: 0.8}),), 3, (), PIECES, source="server")
    assert "<button" not in probability_view(server, branch=True)


def test_greedy_tips_show_the_margin_over_the_runner_up():
    html = probability_view(log(step(3, 0.45, {3: 0.45, 4: 0.3})), greedy=True)
    assert "margin 15.0 pts over &#x27; a&#x27;" in html


def test_given_tokens_look_different_and_say_so():
    html = probability_view(log(step(4, 0.3, {3: 0.45, 4: 0.3}, given=True)))
    assert 'class="yl-tok yl-given"' in html
    assert '<span class="yl-tip-head">given' in html
    assert '<span class="yl-alt-note">given</span>' in html


def test_a_drawn_token_outside_the_alternatives_is_listed_too():
    html = probability_view(log(step(4, 0.01, {3: 0.9, 5: 0.05})))
    rows = re.findall(r'class="yl-alt( yl-alt-drawn)?"', html)
    assert rows == ["", "", " yl-alt-drawn"]


def test_hostile_pieces_and_texts_are_escaped():
    html = probability_view(
        log(step(6, 0.5, {6: 0.5, 3: 0.2}), step(3, 0.4, {6: 0.4})), branch=True
    )
    assert "<img" not in html
    assert tokens_of(html)[0] == XSS
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 3  # the token and two tips


def test_an_eos_shows_its_piece_in_the_view():
    html = probability_view(log(step(5, 0.9, {5: 0.9}), step(EOS, 0.7, {EOS: 0.7})))
    assert tokens_of(html) == ["Hi", "<|endoftext|>"]
    assert "yl-tok-special" in html


def test_the_fork_mark_keeps_the_text_and_names_the_sibling():
    a = log(step(5, 0.9, {5: 0.9}), step(3, 0.45, {3: 0.45, 4: 0.3}), step(6, 0.5, {6: 0.5}))
    b = log(step(5, 0.9, {5: 0.9}), step(4, 0.3, {3: 0.45, 4: 0.3}))
    runs = [{"id": "a", "seed": 1}, {"id": "b", "seed": 2}]
    fork = find_forks(runs, {"a": a, "b": b})["a"]
    html = fork_marked_text(a.text, fork, {"b": "seed 2"})
    assert unescape(re.sub(r"<[^>]+>", "", html)) == a.text  # innerText is the output
    assert '<span class="yl-shared">Hi</span>' in html
    assert re.search(r'<mark class="yl-fork" title="[^"]*"> the</mark>', html)
    title = unescape(re.search(r'title="([^"]*)"', html).group(1))
    assert title == "parts from seed 2 here: ' the' 45% (this run) · ' a' 30% (seed 2)"
    assert "<img" not in html


def test_the_turn_end_track_and_the_missed_note():
    steps = [step(5, 0.9, {5: 0.9})] * 3 + [step(IM_END, 0.97, {IM_END: 0.97}, im_end=0.97)]
    tokens = log(*steps)
    missed = missed_turn_end(tokens, [EOS], "length")
    html = turn_end_html(tokens, [EOS], missed)
    assert html.count("<polyline") == 1 and 'class="yl-spark-mark" x1="3"' in html
    assert '<code class="yl-stops" title="stops the run">&lt;|endoftext|&gt;</code>' in html
    assert '<code class="yl-no-stop" title="not a stop token">&lt;|im_end|&gt;</code>' in html
    assert "&lt;|im_end|&gt; was 97% likely at token 4, but it is not a stop token" in html
    assert '<a href="#" class="yl-to-tokenizer" onclick="return yilabCardLink(this)">' in html
    offline = turn_end_html(tokens, [EOS], missed, link=False)
    assert "<a " not in offline and "Tokenizer tab" in offline
    assert turn_end_html(TokenLog((), 0), [], None) == ""


def grid_row(texts: list[list[int]], **kw) -> GridView:
    """A finished grid row, one cell per seed, each with a token log."""
    view = GridView.for_cells(expand_sweep(SweepSpec(prompt="Hi", seeds=(1, 2, 3), **kw)))
    for cell, ids in enumerate(texts):
        steps = [step(t, 0.5, {t: 0.5, 4: 0.2}, im_end=0.9 if t == IM_END else 0.01) for t in ids]
        tokens = log(*steps)
        view.apply(Started(cell, "p", 3, [EOS]), run_ids={cell: f"run-{cell}"})
        result = RunResult(text=tokens.text, finish_reason="length", token_log=tokens)
        view.apply(Finished(cell, result), run_ids={cell: f"run-{cell}"})
    return view


def test_the_grid_marks_forks_shows_probs_and_the_missed_turn_end():
    view = grid_row([[5, 3, 3], [5, 3, 4], [5, IM_END, 5]])
    assert {i: f.position for i, f in view.forks.items()} == {0: 2, 1: 2, 2: 1}
    streaming = render_grid(view, actions=True)  # forks and tracks as cells finish...
    assert streaming.count('<mark class="yl-fork"') == 3 and "yl-turn" in streaming
    assert "yl-probs" not in streaming and "yl-shade" not in streaming  # ...the big part once
    view.done()
    html = render_grid(view, actions=True)
    assert html.count('data-act="probs"') == 3 and html.count('class="yl-probs"') == 3
    assert html.count('<mark class="yl-fork"') == 3
    assert "parts from seed 1, seed 2 here" in unescape(html)
    assert 'onclick="yilabShade(this)"' in html and "yilabBranch(this)" in html
    assert "was 90% likely at token 2" in html and "probably doesn" not in html
    report = render_grid(view, report=True)
    assert "onclick" not in report and '<button type="button" class="yl-alt' not in report
    assert 'data-act="probs"' in report and 'data-shade="entropy"' in report


def test_cards_without_a_log_are_unchanged():
    view = GridView.for_cells(expand_sweep(SweepSpec(prompt="Hi", seeds=(1, 2))))
    for cell in range(2):
        view.apply(Finished(cell, RunResult(text="Same", finish_reason="stop")))
    html = render_grid(view, actions=False)
    for part in ("yl-probs", "yl-shade", "yl-fork", "yl-turn", "yl-actions"):
        assert part not in html


def test_history_shows_the_same_from_logged_runs_and_their_logs():
    row = grid_row([[5, 3, 3], [5, 3, 4], [5, 4, 5]])
    runs = [
        {
            "id": f"run-{i}",
            "model": "",
            "temperature": 0.7,
            "seed": i + 1,
            "max_tokens": 256,
            "finish_reason": "length",
            "output": c.text,
            "stop_token_ids_json": "[2]",
        }
        for i, c in enumerate(row.cells)
    ]
    logs = {f"run-{i}": c.token_log for i, c in enumerate(row.cells)}
    view = view_from_runs(runs, logs=logs)
    assert view.cells[0].stop_ids == [EOS]
    assert {i: f.position for i, f in view.forks.items()} == {0: 2, 1: 2, 2: 1}
    assert render_grid(view).count('class="yl-probs"') == 3
    assert "yl-probs" not in render_grid(view_from_runs(runs))
