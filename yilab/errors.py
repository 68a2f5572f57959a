"""Every error yilab raises on purpose, in one place.

The edges turn these into readable messages: the CLI prints ``str(err)`` and
exits with status 2, the UI raises ``gr.Error(error_text(err))``, in the reader's
language. Anything else that escapes is a bug.
"""

from yilab.i18n import Message


class YilabError(Exception):
    """Base class: a problem the user can act on, with a message that says how.

    ``str(err)`` is the English message (the CLI prints it). An error may also carry a
    ``key`` into yilab's catalogs (:mod:`yilab.i18n`) with its ``values``, so that the
    dashboard can say it in the reader's language; a :class:`Message` as the message
    brings its own: ``BadInputError(Message("checks.empty"))``.
    """

    def __init__(self, *args, key: str | None = None, **values):
        super().__init__(*args)
        if key is None and args and isinstance(args[0], Message):
            key, values = args[0].key, args[0].values
        self.key, self.values = key, values

    @property
    def message(self) -> str:
        """The message, as a :class:`Message` when it is one (to wrap it in another)."""
        first = self.args[0] if self.args else None
        return first if isinstance(first, Message) else str(self)


class BadInputError(YilabError, ValueError):
    """A value typed by the user (a sweep list, a prompt, a number) is not usable."""


class ModelNotFoundError(YilabError):
    """A model spec names nothing that exists locally or can be fetched."""


class ModelLoadError(YilabError):
    """A model was found but cannot be loaded (missing or corrupt files, no memory)."""


class ConversionError(YilabError):
    """A GGUF file cannot be converted (unsupported architecture or tensor type)."""


class OfflineError(YilabError):
    """A download was needed but the Hugging Face hub cannot be reached."""


class RunNotFoundError(YilabError, KeyError):
    """No run or experiment with that id in the database."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "not found"


class InspectorError(YilabError):
    """A model directory cannot be inspected at all (missing, not a directory, remote)."""


class FixError(InspectorError):
    """A fix cannot be applied or undone; nothing was written."""


class BundleError(YilabError):
    """A bundle cannot be imported: not a yilab bundle, a newer version, or a value
    that fails validation. Nothing was written when this is raised."""


class StoreError(YilabError):
    """The run log cannot be opened or written (missing folder, not a database, disk).
    ``reason`` is the cause alone, e.g. ``"database or disk is full"``."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class SpillError(YilabError):
    """Runs that the run log could not take cannot be written to a spill file either."""
