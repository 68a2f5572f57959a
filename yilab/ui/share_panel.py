"""The Share area at the foot of the History tab: export, share as HTML, import.

- **Export**: a format, a scope (the open experiment, the search results, everything) and
  the redaction options → one file to download.
- **Share as HTML**: a download button that always holds the open experiment's report.
  It is rebuilt when the experiment or the redaction changes (a DownloadButton downloads
  what it already holds), so one click downloads it.
- **Import**: upload a bundle → merged in one transaction, the tables refresh. A bad
  bundle is refused with its message and nothing is written.

Every file is written to a fresh ``tempfile.mkdtemp()`` folder; Gradio copies what a
handler returns into its cache and serves it from there (no ``allowed_paths`` needed).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path

import gradio as gr

from yilab.errors import BadInputError, YilabError
from yilab.service import EXPORT_FORMATS, Service
from yilab.ui.common import readable_errors
from yilab.ui.i18n import current, error_text, marked, refusal, t, tr

SCOPES = ("this experiment", "search results", "all")
SCOPE_KEYS = ("share.scope_experiment", "share.scope_search", "share.scope_all")
EXTENSIONS = {"bundle": ".yilab.json", "jsonl": ".jsonl", "csv": ".csv", "html": ".html"}
SHOWN_CONFLICTS = 3


@dataclass
class SharePanel:
    format: gr.Dropdown
    scope: gr.Dropdown
    redact_system: gr.Checkbox
    truncate: gr.Number
    export: gr.Button
    share_html: gr.DownloadButton  # holds the open experiment's report
    exported: gr.File  # the last export, to download (hidden until there is one)
    upload: gr.UploadButton  # a bundle to import
    status: gr.HTML


# -- pure helpers -----------------------------------------------------------------


def export_selection(scope: str, experiment_id: str | None, search: str | None) -> tuple:
    """``(ids, search)`` for :func:`export_experiments`; ids None means every experiment.

    ``export_selection("this experiment", " 3f2a9c ", "x")`` → ``(["3f2a9c"], None)``
    """
    experiment_id, search = (experiment_id or "").strip(), (search or "").strip()
    if scope == "this experiment":
        if not experiment_id:
            raise BadInputError(tr("share.open_first"))
        return [experiment_id], None
    if scope == "search results":
        if not search:
            raise BadInputError(tr("share.search_first"))
        return None, search
    if scope == "all":
        return None, None
    raise BadInputError(tr("share.unknown_scope", scope=repr(scope), scopes=", ".join(SCOPES)))


def id_prefix(experiment_id: str | None) -> str:
    """The start of an id, safe in a file name: ``id_prefix("82bb1b56-ed1c-…")`` → ``"82bb1b56"``."""
    return re.sub(r"[^0-9A-Za-z]", "", experiment_id or "")[:8] or "experiment"


def export_name(fmt: str, scope: str, experiment_id: str | None, today: date) -> str:
    """The download's file name: ``export_name("html", "this experiment", "82bb1b56-…", d)``
    → ``"yilab-82bb1b56.html"``; ``("bundle", "all", …)`` → ``"yilab-export-2025-01-31.yilab.json"``."""
    if fmt not in EXTENSIONS:
        formats = ", ".join(EXPORT_FORMATS)
        raise BadInputError(tr("share.unknown_format", format=repr(fmt), formats=formats))
    if scope == "this experiment":
        stem = id_prefix(experiment_id)
    else:
        stem = f"{'search' if scope == 'search results' else 'export'}-{today.isoformat()}"
    return f"yilab-{stem}{EXTENSIONS[fmt]}"


def truncate_value(value) -> int | None:
    """The cut-outputs box as ``export_experiments`` wants it: 0 or blank → None (keep
    all), ``12.0`` → 12; a negative number is passed on for the export to refuse."""
    return None if value in (None, "", 0) else int(value)


def _count(n: int, word: str) -> str:
    """``_count(1, "run")`` → ``"1 run"``, ``_count(2, "run")`` → ``"2 runs"`` (in the
    reader's language: ``"2 次运行"``)."""
    return tr(f"share.{word}" if n == 1 else f"share.{word}s", n=n)


def import_message(result, name: str) -> str:
    """One line on what an import did:
    ``"colleague.yilab.json: added 1 experiment / 4 runs · skipped 0 / 0 (already here) · no conflicts"``."""
    e, r = result.experiments, result.runs
    line = tr(
        "share.imported",
        name=name,
        experiments=_count(e.added, "experiment"),
        runs=_count(r.added, "run"),
        skipped_experiments=e.skipped,
        skipped_runs=r.skipped,
    )
    if not result.conflicts:
        return line + tr("share.no_conflicts")
    shown = [
        f"{tr('share.row_' + c.table[:-1])} {c.id[:8]} ({', '.join(c.columns)})"
        for c in result.conflicts[:SHOWN_CONFLICTS]
    ]
    more = len(result.conflicts) - len(shown)
    return (
        line
        + tr("share.kept_yours", conflicts=_count(len(result.conflicts), "conflict"))
        + "; ".join(shown)
        + (tr("share.more", n=more) if more else "")
    )


def upload_error(err: YilabError, path: str) -> str:
    """The error's message naming the upload by its file name, not Gradio's cache path."""
    return error_text(err).replace(str(path), Path(path).name)


# -- handlers (service in, component values out) ----------------------------------


def _write(service, ids, fmt, name, **options) -> str:
    """Export into a fresh temporary folder; the folder goes again if the export fails."""
    folder = Path(tempfile.mkdtemp(prefix="yilab-share-"))
    try:
        return str(service.export(ids, fmt, folder / name, lang=current().lang, **options).path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@readable_errors
def export_file(service, fmt, scope, experiment_id, search, redact_system, truncate) -> gr.File:
    """Write the chosen export and show it as a file to download."""
    ids, query = export_selection(scope, experiment_id, search)
    name = export_name(fmt, scope, experiment_id, date.today())
    path = _write(
        service,
        ids,
        fmt,
        name,
        search=query,
        redact_system=bool(redact_system),
        truncate=truncate_value(truncate),
    )
    return gr.File(value=path, visible=True)


def share_html(service, experiment_id, redact_system, truncate) -> gr.DownloadButton:
    """The open experiment's report in the download button; disabled when none is open.

    Quiet on errors: this fires while an id is being typed into the box.
    """
    experiment_id = (experiment_id or "").strip()
    try:
        name = export_name("html", "this experiment", experiment_id, date.today())
        path = _write(
            service,
            [experiment_id],
            "html",
            name,
            redact_system=bool(redact_system),
            truncate=truncate_value(truncate),
        )
    except (YilabError, ValueError):
        return gr.DownloadButton(value=None, interactive=False)
    return gr.DownloadButton(value=path, interactive=True)


def import_upload(service, path: str | None) -> str:
    """Merge the uploaded bundle; returns the status line that says what it did."""
    if not path:
        return gr.skip()
    try:
        result = service.import_bundle(path)
    except YilabError as err:
        raise refusal(upload_error(err, path)) from None
    return status_html(import_message(result, Path(path).name))


def status_html(message: str) -> str:
    return f'<div class="yl-share-msg">{escape(message)}</div>'


# -- layout and wiring --------------------------------------------------------------


def build_share_panel(
    service: Service,
    *,
    experiment_box: gr.Textbox,
    search: gr.Textbox,
    refresh: dict | None = None,
) -> SharePanel:
    """Lay out the Share accordion where it is called (History's foot).

    :param experiment_box: History's open experiment (exported, shared as HTML).
    :param search: History's search box (the "search results" scope).
    :param refresh: ``fn``/``inputs``/``outputs`` of the History tables' reload, run
        after a successful import.
    """
    with gr.Accordion(t("share.title"), open=True, elem_id="yl-share"):
        with gr.Row(elem_classes="yl-hrow"):
            fmt = gr.Dropdown(
                [(t(f"share.format_{name}"), name) for name in EXPORT_FORMATS],
                value="bundle",
                label=t("share.format"),
                min_width=120,
                scale=1,
                elem_id="yl-share-format",
            )
            scope = gr.Dropdown(
                [(t(key), scope) for key, scope in zip(SCOPE_KEYS, SCOPES, strict=True)],
                value=SCOPES[0],
                label=t("share.scope"),
                min_width=200,
                scale=1,
                elem_id="yl-share-scope",
            )
            redact = gr.Checkbox(
                label=t("share.redact"), min_width=200, scale=1, elem_id="yl-share-redact"
            )
            truncate = gr.Number(
                0,
                label=t("share.truncate"),
                precision=0,
                minimum=0,
                min_width=300,
                scale=1,
                elem_id="yl-share-truncate",
            )
            export = gr.Button(t("share.export"), scale=0, min_width=90, elem_id="yl-share-export")
            html = gr.DownloadButton(
                t("share.html"),
                variant="primary",
                interactive=False,
                scale=0,
                min_width=140,
                elem_id="yl-share-html",
            )
        with gr.Row(elem_classes="yl-share-out"):
            exported = gr.File(
                label=t("share.exported"),
                interactive=False,
                visible=False,
                height=60,
                scale=2,
                elem_id="yl-share-file",
            )
            upload = gr.UploadButton(
                t("share.import"),
                file_types=[".json"],
                type="filepath",
                scale=0,
                min_width=150,
                elem_id="yl-share-import",
            )
            status = gr.HTML(
                marked(status_html, "share.import_hint"), elem_id="yl-share-status", scale=3
            )
    panel = SharePanel(
        format=fmt,
        scope=scope,
        redact_system=redact,
        truncate=truncate,
        export=export,
        share_html=html,
        exported=exported,
        upload=upload,
        status=status,
    )
    _wire(panel, service, experiment_box, search, refresh)
    return panel


def _wire(
    panel: SharePanel, service: Service, experiment_box, search, refresh: dict | None
) -> None:
    quiet = {"api_visibility": "private"}
    redaction = [panel.redact_system, panel.truncate]
    panel.export.click(
        lambda *values: export_file(service, *values),
        [panel.format, panel.scope, experiment_box, search, *redaction],
        panel.exported,
        **quiet,
    )
    gr.on(
        [experiment_box.change, panel.redact_system.change, panel.truncate.change],
        lambda *values: share_html(service, *values),
        [experiment_box, *redaction],
        panel.share_html,
        trigger_mode="always_last",
        **quiet,
    )
    imported = panel.upload.upload(
        lambda p: import_upload(service, p),
        panel.upload,
        panel.status,
        show_progress="hidden",
        **quiet,
    )
    if refresh:
        imported.success(**refresh, **quiet)
