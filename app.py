"""Serve the yilab dashboard: ``python app.py [--host 127.0.0.1] [--port 7860] [--db experiments.db] [--model SPEC] [--mcp]``."""

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
    parser.add_argument(
        "--auth",
        type=parse_auth,
        metavar="USER:PASSWORD",
        help="require this login (Gradio's auth); wise when --host is not local",
    )
    parser.add_argument(
        "--mcp", action="store_true", help="also serve yilab's tools to agents (MCP, same port)"
    )
    args = parser.parse_args(argv)
    if args.mcp and args.auth:  # its tool calls would reach the app without the login
        parser.error("--mcp does not work with --auth (Gradio's MCP server cannot log in)")
    return args


def parse_auth(value: str) -> tuple[str, str]:
    """``"ada:s3cret"`` → ``("ada", "s3cret")``; both parts must be non-empty."""
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise argparse.ArgumentTypeError("--auth must look like USER:PASSWORD")
    return user, password


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from yilab.generation.fastpath import reexec_with_fast_blas

    reexec_with_fast_blas()  # before MLX is imported: see yilab/generation/fastpath.py
    if args.host not in LOOPBACK:
        who = "anyone with the password" if args.auth else "anyone who can reach this machine"
        print(
            f"WARNING: binding {args.host}: {who} can run models and read your run log. "
            "Use --host 127.0.0.1 to keep it local" + ("." if args.auth else ", or --auth."),
            file=sys.stderr,
        )
    from yilab.runlog.store import exit_cleanly_on_sigterm
    from yilab.service import Service
    from yilab.ui.app import build_app, launch_kwargs
    from yilab.ui.mcp_tools import require_mcp, serve_only_yilab_tools

    if args.mcp:
        require_mcp()

    exit_cleanly_on_sigterm()  # so `kill` leaves experiments.db complete (its WAL copied in)

    service = Service(args.db)
    service.start_worker()
    demo = build_app(service, default_model=args.model, mcp=args.mcp)
    print(f"yilab: run log {service.db_path.resolve()}", file=sys.stderr)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host,
        server_port=args.port,
        auth=args.auth,
        mcp_server=args.mcp,  # never from $GRADIO_MCP_SERVER: off unless asked for
        prevent_thread_lock=True,
        **launch_kwargs(),
    )
    if args.mcp:
        serve_only_yilab_tools(demo)
        print(f"yilab: MCP server {demo.local_url}gradio_api/mcp/", file=sys.stderr)
    demo.block_thread()


if __name__ == "__main__":
    main()
