"""Assemble the dashboard's tabs into one Gradio Blocks app."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from yilab.ui.cards import open_in_history, open_in_tokenizer, when_asked
from yilab.ui.compare import build_compare_tab, eos_check
from yilab.ui.history import build_history_tab, deep_link
from yilab.ui.i18n import I18N, language_switch, marker, t, tr
from yilab.ui.mcp_tools import add_mcp_tools
from yilab.ui.models import build_models_tab
from yilab.ui.plots import build_plots_tab
from yilab.ui.tokenizer import build_tokenizer_tab

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def build_app(service, *, default_model: str | None = None, mcp: bool = False) -> gr.Blocks:
    """The Blocks app over ``service``; launch it with :func:`launch_kwargs`. ``mcp`` adds
    the agents' tools as API endpoints (:mod:`yilab.ui.mcp_tools`)."""
    with gr.Blocks(title="yilab", analytics_enabled=False) as demo:
        with gr.Row(equal_height=False, elem_classes=["yl-header-row"]):
            gr.HTML(_header(), elem_id="yl-header")
            switch = language_switch()
        with gr.Tabs(elem_id="yl-tabs") as tabs:
            # Tab ids are a contract: other tabs switch with gr.Tabs(selected=<id>).
            with gr.Tab(t("tab.compare"), id="compare", elem_id="yl-tab-compare") as compare_tab:
                compare = build_compare_tab(service, default_model)
            with gr.Tab(t("tab.history"), id="history", elem_id="yl-tab-history") as history_tab:
                history = build_history_tab(service)
            with gr.Tab(t("tab.plots"), id="plots", elem_id="yl-tab-plots") as plots_tab:
                build_plots_tab(service)
            with gr.Tab(t("tab.models"), id="models", elem_id="yl-tab-models") as models_tab:
                build_models_tab(service, tab=models_tab)
            with gr.Tab(
                t("tab.tokenizer"), id="tokenizer", elem_id="yl-tab-tokenizer"
            ) as tokenizer_tab:
                tokenizer = build_tokenizer_tab(service, default_model, tab=tokenizer_tab)
        # the switch shows the language the page is in (assets/i18n.js decided it)
        demo.load(None, None, switch, js="() => window.yilabLanguage || 'en'")
        # Gradio names the tabs once, in the browser's language: a language picked with the
        # switch reaches the hidden tabs' names only when they are sent again
        names = {
            "tab.compare": compare_tab,
            "tab.history": history_tab,
            "tab.plots": plots_tab,
            "tab.models": models_tab,
            "tab.tokenizer": tokenizer_tab,
        }
        demo.load(
            lambda: tuple(gr.Tab(label=tr(key)) for key in names),
            None,
            list(names.values()),
            api_visibility="private",
        )
        demo.load(
            partial(eos_check, service),
            inputs=compare.model,
            outputs=[compare.eos_warning, compare.open_tokenizer],
            api_visibility="private",
        )
        compare.open_tokenizer.click(
            lambda m: (gr.Tabs(selected="tokenizer"), m),
            compare.model,
            [tabs, tokenizer.model],
            api_visibility="private",
        ).then(**tokenizer.open_event)
        # a card's "history" button opens its experiment in History
        compare.panel.go.click(
            partial(open_in_history, service),
            compare.panel.action,
            [tabs, history.experiment_box],
            api_visibility="private",
        )
        # a card's turn-end note links to the Tokenizer tab, showing the run's model
        compare.panel.go.click(
            partial(open_in_tokenizer, service),
            compare.panel.action,
            [tabs, tokenizer.model],
            api_visibility="private",
        ).then(
            when_asked(
                "tokenizer", tokenizer.open_event["fn"], len(tokenizer.open_event["outputs"])
            ),
            [compare.panel.action, *tokenizer.open_event["inputs"]],
            tokenizer.open_event["outputs"],
            api_visibility="private",
        )
        # /?experiment=ID opens that experiment in History
        demo.load(deep_link, None, [tabs, history.experiment_box], api_visibility="private")
        if mcp:
            add_mcp_tools(service)
    return demo


def _header() -> str:
    logo = (ASSETS / "logo.svg").read_text() if (ASSETS / "logo.svg").exists() else ""
    return (
        f'<div class="yl-header">{logo}<span class="yl-name">yilab</span>'
        f'<span class="yl-tag">{marker("app.tagline")}</span></div>'
    )


def launch_kwargs() -> dict:
    """Theme, CSS, scripts and the two languages' words go to ``launch()`` in Gradio 6."""
    scripts = "".join((ASSETS / name).read_text() for name in ("i18n.js", "cards.js"))
    return {
        "i18n": I18N,
        "theme": gr.themes.Soft(primary_hue="indigo", font_mono=["ui-monospace", "monospace"]),
        "css": (ASSETS / "style.css").read_text(),
        "head": f"<script>{scripts}</script>",
        "share": False,
        # yilab keeps its own run log (History); Gradio's run history would keep a second
        # copy of every prompt and output in the browser, behind an English "Runs" link
        "run_history": False,
    }
