"""What every tab shares: yilab's errors as readable messages, the model picker's choices,
and a running sweep followed as grid views."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps

from yilab.errors import YilabError
from yilab.events import JobDone
from yilab.render.grid import GridView
from yilab.service import DEFAULT_MODEL, Service
from yilab.ui.i18n import current, error_text, refusal

REFRESH_S = 0.1  # at most ten page updates a second, however fast tokens come


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
        raise refusal(error_text(err)) from None


def model_choices(service: Service, default_model: str | None) -> list[str]:
    """The model picker's entries: the app's model first, then every model on this machine."""
    names = [m["name"] for m in service.list_models()]
    return list(dict.fromkeys([default_model or DEFAULT_MODEL, *names]))


def follow_sweep(
    sweep, state: dict | None = None, *, view: GridView | None = None
) -> Iterator[GridView]:
    """The sweep's grid view after each event, at most every ``REFRESH_S``, and at the end;
    an abandoned sweep (the page went away) is cancelled so the worker is not kept busy.

    ``view`` is a grid whose last cards are the sweep's (cards before them, a branch's
    parent, stay as they are); by default, the sweep's own grid.
    """
    spec = sweep.spec
    view = view or GridView.for_cells(
        sweep.cells,
        engine=sweep.engine,
        inputs=spec.inputs if spec else (),
        checks=spec.checks if spec else (),
        tr=current(),
    )
    shift, last = len(view.cells) - len(sweep.cells), 0.0
    if state is not None:
        state["view"] = view
    try:
        for event in sweep.events():
            if shift and getattr(event, "cell", None) is not None:
                event = dataclasses.replace(event, cell=event.cell + shift)
            view.apply(event, run_ids={c + shift: r for c, r in sweep.run_ids.items()})
            failure = sweep.log_failure
            view.log_warning = failure.message if failure is not None else ""
            if isinstance(event, JobDone):
                view.done()
            elif time.monotonic() - last < REFRESH_S:
                continue
            last = time.monotonic()
            yield view
    finally:
        if not sweep.wait(timeout=0):
            sweep.cancel()
