"""What every tab shares: yilab's errors as readable messages, and the model picker's choices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps

import gradio as gr

from yilab.errors import YilabError
from yilab.service import DEFAULT_MODEL, Service


def readable_errors(fn):
    """Turn a YilabError raised by ``fn`` into a ``gr.Error`` toast (never a stack trace)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        with user_errors():
            return fn(*args, **kwargs)

    return wrapper


@contextmanager
def user_errors() -> Iterator[None]:
    """yilab's own errors inside the block become readable messages in the page."""
    try:
        yield
    except YilabError as err:
        raise gr.Error(str(err)) from None


def model_choices(service: Service, default_model: str | None) -> list[str]:
    """The model picker's entries: the app's model first, then every model on this machine."""
    names = [m["name"] for m in service.list_models()]
    return list(dict.fromkeys([default_model or DEFAULT_MODEL, *names]))
