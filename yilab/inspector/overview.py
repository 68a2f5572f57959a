"""Everything the Tokenizer tab shows of one model folder, in one value: the report, the
fix as file edits, the backups an undo would restore, the template's example tokenized,
and the runtime stop ids that would fix it without touching a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yilab.errors import YilabError
from yilab.inspector.diagnose import InspectionReport, inspect_model
from yilab.inspector.fix import FileEdit, backups, preview_fix, runtime_override
from yilab.inspector.token_view import TokenView, tokenize_text
from yilab.inspector.wording import spells


@dataclass(frozen=True)
class Inspection:
    path: Path
    report: InspectionReport
    edits: list[FileEdit]  # the fix, file by file (empty: nothing to fix)
    backups: list[str]  # backup files an undo would restore
    template_view: TokenView | None  # the template's example conversation, tokenized
    runtime_extra: list[int]  # stop ids to add at run time for the same effect as the fix


def inspect_folder(path: Path) -> Inspection:
    """Inspect the model folder at ``path`` for display."""
    report = inspect_model(path)
    return Inspection(
        path=path,
        report=report,
        edits=preview_fix(path, report.fix) if report.fix.changes else [],
        backups=backups(path),
        template_view=template_view(path, report),
        runtime_extra=runtime_override(report),
    )


def template_view(path: Path, report: InspectionReport) -> TokenView | None:
    """The example conversation tokenized, or None when no usable tokenizer is there
    (transformers "loads" a config-only folder: check the tokens spell the text)."""
    example = report.chat_template.example
    if example is None:
        return None
    try:
        view = tokenize_text(path, example, add_special_tokens=False)
    except YilabError:
        return None
    return view if spells(view, example) else None
