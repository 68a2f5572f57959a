"""The Tokenizer tab: a model's special tokens file by file, the verdict in plain words,
for a model imported from Ollama its stops beside mlx-lm's, its chat template token by
token, a token view of any text, the fix (diff, Apply, Undo) and a before/after run that
shows the fix at work (``length`` → ``stop``).

Handlers gather inputs and call yilab; the HTML is built by the pure functions of
:mod:`yilab.render.inspector`, which escape every string that reaches the page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from yilab.experiment.sweep import SweepSpec
from yilab.render.grid import GridView
from yilab.render.inspector import (
    notice,
    render_before_after,
    render_fix,
    render_ollama,
    render_specials,
    render_template,
    render_tokens,
    render_verdict,
    verdict_summary,
)
from yilab.service import DEFAULT_MODEL, Service
from yilab.ui.common import follow_sweep, model_choices, user_errors
from yilab.ui.compare import GENERATION
from yilab.ui.i18n import current, marked, refusal, said_by, t, tr

BEFORE_AFTER_MAX_TOKENS = 48  # enough to see a model run past its turn end, short on a CPU
# the template's example conversation in the reader's words: system, user, assistant, user
SAMPLE_KEYS = ("tok.sample_system", "tok.sample_user", "tok.sample_assistant", "tok.sample_again")


@dataclass
class TokenizerTab:
    """The tab's components. ``model`` (elem_id ``yl-tok-model``) is a contract: another tab
    shows a model here by setting ``model`` and selecting this tab, then chaining
    ``.then(**tab.open_event)`` (which inspects it unless it is already shown)."""

    model: gr.Dropdown
    inspect: gr.Button
    verdict: gr.HTML
    ollama: gr.HTML  # empty unless the model came from Ollama
    specials: gr.HTML
    template: gr.HTML
    text: gr.Textbox
    chat: gr.Checkbox
    tokenize: gr.Button
    tokens: gr.HTML
    diff: gr.HTML
    apply: gr.Button
    undo: gr.Button
    prompt: gr.Textbox
    before_after: gr.Button
    comparison: gr.HTML
    session: gr.State
    open_event: dict = field(default_factory=dict, repr=False)


@dataclass
class Panels:
    """What an inspection shows, as HTML, and which fix buttons are usable."""

    verdict: str
    ollama: str
    specials: str
    template: str
    diff: str
    can_apply: bool
    can_undo: bool


def build_tokenizer_tab(service: Service, default_model: str | None, *, tab=None) -> TokenizerTab:
    """Lay out the tab and wire it. Pass the enclosing ``gr.Tab`` as ``tab`` to inspect
    the picked model when the tab is first shown."""
    with gr.Row(equal_height=False, elem_classes=["yl-tk-row"]):
        model = gr.Dropdown(
            choices=model_choices(service, default_model),
            scale=5,
            value=default_model or DEFAULT_MODEL,
            allow_custom_value=True,
            label=t("tok.model"),
            elem_id="yl-tok-model",
            info=t("tok.model_info"),
        )
        inspect = gr.Button(t("tok.inspect"), variant="primary", scale=1, elem_id="yl-tok-inspect")
    verdict = gr.HTML(marked(notice, "tok.pick"), elem_id="yl-tok-verdict")
    ollama = gr.HTML("", elem_id="yl-tok-ollama")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=360):
            specials = gr.HTML("", elem_id="yl-tok-specials")
            diff = gr.HTML("", elem_id="yl-tok-diff")
            with gr.Row():
                apply = gr.Button(
                    t("tok.apply"), interactive=False, size="sm", elem_id="yl-tok-apply"
                )
                undo = gr.Button(t("tok.undo"), interactive=False, size="sm", elem_id="yl-tok-undo")
        with gr.Column(scale=1, min_width=360):
            template = gr.HTML("", elem_id="yl-tok-template")
            text = gr.Textbox(
                label=t("tok.text"),
                lines=2,
                elem_id="yl-tok-text",
                placeholder=t("tok.text_placeholder"),
            )
            with gr.Row():
                chat = gr.Checkbox(label=t("tok.chat"), elem_id="yl-tok-chat")
                tokenize = gr.Button(t("tok.tokenize"), size="sm", elem_id="yl-tok-tokenize")
            tokens = gr.HTML("", elem_id="yl-tok-tokens")
    with gr.Column(elem_classes=["yl-tk-ba-box"]):
        with gr.Row(equal_height=False, elem_classes=["yl-tk-row"]):
            prompt = gr.Textbox(
                placeholder=t("tok.sample_again"),  # what an empty box runs, in the reader's words
                label=t("tok.ba_prompt"),
                scale=5,
                elem_id="yl-tok-prompt",
                info=t("tok.ba_info"),
            )
            before_after = gr.Button(t("tok.before_after"), scale=1, elem_id="yl-tok-before-after")
        comparison = gr.HTML("", elem_id="yl-tok-ba")
    # per browser tab (State copies its value per session; a callable would be an API endpoint)
    session = gr.State({})  # {"spec": the model spec, "path": its folder}
    ui = TokenizerTab(
        model=model,
        inspect=inspect,
        verdict=verdict,
        ollama=ollama,
        specials=specials,
        template=template,
        text=text,
        chat=chat,
        tokenize=tokenize,
        tokens=tokens,
        diff=diff,
        apply=apply,
        undo=undo,
        prompt=prompt,
        before_after=before_after,
        comparison=comparison,
        session=session,
    )
    _wire(ui, service, tab)
    return ui


def _wire(ui: TokenizerTab, service: Service, tab) -> None:
    outputs = [ui.verdict, ui.ollama, ui.specials, ui.template, ui.diff]
    outputs += [ui.apply, ui.undo, ui.session]
    private = {"api_visibility": "private"}

    def on_inspect(spec: str, state: dict, progress=gr.Progress()):
        with user_errors():
            path = service.model_dir(spec, said_by(progress))
        state.update(spec=spec, path=str(path))
        return _outputs(service, path, state)

    def on_show(spec: str, state: dict, progress=gr.Progress()):
        if state.get("spec") == spec and state.get("path"):
            return tuple(gr.skip() for _ in outputs)
        return on_inspect(spec, state, progress)

    def on_fix(state: dict, undo: bool):
        with user_errors():
            path = _path(state)
            result = service.undo_fix(path) if undo else service.apply_fix(path, state.get("spec"))
        gr.Info(tr("tok.undone" if undo else "tok.fixed", files=", ".join(result.files)))
        return _outputs(service, _path(state), state)

    ui.inspect.click(on_inspect, [ui.model, ui.session], outputs, **private)
    ui.model.change(on_inspect, [ui.model, ui.session], outputs, **private)
    ui.open_event = {"fn": on_show, "inputs": [ui.model, ui.session], "outputs": outputs, **private}
    if tab is not None:
        tab.select(**ui.open_event)
    ui.apply.click(lambda s: on_fix(s, undo=False), ui.session, outputs, **private)
    ui.undo.click(lambda s: on_fix(s, undo=True), ui.session, outputs, **private)
    ui.tokenize.click(
        lambda s, t, c: _tokenize(service, _path(s), t, c),
        [ui.session, ui.text, ui.chat],
        ui.tokens,
        **private,
    )

    def on_before_after(state: dict, prompt: str):  # a generator function: Gradio streams it
        yield from before_after(service, _path(state), prompt, state.get("spec"))

    ui.before_after.click(
        on_before_after, [ui.session, ui.prompt], ui.comparison, **GENERATION, **private
    )


def _path(state: dict) -> Path:
    if not state.get("path"):
        raise refusal(tr("tok.inspect_first"))
    return Path(state["path"])


def _outputs(service: Service, path: Path, state: dict) -> tuple:
    with user_errors():
        p = inspect_panels(service, path, state.get("spec"))
    return (
        p.verdict,
        p.ollama,
        p.specials,
        p.template,
        p.diff,
        gr.update(interactive=p.can_apply),
        gr.update(interactive=p.can_undo),
        state,
    )


def _tokenize(service: Service, path: Path, text: str, chat: bool) -> str:
    with user_errors():
        view = service.token_view(path, text or "", chat=bool(chat))
        report = service.inspect_folder(path)
    return render_tokens(
        view,
        turn_end_id=report.chat_template.turn_end_id,
        stop_ids=report.stop_ids,
        summary=True,
        tr=current(),
    )


def inspect_panels(service: Service, path: Path, spec: str | None = None) -> Panels:
    """Inspect ``path`` (picked as ``spec``) and lay out what the tab shows; the fix shown
    is the one Apply makes (for an Ollama model, with Ollama's missing stops)."""
    tr_ = current()
    seen = service.inspection(path, spec, [tr_(key) for key in SAMPLE_KEYS])
    fixed = dataclasses.replace(seen.report, fix=seen.plan)
    return Panels(
        verdict=render_verdict(seen.report, tr_),
        ollama=render_ollama(seen.ollama, tr_),
        specials=render_specials(seen.report, tr_),
        template=render_template(seen.report, seen.template_view, seen.example, tr_),
        diff=render_fix(fixed, seen.edits, seen.backups, tr_),
        can_apply=bool(seen.edits),
        can_undo=bool(seen.backups),
    )


# ---- before / after ---------------------------------------------------------------------


def before_after(
    service: Service, path: Path, prompt: str, spec: str | None = None
) -> Iterator[str]:
    """Run ``prompt`` with the model's stop set, then with the fixed one (the runtime
    override), greedily; both are logged as experiments. Yields the two panes as HTML."""
    with user_errors():
        seen = service.inspection(path, spec)
    report, extra = seen.report, seen.runtime_extra
    if not extra:
        summary = verdict_summary(report, current())
        yield notice(tr("tok.nothing_to_compare", summary=summary))
        return
    views: dict[str, GridView | None] = {"before": None, "after": None}
    stops = {"before": report.stop_ids, "after": sorted({*report.stop_ids, *extra})}
    for side, ids in (("before", ()), ("after", tuple(extra))):
        spec = SweepSpec(
            prompt=prompt or tr("tok.sample_again"),
            models=(str(path),),
            temperatures=(0.0,),
            max_tokens=(BEFORE_AFTER_MAX_TOKENS,),
            extra_eos_ids=ids,
        )
        with user_errors():
            sweep = service.start_sweep(spec, note=f"{side} fix")
        for view in follow_sweep(sweep):
            views[side] = view
            yield render_before_after(views["before"], views["after"], stops, current())
