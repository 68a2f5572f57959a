"""Compare-tab handlers without a browser, on a real service and tiny models."""

import gradio as gr
import pytest

from tests.tinymodel import build_tiny_model
from yilab.experiment.sweep import SweepSpec
from yilab.ui.cards import other_cells, parse_action, replay_html
from yilab.ui.compare import eos_check, preview_prompt, stream_grid


def test_parse_action():
    assert parse_action("replay:0b5e-11:1700000000") == ("replay", "0b5e-11")
    assert parse_action("") == ("", "")


def test_stream_grid_yields_cards_with_run_ids_and_actions(service, tiny_model_dir):
    sweep = service.start_sweep(
        SweepSpec(prompt="Hi", models=(str(tiny_model_dir),), seeds=(1, 2), max_tokens=(6,))
    )
    state = {}
    frames = list(stream_grid(sweep, state))
    assert "Done: 2 length" in frames[-1]
    for cell in state["view"].cells:
        assert cell.run_id and f'data-run="{cell.run_id}"' in frames[-1]
    assert frames[-1].count('data-act="replay"') == 2
    others = other_cells(state["view"], state["view"].cells[0].run_id)
    assert others == [("T=0.7 · seed 2", state["view"].cells[1].run_id)]


def test_replay_html_says_identical(service, tiny_model_dir):
    spec = SweepSpec(prompt="Hi", models=(str(tiny_model_dir),), seeds=(9,), max_tokens=(6,))
    _, runs = service.run_sweep(spec)
    assert "identical ✓" in replay_html(service, runs[0]["id"])
    assert "No run" in replay_html(service, "ffffffffff")


def test_preview_shows_the_rendered_chat_and_its_token_count(service, tiny_model_dir):
    text = preview_prompt(service, str(tiny_model_dir), "chat", "Be brief", "Hi")
    assert text.startswith("<|im_start|>system\nBe brief<|im_end|>")
    assert "tokens" in text
    assert preview_prompt(service, str(tiny_model_dir), "raw", "", "as is") == "as is"
    assert preview_prompt(service, "/no/such/model", "chat", "", "Hi").startswith("(no preview:")
    filled = preview_prompt(
        service, str(tiny_model_dir), "chat", "", "Hi {{who}}", "who\nAda\nBo\n"
    )
    assert "Hi Ada<|im_end|>" in filled and "── input row 1 of 2" in filled
    raw = preview_prompt(service, str(tiny_model_dir), "raw", "", "Hi {{who}}", "who\nAda\n")
    assert raw == "Hi Ada\n── input row 1 of 1"
    bad = preview_prompt(service, str(tiny_model_dir), "chat", "", "Hi {{who}}", "name\nAda\n")
    assert bad == "(no preview: No value for {{who}}.)"


def test_eos_check_warns_only_for_a_model_that_will_not_stop(service, tiny_model_dir, tmp_path):
    warning, button = eos_check(service, str(tiny_model_dir))
    assert warning["visible"] is False and button["visible"] is False
    broken = build_tiny_model(tmp_path / "broken", eos_token="<|endoftext|>")
    warning, button = eos_check(service, str(broken))
    assert button["visible"] is True and "probably doesn" in warning["value"]


def test_an_uploaded_inputs_file_becomes_the_inputs_box_csv(tmp_path):

    from yilab.ui.compare import _inputs_text

    path = tmp_path / "rows.jsonl"
    path.write_text('{"country": "France", "expected": "Paris"}\n{"country": "日本"}\n')
    assert _inputs_text(str(path)) == "country,expected\nFrance,Paris\n日本,\n"
    path.write_text('{"country": ["x"]}\n')
    with pytest.raises(gr.Error, match="is a list"):
        _inputs_text(str(path))
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(gr.Error, match="Cannot read bad.csv"):
        _inputs_text(str(tmp_path / "bad.csv"))
