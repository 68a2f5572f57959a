"""The dashboard's two catalogs agree, the language is chosen as documented, and no
user-facing English literal is left in the UI's code (it belongs in the catalogs)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from yilab.i18n import CATALOGS, ENGLISH, Translator, best_language, normalize, translator
from yilab.i18n.en import EN
from yilab.i18n.zh_CN import ZH_CN

ROOT = Path(__file__).resolve().parents[1]
HAN = re.compile(r"[\u4e00-\u9fff]")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_catalogs_have_the_same_keys():
    assert sorted(EN) == sorted(ZH_CN)
    assert set(CATALOGS) == {"en", "zh-CN"}


@pytest.mark.parametrize("key", sorted(EN))
def test_each_entry_is_filled_and_keeps_its_placeholders(key):
    en, zh = EN[key], ZH_CN[key]
    assert en.strip() and zh.strip()
    assert fields(en) == fields(zh), key


def test_chinese_entries_are_chinese():
    """Every entry with English words in it has Chinese in its translation, except the
    technical names that stay as typed (checked against a short list)."""
    as_typed = {"compare.top_p", "tok.col_token", "tok.ollama_title"}
    as_typed |= {"param.top_p", "param.max_tokens"}
    as_typed |= {"report.field_top_ps", "report.field_top_k", "report.field_min_p"}
    as_typed |= {"bundle.data", "remote.at"}  # "{where}: {error}": the error said on its own
    as_typed |= {"plots.col_tps", "plots.col_distinct_2"}  # the plots' tok/s, distinct-2
    as_typed |= {"models.source_ollama", "models.source_huggingface"}  # names of places
    as_typed.add("remote.entry")  # "{path}: {name}": a place in remotes.json, its colon said
    as_typed.add("problem.in_file")  # "{name} {problem}": the file, then what is wrong with it
    untranslated = [
        k for k, v in ZH_CN.items() if re.search("[A-Za-z]{3}", EN[k]) and not HAN.search(v)
    ]
    assert sorted(untranslated) == sorted(as_typed)


def test_the_translator_fills_placeholders_and_falls_back_to_english():
    zh = Translator("zh-CN")
    assert zh("grid.tokens", n=3) == "3 个 token"
    assert ENGLISH("grid.tokens", n=3) == "3 tokens"
    assert Translator("fr")("grid.tokens", n=1) == "1 tokens"
    assert translator("zh").lang == "zh-CN" and translator(None).lang == "en"
    with pytest.raises(KeyError):
        zh("no.such.key")


def test_the_language_comes_from_the_cookie_then_accept_language():
    from types import SimpleNamespace

    from yilab.ui.i18n import request_language

    def request(cookie=None, header=None):
        cookies = {"yilab_lang": cookie} if cookie else {}
        return SimpleNamespace(cookies=cookies, headers={"accept-language": header or ""})

    assert request_language(None) == "en"
    assert request_language(request(header="zh-CN,zh;q=0.9,en;q=0.8")) == "zh-CN"
    assert request_language(request(cookie="en", header="zh-CN,zh;q=0.9")) == "en"
    assert request_language(request(cookie="zh-CN", header="en-US")) == "zh-CN"
    assert request_language(request(cookie="klingon", header="fr,zh-Hans;q=0.5")) == "zh-CN"
    assert best_language("") == "en" and normalize("ZH_cn") == "zh-CN"


def test_a_handler_speaks_the_language_of_its_request():
    """What a handler writes (here an error toast's text) follows the request being
    handled, as Gradio exposes it while the handler runs."""
    from types import SimpleNamespace

    from gradio.context import LocalContext

    from yilab.errors import BadInputError
    from yilab.experiment.sweep import parse_floats
    from yilab.ui.i18n import error_text, tr

    with pytest.raises(BadInputError) as caught:
        parse_floats("0, hot", "temperatures")
    assert error_text(caught.value) == str(caught.value) == "temperatures: 'hot' is not a number."
    chinese = SimpleNamespace(cookies={}, headers={"accept-language": "zh-CN,zh;q=0.9"})
    token = LocalContext.request.set(chinese)
    try:
        assert error_text(caught.value) == "温度：'hot' 不是数字。"
        assert tr("grid.tokens", n=2) == "2 个 token"
        assert error_text(BadInputError("no key here")) == "no key here"
    finally:
        LocalContext.request.reset(token)
    assert tr("grid.tokens", n=2) == "2 tokens"


def test_an_unknown_model_is_explained_in_the_readers_language(service):
    from tests.chinese import in_chinese
    from yilab.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError) as caught:
        service.resolve("no-such-model-xyz")
    assert str(caught.value).startswith("unknown model 'no-such-model-xyz'. A model is")
    said = in_chinese(caught.value)
    assert said.startswith("未知的模型 'no-such-model-xyz'。模型可以是本地的 mlx-lm 目录")
    assert "本机的模型：" in said


def test_progress_messages_keep_the_language_of_the_request_that_asked():
    """A conversion reports from the MLX thread, outside the request: the language is
    decided when the handler hands the callback over."""
    import threading

    from tests.chinese import chinese_request
    from yilab.i18n import Message
    from yilab.ui.i18n import said_by

    seen = []
    with chinese_request():
        report = said_by(lambda fraction, desc: seen.append((fraction, desc)))
    worker = threading.Thread(target=report, args=(0.5, Message("progress.tensors", i=3, n=8)))
    worker.start()
    worker.join()
    report(1.0, "plain text stays")
    assert seen == [(0.5, "正在转换张量 3/8"), (1.0, "plain text stays")]


def test_the_eos_warning_on_compare_is_worded_for_the_reader(service, tmp_path):
    from tests.chinese import chinese_request
    from tests.yilike import build_yi_like_model
    from yilab.ui.compare import eos_check

    model = str(build_yi_like_model(tmp_path / "model"))
    with chinese_request():
        warning, _ = eos_check(service, model)
    assert "⚠ 这个模型可能停不下来：对话模板用 &lt;|im_end|&gt; (id 2) 结束" in warning["value"]
    english, _ = eos_check(service, model)
    assert "This model probably doesn&#x27;t stop: The chat template ends" in english["value"]


def test_the_run_logs_trouble_is_one_sentence_in_either_language():
    from yilab.runlog.store import SpillMerge, StoreError
    from yilab.runlog.sweep_logger import LogFailure, describe_cause

    cause = describe_cause(StoreError("…", reason="database or disk is full"))
    failure = LogFailure("/x/e.db", cause, 4, "/x/e.db.spill.jsonl")
    assert failure.message == (
        "run log /x/e.db is full (database or disk is full): 4 runs kept in "
        "/x/e.db.spill.jsonl; they will be merged the next time the log can be written"
    )
    zh = Translator("zh-CN")
    assert zh.say(failure.message) == (
        "运行记录 /x/e.db 已满（database or disk is full）：4 次运行暂存在 /x/e.db.spill.jsonl；"
        "下次能写入运行记录时会合并回去"
    )
    gone = describe_cause(StoreError("…", reason="it was deleted"))
    assert gone == "was deleted" and zh.say(gone) == "已被删除"
    merged = SpillMerge("/x/s.jsonl", 1, damaged_lines=2).message("/x/e.db")
    assert merged == "recovered 1 run from /x/s.jsonl into /x/e.db (2 damaged lines skipped)"
    assert zh.say(merged) == "已把 1 次运行从 /x/s.jsonl 恢复到 /x/e.db（跳过了 2 行损坏的记录）"


# -- the grid the server writes ---------------------------------------------------------


def test_the_grid_speaks_the_readers_language_from_start_to_done():
    from yilab.events import Finished, Loading, Queued, RunResult, Started
    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.render.grid import GridView, render_grid

    cells = expand_sweep(SweepSpec(prompt="你好", temperatures=(0.0, 0.7), seeds=(1,)))
    view = GridView.for_cells(cells, tr=Translator("zh-CN"))
    assert view.status == "正在开始…"
    view.apply(Queued(2))
    assert view.status == "排队中：前面还有 2 个扫描…"
    view.apply(Loading("Loading tiny…", model="tiny"))
    assert view.status == "正在加载 tiny…"
    view.apply(Started(0, "p", 3, [2]))
    assert view.status == "正在运行第 1 格，共 2 格…"
    for cell, reason in ((0, "stop"), (1, "length")):
        view.apply(
            Finished(cell, RunResult(text="从前", finish_reason=reason, generation_tokens=5))
        )
    view.done()
    html = render_grid(view, actions=True)
    assert "完成：1 正常结束，1 达到上限" in html
    assert 'yl-badge-stop">正常结束<' in html and "5 个 token" in html
    assert "T=0 · 种子 1" in html and "T=0 是贪心解码：种子不起作用" in html
    assert "与 T=0 · 种子 1 相同" in html
    english = GridView.for_cells(cells)
    assert english.status == "Starting…" and "seed 1" in render_grid(english)


# -- Chinese in what is exported ------------------------------------------------------

STORY = ["从前有一只小兔子，它住在森林里。", "从前有一只小熊。", "小兔子说：你好！", "很久很久以前"]


@pytest.fixture
def chinese_store(tmp_path):
    from tests.sharedata import add_experiment
    from yilab.runlog.store import Store

    store = Store(tmp_path / "runs.db")
    add_experiment(store, STORY, prompt="写一个儿童童话故事", system="你是一位儿童作家。")
    return store


def test_the_report_speaks_the_language_asked_and_keeps_the_data(chinese_store, tmp_path):
    from yilab.share.export import export_experiments

    zh = export_experiments(chinese_store, None, "html", tmp_path / "zh.html", lang="zh-CN")
    en = export_experiments(chinese_store, None, "html", tmp_path / "en.html")
    zh_html, en_html = zh.read_text(encoding="utf-8"), en.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh_html and '<html lang="en">' in en_html
    for html in (zh_html, en_html):  # the data are the same in both
        assert "写一个儿童童话故事" in html and "从前有一只小兔子，它住在森林里。" in html
    assert "<title>yilab 报告</title>" in zh_html and "<dt>温度</dt>" in zh_html
    assert "种子 1" in zh_html and '"compare": "对比"' in zh_html
    assert "<title>yilab report</title>" in en_html and "<dt>temperatures</dt>" in en_html
    assert "温度" not in en_html and "seed 1" in en_html
    # one script for both languages: its hash in the Content-Security-Policy is the same
    csp = re.compile(r"script-src '([^']+)'")
    assert csp.search(zh_html).group(1) == csp.search(en_html).group(1)


def test_jsonl_and_csv_keep_chinese_as_text(chinese_store, tmp_path):
    import csv
    import json

    from yilab.share.export import export_experiments

    jsonl = export_experiments(chinese_store, None, "jsonl", tmp_path / "runs.jsonl")
    text = jsonl.read_text(encoding="utf-8")
    assert "从前有一只小兔子" in text and "\\u4ece" not in text
    rows = [json.loads(line) for line in text.splitlines()]
    assert {row["output"] for row in rows} == set(STORY)
    path = export_experiments(chinese_store, None, "csv", tmp_path / "runs.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        assert {row["output"] for row in csv.DictReader(handle)} == set(STORY)


def test_a_chinese_diff_marks_characters_not_the_whole_sentence():
    from yilab.i18n import Translator
    from yilab.render.textdiff import diff_summary, render_diff_html, word_diff

    ops = word_diff("从前有一只小兔子，它住在森林里。", "从前有一只小熊，它住在森林里。")
    assert ("delete", "兔子") in ops and ("insert", "熊") in ops
    assert diff_summary(ops) == "14 same · 2 removed · 1 added"
    assert diff_summary(ops, Translator("zh-CN")) == "14 处相同 · 2 处删除 · 1 处新增"
    html = render_diff_html("你好", "你好", tr=Translator("zh-CN"))
    assert "完全相同" in html


def test_the_inspector_verdict_in_chinese_keeps_the_english_report(tmp_path):
    """The Tokenizer tab words the verdict in the reader's language; the report itself
    (``inspect --json``, the CLI) stays English."""
    from tests.yilike import build_yi_like_model
    from yilab.inspector.diagnose import inspect_model
    from yilab.render.inspector import render_fix, render_specials, render_verdict

    report = inspect_model(build_yi_like_model(tmp_path / "model"))
    zh = Translator("zh-CN")
    html = render_verdict(report, zh)
    assert "EOS 不匹配：生成不会在轮次结束时停止" in html
    assert "对话模板用 &lt;|im_end|&gt; (id 2) 结束每个助手轮次" in html
    assert "mlx-lm 在这些 token 处停止：&lt;|endoftext|&gt; (id 0)" in html
    assert report.summary.startswith("The chat template ends each assistant turn")
    assert "助手轮次结束：&lt;|im_end|&gt; (id 2)" in render_specials(report, zh)
    assert "或者在运行时指定，不改文件" in render_fix(report, [], [], zh)
    assert "EOS mismatch" in render_verdict(report) and "不匹配" not in render_verdict(report)


def test_the_template_example_is_a_conversation_in_the_readers_words(tiny_model_dir):
    """The Tokenizer tab renders the chat template on a Chinese conversation for a Chinese
    reader, tokenized as such; the report (``inspect --json``) keeps its English one."""
    from yilab.inspector.chat_template import READABLE
    from yilab.inspector.overview import inspect_folder
    from yilab.render.inspector import render_template
    from yilab.ui.tokenizer import SAMPLE_KEYS

    assert [ENGLISH(key) for key in SAMPLE_KEYS] == list(READABLE.values())
    zh = Translator("zh-CN")
    seen = inspect_folder(tiny_model_dir, sample=[zh(key) for key in SAMPLE_KEYS])
    assert "user\n你好！<|im_end|>" in seen.example and "Hello!" not in seen.example
    assert "".join(seen.template_view.texts) == seen.example  # tokenized as shown
    assert "你好！有什么可以帮你的？" in render_template(seen.report, None, seen.example, zh)
    assert "Hello!" in seen.report.chat_template.example
    assert inspect_folder(tiny_model_dir).example == seen.report.chat_template.example


def test_chinese_split_into_byte_tokens_is_said_whole_by_the_token_that_ends_it(tiny_model_dir):
    """A byte-level vocabulary spells 你 in three tokens, each "�" alone: the view gives
    the character to the last of them, so the tokens spell the text."""
    from yilab.inspector.token_view import tokenize_text

    view = tokenize_text(tiny_model_dir, "你好 hi", add_special_tokens=False)
    assert view.texts[:6] == ["", "", "你", "", "", "好"] and len(view.ids) > 6
    assert "".join(view.texts) == "你好 hi" and "\ufffd" not in "".join(view.texts)


def test_problems_keep_english_for_json_and_say_themselves_in_chinese(tmp_path):
    import json

    from yilab.i18n import Message
    from yilab.inspector.diagnose import inspect_model
    from yilab.render.inspector import render_verdict

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": [1, 2]}))
    report = inspect_model(folder)
    problem = next(p for p in report.problems if p.code == "invalid_value")
    assert isinstance(problem.message, Message)
    english = (
        "tokenizer_config.json: eos_token is [1, 2], expected a token string, an AddedToken or null"
    )
    assert problem.message == english
    listed = json.loads(json.dumps(report.to_dict()))["problems"]
    assert english in [p["message"] for p in listed]
    html = render_verdict(report, Translator("zh-CN"))
    assert "eos_token 是 [1, 2]，应为 token 字符串、AddedToken 或 null" in html
    assert "没有 config.json" in html and "配置无效" in html


def test_warnings_and_ollama_summaries_say_themselves_in_chinese():
    from yilab.inspector.ollama_stops import OllamaStop, summarize
    from yilab.inspector.stop_tokens import TokenInfo
    from yilab.inspector.wording import double_bos_warning

    zh = Translator("zh-CN")
    warning = double_bos_warning([1, 1, 5], 1, "<s>")
    assert warning.startswith("double bos: the text starts with <s>")
    assert zh.say(warning) == "两个 bos：文本以 <s> 开头，分词器又在前面加了一个"

    class Report:
        stop_tokens = []

    stops = [OllamaStop("<|im_end|>", 7, False), OllamaStop("User:", None, False)]
    said = summarize("yi:6b-chat", stops, TokenInfo("<|endoftext|>", 2), Report())
    assert said.startswith("`ollama run yi:6b-chat` stopped at <|im_end|> (id 7)")
    assert "mlx-lm stops only at nothing" in said and 'the text "User:"' in said
    chinese = zh.say(said)
    assert chinese.startswith("`ollama run yi:6b-chat` 会在 <|im_end|> (id 7) 处停止")
    assert "mlx-lm 只在 无 处停止" in chinese and '还会在文本 "User:" 处停止' in chinese


# -- no English left in the UI's code ---------------------------------------------------

TEXT_KEYWORDS = {"label", "info", "placeholder", "title", "x_title", "y_title"}
# components and messages whose first argument is shown as it is
TEXT_FIRST_ARG = {"Button", "Tab", "Accordion", "UploadButton", "DownloadButton"}
MESSAGES = {"Error", "Info", "Warning"}
HTML_HELPERS = {"notice_html", "status_html", "message_html", "notice", "warning_html"}
ERRORS = {"BadInputError", "YilabError", "refusal"}
ALLOWED = {
    ("app.py", "yilab"),  # the page's title: a name
    ("cards.py", "go"),  # the hidden button of the card action bridge: never seen
    # placeholders that show what to type: data and syntax, the same in every language
    ("compare.py", "country,expected\nFrance,Paris\nJapan,Tokyo"),
    ("compare.py", "regex:^Paris\nmax-words:50\nstop"),
    ("history.py", "name=value"),
    ("history.py", "regex:^Paris"),
    ("models.py", "mlx-community/Qwen2.5-0.5B-Instruct-4bit"),
    # the MCP tools answer agents, in English like the CLI and the API
    ("mcp_tools.py", "limit must be from 1 to , not ."),
}


def words(node) -> str | None:
    """The literal text of a string or f-string node, or None when it is not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def shown_literals(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        on_gr = isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "gr"
        args = []
        if on_gr:
            args += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
            if name in TEXT_FIRST_ARG | MESSAGES and node.args:
                args.append(node.args[0])
        elif name in HTML_HELPERS | ERRORS and node.args:
            args.append(node.args[0])
        for arg in args:
            text = words(arg)
            if text is not None and re.search("[A-Za-z]{2}", text):
                yield node.lineno, text


def test_no_user_facing_english_literal_is_left_in_the_ui():
    found = []
    for path in sorted((ROOT / "yilab" / "ui").glob("*.py")):
        for line, text in shown_literals(ast.parse(path.read_text())):
            if (path.name, text) not in ALLOWED:
                found.append(f"{path.name}:{line}: {text!r}")
    assert found == []


def test_the_scan_finds_what_it_looks_for():
    code = (
        'gr.Button("Run")\ngr.Textbox(label=f"Seeds of {x}")\nraise gr.Error("Oops")\n'
        'notice_html("Done.")\ngr.Textbox(label=t("compare.prompt"), placeholder="{}")\n'
    )
    assert [text for _, text in shown_literals(ast.parse(code))] == [
        "Run",
        "Seeds of ",
        "Oops",
        "Done.",
    ]
