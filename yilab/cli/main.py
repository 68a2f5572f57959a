"""``python -m yilab``: subcommands over the service.

Every command takes ``--db`` and ``--json``; with ``--json`` stdout is exactly one
JSON document (``{"error": …}`` on failure) and progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from yilab.cli.common import LOG_FAILED, Outcome, open_service, progress
from yilab.cli.display import follow_sweep, print_runs_table, print_scores
from yilab.cli.inspect import INSPECT_COMMANDS, add_inspect_commands
from yilab.cli.share import SHARE_COMMANDS, add_share_commands
from yilab.cli.token_table import no_record, summary, token_lines
from yilab.errors import BadInputError, YilabError
from yilab.experiment.checks import parse_checks
from yilab.experiment.scoring import score_rows, verdicts
from yilab.experiment.sweep import (
    DEFAULT_ENGINE,
    DEFAULT_NUMERICS,
    ENGINES,
    NUMERICS,
    SweepSpec,
    parse_floats,
    parse_ints,
    parse_seeds,
)
from yilab.experiment.token_log import DEFAULT_TOP_K, MAX_TOP_K
from yilab.experiment.variables import inputs_from_vars, parse_var, read_inputs
from yilab.runlog.search import SEARCH_HELP
from yilab.service.documents import listed_run_json, run_json


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="SQLite run log (default: $YILAB_DB or ./experiments.db)")
    common.add_argument("--json", action="store_true", help="print one JSON document")
    parser = argparse.ArgumentParser(prog="python -m yilab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    compare = sub.add_parser("compare", parents=[common], help="run a sweep and log it")
    compare.add_argument("prompt", help="the user message (or the whole prompt with --raw)")
    compare.add_argument("--system", help="system prompt (chat mode)")
    compare.add_argument("--model", action="append", help="model spec (repeat for several)")
    compare.add_argument("--temps", default="0.7", help="temperatures, e.g. 0.2,0.7")
    compare.add_argument("--seeds", default="0", help='seeds, e.g. 1,2 or "3 random"')
    compare.add_argument("--top-p", default="1.0", help="top_p values, e.g. 0.9,1.0")
    compare.add_argument("--max-tokens", default="256", help="max_tokens values")
    compare.add_argument("--top-k", type=int, default=0)
    compare.add_argument("--min-p", type=float, default=0.0)
    compare.add_argument("--repetition-penalty", type=float)
    compare.add_argument(
        "--extra-eos-id",
        type=int,
        action="append",
        default=[],
        help="extra stop token id for this sweep (repeatable)",
    )
    compare.add_argument("--raw", action="store_true", help="send the prompt as-is, no template")
    compare.add_argument(
        "--logprobs",
        type=int,
        default=DEFAULT_TOP_K,
        metavar="K",
        help=f"alternatives recorded per token (0-{MAX_TOP_K}, default {DEFAULT_TOP_K})",
    )
    compare.add_argument(
        "--no-logprobs", action="store_true", help="record no token probabilities at all"
    )
    compare.add_argument(
        "--vars",
        metavar="FILE",
        help="a table of inputs for the prompt's {{variables}}: CSV, JSONL or JSON "
        "(an 'expected' column feeds equals checks); one grid section per row",
    )
    compare.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one value for a {{variable}} (repeatable; one input row)",
    )
    compare.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="SPEC",
        help="judge each output, e.g. 'regex:^Paris', 'contains/i:paris', 'max-words:50', "
        "'json', 'stop', 'name=equals' (repeatable)",
    )
    compare.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="batch (default): the cells decode together; single: one run at a time. "
        "Both give a cell the same tokens",
    )
    compare.add_argument(
        "--numerics",
        choices=NUMERICS,
        default=DEFAULT_NUMERICS,
        help="row-invariant-wt (default): a cell's tokens do not depend on the grid it ran in; "
        "row-invariant: the same with weights as loaded (the numerics of runs logged before "
        "2026-12-02, ~6%% slower alone on a CPU); plain: mlx-lm as it is (a lone row may round "
        "differently)",
    )

    runs = sub.add_parser("runs", parents=[common], help="list logged runs, newest first")
    runs.add_argument("--search", help=SEARCH_HELP)
    runs.add_argument("--model")
    runs.add_argument("--var", metavar="NAME=VALUE", help="runs whose input gave NAME this VALUE")
    runs.add_argument("--limit", type=int, default=20)

    show = sub.add_parser("show", parents=[common], help="one run, in full")
    show.add_argument("run_id")
    show.add_argument(
        "--tokens", action="store_true", help="each token's probability, entropy, alternatives"
    )
    replay = sub.add_parser("replay", parents=[common], help="run a logged run again")
    replay.add_argument("run_id")
    sub.add_parser("models", parents=[common], help="locally available models")
    checks = sub.add_parser(
        "checks", parents=[common], help="show, add or remove an experiment's checks; re-judge"
    )
    checks.add_argument("experiment_id")
    checks.add_argument("--add", action="append", default=[], metavar="SPEC")
    checks.add_argument("--remove", action="append", default=[], metavar="NAME")
    add_inspect_commands(sub, common)
    add_share_commands(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = COMMANDS[args.command](args)
    except YilabError as err:
        return _fail(args, str(err))
    except KeyboardInterrupt:
        return _fail(args, "interrupted", status=130)
    if not isinstance(result, Outcome):
        result = Outcome(result)
    if args.json:
        print(json.dumps(result.document, ensure_ascii=False, default=str))
    return result.status


def _fail(args, message: str, status: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": message}))
    return status


def cmd_compare(args) -> dict:
    spec = SweepSpec(
        prompt=args.prompt,
        system=args.system,
        raw=args.raw,
        models=tuple(args.model or [""]),
        temperatures=parse_floats(args.temps, "temperatures"),
        seeds=parse_seeds(args.seeds),
        top_ps=parse_floats(args.top_p, "top_p"),
        max_tokens=parse_ints(args.max_tokens, "max_tokens"),
        top_k=args.top_k,
        min_p=args.min_p,
        repetition_penalty=args.repetition_penalty,
        extra_eos_ids=tuple(args.extra_eos_id),
        engine=args.engine,
        numerics=args.numerics,
        top_logprobs=None if args.no_logprobs else args.logprobs,
        inputs=_inputs(args),
        checks=parse_checks(args.check),
    )
    service = open_service(args)
    sweep = service.start_sweep(spec, progress=progress)
    if len(spec.seeds) > 1 and 0 in spec.temperatures:
        print("note: temperature 0 is greedy; the seed has no effect there", file=sys.stderr)
    try:
        follow_sweep(sweep, quiet=args.json)
    except KeyboardInterrupt:
        sweep.cancel()
        follow_sweep(sweep, quiet=True)
    sweep.wait()
    failure, runs = sweep.log_failure, service.sweep_runs(sweep)
    scores = score_rows(runs, spec.checks)
    if not args.json:
        print_runs_table(runs)
        print_scores(scores, spec.checks)
        if sweep.in_run_log:
            print(f"experiment {sweep.experiment_id}")
    document = {
        "experiment_id": sweep.experiment_id,
        "runs": [run_json(r) for r in runs],
        "scores": [s.to_dict() for s in scores],
    }
    if failure is None:
        return document
    print(f"yilab: {failure.message}", file=sys.stderr)
    document["log_error"] = failure.message
    return Outcome(document, status=0 if failure.merged else LOG_FAILED)


def _inputs(args) -> tuple[dict[str, str], ...]:
    """The input rows from ``--vars FILE`` or ``--var name=value`` (not both)."""
    pairs = [parse_var(v) for v in args.var]
    if args.vars and pairs:
        raise BadInputError("Give --vars FILE or --var name=value, not both.")
    if not args.vars:
        return inputs_from_vars(pairs)
    try:
        text = Path(args.vars).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BadInputError(f"Cannot read {args.vars}: {err}") from None
    return read_inputs(text, args.vars)


def cmd_runs(args) -> list[dict]:
    runs = open_service(args).list_runs(
        search=args.search,
        model=args.model,
        variable=parse_var(args.var) if args.var else None,
        limit=args.limit,
    )
    if not args.json:
        print_runs_table(runs, with_model=True)
    return [listed_run_json(r) for r in runs]


def cmd_show(args) -> dict:
    service = open_service(args)
    run = service.get_run(args.run_id)
    if not args.json:
        for key, value in run.items():
            if key not in ("output", "rendered_prompt"):
                print(f"{key:>20}: {value}")
        print("\n--- prompt ---\n" + (run["rendered_prompt"] or ""))
        print("--- output ---\n" + (run["output"] or ""))
    if not args.tokens:
        return run
    log = service.token_log(run["id"])
    if log is None:
        sweep = service.get_experiment(run["experiment_id"])["sweep_json"]
        print(no_record(run, sweep), file=sys.stderr if args.json else sys.stdout)
    elif not args.json:
        print(f"--- tokens: {summary(log)} ---")
        print("\n".join(token_lines(log, branch_at=run.get("branch_at"))))
    return {**run, "tokens": None if log is None else log.to_json()}


def cmd_replay(args) -> dict:
    replay = open_service(args).replay(args.run_id, progress=progress)
    if not args.json:
        verdict = "identical" if replay.identical else "DIFFERENT"
        print(f"replay of {replay.original['id']} → {replay.new['id']}: {verdict}")
        if not replay.same_prompt:
            print("note: the rendered prompt differs (the model's template changed?)")
        if not replay.identical:
            print(
                f"--- original ({replay.original['finish_reason']}) ---\n{replay.original['output']}"
            )
            print(f"--- replay ({replay.new['finish_reason']}) ---\n{replay.new['output']}")
    return {
        "original": run_json(replay.original),
        "replay": run_json(replay.new),
        "identical": replay.identical,
        "same_prompt": replay.same_prompt,
    }


def cmd_checks(args) -> dict:
    service = open_service(args)
    checks = service.checks(args.experiment_id)
    if args.add or args.remove:
        unknown = [n for n in args.remove if n not in {c.name for c in checks}]
        if unknown:
            raise BadInputError(f"No check named {unknown[0]!r} ({_names(checks)}).")
        kept = [c for c in checks if c.name not in args.remove]
        checks = service.set_checks(args.experiment_id, [*kept, *parse_checks(args.add)])
    runs = service.get_experiment(args.experiment_id)["runs"]
    scores = score_rows(runs, checks)
    if not args.json:
        for check in checks:
            print(f"check {check.spec()}")
        print_scores(scores, checks)
    return {
        "experiment_id": service.get_experiment(args.experiment_id)["id"],
        "checks": [c.to_dict() for c in checks],
        "runs": [
            {"id": r["id"], "checks": {n: v.passed for n, v in verdicts(checks, r).items()}}
            for r in runs
        ],
        "scores": [s.to_dict() for s in scores],
    }


def _names(checks) -> str:
    return "checks: " + ", ".join(c.name for c in checks) if checks else "it has no checks"


def cmd_models(args) -> list[dict]:
    models = open_service(args).list_models()
    if not args.json:
        for m in models:
            print(model_line(m))
    return models


def model_line(m: dict) -> str:
    """One model for a terminal: name, source, architecture, quantization, where it is.

    >>> model_line({"name": "yi:6b-chat", "source": "ollama", "path": None, "architecture":
    ...     "qwen2", "quantization": "Q4_0", "convertible": False, "unsupported_reason": "why"})
    'yi:6b-chat                       ollama       qwen2    Q4_0      (cannot convert: why)'
    """
    where = m.get("path") or "(converted on first use)"
    if m.get("convertible") is False:
        where = f"(cannot convert: {m.get('unsupported_reason')})"
    columns = (m.get("source") or "", m.get("architecture") or "", m.get("quantization") or "")
    return f"{m['name']:<32} {columns[0]:<12} {columns[1]:<8} {columns[2]:<9} {where}"


COMMANDS: dict[str, Callable] = {
    "compare": cmd_compare,
    "runs": cmd_runs,
    "show": cmd_show,
    "replay": cmd_replay,
    "models": cmd_models,
    "checks": cmd_checks,
    **INSPECT_COMMANDS,
    **SHARE_COMMANDS,
}
