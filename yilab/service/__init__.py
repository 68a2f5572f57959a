"""What the UI, the CLI and the tests call: sweeps (start, stream, cancel, replay), the
run log's queries, model lists, inspection and fixes, sharing. ``core.Service`` is the one
entry point; ``sweeps.Sweep`` is a running sweep.
"""

from yilab.models.cache import DEFAULT_MODEL
from yilab.runlog.rows import STATUSES
from yilab.runlog.search import SEARCH_HELP
from yilab.runlog.sweep_logger import FLUSH_INTERVAL_S
from yilab.service.core import FINISH_REASONS, Replay, Service
from yilab.service.sweeps import Sweep, replay_spec
from yilab.share.export import FORMATS as EXPORT_FORMATS

__all__ = [
    "DEFAULT_MODEL",
    "EXPORT_FORMATS",
    "FINISH_REASONS",
    "FLUSH_INTERVAL_S",
    "SEARCH_HELP",
    "STATUSES",
    "Replay",
    "Service",
    "Sweep",
    "replay_spec",
]
