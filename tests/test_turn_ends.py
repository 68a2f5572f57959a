"""Formats whose generated turns end differently from their history: harmony (gpt-oss),
reasoning blocks (Qwen3, DeepSeek-R1), tool calls (Llama 3.1's ipython mode), on real
configs in tests/fixtures/models/. The renderings the inspector reasons on are checked
against a real transformers ``apply_chat_template``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.tinymodel import _byte_level_tokenizer_json
from yilab.inspector.chat_template import Renderer
from yilab.inspector.diagnose import inspect_model
from yilab.inspector.fix import apply_fix, preview_fix
from yilab.inspector.turn_ends import (
    ANSWER,
    ARGUMENT,
    REASONING,
    TOOL,
    TOOL_SPEC,
    generated_turns,
    special_tokens,
)

FIXTURES = Path(__file__).parent / "fixtures" / "models"
GPT_OSS = FIXTURES / "gpt-oss-20b"
QWEN3 = FIXTURES / "qwen3-4b-thinking-2507"
R1 = FIXTURES / "deepseek-r1-distill-qwen-32b"
LLAMA31 = FIXTURES / "llama-3.1-8b-instruct"


def copy(src: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(src, tmp_path / src.name))


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))


def ends(report) -> list[tuple[str, str, int | None, bool, bool]]:
    return [(e.kind, e.token, e.id, e.stops, e.mid_answer) for e in report.chat_template.turn_ends]


def codes(report) -> set[str]:
    return {p.code for p in report.problems}


def proposed(report) -> set:
    """Every token a fix would make a stop token, files and runtime alike."""
    plan = report.fix
    values = {c.new for c in plan.changes if isinstance(c.new, str)}
    ids = {i for c in plan.changes if isinstance(c.new, list) for i in c.new}
    return values | set(plan.extra_eos_tokens) | set(plan.extra_eos_ids) | ids


# ---- the real fixtures ------------------------------------------------------------------


def test_gpt_oss_answers_end_with_return_and_tool_calls_with_call():
    report = inspect_model(GPT_OSS)
    assert report.verdict == "ok"
    assert report.chat_template.source == "chat_template.jinja"
    assert (report.chat_template.turn_end, report.chat_template.turn_end_id) == (
        "<|return|>",
        200002,
    )
    assert report.chat_template.history_turn_end == "<|end|>"
    assert report.chat_template.reasoning_end == "<|end|>"
    assert ends(report) == [
        ("answer", "<|return|>", 200002, True, False),
        ("tool_call", "<|call|>", 200012, True, False),
    ]
    assert {"<|end|>", "<|start|>", "<|channel|>", "<|message|>"} <= set(
        report.chat_template.inner_tokens
    )
    assert codes(report) == set() and not report.fix.changes and not report.fix.needed


def test_gpt_oss_first_release_runs_past_tool_calls(tmp_path):
    """The first generation_config.json lacked <|call|>: a tool-call warning, an optional
    fix that adds 200012, and <|end|> is still never proposed."""
    model = copy(GPT_OSS, tmp_path)
    edit_json(model / "generation_config.json", eos_token_id=[200002, 199999])
    report = inspect_model(model)
    assert report.verdict == "ok"
    assert ("tool_call", "<|call|>", 200012, False, False) in ends(report)
    problem = next(p for p in report.problems if p.code == "tool_call_not_stop")
    assert problem.severity == "warning" and "<|call|>" in problem.message
    assert not report.fix.needed
    [change] = report.fix.changes
    assert (change.file, change.new) == ("generation_config.json", [200002, 199999, 200012])
    assert report.fix.extra_eos_ids == [200012]
    assert report.fix.ollama_modelfile == 'PARAMETER stop "<|call|>"'
    assert "<|end|>" not in proposed(report) and 200007 not in proposed(report)

    apply_fix(model)
    after = inspect_model(model)
    assert "tool_call_not_stop" not in codes(after) and 200012 in after.stop_ids


def test_gpt_oss_without_generation_config_gets_a_runtime_fix_only(tmp_path):
    model = copy(GPT_OSS, tmp_path)
    (model / "generation_config.json").unlink()
    report = inspect_model(model)
    assert report.verdict == "ok" and report.stop_ids == [200002]
    assert "tool_call_not_stop" in codes(report)
    assert report.fix.changes == [] and report.fix.extra_eos_ids == [200012]
    assert "--extra-eos-token '<|call|>'" in report.fix.mlx_lm_cli
    assert preview_fix(model) == []


def test_a_stop_token_written_mid_answer_is_flagged(tmp_path):
    """What yilab's old fix did to gpt-oss (eos <|end|>): answers stop after the reasoning."""
    model = copy(GPT_OSS, tmp_path)
    edit_json(model / "tokenizer_config.json", eos_token="<|end|>")
    edit_json(model / "special_tokens_map.json", eos_token="<|end|>")
    report = inspect_model(model)
    problem = next(p for p in report.problems if p.code == "stop_mid_answer")
    assert "<|end|>" in problem.message and problem.file == "tokenizer_config.json"
    assert report.verdict == "tokenizer_eos_mismatch"  # <|return|> stops via generation_config
    assert {c.new for c in report.fix.changes} == {"<|return|>"}


def test_an_answer_closed_like_the_reasoning_is_never_proposed(tmp_path):
    """A template variant that ends the final answer with <|end|> (as some community
    re-uploads do): the token is ambiguous, so no fix makes it a stop token."""
    model = copy(GPT_OSS, tmp_path)
    path = model / "chat_template.jinja"
    text = path.read_text()
    assert text.count('message.content + "<|return|>"') == 1
    path.write_text(text.replace('message.content + "<|return|>"', 'message.content + "<|end|>"'))
    report = inspect_model(model)
    assert report.chat_template.turn_end is None
    assert ("answer", "<|end|>", 200007, False, True) in ends(report)
    assert "ambiguous_turn_end" in codes(report) and report.verdict == "ok"
    assert "mid-answer" in report.summary
    assert "<|end|>" not in proposed(report) and 200007 not in proposed(report)


def test_qwen3_thinking_reasoning_ends_mid_answer():
    report = inspect_model(QWEN3)
    t = report.chat_template
    assert report.verdict == "ok" and codes(report) == set()
    assert (t.turn_end, t.turn_end_id, t.history_turn_end) == ("<|im_end|>", 151645, "<|im_end|>")
    assert ends(report) == [
        ("answer", "<|im_end|>", 151645, True, False),
        ("tool_call", "<|im_end|>", 151645, True, False),
    ]
    assert t.reasoning_end == "</think>"
    assert {"</think>", "<tool_call>", "</tool_call>"} <= set(t.inner_tokens)
    assert t.enable_thinking is True
    assert t.example.endswith("<|im_start|>assistant\n<think>\n")


def test_deepseek_r1_distill_hides_reasoning_but_knows_its_markers():
    report = inspect_model(R1)
    t = report.chat_template
    assert report.verdict == "ok"
    assert (t.turn_end, t.turn_end_id) == ("<｜end▁of▁sentence｜>", 151643)
    assert ends(report) == [
        ("answer", "<｜end▁of▁sentence｜>", 151643, True, False),
        ("tool_call", "<｜end▁of▁sentence｜>", 151643, True, False),
    ]
    assert {"<think>", "</think>"} <= set(t.inner_tokens)
    assert {"no_config_json", "double_bos", "pad_is_eos"} == codes(report)


def test_llama31_tool_calls_in_ipython_mode_end_with_eom():
    report = inspect_model(LLAMA31)
    assert report.verdict == "ok"
    assert ends(report) == [
        ("answer", "<|eot_id|>", 128009, True, False),
        ("tool_call", "<|eot_id|>", 128009, True, False),
        ("tool_call", "<|eom_id|>", 128008, True, False),
    ]
    assert "<|python_tag|>" in report.chat_template.inner_tokens


def test_llama31_without_eom_in_the_stop_set_warns(tmp_path):
    model = copy(LLAMA31, tmp_path)
    edit_json(model / "generation_config.json", eos_token_id=[128001, 128009])
    report = inspect_model(model)
    assert report.verdict == "ok" and "tool_call_not_stop" in codes(report)
    assert report.fix.extra_eos_ids == [128008]


def test_inspect_json_lists_the_turn_ends(capsys):
    from yilab.cli.main import main

    assert main(["inspect", str(GPT_OSS), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    template = doc["chat_template"]
    assert (template["source"], template["turn_end"]) == ("chat_template.jinja", "<|return|>")
    assert template["history_turn_end"] == "<|end|>"
    assert [(e["kind"], e["token"], e["stops"]) for e in template["turn_ends"]] == [
        ("answer", "<|return|>", True),
        ("tool_call", "<|call|>", True),
    ]
    assert "<|end|>" in template["inner_tokens"]


def test_inspect_text_names_every_turn_end(capsys):
    from yilab.cli.main import main

    main(["inspect", str(GPT_OSS)])
    out = capsys.readouterr().out
    assert "answers end with <|return|> (id 200002)" in out
    assert "tool calls end with <|call|> (id 200012)" in out
    assert "history messages end with <|end|> (id 200007)" in out


# ---- the renderings match a real transformers apply_chat_template -----------------------


def _tokenizer_with(tmp_path: Path, template_source: Path):
    """A real transformers tokenizer (the tiny byte-level one, bos ``<|im_start|>``) with a
    fixture's template."""
    from transformers import AutoTokenizer

    report = inspect_model(template_source)
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps(_byte_level_tokenizer_json()))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>"}
    config["bos_token"] = "<|im_start|>"
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "chat_template.jinja").write_text(report.chat_template.template)
    return AutoTokenizer.from_pretrained(str(folder)), report


CONVERSATIONS = {
    "answer": ([{"role": "assistant", "content": ANSWER}], {}),
    "reasoning": (
        [
            {
                "role": "assistant",
                "content": ANSWER,
                "reasoning_content": REASONING,
                "thinking": REASONING,
            }
        ],
        {},
    ),
    "tool call": (
        [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "c0a2b3c4d",
                        "type": "function",
                        "function": {"name": TOOL, "arguments": {"arg": ARGUMENT}},
                    }
                ],
            }
        ],
        {"tools": [TOOL_SPEC]},
    ),
}


@pytest.mark.parametrize("fixture", [GPT_OSS, QWEN3, LLAMA31])
@pytest.mark.parametrize("shape", CONVERSATIONS)
def test_the_renderings_match_transformers(tmp_path, fixture, shape):
    tokenizer, report = _tokenizer_with(tmp_path, fixture)
    last, extra = CONVERSATIONS[shape]
    messages = [{"role": "user", "content": "Hi"}, *last]
    expected = tokenizer.apply_chat_template(messages, tokenize=False, **extra)
    tokens = {f"{r}_token": getattr(tokenizer, f"{r}_token") for r in ("bos", "eos", "pad", "unk")}
    renderer = Renderer(report.chat_template.template, tokens)
    assert renderer(messages, **extra) == expected


# ---- the algorithm on small templates ------------------------------------------------------

CHANNELS = (
    "{% for m in messages %}<|start|>{{ m.role }}"
    "{% if m.thinking is defined %}<|channel|>analysis<|message|>{{ m.thinking }}<|end|>"
    "<|start|>{{ m.role }}{% endif %}<|message|>{{ m.content }}"
    "{% if m.role == 'assistant' and loop.last %}<|return|>{% else %}<|end|>{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|start|>assistant{% endif %}"
)


def test_generated_turns_of_a_channel_template():
    known = ["<|channel|>", "<|message|>", "<|return|>", "<|start|>", "<|end|>"]
    turns = generated_turns(Renderer(CHANNELS), [{"role": "user", "content": "u"}], known)
    assert turns.answer_end == "<|return|>" and turns.reasoning_end == "<|end|>"
    assert turns.tool_call_ends == []  # the template renders no tool calls
    assert turns.inner == ["<|message|>", "<|channel|>", "<|end|>", "<|start|>"]
    assert turns.rendered["answer"] == f"<|message|>{ANSWER}<|return|>"


def test_special_tokens_split_on_known_tokens_first():
    assert special_tokens("x<|a|><b>y", ["<|a|><b>"]) == [(1, "<|a|><b>")]
    assert special_tokens("[INST] hi [/INST]", []) == [(0, "[INST]"), (10, "[/INST]")]


# ---- a real mlx-lm load and generation: the tool-call fix makes the model stop -----------

TOOL_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n"
    "{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments | tojson }}<|endoftext|>"
    "{% else %}{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _finish_reason(folder: Path, forced: int, extra_eos: list[int] = ()) -> str:
    """Load ``folder`` with mlx-lm and generate with ``forced`` forced at every step."""
    from mlx_lm import load, stream_generate
    from mlx_lm.sample_utils import make_logits_processors

    model, tokenizer = load(str(folder))
    for token_id in extra_eos:
        tokenizer.add_eos_token(token_id)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}])
    processors = make_logits_processors(logit_bias={forced: 1e4})
    responses = stream_generate(
        model, tokenizer, prompt, max_tokens=4, logits_processors=processors
    )
    return list(responses)[-1].finish_reason


def test_a_tool_call_terminator_outside_the_stop_set_runs_on_until_fixed(tmp_path):
    from tests.tinymodel import build_tiny_model

    folder = build_tiny_model(tmp_path / "tools")  # eos <|im_end|> (2), config eos 2
    edit_json(folder / "tokenizer_config.json", chat_template=TOOL_TEMPLATE)
    report = inspect_model(folder)
    assert report.verdict == "ok" and report.stop_ids == [2]
    assert ("tool_call", "<|endoftext|>", 0, False, False) in ends(report)
    assert "tool_call_not_stop" in codes(report) and report.fix.changes == []
    assert _finish_reason(folder, forced=0) == "length"  # mlx-lm runs past the tool call
    assert _finish_reason(folder, forced=0, extra_eos=report.fix.extra_eos_ids) == "stop"

    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": [2]}))
    apply_fix(folder)  # generation_config's list gains id 0
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [2, 0]
    assert "tool_call_not_stop" not in codes(inspect_model(folder))
    assert _finish_reason(folder, forced=0) == "stop"
