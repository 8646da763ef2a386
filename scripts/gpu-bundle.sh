#!/usr/bin/env bash
# Build the GPU parity tests and the kernel benchmark here (release, -C target-cpu=x86-64-v3,
# `cuda` feature) and stage them with a runner in a git-ignored folder small enough for the
# device tool's `carry` (default <repo>/gpu-bundle; the device tool sends the lead's checkout, so
# pass /work/main/gpu-bundle from another worktree). On the GPU machine:
#     bash gpu-bundle/run.sh [all|parity|bench|quick]      # logs go to $OUT (or ./gpu-logs)
#     bash gpu-bundle/run.sh test gpu_scale [FILTER...]   # one test binary (args passed on)
#     bash gpu-bundle/run.sh soak [--vram-budget BYTES]   # examples/gpu_soak -> soak.log, soak.md
# "parity" runs every GPU test binary of the crate (tests/gpu_*.rs).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-$ROOT/gpu-bundle}"
cd "$ROOT"
# Travelling binaries: never target-cpu=native (the GPU machine's CPU differs from this one).
export RUSTFLAGS="-C target-cpu=x86-64-v3"
export CARGO_TARGET_DIR="$ROOT/target/gpu-bundle-build"

cargo build --release --locked -p rstark-backend-cuda --features cuda --bin rstark-cuda-bench \
  --example gpu_soak
# Every GPU test target of the crate (tests/gpu_*.rs), built in release.
TESTS="$(cargo test --release --locked -p rstark-backend-cuda --features cuda --tests --no-run \
  --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and t.get("kind") == ["test"] and t["name"].startswith("gpu_") and m.get("executable"):
        print(t["name"] + " " + m["executable"])')"
[ -n "$TESTS" ] || { echo "gpu-bundle: no GPU test binaries found" >&2; exit 1; }

rm -rf "$DEST"
mkdir -p "$DEST/bin"
cp "$CARGO_TARGET_DIR/release/rstark-cuda-bench" "$DEST/bin/"
cp "$CARGO_TARGET_DIR/release/examples/gpu_soak" "$DEST/bin/rstark-gpu-soak"  # not gpu_*: "parity" runs those
while read -r name exe; do cp "$exe" "$DEST/bin/$name"; done <<< "$TESTS"
strip "$DEST/bin/"* 2>/dev/null || true
git rev-parse HEAD > "$DEST/COMMIT" 2>/dev/null || true
cat > "$DEST/run.sh" <<'RUN'
#!/usr/bin/env bash
# rstark GPU bundle runner. Usage: bash run.sh [all|parity|bench|quick]
#   bash run.sh test NAME [ARGS...]   one test binary, e.g. test gpu_scale vm_2_20_matches_cpu
#   bash run.sh soak [ARGS...]        the soak run (50 proofs in one process)
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$PWD/gpu-logs}"
mkdir -p "$OUT"
MODE="${1:-all}"
rc=0
{ echo "commit $(cat "$HERE/COMMIT" 2>/dev/null)"; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv; nproc; } > "$OUT/machine.txt" 2>&1
if [ "$MODE" = all ] || [ "$MODE" = parity ]; then
  # every GPU test binary: gpu_parity -> parity.log, gpu_X -> gpu_X.log
  for t in "$HERE"/bin/gpu_*; do
    name="$(basename "$t")"
    log="$OUT/$name.log"; [ "$name" = gpu_parity ] && log="$OUT/parity.log"
    "$t" --test-threads=1 --nocapture 2>&1 | tee "$log"
    rc=$(( rc | PIPESTATUS[0] ))
  done
fi
if [ "$MODE" = all ] || [ "$MODE" = bench ]; then
  "$HERE/bin/rstark-cuda-bench" --out "$OUT/bench.md" 2>&1 | tee "$OUT/bench.log"
  rc=$(( rc | PIPESTATUS[0] ))
fi
if [ "$MODE" = quick ]; then
  "$HERE/bin/rstark-cuda-bench" --quick --out "$OUT/bench.md" 2>&1 | tee "$OUT/bench.log"
  rc=$(( rc | PIPESTATUS[0] ))
fi
if [ "$MODE" = test ]; then
  name="${2:?usage: run.sh test NAME [ARGS...]}"
  "$HERE/bin/$name" --test-threads=1 --nocapture "${@:3}" 2>&1 | tee "$OUT/$name.log"
  rc=$(( rc | PIPESTATUS[0] ))
fi
if [ "$MODE" = soak ]; then
  "$HERE/bin/rstark-gpu-soak" --out "$OUT/soak.md" "${@:2}" 2>&1 | tee "$OUT/soak.log"
  rc=$(( rc | PIPESTATUS[0] ))
fi
echo "run.sh: exit $rc"
exit $rc
RUN
chmod +x "$DEST/run.sh"
du -sh "$DEST"
ls -l "$DEST/bin"
