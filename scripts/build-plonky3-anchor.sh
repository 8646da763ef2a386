#!/usr/bin/env bash
# Builds the Plonky3 anchor (../shared/anchors/plonky3-keccak: Plonky3 0.8.0's own Goldilocks +
# Keccak configuration proving p3-keccak-air, the bar of issue 9) for the GPU machine's CPU
# (-C target-cpu=x86-64-v3) in the git-ignored target/plonky3-anchor, where
# scripts/gpu-bundle.sh picks it up. Its code is not part of this repository and is never
# committed. Crates come from the registry. Usage (from any worktree; the default source is the
# sibling shared/ folder of the repository):
#     bash scripts/build-plonky3-anchor.sh [SOURCE_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="${1:-$ROOT/../shared/anchors/plonky3-keccak}"
DEST="$ROOT/target/plonky3-anchor"
[ -f "$SRC/Cargo.toml" ] || { echo "no Plonky3 anchor at $SRC" >&2; exit 1; }
mkdir -p "$DEST"
cp -r "$SRC/." "$DEST/"
chmod -R u+w "$DEST"
cd "$DEST"
RUSTFLAGS="-C target-cpu=x86-64-v3" CARGO_TARGET_DIR="$DEST/target" cargo build --release --locked
ls -l "$DEST/target/release/plonky3-keccak-anchor"
