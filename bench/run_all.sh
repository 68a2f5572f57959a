#!/usr/bin/env bash
# Run every bench script in sequence and keep the output in bench/last-run.txt.
#   ./bench/run_all.sh          # sweep_bench.py with --skip-processes (the 9-process seed way is slow)
#   FULL=1 ./bench/run_all.sh   # sweep_bench.py in full
# Benchmarks print numbers; none of them pass or fail on a timing.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=bench/last-run.txt
export GRADIO_ANALYTICS_ENABLED=False

sweep_args=(--skip-processes)
[ "${FULL:-0}" = 1 ] && sweep_args=()

failed=()
bench() {
    local script=$1
    shift
    if [ ! -f "bench/$script" ]; then
        echo "== $script: not present, skipped"
        return
    fi
    echo "== $script $*"
    local start=$SECONDS
    if "$PY" "bench/$script" "$@"; then
        echo "== $script: $((SECONDS - start)) s"
    else
        echo "== $script: FAILED (exit $?) after $((SECONDS - start)) s"
        failed+=("$script")
    fi
    echo
}

{
    echo "yilab benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | xargs), $(uptime)"
    echo
    bench single_run.py
    bench sweep_bench.py "${sweep_args[@]}"
    bench store_bench.py
    bench browser_latency.py
    bench share_bench.py
    bench token_log_size.py
    bench convert_bench.py
    bench batch_invariance.py
    bench decode_floor.py
    if [ ${#failed[@]} -gt 0 ]; then
        echo "failed: ${failed[*]}"
    fi
} 2>&1 | tee "$OUT"
grep -q '^failed: ' "$OUT" && exit 1
exit 0
