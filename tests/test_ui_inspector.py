"""The Tokenizer tab without a browser: its pure HTML, the panels of an inspection, and a
real before/after run on a tiny model with the Yi eos mistake."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gradio as gr
import pytest

from tests.test_ollama import write_yi
from tests.yilike import build_yi_like_model
from yilab.inspector.diagnose import inspect_model
from yilab.inspector.fix import apply_fix
from yilab.inspector.token_view import TokenView
from yilab.render.grid import CellView, GridView
from yilab.render.inspector import (
    render_before_after,
    render_specials,
    render_tokens,
    render_verdict,
)
from yilab.ui.tokenizer import TokenizerTab, before_after, build_tokenizer_tab, inspect_panels

YI = Path(__file__).parent / "fixtures" / "yi-6b-chat-2023"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def yi_like(tmp_path_factory):
    """Built once; tests that change its files work on a copy."""
    return build_yi_like_model(tmp_path_factory.mktemp("yilike") / "model")


@pytest.fixture
def yi_like_copy(yi_like, tmp_path):
    return Path(shutil.copytree(yi_like, tmp_path / "model"))


def test_verdict_banner_names_the_verdict_and_escapes(yi_like):
    report = inspect_model(yi_like)
    html = render_verdict(report)
    assert 'class="yl-tk-verdict yl-tk-verdict-error"' in html
    assert 'data-verdict="eos_mismatch"' in html and "EOS mismatch" in html
    assert "&lt;|endoftext|&gt; (id 0)" in html and "<|endoftext|>" not in html
    report.summary = XSS
    assert XSS not in render_verdict(report) and "&lt;img" in render_verdict(report)


def test_special_tokens_table_highlights_conflicts(yi_like):
    html = render_specials(inspect_model(yi_like))
    conflict_rows = [row for row in html.split("<tr") if "yl-tk-conflict" in row]
    assert len(conflict_rows) == 2  # tokenizer_config eos_token, config.json eos_token_id
    assert "tokenizer_config.json" in conflict_rows[0] and "✗ &lt;|endoftext|&gt;" in html
    assert "assistant turn end: &lt;|im_end|&gt; (id 2)" in html


def test_tokens_are_spans_special_ones_marked_and_the_turn_end_coloured():
    view = TokenView(
        text="",
        ids=[1, 40, 2, 9],
        pieces=["<|im_start|>", "Ġhi", "<|im_end|>", "x"],
        texts=["<|im_start|>", XSS, "<|im_end|>", "\n"],
        special=[True, False, True, False],
        count=4,
        warnings=["double bos"],
    )
    runs_on = render_tokens(view, turn_end_id=2, stop_ids=[0], summary=True)
    assert runs_on.count("yl-tk-special") == 2 and "yl-tk-runs-on" in runs_on
    assert "mlx-lm does NOT stop" in runs_on and XSS not in runs_on and "↵" in runs_on
    assert "4 tokens · ids: <code>1 40 2 9</code>" in runs_on and "⚠ double bos" in runs_on
    stops = render_tokens(view, turn_end_id=2, stop_ids=[0, 2])
    assert "yl-tk-stops" in stops and "yl-tk-runs-on" not in stops


def _grid(state: str, text: str = "") -> GridView:
    from yilab.experiment.sweep import CellSettings

    cell = CellView(CellSettings(0, "", 0.0, 0, 1.0, 48), text=text, state=state)
    return GridView([cell])


def test_before_after_panes_and_outcome():
    stops = {"before": [0], "after": [0, 2]}
    waiting = render_before_after(_grid("length", "Paris.<|im_end|>"), None, stops)
    assert waiting.count("yl-tk-ba-pane") == 2 and "waiting…" in waiting
    assert "stops at ids 0, 2" in waiting and "length → stop" not in waiting
    done = render_before_after(_grid("length"), _grid("stop"), stops)
    assert "length → stop: with the fix" in done and "yl-notice-ok" in done
    odd = render_before_after(_grid("length"), _grid("length"), stops)
    assert "length → length" in odd and "yl-notice-warn" in odd


def test_panels_before_and_after_a_fix(service, yi_like_copy):
    panels = inspect_panels(service, yi_like_copy)
    assert panels.can_apply and not panels.can_undo
    assert (
        '<span class="yl-tk-diff-add">+  &quot;eos_token&quot;: &quot;&lt;|im_end|&gt;&quot;,'
        in (panels.diff)
    )
    assert "--extra-eos-id 2" in panels.diff and "PARAMETER stop" in panels.diff
    assert "yl-tk-runs-on" in panels.template  # the turn end, tokenized, does not stop
    apply_fix(yi_like_copy)
    panels = inspect_panels(service, yi_like_copy)
    assert not panels.can_apply and panels.can_undo
    assert 'data-verdict="ok"' in panels.verdict and "Nothing to fix" in panels.diff
    assert "tokenizer_config.json.yilab-bak" in panels.diff and "yl-tk-stops" in panels.template


def test_panels_without_a_tokenizer_highlight_the_template_strings(service, tmp_path):
    panels = inspect_panels(service, Path(shutil.copytree(YI, tmp_path / "yi")))
    assert 'data-verdict="eos_mismatch"' in panels.verdict
    assert '<span class="yl-tk-t yl-tk-special yl-tk-runs-on"' in panels.template


def test_before_after_with_an_empty_box_runs_the_sample_question_in_the_readers_words(
    service, yi_like
):
    from tests.chinese import chinese_request

    with chinese_request():
        pages = list(before_after(service, yi_like, ""))
    assert "yl-badge-stop" in pages[-1]
    prompts = {e["prompt"] for e in service.store.list_experiments()}
    assert prompts == {"法国的首都是哪里？"}


def test_before_after_runs_length_then_stop_and_logs_both(service, yi_like):
    pages = list(before_after(service, yi_like, "What is the capital of France?"))
    last = pages[-1]
    assert "yl-badge-length" in last and "yl-badge-stop" in last
    assert "length → stop" in last and "&lt;|im_end|&gt;" in last
    experiments = service.store.list_experiments()
    assert sorted(e["note"] for e in experiments) == ["after fix", "before fix"]
    for experiment in experiments:
        (run,) = service.store.get_experiment(experiment["id"])["runs"]
        extra = json.loads(experiment["sweep_json"])["extra_eos_ids"]
        if experiment["note"] == "after fix":
            assert extra == [2] and run["finish_reason"] == "stop"
            assert json.loads(run["stop_token_ids_json"]) == [0, 2]
        else:
            assert extra == [] and run["finish_reason"] == "length"
            assert "<|im_end|>" in run["output"] and run["temperature"] == 0


def test_before_after_on_a_fixed_model_has_nothing_to_compare(service, yi_like_copy):
    apply_fix(yi_like_copy)
    (page,) = before_after(service, yi_like_copy, "Hi")
    assert "Nothing to compare" in page and service.store.list_experiments() == []


def test_the_tab_builds_with_its_contract_ids_and_no_public_api(service, yi_like):
    with gr.Blocks() as demo:
        tab = build_tokenizer_tab(service, str(yi_like))
    assert demo.get_api_info()["named_endpoints"] == {}
    assert isinstance(tab, TokenizerTab)
    assert tab.model.elem_id == "yl-tok-model" and tab.model.value == str(yi_like)
    assert tab.open_event["inputs"] == [tab.model, tab.session]
    assert tab.before_after.elem_id == "yl-tok-before-after"


# --- a model imported from Ollama --------------------------------------------------------------


def test_an_ollama_model_shows_its_stops_and_apply_adds_them(service, tmp_path, tiny_model_dir):
    write_yi(tmp_path / "ollama", tmp_path, system=XSS)  # $OLLAMA_MODELS, from conftest
    path = service.model_dir("yi:6b-chat")
    panels = inspect_panels(service, path, "yi:6b-chat")
    assert 'data-ollama-verdict="missing_stops"' in panels.ollama
    assert "Ollama (yi:6b-chat): Ollama stopped where mlx-lm will not" in panels.ollama
    assert panels.ollama.count('class="yl-tk-conflict"') == 2  # <|im_start|>, <|im_end|>
    assert "GGUF eos: &lt;|endoftext|&gt; (id 0)" in panels.ollama
    assert "python -m yilab fix yi:6b-chat" in panels.ollama
    assert "{{ end }}&lt;|im_start|&gt;assistant" in panels.ollama  # the Go template
    assert XSS not in panels.ollama and "&lt;img src=x" in panels.ollama
    assert "generation_config.json" in panels.diff and panels.can_apply
    assert "--extra-eos-id 2 --extra-eos-id 1" in panels.diff

    pages = list(before_after(service, path, "What is the capital of France?", "yi:6b-chat"))
    assert "length → stop" in pages[-1] and "stops at ids 0, 1, 2" in pages[-1]

    service.apply_fix(path, "yi:6b-chat")
    panels = inspect_panels(service, path, "yi:6b-chat")
    assert 'data-ollama-verdict="ok"' in panels.ollama and 'data-verdict="ok"' in panels.verdict
    assert "Fix, so that" not in panels.ollama and panels.can_undo
    assert inspect_panels(service, tiny_model_dir).ollama == ""


def test_special_tokens_panel_lists_every_turn_end_escaped():
    gpt_oss = Path(__file__).parent / "fixtures" / "models" / "gpt-oss-20b"
    html = render_specials(inspect_model(gpt_oss))
    assert "answers end with &lt;|return|&gt; (id 200002): mlx-lm stops there" in html
    assert "tool calls end with &lt;|call|&gt; (id 200012): mlx-lm stops there" in html
    assert "&lt;|end|&gt;" in html and "<|end|>" not in html
