"""Run grids and each of their cells alone; print, as JSON, which cells differ.

Run as a script (``python tests/invariance_check.py MODEL DB --grid 3x3 ...``) so that it
re-executes itself with BLIS preloaded, like the app: the pytest process keeps the wheel's
reference BLAS, which takes one path for every row count and so proves nothing here.
A cell "is the same" when its output, finish reason and token log (ids, each step's
float32 log-probabilities, entropy and alternatives: a fingerprint of its logits) are
byte-identical.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from yilab.generation.fastpath import reexec_with_fast_blas  # noqa: E402

GRIDS = {  # name -> (temperatures, seeds)
    "3x3": ((0.5, 1.0, 1.5), (1, 2, 3)),
    "8x8": ((0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.5), tuple(range(1, 9))),
}


def fingerprint(service, run: dict) -> list:
    blob = service.store.get_token_logs([run["id"]]).get(run["id"])
    return [run["output"], run["finish_reason"], run["generation_tokens"], (blob or b"").hex()]


def main() -> None:
    reexec_with_fast_blas()
    from yilab.experiment.sweep import SweepSpec
    from yilab.generation.fastpath import blas_in_use
    from yilab.service import Service

    args = parse_args()
    service = Service(args.db)
    service.start_worker()
    base = {
        "prompt": args.prompt,
        "models": (args.model,),
        "max_tokens": (args.max_tokens,),
        "top_ps": (args.top_p,),
        "extra_eos_ids": tuple(args.stop),
        "numerics": args.numerics,
    }
    report = {"blas": blas_in_use(), "grids": {}}
    alone: dict[tuple, list] = {}
    for name in args.grid:
        temperatures, seeds = GRIDS[name]
        _, runs = service.run_sweep(SweepSpec(**base, temperatures=temperatures, seeds=seeds))
        differ, finish = [], []
        for run in runs:
            key = (run["temperature"], run["seed"])
            if key not in alone:
                one = SweepSpec(**base, temperatures=(key[0],), seeds=(key[1],), engine=args.alone)
                alone[key] = fingerprint(service, service.run_sweep(one)[1][0])
            finish.append(run["finish_reason"])
            if fingerprint(service, run) != alone[key]:
                differ.append(list(key))
        numerics = {json.loads(r["versions_json"]).get("numerics") for r in runs}
        report["grids"][name] = {
            "cells": len(runs),
            "differ": differ,
            "finish": finish,
            "numerics": sorted(numerics),
        }
    print(json.dumps(report))
    service.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("db")
    parser.add_argument("--grid", action="append", choices=GRIDS, required=True)
    parser.add_argument("--prompt", default="Tell me a story about the sea.")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--stop", type=int, action="append", default=[])
    parser.add_argument("--numerics", default="row-invariant-wt")
    parser.add_argument("--alone", default="batch", help="the engine of the cells run alone")
    return parser.parse_args()


if __name__ == "__main__":
    main()
