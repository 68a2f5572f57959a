"""Where yilab keeps things: its home (converted models, caches) and the run log."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "experiments.db"


def yilab_home() -> Path:
    """``$YILAB_HOME`` or ``~/.cache/yilab``: converted models live under ``models/``."""
    return Path(os.environ.get("YILAB_HOME") or Path.home() / ".cache" / "yilab").expanduser()


def default_db_path() -> Path:
    """``$YILAB_DB`` or ``./experiments.db``."""
    return Path(os.environ.get("YILAB_DB") or DEFAULT_DB)
