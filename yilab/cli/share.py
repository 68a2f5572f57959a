"""The sharing subcommands: ``export`` and ``import``.

Registered by :mod:`yilab.cli.main`; the same contract holds: with ``--json`` stdout is
one JSON document, errors are ``{"error": …}`` with exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from yilab.cli.common import open_service
from yilab.service import EXPORT_FORMATS


def add_share_commands(sub, common) -> None:
    """Add ``export`` and ``import`` to the CLI's subparsers."""
    export = sub.add_parser("export", parents=[common], help="write experiments to a file")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--experiment",
        nargs="+",
        action="extend",
        metavar="ID",
        help="experiment ids (or 6+ character prefixes)",
    )
    which.add_argument("--all", action="store_true", help="every experiment in the run log")
    export.add_argument(
        "--search", help="only experiments whose prompt or outputs match (as runs --search)"
    )
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        required=True,
        help="bundle (to import elsewhere), jsonl, csv, html (a report)",
    )
    export.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    export.add_argument("--redact-system", action="store_true", help="leave out system prompts")
    export.add_argument("--truncate", type=int, metavar="N", help="cut outputs to N characters")
    imp = sub.add_parser("import", parents=[common], help="merge a bundle into the run log")
    imp.add_argument("file", metavar="FILE", help="a bundle written by export --format bundle")


def cmd_export(args) -> dict:
    ids = None if args.all else args.experiment
    result = open_service(args).export(
        ids,
        args.format,
        args.out,
        search=args.search,
        redact_system=args.redact_system,
        truncate=args.truncate,
    )
    if not args.json:
        print(
            f"wrote {result.experiments} experiment(s), {result.runs} run(s) to {result.path} "
            f"({result.bytes / 1024:,.1f} KiB, {result.format})"
        )
    return result.to_dict()


def cmd_import(args) -> dict:
    result = open_service(args).import_bundle(args.file)
    if not args.json:
        for name, label in (
            ("experiments", "experiments"),
            ("runs", "runs"),
            ("run_tokens", "token logs"),
        ):
            c = getattr(result, name)
            print(
                f"{label:>11}: {c.added} added, {c.skipped} already here, {c.conflicts} conflicts"
            )
        for conflict in result.conflicts:
            print(
                f"conflict: {conflict.table[:-1]} {conflict.id} differs in "
                f"{', '.join(conflict.columns)} (kept the local one)",
                file=sys.stderr,
            )
    return result.to_dict()


SHARE_COMMANDS: dict[str, Callable] = {"export": cmd_export, "import": cmd_import}
