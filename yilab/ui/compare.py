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
from yilab.render.inspector import verdict_summary
from yilab.service import DEFAULT_MODEL
from yilab.ui import cards
from yilab.ui.common import follow_sweep, model_choices
from yilab.ui.i18n import current, error_text, marked, refusal, said_by, t, tr

# The worker runs one sweep at a time and tells the others they are queued; this only
# bounds how many browser tabs may wait on it at once.
GENERATION = {"concurrency_id": "generation", "concurrency_limit": 8}
# One click fills the form with a runnable prompt (and its system prompt): the story's
# Chinese prompts first, then English ones.
EXAMPLES = [
    ["", "你好"],
    ["", "写一首歌"],
    ["你是一位儿童作家。", "写一个儿童童话故事"],
    ["", "What is the capital of France?"],
    ["You are a poet. Answer in verse.", "Write a haiku about the sea."],
    ["", "Explain recursion to a child in two sentences."],
]


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
            model = gr.Dropdown(
                choices=model_choices(service, default_model),
                value=default_model or DEFAULT_MODEL,
                allow_custom_value=True,
                label=t("compare.model"),
                elem_id="yl-model",
                info=t("compare.model_info"),
            )
            eos_warning = gr.HTML("", elem_id="yl-eos-warning", visible=False)
            open_tokenizer = gr.Button(
                t("compare.open_tokenizer"),
                size="sm",
                visible=False,
                elem_id="yl-open-tokenizer",
            )
            mode = gr.Radio(
                [(t("compare.mode_chat"), "chat"), (t("compare.mode_raw"), "raw")],
                value="chat",
                label=t("compare.mode"),
                elem_id="yl-mode",
            )
            system = gr.Textbox(
                label=t("compare.system"),
                lines=1,
                placeholder=t("compare.system_placeholder"),
                elem_id="yl-system",
            )
            prompt = gr.Textbox(
                label=t("compare.prompt"),
                lines=3,
                elem_id="yl-prompt",
                value="What is the capital of France?",
            )
            gr.Examples(
                EXAMPLES,
                inputs=[system, prompt],
                # shown as buttons named by their prompt: a two-column table would head its
                # columns with the labels, which Gradio does not translate there
                example_labels=[prompt for _, prompt in EXAMPLES],
                label=t("compare.examples"),
                elem_id="yl-examples",
                api_visibility="private",
            )
            with gr.Accordion(t("compare.rendered"), open=False, elem_id="yl-preview-box") as box:
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
                    label=t("compare.temperatures"),
                    value="0, 0.7",
                    elem_id="yl-temps",
                    min_width=120,
                )
                seeds = gr.Textbox(
                    label=t("compare.seeds"), value="1, 2", elem_id="yl-seeds", min_width=120
                )
            with gr.Row():
                top_p = gr.Textbox(
                    label=t("compare.top_p"), value="1.0", elem_id="yl-top-p", min_width=120
                )
                max_tokens = gr.Textbox(
                    label=t("compare.max_tokens"),
                    value="64",
                    elem_id="yl-max-tokens",
                    min_width=120,
                )
            engine = gr.Radio(
                [(t(f"state.{name}"), name) for name in ENGINES],
                value=DEFAULT_ENGINE,
                label=t("compare.engine"),
                elem_id="yl-engine",
                info=t("compare.engine_info"),
            )
            with gr.Accordion(t("compare.judging"), open=False, elem_id="yl-judging"):
                inputs = gr.Textbox(
                    label=t("compare.inputs"),
                    info=t("compare.inputs_info"),
                    lines=3,
                    placeholder="country,expected\nFrance,Paris\nJapan,Tokyo",
                    elem_id="yl-inputs",
                    elem_classes=["yl-mono"],
                )
                inputs_file = gr.UploadButton(
                    t("compare.inputs_file"),
                    file_types=[".csv", ".jsonl", ".json", ".txt"],
                    size="sm",
                    elem_id="yl-inputs-file",
                )
                checks = gr.Textbox(
                    label=t("compare.checks"),
                    info=t("compare.checks_info"),
                    lines=2,
                    placeholder="regex:^Paris\nmax-words:50\nstop",
                    elem_id="yl-checks",
                    elem_classes=["yl-mono"],
                )
                rejudge = gr.Button(t("compare.rejudge"), size="sm", elem_id="yl-rejudge")
            with gr.Row():
                run = gr.Button(t("compare.run"), variant="primary", elem_id="yl-run")
                stop = gr.Button(t("compare.stop"), variant="stop", elem_id="yl-stop")
        with gr.Column(scale=3):
            grid = gr.HTML(ready_grid(), elem_id="yl-grid")
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


def ready_grid() -> str:
    """The page's first, empty grid; its "Ready." is translated in the browser."""
    return marked(lambda text: render_grid(GridView([], status=text)), "compare.ready")


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
            sweep = service.start_sweep(spec, progress=said_by(progress))
        except YilabError as err:
            raise refusal(error_text(err)) from None
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
        raise refusal(error_text(err)) from None


def _judged(spec: SweepSpec, inputs: str, checks: str) -> SweepSpec:
    """The spec with the typed inputs table and checks (refused here, before anything runs)."""
    try:
        rows = read_inputs(inputs, "inputs.csv") if (inputs or "").strip() else ()
        return replace(spec, inputs=rows, checks=parse_checks(checks or ""))
    except YilabError as err:
        raise refusal(error_text(err)) from None


def _inputs_text(file) -> str:
    """An uploaded inputs file as the CSV the Inputs box holds (JSON Lines converted)."""
    path = Path(file if isinstance(file, str) else file.name)
    try:
        rows = read_inputs(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError) as err:
        raise refusal(tr("compare.cannot_read", name=path.name, error=err)) from None
    except YilabError as err:
        raise refusal(error_text(err)) from None
    return inputs_csv(rows)


def rejudge(service, checks: str, state: dict) -> str:
    """The last grid judged again by the edited checks, which its experiment keeps;
    nothing is generated again."""
    sweep, view = state.get("sweep"), state.get("view")
    if sweep is None or view is None or not view.settled:
        raise refusal(tr("compare.rejudge_first"))
    try:
        view.checks = service.set_checks(sweep.experiment_id, parse_checks(checks or ""))
    except YilabError as err:
        raise refusal(error_text(err)) from None
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
            note = "\n" + tr("compare.preview_row", n=len(rows))
        else:
            text, messages = prompt or "", spec.messages()
    except YilabError as err:
        return tr("compare.no_preview", error=error_text(err))
    if mode == "raw":
        return text + note
    try:
        view = service.preview(model, messages)
    except YilabError as err:
        return tr("compare.no_preview", error=error_text(err))
    warnings = "".join(f"\n⚠ {current().say(w)}" for w in view.warnings)
    return f"{view.text}\n\n{tr('compare.preview_tokens', n=view.count)}{note}{warnings}"


def eos_check(service, model: str) -> tuple[dict, dict]:
    """A warning (and a way to the Tokenizer tab) when the model probably won't stop."""
    hidden = gr.update(value="", visible=False), gr.update(visible=False)
    try:
        report = service.inspect(model)
    except YilabError:
        return hidden
    if report.verdict != "eos_mismatch":
        return hidden
    summary = verdict_summary(report, current())
    return gr.update(value=cards.warning_html(summary), visible=True), gr.update(visible=True)


def stream_grid(sweep, state: dict | None = None):
    """Yield the grid's HTML as events arrive (see :func:`follow_sweep`)."""
    for view in follow_sweep(sweep, state):
        yield render_grid(view, actions=True)
