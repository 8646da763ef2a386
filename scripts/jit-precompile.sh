#!/usr/bin/env bash
# Compiles the constraint kernels of a workload's tables ahead of time, with nvcc, into a
# directory the CUDA backend reads as its disk cache (RSTARK_KERNEL_CACHE; src/jit.rs). No GPU
# is needed. Large programs (Keccak-f: 35 787 instructions) take many minutes in NVVM, which is
# why `auto` mode compiles only small ones at run time.
# Usage: scripts/jit-precompile.sh WORKLOAD SIZE DIR [ARCH=sm_90] [extra nvcc flags...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORKLOAD="$1"; SIZE="$2"; DIR="$3"; ARCH="${4:-sm_90}"; shift $(( $# < 4 ? $# : 4 ))
NVCC="${NVCC:-$(bash "$ROOT/scripts/install-cuda-toolchain.sh" 2>/dev/null | tail -n 1)}"
mkdir -p "$DIR"
cargo run -q --release -p rstark-backend-cuda --example jit_source -- "$WORKLOAD" "$SIZE" "$DIR" "$ARCH" |
while read -r stem table instructions; do
  if [ -f "$DIR/$stem.cubin" ]; then echo "$table: cached ($stem)"; continue; fi
  start=$(date +%s)
  # same options as the run-time compiler (src/jit.rs), plus the caller's
  "$NVCC" -cubin -arch="$ARCH" -std=c++17 -diag-suppress 177,550 "$@" -o "$DIR/.tmp-$stem.cubin" "$DIR/$stem.cu"
  mv "$DIR/.tmp-$stem.cubin" "$DIR/$stem.cubin"
  echo "$table: $instructions instructions compiled in $(( $(date +%s) - start )) s ($stem)"
done
