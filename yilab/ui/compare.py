"""The Compare tab: one prompt, a grid of settings, every cell streaming side by side."""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr

from yilab.errors import YilabError
from yilab.events import JobDone
from yilab.models import DEFAULT_MODEL
from yilab.sweep import SweepSpec, parse_floats, parse_ints, parse_seeds
from yilab.ui.grid import GridView, render_grid

REFRESH_S = 0.1  # at most ten page updates a second, however fast tokens come


@dataclass
class CompareTab:
    model: gr.Dropdown
    mode: gr.Radio
    system: gr.Textbox
    prompt: gr.Textbox
    temps: gr.Textbox
    seeds: gr.Textbox
    top_p: gr.Textbox
    max_tokens: gr.Textbox
    run: gr.Button
    stop: gr.Button
    grid: gr.HTML


def build_compare_tab(service, default_model: str | None) -> CompareTab:
    """Lay out the tab and wire Run/Stop to the service."""
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            model = gr.Dropdown(
                choices=_model_choices(default_model),
                value=default_model or DEFAULT_MODEL,
                allow_custom_value=True,
                label="Model (name, folder, .gguf, Ollama name or HF repo id)",
            )
            mode = gr.Radio(["chat", "raw"], value="chat", label="Mode")
            system = gr.Textbox(label="System prompt", lines=2, placeholder="(none)")
            prompt = gr.Textbox(label="Prompt", lines=4, elem_id="yl-prompt",
                                value="What is the capital of France?")  # fmt: skip
            with gr.Row():
                temps = gr.Textbox(label="Temperatures", value="0, 0.7", elem_id="yl-temps")
                seeds = gr.Textbox(label="Seeds (or '3 random')", value="1, 2", elem_id="yl-seeds")
            with gr.Row():
                top_p = gr.Textbox(label="top_p", value="1.0")
                max_tokens = gr.Textbox(label="max_tokens", value="64", elem_id="yl-max-tokens")
            with gr.Row():
                run = gr.Button("Run", variant="primary", elem_id="yl-run")
                stop = gr.Button("Stop", variant="stop", elem_id="yl-stop")
        with gr.Column(scale=3):
            grid = gr.HTML(render_grid(GridView([], status="Ready.")), elem_id="yl-grid")
    tab = CompareTab(model, mode, system, prompt, temps, seeds, top_p, max_tokens, run, stop, grid)
    _wire(tab, service)
    return tab


def _model_choices(default_model: str | None) -> list[str]:
    from yilab.models import list_models

    names = [m["name"] for m in list_models()]
    return list(dict.fromkeys([default_model or DEFAULT_MODEL, *names]))


def _wire(tab: CompareTab, service) -> None:
    session = gr.State(dict)  # per browser tab: {"sweep": the running Sweep}

    def run_sweep(model, mode, system, prompt, temps, seeds, top_p, max_tokens, state,
                  progress=gr.Progress()):  # fmt: skip
        spec = _spec(model, mode, system, prompt, temps, seeds, top_p, max_tokens)
        try:
            sweep = service.start_sweep(spec, progress=lambda f, m: progress(f, desc=m))
        except YilabError as err:
            raise gr.Error(str(err)) from None
        state["sweep"] = sweep
        yield from stream_grid(sweep)

    tab.run.click(
        run_sweep,
        inputs=[
            tab.model,
            tab.mode,
            tab.system,
            tab.prompt,
            tab.temps,
            tab.seeds,
            tab.top_p,
            tab.max_tokens,
            session,
        ],  # fmt: skip
        outputs=tab.grid,
        concurrency_id="generation",
        concurrency_limit=1,
        api_name="compare",
    )
    tab.stop.click(_stop, inputs=session, outputs=None, queue=False, api_visibility="private")


def _stop(state: dict) -> None:
    sweep = state.get("sweep")
    if sweep is not None:
        sweep.cancel()


def _spec(model, mode, system, prompt, temps, seeds, top_p, max_tokens) -> SweepSpec:
    try:
        return SweepSpec(
            prompt=prompt or "",
            system=(system or "").strip() or None,
            raw=mode == "raw",
            models=(model or "",),
            temperatures=parse_floats(temps or "", "temperatures"),
            seeds=parse_seeds(seeds or ""),
            top_ps=parse_floats(top_p or "", "top_p"),
            max_tokens=parse_ints(max_tokens or "", "max_tokens"),
        )
    except YilabError as err:
        raise gr.Error(str(err)) from None


def stream_grid(sweep):
    """Yield the grid's HTML as events arrive, at most every ``REFRESH_S``."""
    view = GridView.for_cells(sweep.cells)
    last = 0.0
    try:
        for event in sweep.events():
            view.apply(event)
            if isinstance(event, JobDone):
                view.done()
            elif time.monotonic() - last < REFRESH_S:
                continue
            last = time.monotonic()
            yield render_grid(view)
        yield render_grid(view)
    finally:
        if not sweep.wait(timeout=0):  # the page went away: don't keep the worker busy
            sweep.cancel()
