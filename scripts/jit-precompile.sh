#!/usr/bin/env bash
# Compiles the constraint kernels of a workload's tables ahead of time, with nvcc, into a
# directory the CUDA backend reads as its disk cache (RSTARK_KERNEL_CACHE; src/jit.rs). No GPU
# is needed. A large program (Keccak-f: 35 787 instructions) is compiled as slices of
# RSTARK_JIT_SLICE_INSTRUCTIONS (default 512), one translation unit each, JOBS at a time
# (default: every core); Keccak-f's 86 slices take 5-15 s each in NVVM, which is why `auto`
# mode compiles only small programs at run time. The kernel's shape (RSTARK_JIT_MIN_BLOCKS,
# RSTARK_JIT_MAX_LIVE) must be the one the prover will use: it is part of the source, the key.
# Usage: scripts/jit-precompile.sh WORKLOAD SIZE DIR [ARCH=sm_90] [extra nvcc flags...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORKLOAD="$1"; SIZE="$2"; DIR="$3"; ARCH="${4:-sm_90}"; shift $(( $# < 4 ? $# : 4 ))
NVCC="${NVCC:-$(bash "$ROOT/scripts/install-cuda-toolchain.sh" 2>/dev/null | tail -n 1)}"
JOBS="${JOBS:-$(nproc)}"
mkdir -p "$DIR"
export NVCC DIR ARCH
export EXTRA_FLAGS="$*"
compile_one() {
  local stem="$1" table="$2" instructions="$3" start
  if [ -f "$DIR/$stem.cubin" ]; then echo "$table: cached ($stem)"; return 0; fi
  start=$(date +%s)
  # same options as the run-time compiler (src/jit.rs), plus the caller's
  # shellcheck disable=SC2086
  "$NVCC" -cubin -arch="$ARCH" -std=c++17 -diag-suppress 177,550 $EXTRA_FLAGS \
    -o "$DIR/.tmp-$stem.cubin" "$DIR/$stem.cu"
  mv "$DIR/.tmp-$stem.cubin" "$DIR/$stem.cubin"
  echo "$table: $instructions instructions compiled in $(( $(date +%s) - start )) s ($stem)"
}
export -f compile_one
cargo run -q --release -p rstark-backend-cuda --example jit_source -- "$WORKLOAD" "$SIZE" "$DIR" "$ARCH" |
  xargs -P "$JOBS" -L 1 bash -c 'compile_one "$@"' _
