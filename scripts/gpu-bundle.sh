#!/usr/bin/env bash
# Build everything the GPU machine runs here (release, -C target-cpu=x86-64-v3, `cuda` feature,
# cubins for sm_90 unless RSTARK_CUDA_ARCHS says otherwise) and stage it with a runner in a
# git-ignored folder small enough for the device tool's `carry` (default <repo>/gpu-bundle; the
# device tool sends the lead's checkout, so pass /work/main/gpu-bundle from another worktree):
# every GPU test binary (tests/gpu_*.rs), the rstark CLI, the soak and whole-proof benchmarks, the
# kernel benchmark, the guide's examples (docs/GUIDE.md), scale.sh (issue 8's at-scale CLI runs)
# and, when built (scripts/build-plonky3-anchor.sh), Plonky3's keccak prover with plonky3.sh
# (issue 9's side-by-side runs). On the GPU machine (run.sh is
# scripts/gpu-run.sh; its header lists the modes):
#     cd gpu-bundle && bash run.sh parity; bash run.sh scale quick; bash run.sh pack
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-$ROOT/gpu-bundle}"
cd "$ROOT"
# Travelling binaries: never target-cpu=native (the GPU machine's CPU differs from this one).
export RUSTFLAGS="-C target-cpu=x86-64-v3"
export CARGO_TARGET_DIR="$ROOT/target/gpu-bundle-build"
export RSTARK_CUDA_ARCHS="${RSTARK_CUDA_ARCHS:-90}"

cargo build --release --locked -p rstark-backend-cuda --features cuda --bin rstark-cuda-bench \
  --example gpu_soak --example gpu_prove_bench
cargo build --release --locked -p rstark-backend-multi --features cuda --example multi_bench
cargo build --release --locked -p rstark-cli --features rstark-cli/cuda --bin rstark
cargo build --release --locked -p rstark-examples --features cuda --example weighted_sum \
  --example published_airs
# Every GPU test target of the CUDA crates (tests/gpu_*.rs), built in release.
TESTS="$(cargo test --release --locked -p rstark-backend-cuda -p rstark-backend-multi \
  --features rstark-backend-cuda/cuda,rstark-backend-multi/cuda --tests --no-run \
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
cp "$CARGO_TARGET_DIR/release/examples/gpu_prove_bench" "$DEST/bin/prove-bench"
cp "$CARGO_TARGET_DIR/release/examples/multi_bench" "$DEST/bin/multi-bench"
cp "$CARGO_TARGET_DIR/release/rstark" "$DEST/bin/rstark"
cp "$CARGO_TARGET_DIR/release/examples/weighted_sum" "$CARGO_TARGET_DIR/release/examples/published_airs" "$DEST/bin/"
while read -r name exe; do cp "$exe" "$DEST/bin/$name"; done <<< "$TESTS"
strip "$DEST/bin/"* 2>/dev/null || true
# constraint kernels compiled ahead of time (scripts/jit-precompile.sh), when JIT_CACHE names them
if [ -n "${JIT_CACHE:-}" ] && [ -d "$JIT_CACHE" ]; then
  mkdir -p "$DEST/jit-cache" && cp "$JIT_CACHE"/*.cu "$JIT_CACHE"/*.cubin "$DEST/jit-cache/" 2>/dev/null || true
fi
git rev-parse HEAD > "$DEST/COMMIT" 2>/dev/null || true
# Plonky3, the bar of issue 9 (`run.sh plonky3`): built apart by scripts/build-plonky3-anchor.sh
# (its code is not ours and is never committed), staged when it is there.
P3="${PLONKY3_ANCHOR:-$ROOT/target/plonky3-anchor/target/release/plonky3-keccak-anchor}"
if [ -x "$P3" ]; then
  cp "$P3" "$DEST/bin/plonky3-keccak-anchor"
else
  echo "gpu-bundle: no Plonky3 anchor at $P3 (bash scripts/build-plonky3-anchor.sh builds it): run.sh plonky3 will say so"
fi
cp scripts/gpu-run.sh "$DEST/run.sh"
cp scripts/gpu-scale.sh "$DEST/scale.sh"
cp scripts/gpu-vs-plonky3.sh "$DEST/plonky3.sh"
chmod +x "$DEST/run.sh" "$DEST/scale.sh" "$DEST/plonky3.sh"
du -sh "$DEST"
ls -l "$DEST/bin"
