"""Everything the Tokenizer tab shows of one model folder, in one value: the report, the
fix as file edits, the backups an undo would restore, the template's example tokenized,
the runtime stop ids that would fix it without touching a file, and, for a model imported
from Ollama, Ollama's stops beside mlx-lm's (whose missing stops the fix then adds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from yilab.errors import YilabError
from yilab.inspector.chat_template import reworded
from yilab.inspector.diagnose import InspectionReport, inspect_model
from yilab.inspector.fix import FileEdit, backups, preview_fix
from yilab.inspector.fix_plan import FixPlan
from yilab.inspector.model_files import read_model_files
from yilab.inspector.ollama_stops import OllamaStops, compare_ollama_stops, read_ollama_records
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
    ollama: OllamaStops | None = None  # a model imported from Ollama: its stops vs mlx-lm's
    example: str | None = None  # the example conversation, in the words it was asked in

    @property
    def plan(self) -> FixPlan:
        """The fix the edits make: the report's, plus Ollama's missing stops."""
        return self.ollama.fix if self.ollama is not None else self.report.fix


def inspect_folder(
    path: Path, ollama_name: str | None = None, sample: Sequence[str] | None = None
) -> Inspection:
    """Inspect the model folder at ``path`` for display; ``ollama_name`` picks the Ollama
    model when several were imported into this folder (default: the first); ``sample``
    words the example conversation in the reader's language (its four sentences, see
    :func:`reworded`; default: the report's English)."""
    report = inspect_model(path)
    ollama = ollama_stops(path, report, ollama_name)
    plan = ollama.fix if ollama is not None else report.fix
    example = report.chat_template.example
    if example is not None and sample is not None:
        example = reworded(example, sample)
    return Inspection(
        path=path,
        report=report,
        edits=preview_fix(path, plan) if plan.changes else [],
        backups=backups(path),
        template_view=template_view(path, example),
        runtime_extra=list(plan.extra_eos_ids),
        ollama=ollama,
        example=example,
    )


def ollama_stops(
    path: Path, report: InspectionReport, ollama_name: str | None = None
) -> OllamaStops | None:
    """Ollama's stops beside the report's, for a folder imported from Ollama; else None."""
    records = read_ollama_records(path)
    if not records:
        return None
    return compare_ollama_stops(report, read_model_files(Path(path)), records, ollama_name)


def fix_plan(path: Path, ollama_name: str | None = None) -> FixPlan:
    """The fix ``python -m yilab fix`` applies to ``path`` (the Ollama-aware one)."""
    report = inspect_model(path)
    ollama = ollama_stops(path, report, ollama_name)
    return ollama.fix if ollama is not None else report.fix


def template_view(path: Path, example: str | None) -> TokenView | None:
    """The example conversation tokenized, or None when no usable tokenizer is there
    (transformers "loads" a config-only folder: check the tokens spell the text)."""
    if example is None:
        return None
    try:
        view = tokenize_text(path, example, add_special_tokens=False)
    except YilabError:
        return None
    return view if spells(view, example) else None
