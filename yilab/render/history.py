"""Pure: what the History tab shows — its tables' rows, the filter widgets' values, the open
experiment's summary — from the run log's rows (no Gradio)."""

from __future__ import annotations

import json
from html import escape

from yilab.errors import BadInputError
from yilab.experiment.variables import inputs_csv, parse_var
from yilab.i18n import ENGLISH, Message, Translator, said_state
from yilab.i18n.stored import recognize
from yilab.render.grid import state_counts
from yilab.render.text import short_time, snippet

ANY = "any"
RUN_HEADERS = ["★", "time", "model", "T", "seed", "finish", "tokens", "tok/s", "output", "note"]
EXPERIMENT_HEADERS = ["time", "model", "prompt", "runs"]
_HEADER_KEYS = {"time", "model", "prompt", "runs", "seed", "finish", "tokens", "output", "note"}


def _headers(names: list[str], tr: Translator) -> list[str]:
    return [tr(f"history.col_{n}") if n in _HEADER_KEYS else n for n in names]


def run_headers(tr: Translator = ENGLISH) -> list[str]:
    """:data:`RUN_HEADERS` in the reader's language."""
    return _headers(RUN_HEADERS, tr)


def experiment_headers(tr: Translator = ENGLISH) -> list[str]:
    """:data:`EXPERIMENT_HEADERS` in the reader's language."""
    return _headers(EXPERIMENT_HEADERS, tr)


def runs_table(runs: list[dict], tr: Translator = ENGLISH) -> list[list]:
    """One compact row per run, in the order given (see ``RUN_HEADERS``); the finish
    reason and a failed run's error in the reader's words (``length`` → 达到上限), as
    stored in English."""
    return [
        [
            "★" if run.get("starred") else "",
            short_time(run.get("created_at")),
            run.get("model") or "",
            run.get("temperature"),
            run.get("seed"),
            tr.say(said_state(run.get("finish_reason") or run.get("status") or "")),
            run.get("generation_tokens"),
            round(run["generation_tps"], 1) if run.get("generation_tps") is not None else None,
            snippet(tr.say(recognize(run.get("error"))) or run.get("output")),
            snippet(run.get("note"), 30),
        ]
        for run in runs
    ]


def experiments_table(experiments: list[dict]) -> list[list]:
    """One row per experiment (see ``EXPERIMENT_HEADERS``)."""
    return [
        [
            short_time(e.get("created_at")),
            e.get("model") or "",
            snippet(e.get("prompt"), 50),
            e.get("run_count"),
        ]
        for e in experiments
    ]


def run_label(run: dict, tr: Translator = ENGLISH) -> str:
    """How a run is named in pickers: ``"T=0.7 · seed 1 (3f2a9c)"``."""
    seed = tr("grid.seed", seed=run["seed"])
    return f"T={run['temperature']:g} · {seed} ({run['id'][:6]})"


def run_choices(runs: list[dict], tr: Translator = ENGLISH) -> list[tuple[str, str]]:
    """(label, run id) pairs for a dropdown."""
    return [(run_label(r, tr), r["id"]) for r in runs]


def filter_values(
    model: str | None, temperature, finish: str | None, status: str | None, variable: str = ""
) -> dict:
    """The filter widgets' values as ``Store.list_runs`` keyword arguments ("any" → None).

    ``filter_values("any", "0.7", "stop", "any", "city=Paris")`` →
    ``{"model": None, "temperature": 0.7, "finish_reason": "stop", "status": None,
    "variable": ("city", "Paris")}``
    """

    def given(value):
        value = "" if value is None else str(value).strip()
        return None if value in ("", ANY) else value

    temp = given(temperature)
    try:
        temp = float(temp) if temp is not None else None
    except ValueError:
        raise BadInputError(Message("history.bad_temperature", value=repr(temp))) from None
    return {
        "model": given(model),
        "temperature": temp,
        "finish_reason": given(finish),
        "status": given(status),
        "variable": parse_var(variable) if (variable or "").strip() else None,
    }


def filter_choices(runs: list[dict]) -> tuple[list[str], list[str]]:
    """The models and temperatures seen in ``runs``, for the filter dropdowns (with "any")."""
    models = sorted({r["model"] for r in runs if r.get("model")})
    temps = sorted({r["temperature"] for r in runs if r.get("temperature") is not None})
    return [ANY, *models], [ANY, *(f"{t:g}" for t in temps)]


def experiment_html(experiment: dict, tr: Translator = ENGLISH) -> str:
    """The open experiment's prompt, system prompt and settings, escaped."""
    sweep = json.loads(experiment.get("sweep_json") or "{}")
    settings = [
        (tr("history.set_temperatures"), sweep.get("temperatures")),
        (tr("history.set_seeds"), sweep.get("seeds")),
        ("top_p", sweep.get("top_ps")),
        ("max_tokens", sweep.get("max_tokens")),
    ]
    shown = " · ".join(f"{k} {', '.join(map(str, v))}" for k, v in settings if v)
    head = [
        short_time(experiment.get("created_at")),
        experiment.get("model") or "",
        tr.say(said_state(experiment.get("mode") or "")),
        tr("history.n_runs", n=len(experiment.get("runs") or [])),
    ]
    parts = [
        f'<div class="yl-exp-head"><code>{escape(experiment["id"])}</code> '
        f"{escape(' · '.join(p for p in head if p))}</div>",
        f'<div class="yl-sub">{escape(shown)}</div>',
    ]
    if experiment.get("note"):
        note = tr("history.exp_note", note=experiment["note"])
        parts.append(f'<div class="yl-sub">{escape(note)}</div>')
    if experiment.get("system_prompt"):
        parts.append(_labelled(tr("history.label_system"), experiment["system_prompt"]))
    parts.append(_labelled(tr("history.label_prompt"), experiment.get("prompt") or ""))
    if sweep.get("inputs"):
        parts.append(_labelled(tr("history.label_inputs"), inputs_csv(tuple(sweep["inputs"]))))
    return '<div class="yl-exp">' + "".join(parts) + "</div>"


def _labelled(label: str, text: str) -> str:
    return f'<div class="yl-exp-label">{escape(label)}</div><pre class="yl-out yl-exp-text">{escape(text)}</pre>'


def message_html(message: str, *, error: bool = False) -> str:
    """A one-line message where the experiment's summary goes."""
    return f'<div class="yl-exp-msg{" yl-exp-error" if error else ""}">{escape(message)}</div>'


def grid_status(runs: list[dict], tr: Translator = ENGLISH) -> str:
    """``"As logged: 2 length, 1 stop"``."""
    states = [r.get("finish_reason") or r.get("status") or "?" for r in runs]
    return tr("grid.as_logged", counts=state_counts(states, tr))
