#!/usr/bin/env bash
# Build the CUDA prover backend's whole-proof tests (tests/gpu_backend.rs) and benchmark
# (examples/gpu_prove_bench.rs) for the GPU machine (release, -C target-cpu=x86-64-v3, sm_90 by
# default) and stage them with a runner in <dest>/prover (default /work/main/gpu-bundle: the
# device tool sends the lead's checkout; pass carry ["gpu-bundle"]). On the device:
#     cd gpu-bundle/prover && bash run.sh        # logs: $OUT/gpu_backend.log, prove_bench.{log,md}
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-/work/main/gpu-bundle}/prover"
cd "$ROOT"
export RUSTFLAGS="-C target-cpu=x86-64-v3"
export CARGO_TARGET_DIR="$ROOT/target/gpu-bundle-build"
export RSTARK_CUDA_ARCHS="${RSTARK_CUDA_ARCHS:-90}"
cargo build --release --locked -p rstark-backend-cuda --features cuda --example gpu_prove_bench
TEST="$(cargo test --release --locked -p rstark-backend-cuda --features cuda --test gpu_backend \
  --no-run 2>&1 | grep -o 'target/gpu-bundle-build/release/deps/gpu_backend-[a-f0-9]*' | head -1)"
[ -n "$TEST" ] || { echo "gpu-prover-bundle: test binary not found" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
cp "$TEST" "$DEST/gpu_backend"
cp "$CARGO_TARGET_DIR/release/examples/gpu_prove_bench" "$DEST/"
strip "$DEST/gpu_backend" "$DEST/gpu_prove_bench" 2>/dev/null || true
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
du -sh "$DEST"
