"""The dashboard's two languages, on both sides of the page.

- Static words (labels, tab names, buttons, hints) are keys that the browser translates:
  :func:`t` gives Gradio's marker, :data:`I18N` (passed to ``launch``) holds the catalogs.
- Words the server writes (status lines, errors, HTML it renders) need the reader's
  language on the server: :func:`tr` and :func:`current` take it from the request being
  handled, the ``yilab_lang`` cookie that ``assets/i18n.js`` writes (the language the page
  shows) first, else the ``Accept-Language`` header; English without a request (the API).
"""

from __future__ import annotations

import gradio as gr
from gradio.context import LocalContext

from yilab.i18n import (
    CATALOGS,
    LANGUAGE_NAMES,
    Translator,
    best_language,
    normalize,
    said_word,
    translator,
)

COOKIE = "yilab_lang"
I18N = gr.I18n(**CATALOGS)


def t(key: str):
    """A static string the browser shows in its language (``label=t("compare.prompt")``)."""
    if key not in CATALOGS["en"]:
        raise KeyError(key)
    return I18N(key)


def marker(key: str) -> str:
    """:func:`t` inside a string (one per ``gr.HTML`` value: Gradio replaces only the first)."""
    return str(t(key))


SLOT = "@@yl-slot@@"  # nothing in it that HTML escaping would change


def marked(render, key: str) -> str:
    """An initial ``gr.HTML`` value whose one message the browser translates:
    ``render(text)`` escapes ``text``, and the marker must reach the page unescaped."""
    return render(SLOT).replace(SLOT, marker(key), 1)


def request_language(request) -> str:
    """The language of a ``gr.Request``: its cookie, else its Accept-Language header."""
    if request is None:
        return "en"
    cookies = getattr(request, "cookies", None) or {}
    headers = getattr(request, "headers", None) or {}
    return normalize(cookies.get(COOKIE)) or best_language(headers.get("accept-language"))


def current() -> Translator:
    """The translator for the request being handled (English outside a request)."""
    return translator(request_language(LocalContext.request.get(None)))


def tr(key: str, /, **values) -> str:
    """A server-side string in the reader's language: ``tr("grid.tokens", n=3)``."""
    return current()(key, **values)


def said_by(progress):
    """A service's ``progress(fraction, message)`` for a Gradio progress bar, its messages
    in the reader's language (decided here: the callback runs on other threads)."""
    reader = current()
    return lambda fraction, message: progress(fraction, desc=reader.say(message))


def error_text(err) -> str:
    """A yilab error in the reader's language when it carries a catalog key (a sweep
    field's name too: ``temperatures`` → 温度), else its English message."""
    key = getattr(err, "key", None)
    if key is None:
        return str(err)
    values = dict(err.values)
    if "name" in values:
        values["name"] = said_word(values["name"], "param.")
    if "item" in values:
        values["item"] = repr(values["item"])
    reader = current()
    return reader(key, **{name: reader.say(value) for name, value in values.items()})


def refusal(message: str) -> gr.Error:
    """The toast a handler raises, its title ("Error") in the reader's language too:
    ``raise refusal(error_text(err))``."""
    return gr.Error(message, title=tr("app.error"))


def language_switch() -> gr.Dropdown:
    """The visible switch in the header: picking a language stores it in the browser
    (``localStorage`` and the cookie) and reloads the page in it (``assets/i18n.js``)."""
    switch = gr.Dropdown(
        [(name, lang) for lang, name in LANGUAGE_NAMES.items()],
        value=None,
        label=t("app.language"),
        show_label=False,
        container=False,
        min_width=120,
        scale=0,
        elem_id="yl-lang",
    )
    switch.input(None, switch, None, js="(lang) => window.yilabSetLanguage(lang)")
    return switch
