"""Terminal output for the CLI: a progress line per cell (stderr) and run tables (stdout)."""

from __future__ import annotations

import shutil
import sys

from yilab.cli.token_table import clip, display_width, fit
from yilab.events import Finished, Loading, Queued, Started, Token
from yilab.render.scores import LEGEND, cells, headers


def follow_sweep(sweep, *, quiet: bool = False) -> None:
    """Consume a sweep's events, printing progress to stderr (a live line on a terminal)."""
    live = sys.stderr.isatty() and not quiet
    total = len(sweep.cells)
    for event in sweep.events():
        if isinstance(event, Queued):
            _note(f"queued: {event.position} sweep(s) ahead")
        elif isinstance(event, Loading):
            _note(event.message)
        elif isinstance(event, Started) and live:
            _live(f"{_cell_label(sweep, event.cell, total)} …")
        elif isinstance(event, Token) and live:
            _live(f"{_cell_label(sweep, event.cell, total)} {event.generation_tokens} tokens")
        elif isinstance(event, Finished):
            result = event.result
            summary = result.error or (
                f"{result.finish_reason}, {result.generation_tokens} tokens, "
                f"{result.generation_tps or 0:.1f} tok/s"
            )
            if live:
                sys.stderr.write("\r\x1b[2K")
            _note(f"{_cell_label(sweep, event.cell, total)} {summary}")


def _cell_label(sweep, cell: int, total: int) -> str:
    c = sweep.cells[cell]
    return f"[{cell + 1}/{total}] T={c.temperature:g} seed={c.seed}"


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _live(message: str) -> None:
    sys.stderr.write("\r\x1b[2K" + message[: shutil.get_terminal_size().columns - 1])
    sys.stderr.flush()


def print_runs_table(runs: list[dict], *, with_model: bool = False) -> None:
    """One line per run: settings, finish reason, speed and the start of the output."""
    width = shutil.get_terminal_size((120, 20)).columns
    header = f"{'id':<8} {'T':>5} {'seed':>10} {'top_p':>5} {'tok':>5} {'tok/s':>6} {'finish':<9}"
    inputs = any(run.get("input_index") is not None for run in runs)
    if inputs:  # which input row filled the prompt: 1, 2, …
        header = f"{'in':>3} " + header
    if with_model:
        header += f" {'model':<22}"
    print(clip(header + " output", width))
    for run in runs:
        line = (
            f"{run['id'][:8]:<8} {_num(run['temperature']):>5} {run['seed']!s:>10} "
            f"{_num(run['top_p']):>5} {run['generation_tokens'] or 0:>5} "
            f"{_num(run['generation_tps'], 1):>6} {run['finish_reason'] or run['status']:<9}"
        )
        if inputs:
            index = run.get("input_index")
            line = f"{'' if index is None else index + 1:>3} " + line
        if with_model:
            line += f" {fit(run['model'] or '', 22)}"
        output = " ".join((run.get("error") or run["output"] or "").split())
        print(clip(f"{line} {output}", width))  # Chinese takes two columns a character


def _num(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".")


def print_scores(scores: list, checks) -> None:
    """The grid's scores, one line per row (pass rates, diversity), and what they mean."""
    if not scores:
        return
    table = [headers(scores, checks), *(cells(s, scores, checks) for s in scores)]
    widths = [min(28, max(display_width(row[i]) for row in table)) for i in range(len(table[0]))]
    print()
    for row in table:
        print("  ".join(fit(text, w) for text, w in zip(row, widths, strict=True)).rstrip())
    print(LEGEND)
