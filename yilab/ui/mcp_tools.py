"""yilab's tools for agents, served by ``python app.py --mcp`` over Gradio's MCP server
(streamable HTTP at ``/gradio_api/mcp/``): run a sweep, search and show the run log,
inspect a model's tokenizer, list the models. Each tool returns, as JSON text, the
document the CLI's ``--json`` prints for the same thing (:mod:`yilab.service.documents`):
Gradio hands an agent a tool's result as ``str(value)``, which for a dict is Python's
repr, not JSON.

Gradio makes an MCP tool of every public API endpoint, names it after the function and
describes it from the docstring (its ``Args:`` lines) and the type hints. The UI's own
public endpoint, ``/compare`` (it streams the grid's HTML, for people), stays a Gradio API
endpoint but is taken off the MCP server by :func:`serve_only_yilab_tools`.
"""

# No ``from __future__ import annotations`` here: Gradio types a tool's result from its
# return annotation as written, and a string there would type nothing.

import importlib.util
import json
import warnings
from typing import Any, Literal

import gradio as gr

from yilab.experiment.scoring import score_rows
from yilab.experiment.sweep import DEFAULT_ENGINE, SweepSpec
from yilab.experiment.variables import parse_var
from yilab.service import Service
from yilab.service.documents import inspect_json, listed_run_json, run_json
from yilab.ui.common import user_errors
from yilab.ui.compare import GENERATION

TOOL_NAMES = ("sweep", "search_runs", "show_run", "inspect_tokenizer", "list_models")
MAX_LISTED_RUNS = 500


class YilabTools:
    """The tools over one service. Each method in :data:`TOOL_NAMES` is one MCP tool of
    that name; its docstring is what an agent reads. Errors are ``gr.Error`` messages."""

    def __init__(self, service: Service):
        self._service = service

    def sweep(
        self,
        prompt: str,
        model: str = "",
        temperatures: tuple[float, ...] = (0.7,),
        seeds: tuple[int, ...] = (0,),
        top_p: tuple[float, ...] = (1.0,),
        max_tokens: tuple[int, ...] = (256,),
        system: str = "",
        raw: bool = False,
        engine: Literal["single", "batch"] = DEFAULT_ENGINE,
    ) -> str:
        """Run one prompt on a local MLX model once for every combination of the given temperatures, seeds, top_p values and max_tokens values (at most 64 runs), log every run in yilab's run log (SQLite) and return the runs when all have finished. Runs are generated one after another on this machine: a small model writes tens of tokens a second on a CPU, so keep sweeps and max_tokens small.

        Args:
            prompt: The user message (the model's chat template is applied), or the whole prompt text when raw is true. May not be empty.
            model: Which model: a name from list_models, a local mlx-lm folder, a .gguf file, an Ollama name (yi:6b-chat) or a Hugging Face repo id. Empty: the default model, smollm2-135m-instruct.
            temperatures: Sampling temperatures, each from 0 to 10. 0 is greedy (always the likeliest token), so the seed has no effect there.
            seeds: Random seeds, integers from 0 to 4294967295. The same seed, temperature and settings give the same output again.
            top_p: Nucleus sampling thresholds, each above 0 and at most 1 (1 keeps every token).
            max_tokens: Most tokens to generate per run, each from 1 to 32768 (and within the model's context length).
            system: A system prompt for chat mode; empty for none.
            raw: True sends the prompt as it is, without the chat template.
            engine: batch (the default) decodes the runs together; single generates one run at a time. Both give a run the same tokens: a seed's output does not depend on the other runs of the sweep.

        Returns:
            A JSON object {"experiment_id", "runs": [...], "scores": [...]}. Each run: id (for show_run), model, temperature, seed, top_p, max_tokens, output (the generated text), finish_reason (stop: the model ended its turn; length: it hit max_tokens; error, cancelled), status, error (why a run failed, else null), prompt_tokens, generation_tokens, ttft_s (seconds to the first token), generation_tps (tokens a second). scores: one entry per temperature/top_p/max_tokens row, with how different its outputs are. log_error is present when the run log could not be written.
        """
        spec = SweepSpec(
            prompt=prompt,
            system=system.strip() or None,
            raw=raw,
            models=(model,),
            temperatures=tuple(temperatures),
            seeds=tuple(seeds),
            top_ps=tuple(top_p),
            max_tokens=tuple(max_tokens),
            engine=engine,
        )
        with user_errors():
            sweep, runs = self._service.run_sweep(spec)
        document = {
            "experiment_id": sweep.experiment_id,
            "runs": [{**run_json(r), "model": r["model"], "error": r.get("error")} for r in runs],
            "scores": [s.to_dict() for s in score_rows(runs, spec.checks)],
        }
        if sweep.log_failure is not None:
            document["log_error"] = sweep.log_failure.message
        return _json(document)

    def search_runs(
        self, search: str = "", model: str = "", variable: str = "", limit: int = 20
    ) -> str:
        """Find logged runs, newest first: runs from every sweep made here (this tool, the dashboard, the CLI).

        Args:
            search: Text anywhere in a run's prompt or output, any case (several words: runs with all of them). Empty: every run.
            model: Only runs of this model spec, as the runs name it (see a run's model field). Empty: every model.
            variable: Only runs whose input row gave a prompt variable this value, written name=value. Empty: no filter.
            limit: The most runs to return, from 1 to 500.

        Returns:
            A JSON list of runs, each with id, model, created_at, temperature, seed, top_p, max_tokens, output, finish_reason, status, prompt_tokens, generation_tokens, ttft_s, generation_tps (and vars when it had input values).
        """
        if not 1 <= limit <= MAX_LISTED_RUNS:
            raise gr.Error(f"limit must be from 1 to {MAX_LISTED_RUNS}, not {limit}.")
        with user_errors():
            runs = self._service.list_runs(
                search=search.strip() or None,
                model=model.strip() or None,
                variable=parse_var(variable) if variable.strip() else None,
                limit=limit,
            )
        return _json([listed_run_json(r) for r in runs])

    def show_run(self, run_id: str, tokens: bool = False) -> str:
        """One logged run in full: its settings, the rendered prompt the model read, the output, why it stopped, speed, memory, stop tokens in force and versions.

        Args:
            run_id: The run's id (from sweep or search_runs), or a unique prefix of at least 6 characters.
            tokens: True adds the token log: each generated token with its probability, the entropy and the likeliest alternatives (null when the run has none).

        Returns:
            The run's row of the run log as a JSON object (the columns of `python -m yilab show RUN_ID --json`); with tokens, also "tokens".
        """
        with user_errors():
            run = self._service.get_run(run_id.strip())
            if not tokens:
                return _json(run)
            log = self._service.token_log(run["id"])
        return _json({**run, "tokens": None if log is None else log.to_json()})

    def inspect_tokenizer(self, model: str = "") -> str:
        """Diagnose a local model's tokenizer and chat template: its special tokens file by file, the token its chat template ends an answer with, the stop tokens mlx-lm will stop at, and a verdict saying whether generation will stop where the answer ends.

        Args:
            model: A model folder or any model spec (see sweep). Empty: the default model.

        Returns:
            The JSON document of `python -m yilab inspect MODEL --json`: verdict (ok, eos_mismatch: generation runs on to max_tokens, tokenizer_eos_mismatch, no_chat_template, invalid_config), summary, chat_template {source, turn_end, ...}, bos, eos, stop_tokens [{token, id, source}], problems [{code, severity, file, message}], fix (the file changes that would fix it), files, ollama (null unless imported from Ollama).
        """
        with user_errors():
            path = self._service.model_dir(model.strip() or None)
            report = self._service.inspect_folder(path)
            ollama = self._service.ollama_stops(path, report, model.strip() or None)
        return _json(inspect_json(report, ollama))

    def list_models(self) -> str:
        """The models on this machine that sweep and inspect_tokenizer accept by name: converted GGUFs, mlx-lm folders, Ollama models, the Hugging Face cache and named remote servers.

        Returns:
            A JSON list of models, each with name (pass it as model), source, path, architecture, quantization, size and whether it can be converted.
        """
        with user_errors():
            return _json(self._service.list_models())


def add_mcp_tools(service: Service) -> YilabTools:
    """Add the tools as API endpoints of the Blocks being built (inside ``with gr.Blocks()``)."""
    tools = YilabTools(service)
    for name in TOOL_NAMES:
        limits = GENERATION if name == "sweep" else {}  # sweeps wait with the dashboard's
        gr.api(getattr(tools, name), api_name=name, **limits)
    return tools


def require_mcp() -> None:
    """Refuse ``--mcp`` early, in one sentence, when the ``mcp`` package is missing (Gradio
    itself would print an error and serve on without the MCP server). Silence Gradio's
    warning about ``/compare``'s ``gr.State`` input: that endpoint is no tool here."""
    if importlib.util.find_spec("mcp") is None:
        raise SystemExit("yilab: --mcp needs the mcp package: pip install 'mcp>=1.21,<2'")
    warnings.filterwarnings("ignore", message="This MCP server includes a tool that has a gr.State")


def serve_only_yilab_tools(demo: gr.Blocks) -> None:
    """Leave only yilab's tools on the running MCP server; the dashboard's ``/compare``
    stays an API endpoint, but is neither listed nor callable as a tool.

    Gradio 6.31 builds its MCP server inside ``launch()`` from every public endpoint and
    has no switch for one endpoint; its tool list and its calls both go through
    ``tool_to_endpoint``, so narrowing that map right after ``launch(prevent_thread_lock=
    True)`` narrows both (tests/test_mcp.py checks the list an agent sees)."""
    server = demo.mcp_server_obj
    if server is None:
        raise SystemExit(f"yilab: {demo.mcp_error or 'Gradio did not start its MCP server'}")
    ours = {f"/{name}" for name in TOOL_NAMES}
    server.tool_to_endpoint = {t: e for t, e in server.tool_to_endpoint.items() if e in ours}
    if len(server.tool_to_endpoint) != len(ours):
        raise SystemExit(f"yilab: the MCP server lacks tools: {sorted(server.tool_to_endpoint)}")


def _json(document: Any) -> str:
    """``document`` as JSON text (paths and other objects as text, as ``--json`` has them)."""
    return json.dumps(document, ensure_ascii=False, default=str)
