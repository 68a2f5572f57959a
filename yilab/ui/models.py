"""The Models tab: the models on this machine and the remote ones named in remotes.json,
importing a GGUF or an Ollama model, and downloading a Hugging Face repo, each with a
progress bar."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import gradio as gr

from yilab.errors import YilabError
from yilab.service import Service

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
                gr.HTML(
                    f'<div class="yl-tk-h">Models on this machine · MLX computes on the '
                    f"{escape(service.compute_device().upper())} · remote models come from "
                    f"{escape(str(service.remotes_path()))}</div>"
                )
                refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="yl-models-refresh")
            table = gr.Dataframe(
                value=refresh_table(service),
                headers=COLUMNS,
                interactive=False,
                wrap=True,
                column_widths=["18%", "8%", "30%", "9%", "13%", "13%", "9%"],
                elem_id="yl-models-table",
            )
        with gr.Column(scale=1, min_width=300):
            import_spec = gr.Textbox(
                label="Import a GGUF or an Ollama model",
                elem_id="yl-models-import-spec",
                placeholder="~/Downloads/model.Q4_K_M.gguf or yi:6b-chat",
            )
            upload = gr.File(
                label="…or upload a .gguf",
                file_types=[".gguf"],
                height=120,
                elem_id="yl-models-upload",
            )
            import_button = gr.Button("Import (convert to MLX)", elem_id="yl-models-import")
            repo_id = gr.Textbox(
                label="Download from Hugging Face",
                elem_id="yl-models-repo",
                placeholder="mlx-community/Qwen2.5-0.5B-Instruct-4bit",
            )
            download = gr.Button("Download", elem_id="yl-models-download")
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
    return ui


def _wire(ui: ModelsTab, service: Service, tab) -> None:
    private = {"api_visibility": "private"}

    def on_import(spec: str, upload, progress=gr.Progress()):
        return resolve_and_report(service, import_target(spec, upload), progress)

    def on_download(repo: str, progress=gr.Progress()):
        return resolve_and_report(service, (repo or "").strip(), progress)

    ui.refresh.click(lambda: refresh_table(service), None, ui.table, **private)
    if tab is not None:
        tab.select(lambda: refresh_table(service), None, ui.table, **private)
    ui.import_button.click(
        on_import, [ui.import_spec, ui.upload], [ui.status, ui.table], **CONVERSION, **private
    )
    ui.download.click(on_download, ui.repo_id, [ui.status, ui.table], **CONVERSION, **private)


def refresh_table(service: Service) -> list[list[str]]:
    return model_rows(service.list_models(), service.compute_device())


def import_target(spec: str | None, upload) -> str:
    """The spec to import: the uploaded file if there is one, else the typed text."""
    if upload:
        return str(getattr(upload, "name", upload))
    return (spec or "").strip()


def resolve_and_report(service: Service, spec: str, progress) -> tuple[str, list[list[str]]]:
    """Resolve (convert or download) ``spec`` with a progress bar; a message and the table."""
    if not spec:
        return status_html(
            "Type a .gguf path, an Ollama name or a repo id first.", "warn"
        ), gr.skip()
    try:
        resolved = service.resolve(spec, lambda f, m: progress(f, desc=m))
    except YilabError as err:
        return status_html(str(err), "error"), refresh_table(service)
    return status_html(resolved_message(resolved), "ok"), refresh_table(service)


def resolved_message(model) -> str:
    """What an import or a download gave (a resolved model: name, source, path, spec).

    >>> from types import SimpleNamespace as Model
    >>> resolved_message(Model(name="m.gguf", source="gguf", path="/h/models/gguf-1a", spec="m.gguf"))
    'Ready: m.gguf (gguf) in /h/models/gguf-1a. Pick it in Compare or Tokenizer as m.gguf.'
    """
    return (
        f"Ready: {model.name} ({model.source}) in {model.path}. "
        f"Pick it in Compare or Tokenizer as {model.spec or model.name}."
    )


def status_html(message: str, kind: str) -> str:
    return f'<div class="yl-notice yl-notice-{escape(kind)}">{escape(message)}</div>'


def model_rows(models: list[dict], device: str) -> list[list[str]]:
    """``list_models()`` rows for the table, in :data:`COLUMNS` order; a remote model
    computes on its server, a GGUF yilab cannot convert says why in place of a path.

    >>> model_rows([{"name": "m", "source": "default", "path": None,
    ...              "size_bytes": 1536, "quantization": "Q4_1"}], "cpu")
    [['m', 'default', '(GGUF, converted on first use)', '1.5 KB', 'Q4_1', '', 'cpu']]
    """
    return [
        [
            m["name"],
            m.get("source") or "",
            m.get("path") or _not_converted(m),
            human_size(m.get("size_bytes")),
            m.get("quantization") or "",
            m.get("architecture") or "",
            "server" if m.get("source") == "remote" else device,
        ]
        for m in models
    ]


def _not_converted(model: dict) -> str:
    """The path cell of a GGUF not converted yet: when it will be, or why it cannot be."""
    if model.get("convertible") is False:
        return f"(cannot convert: {model.get('unsupported_reason')})"
    return "(GGUF, converted on first use)"


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
