"""What the UI, the CLI and the tests call: sweeps (start, stream, cancel, replay), the
run log's queries, model lists, inspection and fixes, sharing. ``core.Service`` is the one
entry point; ``sweeps.Sweep`` is a running sweep.
"""

from yilab.service.core import (
    DEFAULT_MODEL,
    EXPORT_FORMATS,
    FINISH_REASONS,
    FLUSH_INTERVAL_S,
    STATUSES,
    Replay,
    Service,
)
from yilab.service.sweeps import Sweep, replay_spec

__all__ = [
    "DEFAULT_MODEL",
    "EXPORT_FORMATS",
    "FINISH_REASONS",
    "FLUSH_INTERVAL_S",
    "STATUSES",
    "Replay",
    "Service",
    "Sweep",
    "replay_spec",
]
