"""The compare grid's view model and HTML, without a browser."""

from yilab.events import Finished, Queued, RunResult, Started, Token
from yilab.experiment.sweep import SweepSpec, expand_sweep
from yilab.render.grid import GridView, find_duplicates, render_grid, runs_off_the_end


def view(**kw):
    return GridView.for_cells(expand_sweep(SweepSpec(prompt="Hi", **kw)))


def test_tokens_stream_into_their_cell_and_finish_with_a_badge():
    v = view(temperatures=(0.2, 0.7), seeds=(1, 2))
    v.apply(Started(1, "p", 3, [2]))
    v.apply(Token(1, "Hel", 1))
    v.apply(Token(1, "lo", 2))
    assert v.cells[1].text == "Hello" and v.cells[1].state == "running"
    result = RunResult(
        text="Hello", finish_reason="stop", generation_tokens=3, generation_tps=12.5, ttft_s=0.25
    )
    v.apply(Finished(1, result))
    html = render_grid(v)
    assert 'yl-badge-stop">stop<' in html
    assert "3 tokens · 12.5 tok/s · TTFT 0.25 s" in html
    assert html.count('class="yl-card') == 4
    assert "repeat(2, minmax(0, 1fr))" in html  # two seeds → two columns


def test_output_is_escaped_never_html():
    v = view()
    probe = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    v.apply(Finished(0, RunResult(text=probe, finish_reason="length")))
    html = render_grid(v)
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_queued_status_and_greedy_note():
    v = view(temperatures=(0,))
    v.apply(Queued(position=1))
    html = render_grid(v)
    assert "Queued: waiting for 1 sweep(s)" in html
    assert "seed has no effect" in html


def test_identical_outputs_are_marked():
    v = view(temperatures=(0.2, 0.7), seeds=(1, 2))
    for cell, text in enumerate(["a", "b", "a", "c"]):
        v.apply(Finished(cell, RunResult(text=text, finish_reason="stop")))
    assert find_duplicates(v.cells) == {2: 0}
    assert "same as T=0.2 · seed 1" in render_grid(v)


def test_length_with_a_turn_end_in_the_text_is_flagged():
    v = view()
    v.apply(
        Finished(0, RunResult(text="Paris.<|im_end|>\n<|im_start|>user", finish_reason="length"))
    )
    assert runs_off_the_end(v.cells[0])
    assert "probably doesn&#x27;t stop" in render_grid(v)
    v.apply(Finished(0, RunResult(text="Paris.", finish_reason="length")))
    assert not runs_off_the_end(v.cells[0])


def test_done_summarises_the_finish_reasons():
    v = view(seeds=(1, 2, 3))
    for cell, reason in enumerate(["stop", "length", "stop"]):
        v.apply(Finished(cell, RunResult(text=str(cell), finish_reason=reason)))
    v.done()
    assert v.status == "Done: 2 stop, 1 length"


def test_view_from_logged_runs_shows_the_grid_as_it_was():
    from yilab.render.grid import view_from_runs

    runs = [
        {
            "id": "r1",
            "model": "m",
            "temperature": 0.0,
            "seed": 1,
            "top_p": 1.0,
            "max_tokens": 8,
            "output": "Paris",
            "finish_reason": "stop",
            "generation_tokens": 3,
            "generation_tps": 9.0,
            "ttft_s": 0.4,
            "status": "done",
        },
        {
            "id": "r2",
            "model": "m",
            "temperature": 0.0,
            "seed": 2,
            "top_p": None,
            "max_tokens": 8,
            "output": "Paris",
            "finish_reason": "stop",
            "generation_tokens": 3,
            "status": "done",
        },
        {
            "id": "r3",
            "model": "m",
            "temperature": 0.7,
            "seed": 1,
            "top_p": 1.0,
            "max_tokens": 8,
            "output": "par",
            "finish_reason": None,
            "status": "interrupted",
        },
    ]
    v = view_from_runs(runs, status="Experiment abc")
    assert [c.state for c in v.cells] == ["stop", "stop", "interrupted"]
    assert v.cells[0].run_id == "r1" and v.same_as == {1: 0}
    html = render_grid(v)
    assert "Experiment abc" in html and 'yl-badge-interrupted">interrupted<' in html
