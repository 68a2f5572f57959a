"""What token logs cost on disk: bytes of ``run_tokens.data`` per 1,000 generated tokens.

    python bench/token_log_size.py [--model SPEC] [--max-tokens 128] [--top-k 0,5,20]

One sweep per ``top_logprobs`` value (3 temperatures × 3 seeds, batch engine) on the default
model; each prints the stored size per 1,000 tokens, what the blob's JSON header (token
pieces included) and columns take before compression, what another layout of the same values
would take (measured here, not used by yilab), and the UTF-8 output text the tokens make, for
scale:

- ``lean``: the drawn token's id and text left out where they are derivable (the id is the
  first alternative at temperature 0 and often otherwise; the text is the token's piece
  except for byte fragments).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from yilab.generation.fastpath import reexec_with_fast_blas  # noqa: E402

TEMPS = (0.2, 0.7, 1.0)
SEEDS = (1, 2, 3)
PROMPT = "Write a long story about a lighthouse keeper who finds a letter in a bottle."


def sweep_blobs(service, model: str | None, top_k: int, max_tokens: int) -> list[bytes]:
    """The stored token logs of one 3 × 3 sweep recording ``top_k`` alternatives."""
    from yilab.experiment.sweep import SweepSpec

    spec = SweepSpec(
        prompt=PROMPT,
        models=(model or "",),
        temperatures=TEMPS,
        seeds=SEEDS,
        max_tokens=(max_tokens,),
        top_logprobs=top_k,
        engine="batch",
    )
    _, runs = service.run_sweep(spec)
    return list(service.store.get_token_logs([r["id"] for r in runs]).values())


def split(blob: bytes) -> tuple[bytes, bytes]:
    """A blob's JSON header and its columns, uncompressed (the layout of ``TokenLog.to_blob``)."""
    payload = zlib.decompress(blob[4:])
    (size,) = struct.unpack("<I", payload[:4])
    return payload[4 : 4 + size], payload[4 + size :]


def lean_size(blob: bytes) -> int:
    """The ``lean`` layout's size: see the module's docstring."""
    import numpy as np

    from yilab.experiment.token_log import TokenLog

    log = TokenLog.from_blob(blob)
    header, _ = split(blob)
    rows = []
    for step in log.steps:
        derived_id = bool(step.top) and step.top[0][0] == step.token
        derived_text = step.text == log.piece(step.token)
        rows.append(
            (
                b"" if derived_id else struct.pack("<I", step.token),
                b"" if derived_text else step.text.encode("utf-8", "surrogatepass"),
                np.array([step.logprob or 0, step.raw_logprob or 0], "<f4").tobytes(),
                np.array([step.entropy or 0, *(lp for _, lp in step.top)], "<f2").tobytes(),
                np.array([t for t, _ in step.top], "<u2").tobytes(),
                np.array(step.turn_end, "<f2").tobytes(),
                bytes([derived_id | derived_text << 1]),
            )
        )
    columns = [b"".join(row[i] for row in rows) for i in range(7)]
    return 8 + len(zlib.compress(header + b"".join(columns), 9))


def report(top_k: int, blobs: list[bytes]) -> None:
    from yilab.experiment.token_log import TokenLog

    logs = [TokenLog.from_blob(b) for b in blobs]
    tokens = sum(len(log.steps) for log in logs)
    text = sum(len(log.text.encode("utf-8", "surrogatepass")) for log in logs)
    stored = sum(len(b) for b in blobs)
    headers = sum(len(split(b)[0]) for b in blobs)
    columns = sum(len(split(b)[1]) for b in blobs)
    lean = sum(lean_size(b) for b in blobs)

    def per_k(n: int) -> str:
        return f"{1000 * n / tokens:>9,.0f}"

    print(
        f"k={top_k:<3} {len(blobs)} runs {tokens:>5} tokens | stored {per_k(stored)} B/1k tok "
        f"(uncompressed: header {per_k(headers)}, columns {per_k(columns)}) | "
        f"lean {per_k(lean)} | output text {per_k(text)}"
    )


def main() -> None:
    reexec_with_fast_blas()
    args = parse_args()
    from yilab.service import Service

    print(json.dumps({"model": args.model or "default", "max_tokens": args.max_tokens}))
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp) / "bench.db")
        try:
            for top_k in args.top_k:
                report(top_k, sweep_blobs(service, args.model, top_k, args.max_tokens))
        finally:
            service.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model spec (default: the default model)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument(
        "--top-k",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[0, 5, 20],
        help="alternatives per token, e.g. 0,5,20",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
