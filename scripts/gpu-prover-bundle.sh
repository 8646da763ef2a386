#!/usr/bin/env bash
# Build the CUDA prover backend's whole-proof tests (tests/gpu_backend.rs, tests/gpu_timeline.rs),
# benchmark (examples/gpu_prove_bench.rs) and the `rstark` CLI with the CUDA backend for the GPU
# machine (release, -C target-cpu=x86-64-v3, sm_90 by default) and stage them with runners in
# <dest>/prover (default /work/main/gpu-bundle: the device tool sends the lead's checkout; pass
# carry ["gpu-bundle"]). On the device:
#     cd gpu-bundle/prover && bash run.sh        # logs: $OUT/gpu_backend.log, prove_bench.{log,md}
#     cd gpu-bundle/prover && bash timeline.sh   # $OUT/timeline-*: tests, keccak 2730 timelines, overhead
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-/work/main/gpu-bundle}/prover"
cd "$ROOT"
export RUSTFLAGS="-C target-cpu=x86-64-v3"
export CARGO_TARGET_DIR="$ROOT/target/gpu-bundle-build"
export RSTARK_CUDA_ARCHS="${RSTARK_CUDA_ARCHS:-90}"
cargo build --release --locked -p rstark-backend-cuda --features cuda --example gpu_prove_bench
cargo build --release --locked -p rstark-cli --features cuda --bin rstark
test_binary() {
  cargo test --release --locked -p rstark-backend-cuda --features cuda --test "$1" --no-run 2>&1 \
    | grep -o "target/gpu-bundle-build/release/deps/$1-[a-f0-9]*" | head -1
}
TEST="$(test_binary gpu_backend)"
TIMELINE_TEST="$(test_binary gpu_timeline)"
[ -n "$TEST" ] && [ -n "$TIMELINE_TEST" ] || { echo "gpu-prover-bundle: test binary not found" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
cp "$TEST" "$DEST/gpu_backend"
cp "$TIMELINE_TEST" "$DEST/gpu_timeline"
cp "$CARGO_TARGET_DIR/release/examples/gpu_prove_bench" "$CARGO_TARGET_DIR/release/rstark" "$DEST/"
strip "$DEST/gpu_backend" "$DEST/gpu_timeline" "$DEST/gpu_prove_bench" "$DEST/rstark" 2>/dev/null || true
git rev-parse HEAD > "$DEST/COMMIT" 2>/dev/null || true
cat > "$DEST/run.sh" <<'RUN'
#!/usr/bin/env bash
# CUDA backend: whole-proof parity tests, then the CPU-vs-CUDA proving benchmark. Logs under $OUT.
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$PWD/gpu-logs}"; mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv; nproc; } > "$OUT/machine.txt" 2>&1
timeout ${TEST_S:-200} "$HERE/gpu_backend" --test-threads=1 --nocapture > "$OUT/gpu_backend.log" 2>&1; echo "gpu_backend exit $?" >> "$OUT/gpu_backend.log"
tail -30 "$OUT/gpu_backend.log"
timeout ${BENCH_S:-360} "$HERE/gpu_prove_bench" ${BENCH_ARGS:-} --out "$OUT/prove_bench.md" > "$OUT/prove_bench.log" 2>&1; echo "bench exit $?" >> "$OUT/prove_bench.log"
tail -40 "$OUT/prove_bench.log"
RUN
chmod +x "$DEST/run.sh"
cat > "$DEST/timeline.sh" <<'RUN'
#!/usr/bin/env bash
# Timelines on the GPU (issue 10): the CUDA timeline tests, keccak 2730 timelines (a cold
# `rstark prove`, the warm last run of `rstark bench`) with their summaries, and the timeline's
# cost (off-on-on-off blocks in one process). Files under $OUT.
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$PWD/gpu-logs}"; mkdir -p "$OUT"
R="$HERE/rstark"
timeout 120 "$HERE/gpu_timeline" --test-threads=1 --nocapture > "$OUT/timeline-tests.log" 2>&1; echo "gpu_timeline exit $?" >> "$OUT/timeline-tests.log"
tail -5 "$OUT/timeline-tests.log"
timeout 60 "$R" prove -w keccak -s 2730 --backend cuda --out "$OUT/keccak2730.bin" --timeline "$OUT/timeline-keccak2730-prove.json" > "$OUT/timeline-prove.txt" 2>&1; echo "prove exit $?" >> "$OUT/timeline-prove.txt"
timeout 90 "$R" bench -w keccak -s 2730 --runs 3 --backend cuda --timeline "$OUT/timeline-keccak2730-bench.json" > "$OUT/timeline-bench.txt" 2>&1; echo "bench exit $?" >> "$OUT/timeline-bench.txt"
for f in prove bench; do
  "$R" timeline summarize "$OUT/timeline-keccak2730-$f.json" --top 15 > "$OUT/timeline-keccak2730-$f-summary.txt" 2>&1
done
timeout 180 "$R" timeline overhead -w keccak -s 2730 --backend cuda --rounds 5 > "$OUT/timeline-overhead.txt" 2>&1; echo "overhead exit $?" >> "$OUT/timeline-overhead.txt"
cat "$OUT/timeline-prove.txt" "$OUT/timeline-keccak2730-bench-summary.txt" "$OUT/timeline-overhead.txt"
gzip -kf "$OUT"/timeline-keccak2730-*.json
RUN
chmod +x "$DEST/timeline.sh"
du -sh "$DEST"
