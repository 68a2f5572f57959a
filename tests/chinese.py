"""A zh-CN reader for tests: the request Gradio sets while a handler serves a Chinese
browser, and what an error or a toast then says."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import gradio as gr
import pytest
from gradio.context import LocalContext

from yilab.errors import YilabError
from yilab.i18n import Translator
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
