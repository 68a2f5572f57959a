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
    as_typed = {"compare.top_p"}
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


# -- no English left in the UI's code ---------------------------------------------------

TEXT_KEYWORDS = {"label", "info", "placeholder", "title", "x_title", "y_title"}
# components and messages whose first argument is shown as it is
TEXT_FIRST_ARG = {"Button", "Tab", "Accordion", "UploadButton", "DownloadButton"}
MESSAGES = {"Error", "Info", "Warning"}
HTML_HELPERS = {"notice_html", "status_html", "message_html", "notice", "warning_html"}
ERRORS = {"BadInputError", "YilabError"}
ALLOWED = {
    ("app.py", "yilab"),  # the page's title: a name
    ("cards.py", "go"),  # the hidden button of the card action bridge: never seen
    # placeholders that show what to type: data and syntax, the same in every language
    ("compare.py", "country,expected\nFrance,Paris\nJapan,Tokyo"),
    ("compare.py", "regex:^Paris\nmax-words:50\nstop"),
    ("history.py", "name=value"),
    ("history.py", "regex:^Paris"),
    ("models.py", "mlx-community/Qwen2.5-0.5B-Instruct-4bit"),
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
