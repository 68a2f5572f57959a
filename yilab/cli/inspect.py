"""The tokenizer inspector's subcommands: ``inspect``, ``fix`` and ``tokens``.

Registered by :mod:`yilab.cli.main`; the same contract holds: with ``--json`` stdout is
one JSON document, errors are ``{"error": …}`` with exit status 2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from yilab.cli.common import open_service, progress
from yilab.inspector.diagnose import InspectionReport, label
from yilab.inspector.ollama_stops import OllamaStops, fix_lines
from yilab.inspector.wording import (
    VERDICT_TITLES,
    runtime_lines,
    stop_set_line,
    turn_end_lines,
)
from yilab.service.documents import inspect_json

SEVERITY_MARK = {"error": "✗", "warning": "!", "info": "·"}


def add_inspect_commands(sub, common) -> None:
    """Add ``inspect``, ``fix`` and ``tokens`` to the CLI's subparsers."""
    inspect = sub.add_parser("inspect", parents=[common], help="diagnose a model's bos/eos")
    inspect.add_argument("model", metavar="PATH_OR_SPEC", help="model folder or any model spec")
    fix = sub.add_parser("fix", parents=[common], help="fix a model's eos (backups kept)")
    fix.add_argument("model", metavar="PATH", help="model folder or any model spec")
    fix.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    fix.add_argument("--undo", action="store_true", help="restore the files from the backups")
    tokens = sub.add_parser("tokens", parents=[common], help="tokenize a text, token by token")
    tokens.add_argument("model", metavar="PATH", help="model folder or any model spec")
    tokens.add_argument("text")
    tokens.add_argument("--chat", action="store_true", help="as a user message, templated")


def cmd_inspect(args) -> dict:
    service = open_service(args)
    path = service.model_dir(args.model, progress)
    report = service.inspect_folder(path)
    ollama = service.ollama_stops(path, report, args.model)
    if not args.json:
        shown = report if ollama is None else dataclasses.replace(report, fix=ollama.fix)
        print("\n".join(format_report(shown) + format_ollama(ollama)))
    return inspect_json(report, ollama)


def cmd_fix(args) -> dict:
    service = open_service(args)
    path = service.model_dir(args.model, progress)
    before = service.inspection(path, args.model)
    diff = "".join(e.diff for e in before.edits)
    if args.undo:
        restored = service.undo_fix(path).files
        doc = {"path": str(path), "undo": True, "files": restored, "backups": []}
    elif args.dry_run:
        files = [e.file for e in before.edits]
        doc = {"path": str(path), "dry_run": True, "files": files, "backups": [], "diff": diff}
    else:
        result = service.apply_fix(path, args.model) if before.edits else None
        files, saved = (result.files, result.backups) if result else ([], [])
        doc = {"path": str(path), "dry_run": False, "files": files, "backups": saved, "diff": diff}
        doc["created"] = result.created if result else []
    after = service.inspect_folder(path)
    doc.update(verdict_before=before.report.verdict, verdict=after.verdict)
    ollama = service.ollama_stops(path, after, args.model)
    if ollama is not None:
        doc["ollama_missing_ids"] = ollama.missing_ids
    if not args.json:
        print("\n".join(format_fix(doc, after)))
        if ollama is not None:
            print(f"Ollama ({ollama.name}): {ollama.summary}")
    return doc


def cmd_tokens(args) -> dict:
    service = open_service(args)
    view = service.token_view(service.model_dir(args.model, progress), args.text, chat=args.chat)
    if not args.json:
        print("\n".join(format_tokens(view)))
    return dataclasses.asdict(view)


# ---- plain text --------------------------------------------------------------------------


def format_report(report: InspectionReport) -> list[str]:
    """The report for a terminal: verdict, tokens per file, turn end, stop set, problems, fix."""
    t = report.chat_template
    lines = [
        f"{report.path}",
        f"verdict: {report.verdict} — {VERDICT_TITLES.get(report.verdict, report.verdict)}",
        f"  {report.summary}",
        "",
        f"chat template: {t.source or 'none'}"
        + (f"; assistant turns end with {label(t.turn_end, t.turn_end_id)}" if t.turn_end else ""),
        *[f"  {line}" for line in turn_end_lines(report)],
        f"stop set (mlx-lm): {stop_set_line(report)}",
        "",
        "special tokens, file by file (✗ = conflicts with the turn end or the tokenizer):",
    ]
    for file, settings in report.files.items():
        for s in settings:
            mark = "✗" if s.conflict else " "
            lines.append(f"  {mark} {file:<24} {s.key:<14} {label(s.token, s.id)}")
    problems = [p for p in report.problems if p.code != report.verdict]  # that one is the summary
    if problems:
        lines += ["", "problems:"]
        for p in problems:
            where = f" [{p.file}]" if p.file else ""
            lines.append(f"  {SEVERITY_MARK.get(p.severity, '?')} {p.code}{where}: {p.message}")
    lines += _fix_lines(report)
    return lines


def _fix_lines(report: InspectionReport) -> list[str]:
    """The planned file changes and their runtime equivalents."""
    plan = report.fix
    if not plan.changes and not plan.extra_eos_ids:
        return []
    lines = ["", "fix" + (" (needed)" if plan.needed else " (optional)") + ":"]
    for c in plan.changes:
        if c.kind == "create":
            lines.append(f"  {c.file}: create it, {len(c.new)} characters  ({c.reason})")
        else:
            lines.append(f"  {c.file}: {'.'.join(c.key)} {c.old!r} → {c.new!r}  ({c.reason})")
    if plan.changes:
        lines.append(f"  apply: python -m yilab fix {report.path}  (--dry-run shows the diff)")
    lines += ["  or at run time, files untouched:"]
    return lines + [f"    {line}" for line in runtime_lines(report)]


def format_ollama(ollama: OllamaStops | None) -> list[str]:
    """For a model imported from Ollama: its stops, the GGUF's eos, mlx-lm's stop set,
    the verdict in plain words, the fix, and the template, system prompt and params."""
    if ollama is None:
        return []
    mark = "✗" if ollama.missing_ids else "✓"
    stops = [
        f"{label(s.text, s.id) if s.id is not None else repr(s.text) + ' (a text, not one token)'}"
        f" {'✓ mlx-lm stops there too' if s.mlx_stops else '✗ mlx-lm does not stop there'}"
        for s in ollama.stops
    ]
    eos = ollama.gguf_eos
    in_force = ", ".join(label(s.token, s.id) for s in ollama.mlx_stop_tokens) or "nothing"
    also = (
        f"; also imported as {', '.join(ollama.also_imported_as)}"
        if ollama.also_imported_as
        else ""
    )
    lines = [
        "",
        f"Ollama ({ollama.name}, as `ollama run` ran it{also}):",
        f"  {mark} {ollama.verdict}: {ollama.summary}",
        f"  Ollama stops (params layer): {'; '.join(stops) or 'none'}",
        f"  GGUF eos: {label(eos.token, eos.id) if eos.token or eos.id is not None else 'unknown'}",
        f"  mlx-lm stops at (converted): {in_force}",
    ]
    fixes = fix_lines(ollama)
    if fixes:
        lines += ["  fix, so that mlx-lm stops where Ollama did:", *[f"    {f}" for f in fixes]]
    params = {k: v for k, v in ollama.params.items() if k != "stop"}
    lines.append(f"  other params: {', '.join(f'{k}={v!r}' for k, v in params.items()) or 'none'}")
    lines.append(
        f"  system (system layer): {ollama.system!r}" if ollama.system else "  system: none"
    )
    if ollama.template is None:
        return [*lines, "  template: none"]
    template = [f"    | {line}" for line in ollama.template.splitlines()]
    return [*lines, "  template (template layer, a Go template):", *template]


def format_fix(doc: dict, after: InspectionReport) -> list[str]:
    """What ``fix`` did (or would do), and the verdict now."""
    if doc.get("undo"):
        lines = [f"restored {name} from {name}.yilab-bak" for name in doc["files"]]
    elif doc.get("dry_run"):
        lines = [doc["diff"].rstrip("\n"), "(dry run: nothing written)"] if doc["diff"] else []
        lines = lines or ["nothing to change in the files"]
    elif doc["files"]:
        lines = [doc["diff"].rstrip("\n"), ""]
        for name in doc["files"]:
            if name in doc.get("created", []):
                lines.append(f"created {name} (undo removes it)")
                continue
            fresh = f"{name}.yilab-bak" in doc["backups"]
            kept = f"original kept in {name}.yilab-bak" if fresh else "an older backup is kept"
            lines.append(f"changed {name} ({kept})")
        lines.append(f"undo with: python -m yilab fix --undo {doc['path']}")
    else:
        lines = ["nothing to change in the files"]
        lines += [f"  {line}" for line in runtime_lines(after)]
    verdict = doc["verdict"]
    if doc["verdict_before"] != verdict:
        verdict = f"{doc['verdict_before']} → {verdict}"
    return [*lines, f"verdict: {verdict} — {VERDICT_TITLES.get(after.verdict, after.verdict)}"]


def format_tokens(view) -> list[str]:
    """One line per token: index, id, piece, decoded text; special tokens starred."""
    lines = [f"{view.count} tokens (* = special)"]
    for i, (tid, piece, text, special) in enumerate(
        zip(view.ids, view.pieces, view.texts, view.special, strict=True)
    ):
        lines.append(f"{i:>5} {'*' if special else ' '} {tid:>7}  {piece!r:<20} {text!r}")
    lines.append("ids: " + " ".join(str(i) for i in view.ids))
    return lines + [f"warning: {w}" for w in view.warnings]


INSPECT_COMMANDS: dict[str, Callable] = {
    "inspect": cmd_inspect,
    "fix": cmd_fix,
    "tokens": cmd_tokens,
}
