"""The Compare tab: one prompt, a grid of settings, every cell streaming side by side."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr

from yilab.errors import YilabError
from yilab.experiment.checks import parse_checks
from yilab.experiment.sweep import (
    DEFAULT_ENGINE,
    ENGINES,
    SweepSpec,
    parse_floats,
    parse_ints,
    parse_seeds,
)
from yilab.experiment.variables import inputs_csv, read_inputs
from yilab.render.grid import GridView, render_grid
from yilab.service import DEFAULT_MODEL
from yilab.ui import cards
from yilab.ui.common import follow_sweep, model_choices

# The worker runs one sweep at a time and tells the others they are queued; this only
# bounds how many browser tabs may wait on it at once.
GENERATION = {"concurrency_id": "generation", "concurrency_limit": 8}


@dataclass
class CompareTab:
    model: gr.Dropdown
    eos_warning: gr.HTML
    open_tokenizer: gr.Button
    mode: gr.Radio
    system: gr.Textbox
    prompt: gr.Textbox
    preview: gr.Textbox
    temps: gr.Textbox
    seeds: gr.Textbox
    top_p: gr.Textbox
    max_tokens: gr.Textbox
    engine: gr.Radio
    inputs: gr.Textbox
    inputs_file: gr.UploadButton
    checks: gr.Textbox
    rejudge: gr.Button
    run: gr.Button
    stop: gr.Button
    grid: gr.HTML
    panel: cards.CardPanel
    session: gr.State


def build_compare_tab(service, default_model: str | None) -> CompareTab:
    """Lay out the tab and wire it to the service."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300, elem_id="yl-compare-form"):
            info = (
                "a name, an mlx-lm folder, a .gguf, an Ollama name, an HF repo id "
                "or a server: openai+http://host:8080/v1#model"
            )
            model = gr.Dropdown(
                choices=model_choices(service, default_model),
                value=default_model or DEFAULT_MODEL,
                allow_custom_value=True,
                label="Model",
                elem_id="yl-model",
                info=info,
            )
            eos_warning = gr.HTML("", elem_id="yl-eos-warning", visible=False)
            open_tokenizer = gr.Button(
                "Check its eos in the Tokenizer tab",
                size="sm",
                visible=False,
                elem_id="yl-open-tokenizer",
            )
            mode = gr.Radio(["chat", "raw"], value="chat", label="Mode", elem_id="yl-mode")
            system = gr.Textbox(
                label="System prompt", lines=1, placeholder="(none)", elem_id="yl-system"
            )
            prompt = gr.Textbox(
                label="Prompt", lines=3, elem_id="yl-prompt", value="What is the capital of France?"
            )
            with gr.Accordion("Rendered prompt", open=False, elem_id="yl-preview-box") as box:
                preview = gr.Textbox(
                    show_label=False,
                    lines=4,
                    max_lines=12,
                    interactive=False,
                    elem_id="yl-preview",
                    elem_classes=["yl-mono"],
                )
            with gr.Row():
                temps = gr.Textbox(
                    label="Temperatures", value="0, 0.7", elem_id="yl-temps", min_width=120
                )
                seeds = gr.Textbox(
                    label="Seeds or '3 random'", value="1, 2", elem_id="yl-seeds", min_width=120
                )
            with gr.Row():
                top_p = gr.Textbox(label="top_p", value="1.0", elem_id="yl-top-p", min_width=120)
                max_tokens = gr.Textbox(
                    label="max_tokens", value="64", elem_id="yl-max-tokens", min_width=120
                )
            info = "batch decodes the cells together: faster; rounding may differ from single runs"
            engine = gr.Radio(
                list(ENGINES), value=DEFAULT_ENGINE, label="Engine", elem_id="yl-engine", info=info
            )
            with gr.Accordion("Inputs and checks", open=False, elem_id="yl-judging"):
                inputs = gr.Textbox(
                    label="Inputs: one row per line, the first names the columns (CSV)",
                    info="the prompt's {{column}} is filled from each row; one grid section "
                    "per row; an 'expected' column feeds equals checks",
                    lines=3,
                    placeholder="country,expected\nFrance,Paris\nJapan,Tokyo",
                    elem_id="yl-inputs",
                    elem_classes=["yl-mono"],
                )
                inputs_file = gr.UploadButton(
                    "Load a CSV / JSONL file",
                    file_types=[".csv", ".jsonl", ".json", ".txt"],
                    size="sm",
                    elem_id="yl-inputs-file",
                )
                checks = gr.Textbox(
                    label="Checks: one per line, [name=]kind[/i][:argument]",
                    info="contains, not-contains, regex, equals, json, json-schema, max-words, "
                    "max-chars, stop — e.g. capital=regex/i:paris",
                    lines=2,
                    placeholder="regex:^Paris\nmax-words:50\nstop",
                    elem_id="yl-checks",
                    elem_classes=["yl-mono"],
                )
                rejudge = gr.Button("Judge the last grid again", size="sm", elem_id="yl-rejudge")
            with gr.Row():
                run = gr.Button("Run", variant="primary", elem_id="yl-run")
                stop = gr.Button("Stop", variant="stop", elem_id="yl-stop")
        with gr.Column(scale=3):
            grid = gr.HTML(render_grid(GridView([], status="Ready.")), elem_id="yl-grid")
            panel = cards.build_card_panel()
    session = gr.State({})  # per browser tab: {"sweep": the running Sweep, "view": its GridView}
    tab = CompareTab(
        model=model,
        eos_warning=eos_warning,
        open_tokenizer=open_tokenizer,
        mode=mode,
        system=system,
        prompt=prompt,
        preview=preview,
        temps=temps,
        seeds=seeds,
        top_p=top_p,
        max_tokens=max_tokens,
        engine=engine,
        inputs=inputs,
        inputs_file=inputs_file,
        checks=checks,
        rejudge=rejudge,
        run=run,
        stop=stop,
        grid=grid,
        panel=panel,
        session=session,
    )
    _wire(tab, service)
    box.expand(
        lambda *a: preview_prompt(service, *a),
        inputs=[model, mode, system, prompt, inputs],
        outputs=preview,
        api_visibility="private",
    )
    cards.wire_card_panel(panel, service, session, GENERATION)
    return tab


def _wire(tab: CompareTab, service) -> None:
    def run_sweep(
        model,
        mode,
        system,
        prompt,
        temps,
        seeds,
        top_p,
        max_tokens,
        engine,
        inputs=None,  # optional in the API: a default of None makes it so
        checks=None,
        state=None,
        progress=gr.Progress(),
    ):
        spec = _spec(model, mode, system, prompt, temps, seeds, top_p, max_tokens, engine)
        spec = _judged(spec, inputs, checks)
        try:
            sweep = service.start_sweep(spec, progress=lambda f, m: progress(f, desc=m))
        except YilabError as err:
            raise gr.Error(str(err)) from None
        state["sweep"] = sweep
        yield from stream_grid(sweep, state)

    sweep_inputs = [
        tab.model,
        tab.mode,
        tab.system,
        tab.prompt,
        tab.temps,
        tab.seeds,
        tab.top_p,
        tab.max_tokens,
        tab.engine,
        tab.inputs,
        tab.checks,
        tab.session,
    ]
    tab.run.click(
        run_sweep, inputs=sweep_inputs, outputs=tab.grid, api_name="compare", **GENERATION
    )
    tab.stop.click(_stop, inputs=tab.session, outputs=None, queue=False, api_visibility="private")
    tab.inputs_file.upload(
        _inputs_text, inputs=tab.inputs_file, outputs=tab.inputs, api_visibility="private"
    )
    tab.rejudge.click(
        lambda checks, state: rejudge(service, checks, state),
        inputs=[tab.checks, tab.session],
        outputs=tab.grid,
        api_visibility="private",
    )
    preview_inputs = [tab.model, tab.mode, tab.system, tab.prompt, tab.inputs]
    for source in preview_inputs:
        source.change(
            lambda *a: preview_prompt(service, *a),
            inputs=preview_inputs,
            outputs=tab.preview,
            trigger_mode="always_last",
            api_visibility="private",
        )
    tab.model.change(
        lambda m: eos_check(service, m),
        inputs=tab.model,
        outputs=[tab.eos_warning, tab.open_tokenizer],
        api_visibility="private",
    )


def _stop(state: dict) -> None:
    sweep = state.get("sweep")
    if sweep is not None:
        sweep.cancel()


def _spec(model, mode, system, prompt, temps, seeds, top_p, max_tokens, engine) -> SweepSpec:
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
            engine=engine or DEFAULT_ENGINE,
        )
    except YilabError as err:
        raise gr.Error(str(err)) from None


def _judged(spec: SweepSpec, inputs: str, checks: str) -> SweepSpec:
    """The spec with the typed inputs table and checks (refused here, before anything runs)."""
    try:
        rows = read_inputs(inputs, "inputs.csv") if (inputs or "").strip() else ()
        return replace(spec, inputs=rows, checks=parse_checks(checks or ""))
    except YilabError as err:
        raise gr.Error(str(err)) from None


def _inputs_text(file) -> str:
    """An uploaded inputs file as the CSV the Inputs box holds (JSON Lines converted)."""
    path = Path(file if isinstance(file, str) else file.name)
    try:
        rows = read_inputs(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError) as err:
        raise gr.Error(f"Cannot read {path.name}: {err}") from None
    except YilabError as err:
        raise gr.Error(str(err)) from None
    return inputs_csv(rows)


def rejudge(service, checks: str, state: dict) -> str:
    """The last grid judged again by the edited checks, which its experiment keeps;
    nothing is generated again."""
    sweep, view = state.get("sweep"), state.get("view")
    if sweep is None or view is None or not view.settled:
        raise gr.Error("Run a grid first (and let it finish), then judge it again.")
    try:
        view.checks = service.set_checks(sweep.experiment_id, parse_checks(checks or ""))
    except YilabError as err:
        raise gr.Error(str(err)) from None
    return render_grid(view, actions=True)


def preview_prompt(
    service, model: str, mode: str, system: str, prompt: str, inputs: str = ""
) -> str:
    """The text the model will read, with its token count (or why it can't be shown);
    with an inputs table, as its first row fills the prompt's ``{{variables}}``."""
    spec = SweepSpec(prompt=prompt or " ", system=(system or "").strip() or None, raw=mode == "raw")
    note = ""
    try:
        rows = read_inputs(inputs, "inputs.csv") if (inputs or "").strip() else ()
        if rows:
            spec = replace(spec, inputs=rows[:1])
            text, messages = spec.prompt_text(0), spec.messages(0)
            note = f"\n── input row 1 of {len(rows)}"
        else:
            text, messages = prompt or "", spec.messages()
    except YilabError as err:
        return f"(no preview: {err})"
    if mode == "raw":
        return text + note
    try:
        view = service.preview(model, messages)
    except YilabError as err:
        return f"(no preview: {err})"
    warnings = "".join(f"\n⚠ {w}" for w in view.warnings)
    return f"{view.text}\n\n── {view.count} tokens{note}{warnings}"


def eos_check(service, model: str) -> tuple[dict, dict]:
    """A warning (and a way to the Tokenizer tab) when the model probably won't stop."""
    hidden = gr.update(value="", visible=False), gr.update(visible=False)
    try:
        report = service.inspect(model)
    except YilabError:
        return hidden
    if report.verdict != "eos_mismatch":
        return hidden
    return gr.update(value=cards.warning_html(report.summary), visible=True), gr.update(
        visible=True
    )


def stream_grid(sweep, state: dict | None = None):
    """Yield the grid's HTML as events arrive (see :func:`follow_sweep`)."""
    for view in follow_sweep(sweep, state):
        yield render_grid(view, actions=True)
