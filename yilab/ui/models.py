"""The Models tab: the models on this machine and the remote ones named in remotes.json,
importing a GGUF or an Ollama model, and downloading a Hugging Face repo, each with a
progress bar."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import gradio as gr

from yilab.errors import YilabError
from yilab.i18n import ENGLISH, Translator, said_word
from yilab.service import Service
from yilab.ui.i18n import current, error_text, said_by, t, tr

COLUMNS = ["name", "source", "path", "size", "quantization", "architecture", "device"]
# Imports convert (minutes for a big GGUF) and downloads fill the disk: one at a time.
CONVERSION = {"concurrency_id": "conversion", "concurrency_limit": 1}


@dataclass
class ModelsTab:
    table: gr.Dataframe
    refresh: gr.Button
    import_spec: gr.Textbox
    upload: gr.File
    import_button: gr.Button
    repo_id: gr.Textbox
    download: gr.Button
    status: gr.HTML


def build_models_tab(service: Service, *, tab=None) -> ModelsTab:
    """Lay out the tab and wire it. Pass the enclosing ``gr.Tab`` as ``tab`` to refresh the
    table whenever the tab is shown."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row(equal_height=True):
                heading = gr.HTML(_heading(service), elem_id="yl-models-heading")
                refresh = gr.Button(
                    t("models.refresh"), size="sm", scale=0, elem_id="yl-models-refresh"
                )
            table = gr.Dataframe(
                value=refresh_table(service),
                headers=model_headers(ENGLISH),
                interactive=False,
                wrap=True,
                column_widths=["18%", "8%", "30%", "9%", "13%", "13%", "9%"],
                elem_id="yl-models-table",
            )
        with gr.Column(scale=1, min_width=300):
            import_spec = gr.Textbox(
                label=t("models.import_spec"),
                elem_id="yl-models-import-spec",
                placeholder=t("models.import_placeholder"),
            )
            upload = gr.File(
                label=t("models.upload"),
                file_types=[".gguf"],
                height=120,
                elem_id="yl-models-upload",
            )
            import_button = gr.Button(t("models.import"), elem_id="yl-models-import")
            repo_id = gr.Textbox(
                label=t("models.repo"),
                elem_id="yl-models-repo",
                placeholder="mlx-community/Qwen2.5-0.5B-Instruct-4bit",
            )
            download = gr.Button(t("models.download"), elem_id="yl-models-download")
            status = gr.HTML("", elem_id="yl-models-status")
    ui = ModelsTab(
        table=table,
        refresh=refresh,
        import_spec=import_spec,
        upload=upload,
        import_button=import_button,
        repo_id=repo_id,
        download=download,
        status=status,
    )
    _wire(ui, service, tab)
    # the heading and the table's columns in the reader's language, on each page load
    gr.on(
        None,
        lambda: (_heading(service), shown(refresh_table(service))),
        outputs=[heading, table],
        api_visibility="private",
    )
    return ui


def _heading(service: Service) -> str:
    text = tr(
        "models.heading",
        device=service.compute_device().upper(),
        path=str(service.remotes_path()),
    )
    return f'<div class="yl-tk-h">{escape(text)}</div>'


def model_headers(tr_: Translator) -> list[str]:
    """:data:`COLUMNS` in the reader's language."""
    return [tr_(f"models.col_{name}") for name in COLUMNS]


def _wire(ui: ModelsTab, service: Service, tab) -> None:
    private = {"api_visibility": "private"}

    def on_import(spec: str, upload, progress=gr.Progress()):
        status, rows = resolve_and_report(service, import_target(spec, upload), progress)
        return status, shown(rows)

    def on_download(repo: str, progress=gr.Progress()):
        status, rows = resolve_and_report(service, (repo or "").strip(), progress)
        return status, shown(rows)

    def on_refresh():
        return shown(refresh_table(service))

    ui.refresh.click(on_refresh, None, ui.table, **private)
    if tab is not None:
        tab.select(on_refresh, None, ui.table, **private)
    ui.import_button.click(
        on_import, [ui.import_spec, ui.upload], [ui.status, ui.table], **CONVERSION, **private
    )
    ui.download.click(on_download, ui.repo_id, [ui.status, ui.table], **CONVERSION, **private)


def refresh_table(service: Service) -> list[list[str]]:
    return model_rows(service.list_models(), service.compute_device(), current())


def shown(rows) -> gr.Dataframe:
    """Table rows with the columns named in the reader's language (Gradio translates no
    Dataframe headers, and a plain update puts back the build's)."""
    if not isinstance(rows, list):
        return rows  # gr.skip()
    return gr.Dataframe(value=rows, headers=model_headers(current()))


def import_target(spec: str | None, upload) -> str:
    """The spec to import: the uploaded file if there is one, else the typed text."""
    if upload:
        return str(getattr(upload, "name", upload))
    return (spec or "").strip()


def resolve_and_report(service: Service, spec: str, progress) -> tuple[str, list[list[str]]]:
    """Resolve (convert or download) ``spec`` with a progress bar; a message and the table."""
    if not spec:
        return status_html(tr("models.type_first"), "warn"), gr.skip()
    try:
        resolved = service.resolve(spec, said_by(progress))
    except YilabError as err:
        return status_html(error_text(err), "error"), refresh_table(service)
    return status_html(resolved_message(resolved, current()), "ok"), refresh_table(service)


def resolved_message(model, tr_: Translator = ENGLISH) -> str:
    """What an import or a download gave (a resolved model: name, source, path, spec).

    >>> from types import SimpleNamespace as Model
    >>> resolved_message(Model(name="m.gguf", source="gguf", path="/h/models/gguf-1a", spec="m.gguf"))
    'Ready: m.gguf (gguf) in /h/models/gguf-1a. Pick it in Compare or Tokenizer as m.gguf.'
    """
    return tr_(
        "models.ready",
        name=model.name,
        source=model.source,
        path=model.path,
        spec=model.spec or model.name,
    )


def status_html(message: str, kind: str) -> str:
    return f'<div class="yl-notice yl-notice-{escape(kind)}">{escape(message)}</div>'


def model_rows(models: list[dict], device: str, tr_: Translator = ENGLISH) -> list[list[str]]:
    """``list_models()`` rows for the table, in :data:`COLUMNS` order; a remote model
    computes on its server, a GGUF yilab cannot convert says why in place of a path.

    >>> model_rows([{"name": "m", "source": "default", "path": None,
    ...              "size_bytes": 1536, "quantization": "Q4_1"}], "cpu")
    [['m', 'default', '(GGUF, converted on first use)', '1.5 KB', 'Q4_1', '', 'cpu']]
    """
    return [
        [
            m["name"],
            tr_.say(said_word(m.get("source") or "", "models.source_")),
            m.get("path") or _not_converted(m, tr_),
            human_size(m.get("size_bytes")),
            m.get("quantization") or "",
            m.get("architecture") or "",
            tr_("models.on_server") if m.get("source") == "remote" else device,
        ]
        for m in models
    ]


def _not_converted(model: dict, tr_: Translator = ENGLISH) -> str:
    """The path cell of a GGUF not converted yet: when it will be, or why it cannot be."""
    if model.get("convertible") is False:
        return tr_("models.cannot_convert", reason=tr_.say(model.get("unsupported_reason")))
    return tr_("models.not_converted")


def human_size(size: int | None) -> str:
    """``538090403`` → ``'513.2 MB'`` (binary units, short names).

    >>> human_size(538090403), human_size(0), human_size(None)
    ('513.2 MB', '0 B', '')
    """
    if size is None:
        return ""
    value, unit = float(size), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
