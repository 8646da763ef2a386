#!/usr/bin/env bash
# rstark GPU bundle runner (staged by scripts/gpu-bundle.sh as run.sh). Logs go to
# $LOGS (default /tmp/rstark-logs), one file per step, and a one-line-per-step summary.txt;
# `pack` puts them all in $OUT/logs.tgz (the device tool returns at most 8 files).
#   bash run.sh parity [FILTER]        every GPU test binary (tests/gpu_*.rs), or those matching
#   bash run.sh test NAME [ARGS...]    one test binary, e.g. test gpu_scale vm_2_20_matches_cpu
#   bash run.sh soak [ARGS...]         50 proofs in one process (examples/gpu_soak)
#   bash run.sh scale [smoke|budget|quick|all]  issue 8's at-scale CLI runs (scale.sh)
#   bash run.sh bench [ARGS...]        whole proofs CPU vs CUDA (examples/gpu_prove_bench)
#   bash run.sh kernels [ARGS...]      kernel benchmark and ceilings (rstark-cuda-bench)
#   bash run.sh examples               the guide's examples (docs/GUIDE.md) on CPU and CUDA, the
#                                      proofs compared byte for byte
#   bash run.sh multi [quick|ARGS...]  several devices (contexts of one GPU, or GPUs listed in
#                                      --configs): tests/gpu_multi.rs, then examples/multi_bench
#                                      (1 vs N devices, placement, bytes moved, timelines) and
#                                      the CLI's --devices
#   bash run.sh jit [W:N ...]          constraint kernels compiled per program (tests/gpu_jit.rs,
#                                      keccak's compiled kernel timed against the interpreter, and
#                                      whole-proof benches interpreter/jit A B B A, default
#                                      "keccak:2730 vm:1048576")
#   bash run.sh timeline               keccak 2730 timelines (a cold prove, the warm last run of a
#                                      bench) with summaries, and the timeline's cost (off-on-on-off)
#   bash run.sh plonky3 [quick|big|all]  Plonky3 vs rstark CPU and CUDA, keccak, one run, A B B A
#                                      (plonky3.sh; quick: 2730, 5461 perms ~1.5 min; big: 21845,
#                                      43690 vs CUDA ~2.5 min; all ~4 min)
#   bash run.sh pack                   logs -> $OUT/logs.tgz
# Each step runs under `timeout ${STEP_S:-300}`.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$PWD/gpu-logs}"
LOGS="${LOGS:-/tmp/rstark-logs}"
mkdir -p "$OUT" "$LOGS"
MODE="${1:-parity}"
shift || true
rc=0
[ -f "$LOGS/machine.txt" ] || { echo "commit $(cat "$HERE/COMMIT" 2>/dev/null)"; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv; echo "$(nproc) cores"; free -g; } > "$LOGS/machine.txt" 2>&1

# libnvrtc (constraint kernels compiled at run time, src/jit.rs): the CUDA toolkit's, when the
# loader does not find one by itself.
if ! ldconfig -p 2>/dev/null | grep -q 'libnvrtc\.so '; then
  for d in /usr/local/cuda/lib64 /usr/local/cuda*/targets/x86_64-linux/lib; do
    [ -e "$d/libnvrtc.so" ] && { export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; break; }
  done
fi
# constraint kernels compiled ahead of time (scripts/jit-precompile.sh), when the bundle has them
[ -d "$HERE/jit-cache" ] && export RSTARK_KERNEL_CACHE="${RSTARK_KERNEL_CACHE:-$HERE/jit-cache}"

# step NAME CMD...: runs CMD with its log in $LOGS/NAME.log, records a summary line.
step() {
  local name="$1"; shift
  local t0=$SECONDS
  timeout "${STEP_S:-300}" "$@" > "$LOGS/$name.log" 2>&1
  local r=$?
  local line="$name: exit $r in $((SECONDS - t0)) s"
  local results
  results="$(grep -E '^test result:|passed;|FAILED|panicked' "$LOGS/$name.log" | tail -3 | tr '\n' ' ')"
  [ -n "$results" ] && line="$line | $results"
  echo "$line" | tee -a "$LOGS/summary.txt"
  [ $r -ne 0 ] && { grep -E 'panicked|FAILED|error' "$LOGS/$name.log" | head -8; tail -5 "$LOGS/$name.log"; }
  rc=$(( rc | (r != 0) ))
}

case "$MODE" in
  parity)
    for t in "$HERE"/bin/gpu_*; do
      name="$(basename "$t")"
      [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]] && continue
      step "$name" "$t" --test-threads=1 --nocapture
    done ;;
  test)
    name="${1:?usage: run.sh test NAME [ARGS...]}"; shift
    step "$name${1:+-$1}" "$HERE/bin/$name" --test-threads=1 --nocapture "$@" ;;
  soak) step "soak${1:+-$*}" "$HERE/bin/rstark-gpu-soak" --out "$LOGS/soak${1:+-${*// /_}}.md" "$@" ;;
  scale) OUT="$LOGS" step "scale-${1:-all}" bash "$HERE/scale.sh" "${1:-all}" ;;
  bench) step bench "$HERE/bin/prove-bench" --out "$LOGS/prove_bench.md" "$@" ;;
  kernels) step kernels "$HERE/bin/rstark-cuda-bench" --out "$LOGS/kernels.md" "$@" ;;
  examples)
    step examples-weighted-sum-16 "$HERE/bin/weighted_sum" --backend both --size 16
    step examples-weighted-sum-18-default "$HERE/bin/weighted_sum" --backend both --size 18 --preset default
    step examples-published-10 "$HERE/bin/published_airs" --backend both --size 10
    cat "$LOGS"/examples-*.log ;;
  multi)
    step gpu_multi "$HERE/bin/gpu_multi" --test-threads=1 --nocapture
    if [ "${1:-}" = quick ]; then
      step multi-bench-quick "$HERE/bin/multi-bench" --size 170 --preset fast-test --runs 2 --configs 0/0,0 --timelines "$LOGS" --out "$LOGS/multi_bench_quick.md"
    else
      step multi-bench "$HERE/bin/multi-bench" --out "$LOGS/multi_bench.md" --timelines "$LOGS" "$@"
    fi
    step multi-cli "$HERE/bin/rstark" prove -w multi -s 170 --preset fast-test --backend cuda --devices 0,0 --out /tmp/multi170.bin
    step multi-cli-verify "$HERE/bin/rstark" verify /tmp/multi170.bin ;;
  jit)
    step gpu_jit "$HERE/bin/gpu_jit" --test-threads=1 --nocapture
    # Keccak-f's kernel takes many minutes to compile: only from a staged cache
    [ -d "$HERE/jit-cache" ] && step gpu_jit-keccak-timing "$HERE/bin/gpu_jit" --test-threads=1 --nocapture --ignored keccak_compiled_timing
    # whole proofs, interpreter vs compiled kernels, A B B A (WORKLOAD:SIZE; keccak's kernel from
    # the bundle's cache)
    for ws in ${1:-keccak:2730 vm:1048576}; do
      w="${ws%%:*}"; n="${ws##*:}"; i=0
      for k in interpreter jit jit interpreter; do
        i=$((i + 1))
        RSTARK_CONSTRAINT_KERNEL=$k step "jit-bench-$w$n-$i-$k" "$HERE/bin/rstark" bench -w "$w" -s "$n" --runs 3 --backend cuda
        grep -iE 'prove|composition' "$LOGS/jit-bench-$w$n-$i-$k.log" | head -4
      done
    done ;;
  timeline)
    R="$HERE/bin/rstark"
    step timeline-prove "$R" prove -w keccak -s 2730 --backend cuda --out /tmp/keccak2730.bin --timeline "$LOGS/timeline-keccak2730-prove.json"
    step timeline-bench "$R" bench -w keccak -s 2730 --runs 3 --backend cuda --timeline "$LOGS/timeline-keccak2730-bench.json"
    for f in prove bench; do
      "$R" timeline summarize "$LOGS/timeline-keccak2730-$f.json" --top 15 > "$LOGS/timeline-keccak2730-$f-summary.txt" 2>&1
    done
    step timeline-overhead "$R" timeline overhead -w keccak -s 2730 --backend cuda --rounds 5
    cat "$LOGS/timeline-keccak2730-bench-summary.txt" "$LOGS/timeline-overhead.log" ;;
  plonky3) OUT="$LOGS" STEP_S="${STEP_S:-560}" step "plonky3-${1:-quick}" bash "$HERE/plonky3.sh" "${1:-quick}"
    cat "$LOGS/plonky3.md" 2>/dev/null ;;
  pack) tar czf "$OUT/logs.tgz" -C "$(dirname "$LOGS")" "$(basename "$LOGS")"; cp "$LOGS/summary.txt" "$OUT/" 2>/dev/null; cat "$LOGS/summary.txt" ;;
  *) echo "unknown mode $MODE"; exit 2 ;;
esac
exit $rc
