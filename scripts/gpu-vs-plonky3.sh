#!/usr/bin/env bash
# rstark against Plonky3 on the GPU machine, in ONE run (issue 9): Plonky3's own Goldilocks +
# Keccak configuration proving p3-keccak-air (bin/plonky3-keccak-anchor, built by
# scripts/build-plonky3-anchor.sh, staged by scripts/gpu-bundle.sh) against `rstark bench -w
# keccak` on the CPU backend and on the CUDA backend (bin/rstark). Blocks alternate A B B A for
# every pair (order per size: Plonky3, CPU, CUDA, CUDA, CPU, Plonky3), each block one process with
# $RUNS proofs; a contender's figure is the median of all its runs at that size.
# What is timed: prove seconds only, on both sides. Plonky3: `prove` (its trace generation
# excluded). rstark: `rstark bench`'s prove time, which has NO witness check (the CLI's `prove`
# checks the witness; bench does not, as Plonky3's prove does not) and excludes the workload
# build (host trace, or for CUDA only the 200-byte inputs: the device generates the trace inside
# the proof's commit phase). Every proof of both is verified (Plonky3 prints ok=, bench verifies).
#     bash plonky3.sh [quick|big|all]
#   quick  2730 and 5461 permutations (2^16, 2^17 rows): Plonky3, rstark CPU, rstark CUDA
#   big    21845 and 43690 (2^19, 2^20 rows): Plonky3 and rstark CUDA (the CPU backend too if
#          BACKENDS says so); Plonky3 runs $BIG_RUNS proofs per block (one is ~18 s / ~40 s)
#   all    quick then big
# Env: SIZES (overrides the mode's sizes), BACKENDS (default "cpu cuda" for quick, "cuda" for
# big), RUNS (rstark runs and quick Plonky3 runs per block, default 3), BIG_RUNS (default 1).
# Writes $OUT/plonky3.jsonl (one line per block) and $OUT/plonky3.md (the table).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RSTARK="$HERE/bin/rstark"
P3="$HERE/bin/plonky3-keccak-anchor"
OUT="${OUT:-$PWD/gpu-logs}"
MODE="${1:-quick}"
RUNS="${RUNS:-3}"
BIG_RUNS="${BIG_RUNS:-1}"
mkdir -p "$OUT"
JSONL="$OUT/plonky3.jsonl"
MD="$OUT/plonky3.md"
[ -x "$P3" ] || { echo "no $P3: build it with scripts/build-plonky3-anchor.sh, then stage with scripts/gpu-bundle.sh"; exit 2; }
[ -x "$RSTARK" ] || { echo "no $RSTARK"; exit 2; }
: > "$JSONL"
fail=0

# block CONTENDER SIZE RUNS: one process, RUNS proofs; appends {contender, size, prove_s[], bytes, ok}.
block() {
  local who="$1" n="$2" runs="$3" t0 rc out
  t0=$(date +%s.%N)
  if [ "$who" = plonky3 ]; then
    out="$(NUM_HASHES="$n" RUNS="$runs" "$P3" 2>&1)"; rc=$?
  else
    out="$("$RSTARK" bench -w keccak -s "$n" --runs "$runs" --backend "$who" --json 2>/dev/null)"; rc=$?
  fi
  python3 - "$who" "$n" "$rc" "$t0" "$(date +%s.%N)" "$out" >> "$JSONL" <<'PY'
import json, re, sys
who, n, rc, t0, t1, out = sys.argv[1:]
rec = {"contender": who, "size": int(n), "rc": int(rc), "wall_s": round(float(t1) - float(t0), 2)}
if who == "plonky3":
    runs = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in out.splitlines() if l.startswith("plonky3 keccak")]
    rec["prove_s"] = [float(r["prove_s"]) for r in runs]
    rec["proof_bytes"] = int(runs[-1]["proof_bytes"]) if runs else None
    rec["ok"] = bool(runs) and all(r.get("ok") == "true" for r in runs)
else:
    try:
        rep = json.loads(out)
        rec["prove_s"] = rep["prove_seconds"]
        rec["proof_bytes"] = rep["proof_bytes"]
        rec["ok"] = True  # bench verifies every proof and fails otherwise
    except Exception:
        rec["prove_s"], rec["proof_bytes"], rec["ok"] = [], None, False
if not rec["ok"] or int(rc) != 0:
    rec["output_tail"] = out[-1500:]
print(json.dumps(rec))
print(f"{who:8} {n:>6}  prove_s={rec['prove_s']}  ok={rec['ok']}  ({rec['wall_s']} s)", file=sys.stderr)
PY
  [ "$rc" -eq 0 ] || fail=1
}

# size N BACKENDS P3_RUNS: Plonky3, the backends in order, the backends reversed, Plonky3.
size() {
  local n="$1" backends="$2" p3runs="$3" rev="" b
  for b in $backends; do rev="$b $rev"; done
  block plonky3 "$n" "$p3runs"
  for b in $backends $rev; do block "$b" "$n" "$RUNS"; done
  block plonky3 "$n" "$p3runs"
}

echo "commit $(cat "$HERE/COMMIT" 2>/dev/null); $(nproc) cores; $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null)"
case "$MODE" in
  quick) for n in ${SIZES:-2730 5461}; do size "$n" "${BACKENDS:-cpu cuda}" "$RUNS"; done ;;
  big) for n in ${SIZES:-21845 43690}; do size "$n" "${BACKENDS:-cuda}" "$BIG_RUNS"; done ;;
  all)
    for n in 2730 5461; do size "$n" "${BACKENDS:-cpu cuda}" "$RUNS"; done
    for n in 21845 43690; do size "$n" cuda "$BIG_RUNS"; done ;;
  *) echo "usage: plonky3.sh [quick|big|all]"; exit 2 ;;
esac

python3 - "$JSONL" "$(nproc)" > "$MD" <<'PY'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
print(f"# rstark vs Plonky3, keccak (p3-keccak-air), one run, {sys.argv[2]} cores")
print("Prove seconds, median of every run of the two blocks (A B B A); rstark: `rstark bench`, no witness check.\n")
print("| permutations (rows) | Plonky3 | rstark CPU | rstark CUDA | CPU vs Plonky3 | CUDA vs Plonky3 | proof bytes P3 / rstark |")
print("|---|---|---|---|---|---|---|")
for n in sorted({r["size"] for r in recs}):
    med, size = {}, {}
    for who in ("plonky3", "cpu", "cuda"):
        xs = [t for r in recs if r["size"] == n and r["contender"] == who for t in r["prove_s"]]
        if xs:
            med[who] = statistics.median(xs)
        b = [r["proof_bytes"] for r in recs if r["size"] == n and r["contender"] == who and r["proof_bytes"]]
        if b:
            size[who] = b[-1]
    rows = 1 << (max(n * 24, 1) - 1).bit_length()
    f = lambda w: (f"{med[w]:.3f} s" if med[w] >= 1 else f"{med[w] * 1e3:.1f} ms") if w in med else "—"
    ratio = lambda w: f"{med['plonky3'] / med[w]:.2f}×" if w in med and "plonky3" in med else "—"
    rb = size.get("cuda") or size.get("cpu")
    print(f"| {n} (2^{rows.bit_length() - 1}) | {f('plonky3')} | {f('cpu')} | {f('cuda')} | {ratio('cpu')} | {ratio('cuda')} | {size.get('plonky3', '—')} / {rb or '—'} |")
print("\nPer block, in run order:\n")
for r in recs:
    print(f"- {r['size']} {r['contender']}: {', '.join(f'{t:.4f}' for t in r['prove_s'])} s (ok={r['ok']}, wall {r['wall_s']} s)")
PY
cat "$MD"
exit $fail
