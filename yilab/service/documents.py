"""The JSON documents yilab hands to programs: the CLI's ``--json`` and the MCP tools
(:mod:`yilab.ui.mcp_tools`) build them here, so a shell script and an agent read the
same field names."""

from __future__ import annotations

import json
from typing import Any

from yilab.inspector.diagnose import InspectionReport
from yilab.inspector.ollama_stops import OllamaStops

RUN_JSON_FIELDS = (
    "id",
    "temperature",
    "seed",
    "top_p",
    "max_tokens",
    "output",
    "finish_reason",
    "status",
    "prompt_tokens",
    "generation_tokens",
    "ttft_s",
    "generation_tps",
)


def run_json(run: dict) -> dict:
    """A run as ``compare --json`` lists it: its settings, output and counts, and its
    input row (``vars``) when it had one.

    >>> run_json({"id": "r1", "temperature": 0.0, "output": "Paris", "vars_json": None})["output"]
    'Paris'
    """
    values = json.loads(run["vars_json"]) if run.get("vars_json") else None
    return {name: run.get(name) for name in RUN_JSON_FIELDS} | ({"vars": values} if values else {})


def listed_run_json(run: dict) -> dict:
    """A run as ``runs --json`` lists it: :func:`run_json` with its model and time."""
    return {**run_json(run), "model": run["model"], "created_at": run["created_at"]}


def inspect_json(report: InspectionReport, ollama: OllamaStops | None) -> dict[str, Any]:
    """The ``inspect --json`` document: the report, and Ollama's stops (or None)."""
    return {**report.to_dict(), "ollama": ollama.to_dict() if ollama is not None else None}
