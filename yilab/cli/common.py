"""What every subcommand shares: the service over ``--db`` (with what its run log's spill
said), progress on stderr, and an outcome that carries its exit status."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from yilab.runlog.sweep_logger import spill_notice
from yilab.service import Service

LOG_FAILED = 3  # the sweep ran, but its runs could not be written to the run log


@dataclass(frozen=True)
class Outcome:
    """What a command printed as JSON (``--json``) and the exit status."""

    document: Any
    status: int = 0


def open_service(args) -> Service:
    """The service over ``--db`` (or ``$YILAB_DB``); it starts no MLX worker until a local
    sweep needs one. Says on stderr what opening the run log merged from its spill, or
    what still waits there."""
    service = Service(args.db)
    store = service.store
    for merge in store.merged:
        print(f"yilab: {merge.message(store.path)}", file=sys.stderr)
    if waiting := spill_notice(store):
        print(f"yilab: {waiting}", file=sys.stderr)
    return service


def progress(fraction: float, message: str) -> None:
    """Conversion and download progress, one line each on stderr."""
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)
