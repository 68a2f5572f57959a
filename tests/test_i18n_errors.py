"""yilab's errors read in Chinese in a zh-CN dashboard, through the path the UI takes
(a handler's ``gr.Error``, or :func:`yilab.ui.i18n.error_text`), while their English (the
CLI, ``--json``, the MCP tools) stays exactly as it was: checks, inputs and a sweep's
settings, exports and the run log, bundles, stored values. Models and servers:
tests/test_i18n_errors_models.py."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from tests.chinese import ZH, chinese_request, in_chinese, raised, toast
from yilab.i18n import ENGLISH, Message

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
