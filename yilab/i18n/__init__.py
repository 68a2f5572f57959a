"""The dashboard's words in English and 简体中文: one catalog per language (``en``,
``zh_CN``) with the same keys; a :class:`Translator` looks a key up and fills its
``{placeholders}``. Pure data and lookups: the UI and the renderers share it."""

from __future__ import annotations

from dataclasses import dataclass

from yilab.i18n.en import EN
from yilab.i18n.zh_CN import ZH_CN

DEFAULT_LANGUAGE = "en"
# BCP 47 tags, as browsers send them and as Gradio's I18n takes them
CATALOGS: dict[str, dict[str, str]] = {"en": EN, "zh-CN": ZH_CN}
LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}


@dataclass(frozen=True)
class Translator:
    """``Translator("zh-CN")("grid.tokens", n=3)`` → ``"3 个 token"``; a key missing from a
    language falls back to English, an unknown key raises (a typo is a bug)."""

    lang: str = DEFAULT_LANGUAGE

    def __call__(self, key: str, /, **values) -> str:
        text = CATALOGS.get(self.lang, EN).get(key)
        if text is None:
            text = EN[key]
        return text.format(**values) if values else text

    def say(self, text: str) -> str:
        """A :class:`Message` again in this language (with the messages among its values);
        any other text as it is."""
        if not isinstance(text, Message):
            return text
        return self(text.key, **{name: self.say(v) for name, v in text.values.items()})


ENGLISH = Translator(DEFAULT_LANGUAGE)


class Message(str):
    """English text that keeps its catalog key and values, so that it can be said again
    in another language; to JSON, the CLI and comparisons it is the plain English string.

    >>> m = Message("grid.tokens", n=3)
    >>> m, Translator("zh-CN").say(m), m == "3 tokens"
    ('3 tokens', '3 个 token', True)
    """

    key: str
    values: dict

    def __new__(cls, key: str, /, **values):
        self = super().__new__(cls, ENGLISH(key, **values))
        self.key, self.values = key, values
        return self

    def __reduce__(self):
        return (_message, (self.key, self.values))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def _message(key: str, values: dict) -> Message:
    return Message(key, **values)


def said_word(value: str, prefix: str) -> str:
    """A stored word (a finish reason, a model's source, a parameter's name) as the
    :class:`Message` keyed ``prefix + value``, which reads the same in English and is
    translated in the dashboard; a word without an entry as it is.

    >>> said_word("remote", "models.source_"), said_word("elsewhere", "models.source_")
    ('remote', 'elsewhere')
    >>> Translator("zh-CN").say(said_word("remote", "models.source_"))
    '远程'
    """
    key = f"{prefix}{value}"
    return Message(key) if isinstance(value, str) and key in EN else value


def said_state(value: str) -> str:
    """A stored state (``stop``, ``length``, ``chat``…) as :func:`said_word` says it.

    >>> said_state("length"), Translator("zh-CN").say(said_state("length")), said_state("?")
    ('length', '达到上限', '?')
    """
    return said_word(value, "state.")


def translator(lang: str | None) -> Translator:
    """The translator for a language tag (anything unknown: English)."""
    return Translator(normalize(lang) or DEFAULT_LANGUAGE)


def normalize(tag: str | None) -> str | None:
    """One of :data:`CATALOGS`' languages for a BCP 47 tag, or None.

    >>> normalize("zh-CN"), normalize("zh_cn"), normalize("zh-Hans-CN"), normalize("zh"), normalize("en-GB")
    ('zh-CN', 'zh-CN', 'zh-CN', 'zh-CN', 'en')
    >>> normalize("zh-TW"), normalize("fr"), normalize(None)
    (None, None, None)
    """
    tag = (tag or "").strip().replace("_", "-").lower()
    if not tag:
        return None
    if tag == "zh" or tag.startswith(("zh-cn", "zh-hans", "zh-sg")):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def best_language(accept_language: str | None) -> str:
    """The first language of an ``Accept-Language`` header that yilab speaks.

    >>> best_language("zh-CN,zh;q=0.9,en;q=0.8"), best_language("fr-FR,fr;q=0.9")
    ('zh-CN', 'en')
    >>> best_language("fr;q=0.9,zh;q=0.8,en;q=0.5")
    'zh-CN'
    """
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        try:
            weight = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, position, tag))
    for _, _, tag in sorted(ranked):
        lang = normalize(tag)
        if lang is not None:
            return lang
    return DEFAULT_LANGUAGE
