"""Serve the yilab dashboard: ``python app.py [--host 127.0.0.1] [--port 7860] [--db experiments.db] [--model SPEC]``."""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no tokenizer-length chatter

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="yilab: prompt experiments on MLX models")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--db", help="SQLite run log (default: $YILAB_DB or ./experiments.db)")
    parser.add_argument("--model", help="model spec selected at start (default: the default model)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from yilab.fastpath import reexec_with_fast_blas

    reexec_with_fast_blas()  # before MLX is imported: see yilab/fastpath.py
    if args.host not in LOOPBACK:
        print(
            f"WARNING: binding {args.host}: anyone who can reach this machine can run models "
            "and read your run log. Use --host 127.0.0.1 to keep it local.",
            file=sys.stderr,
        )
    from yilab.service import Service
    from yilab.ui.app import build_app, launch_kwargs

    service = Service(args.db)
    demo = build_app(service, default_model=args.model)
    print(f"yilab: run log {service.db_path.resolve()}", file=sys.stderr)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, **launch_kwargs()
    )


if __name__ == "__main__":
    main()
