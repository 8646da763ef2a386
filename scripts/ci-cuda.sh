#!/usr/bin/env bash
# CI for the CUDA backend (no GPU): install the toolchain if no nvcc is found, check the kernel
# helpers on the CPU, then compile the `cuda` feature (kernels included) with clippy and build
# the GPU test binaries without running them (they need a GPU; see docs/GPU.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

have_nvcc() {
  [ -n "${NVCC:-}" ] && [ -x "$NVCC" ] && return 0
  for d in "${CUDA_HOME:-}" "${CUDA_PATH:-}"; do [ -n "$d" ] && [ -x "$d/bin/nvcc" ] && return 0; done
  command -v nvcc >/dev/null 2>&1 && return 0
  ls "${RSTARK_CUDA_TOOLCHAIN:-$ROOT/target/cuda-toolchain}"/lib/python3*/site-packages/nvidia/cu*/bin/nvcc >/dev/null 2>&1 && return 0
  ls /opt/nvcc/lib/python3*/site-packages/nvidia/cu*/bin/nvcc >/dev/null 2>&1 && return 0
  return 1
}
if ! have_nvcc; then
  bash scripts/install-cuda-toolchain.sh >/dev/null
fi

echo "-- kernel helpers on the CPU (kernels/selfcheck.cpp)"
SELF="$ROOT/target/cuda-selfcheck"
mkdir -p "$(dirname "$SELF")"
"${CXX:-g++}" -O2 -std=c++17 -Wall -o "$SELF" crates/backend-cuda/kernels/selfcheck.cpp
"$SELF"

echo "-- clippy, cuda feature (compiles kernels/*.cu)"
cargo clippy -p rstark-backend-cuda --features cuda --all-targets --locked -- -D warnings
cargo clippy -p rstark-cli --features cuda --all-targets --locked -- -D warnings
cargo clippy -p rstark-backend-multi --features cuda --all-targets --locked -- -D warnings
cargo clippy -p rstark-examples --features cuda --all-targets --locked -- -D warnings

echo "-- GPU test and bench binaries (built, not run: no GPU in CI)"
cargo test -p rstark-backend-cuda --features cuda --release --locked --no-run
echo "-- the CUDA crate's unit tests that need no GPU (plans, limits, host-side checks)"
cargo test -p rstark-backend-cuda --features cuda --release --locked --lib
cargo test -p rstark-backend-multi --features cuda --release --locked --no-run
