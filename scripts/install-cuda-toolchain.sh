#!/usr/bin/env bash
# Install the CUDA compiler rstark's `cuda` feature needs, from PyPI, into a virtualenv
# (default: <repo>/target/cuda-toolchain, or $RSTARK_CUDA_TOOLCHAIN). No GPU or driver is needed
# to build. crates/backend-cuda/build.rs finds nvcc there by itself; prints nvcc's path last.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${RSTARK_CUDA_TOOLCHAIN:-$ROOT/target/cuda-toolchain}"
# Pinned: the cubins these build run on drivers >= 13.0 (CUDA minor-version compatibility).
PKGS=(nvidia-cuda-nvcc==13.5.37 nvidia-cuda-crt==13.5.37 nvidia-cuda-runtime==13.5.37)

find_nvcc() { ls "$VENV"/lib/python3*/site-packages/nvidia/cu*/bin/nvcc 2>/dev/null | sort | tail -n 1; }

if [ -z "$(find_nvcc)" ]; then
  echo "installing ${PKGS[*]} into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PKGS[@]}"
fi
NVCC="$(find_nvcc)"
if [ -z "$NVCC" ]; then
  echo "install-cuda-toolchain: nvcc not found under $VENV after installing" >&2
  exit 1
fi
"$NVCC" --version | tail -n 2 >&2
echo "$NVCC"
