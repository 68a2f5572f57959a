"""A run log's rows, built before they are written: an experiment, a run owned by this
process, how a run ended; and whether the process that owns a running run is still there.

Pure values (no database): the sweep logger builds rows here once and writes them to the
store or, when it cannot, to the spill file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from yilab.errors import BadInputError
from yilab.experiment.token_log import FORMAT as TOKEN_LOG_FORMAT
from yilab.experiment.token_log import TokenLog
from yilab.i18n import Message

STATUSES = ("running", "done", "cancelled", "error", "interrupted")
FINISHED_STATUSES = STATUSES[1:]
MODES = ("chat", "raw")
METRIC_COLUMNS = (
    "prompt_tokens",
    "generation_tokens",
    "ttft_s",
    "prompt_tps",
    "generation_tps",
    "peak_memory_gb",
)
# run columns that start_run accepts in ``settings`` as they are
SETTING_COLUMNS = (
    *("model", "model_path", "model_fingerprint", "rendered_prompt"),
    *("temperature", "seed", "top_p", "top_k", "min_p", "repetition_penalty", "max_tokens"),
    *("engine_mode", "note", "branch_of", "branch_at", "input_index", *METRIC_COLUMNS),
)
# settings given as Python values, stored as JSON text in these columns
JSON_SETTINGS = {
    "messages": "messages_json",
    "stop_token_ids": "stop_token_ids_json",
    "versions": "versions_json",
    "vars": "vars_json",
}


def utc_now() -> str:
    """The current UTC time in ISO-8601, e.g. ``2025-01-31T12:00:00.123456+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def process_started(pid: int) -> str | None:
    """When process ``pid`` started, as an opaque string, so a reused pid is told apart.

    Linux: field 22 of ``/proc/<pid>/stat``, e.g. ``"proc:123456"``; elsewhere
    (macOS) ``ps -o lstart=``, e.g. ``"ps:Mon Jun 3 10:00:00 2025"``; None if unknown.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return "proc:" + stat.rsplit(")", 1)[1].split()[19]  # fields after "(comm)" start at 3
    except (OSError, IndexError):
        if sys.platform == "win32" or Path("/proc/self/stat").exists():
            return None
    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    started = " ".join(out.stdout.split())
    return f"ps:{started}" if out.returncode == 0 and started else None


@cache
def owner_columns(pid: int) -> dict[str, Any]:
    """The ``owner_*`` columns for this process (keyed by pid, so a fork gets its own)."""
    return {
        "owner_host": socket.gethostname(),
        "owner_pid": pid,
        "owner_started": process_started(pid),
    }


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but is not ours, or we cannot tell: assume alive
    return True


def owner_gone(run: dict, host: str) -> bool:
    """Whether a running run's process on this host has ended (another host: never)."""
    pid = run["owner_pid"]
    if run["owner_host"] != host or pid is None:
        return False
    if not _pid_alive(pid):
        return True
    started = process_started(pid)
    return None not in (started, run["owner_started"]) and started != run["owner_started"]


def experiment_row(
    *,
    model: str,
    prompt: str,
    sweep: dict,
    system_prompt: str | None = None,
    mode: str = "chat",
    note: str | None = None,
    checks: list[dict] | None = None,
) -> dict[str, Any]:
    """A new experiment's row (a sweep, logged before its runs start), with a new uuid;
    ``checks``: how its outputs are judged (editable later, unlike ``sweep_json``)."""
    if mode not in MODES:
        raise BadInputError(Message("store.unknown_mode", mode=repr(mode), modes=", ".join(MODES)))
    return {
        "id": str(uuid.uuid4()),
        "created_at": utc_now(),
        "model": model,
        "prompt": prompt,
        "sweep_json": json.dumps(sweep, ensure_ascii=False),
        "note": note,
        "system_prompt": system_prompt,
        "mode": mode,
        "checks_json": json.dumps(checks or [], ensure_ascii=False),
    }


def run_row(*, experiment_id: str, cell_index: int, settings: dict) -> dict[str, Any]:
    """A new ``running`` run's row, owned by this process, with a new uuid.

    ``settings`` holds columns known at start (``model``, ``temperature``, ``seed``,
    ``rendered_prompt``...) plus ``messages``, ``stop_token_ids`` and ``versions``
    as Python values (stored as JSON). None values are left out.
    """
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "experiment_id": experiment_id,
        "cell_index": cell_index,
        "created_at": utc_now(),
        "status": "running",
        **owner_columns(os.getpid()),
    }
    for key, value in settings.items():
        if key not in JSON_SETTINGS and key not in SETTING_COLUMNS:
            raise ValueError(f"Unknown run setting {key!r}")
        if value is None:
            continue
        if key in JSON_SETTINGS:
            key, value = JSON_SETTINGS[key], json.dumps(value, ensure_ascii=False)
        row[key] = value
    return row


def finish_values(
    *,
    status: str,
    finish_reason: str | None,
    output: str,
    error: str | None = None,
    metrics: dict | None = None,
) -> dict[str, Any]:
    """The columns that record how a run ended: status, final output, error and metrics."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"Unknown final status {status!r}: use one of {FINISHED_STATUSES}")
    values: dict[str, Any] = {
        "status": status,
        "finish_reason": finish_reason,
        "output": output,
        "error": error,
        "finished_at": utc_now(),
    }
    for key, value in (metrics or {}).items():
        if key not in METRIC_COLUMNS:
            raise ValueError(f"Unknown metric {key!r}: use one of {METRIC_COLUMNS}")
        if value is not None:
            values[key] = value
    return values


def token_log_row(run_id: str, log: TokenLog) -> dict[str, Any]:
    """A ``run_tokens`` row: a run's token log, stored compactly."""
    return {
        "id": run_id,
        "format": TOKEN_LOG_FORMAT,
        "steps": len(log.steps),
        "top_k": log.top_k,
        "source": log.source,
        "data": log.to_blob(),
    }
