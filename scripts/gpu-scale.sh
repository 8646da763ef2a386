#!/usr/bin/env bash
# Issue 8's at-scale runs on the GPU machine, through the CLI as a user runs it (staged by
# scripts/gpu-bundle.sh as bin/rstark, built with the cuda feature). Every CUDA proof is verified
# and compared byte for byte with the CPU backend's where the CPU backend can prove it on that
# host. Writes one JSON line per run to $OUT/scale.jsonl and a summary to $OUT/scale.md.
#     bash scale.sh [smoke|budget|quick|all]
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BIN="$HERE/bin/rstark"
OUT="${OUT:-$PWD/gpu-logs}"
WORK="${WORK:-/tmp/rstark-scale}"
MODE="${1:-all}"
mkdir -p "$OUT" "$WORK"
LOG="$OUT/scale.jsonl"
MD="$OUT/scale.md"
: > "$LOG"
{ echo "# rstark at scale ($(date -u +%FT%TZ))"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; echo "host: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"; echo; echo '| run | backend | budget | prove s | total s | peak device GiB | peak host GiB | streamed | identical to CPU | verified |'; echo '|---|---|---|---|---|---|---|---|---|---|'; } > "$MD"
fail=0

# prove NAME WORKLOAD SIZE BACKEND [extra args...]: proves, verifies, records.
prove() {
  local name="$1" w="$2" size="$3" backend="$4"; shift 4
  local file="$WORK/$name.$backend.bin" json="$WORK/$name.$backend.json"
  local t0=$(date +%s.%N)
  "$BIN" prove --workload "$w" --size "$size" --backend "$backend" --out "$file" --json "$@" > "$json" 2> "$WORK/$name.$backend.err"
  local rc=$?
  local t1=$(date +%s.%N)
  local verified="-"
  if [ $rc -eq 0 ]; then
    if "$BIN" verify "$file" --json > "$WORK/$name.$backend.verify.json" 2>&1; then verified=yes; else verified=NO; fail=1; fi
  fi
  python3 - "$name" "$backend" "$rc" "$t0" "$t1" "$json" "$WORK/$name.$backend.err" "$verified" "$*" >> "$LOG" <<'PY'
import json, sys
name, backend, rc, t0, t1, path, err, verified, extra = sys.argv[1:]
try:
    rep = json.load(open(path))
except Exception:
    rep = {}
print(json.dumps({"run": name, "backend": backend, "rc": int(rc), "wall_s": float(t1) - float(t0),
                  "args": extra, "verified": verified, "report": rep,
                  "stderr": open(err).read()[-2000:]}))
PY
  echo "$name $backend rc=$rc verified=$verified ($(python3 -c "print(round($t1-$t0,2))") s)"
  [ $rc -ne 0 ] && tail -3 "$WORK/$name.$backend.err"
  return $rc
}

same() {  # same NAME: the CUDA proof file equals the CPU one
  if cmp -s "$WORK/$1.cuda.bin" "$WORK/$1.cpu.bin"; then echo "$1: CUDA proof file identical to the CPU's"; echo "{\"run\": \"$1\", \"identical\": true}" >> "$LOG";
  else echo "$1: CUDA proof file DIFFERS from the CPU's"; echo "{\"run\": \"$1\", \"identical\": false}" >> "$LOG"; fail=1; fi
}

if [ "$MODE" = smoke ]; then
  # the CUDA backend alone at 2^20 Keccak rows: unbudgeted (resident) against 24 GiB (streamed)
  prove vm16 vm 65536 cuda && prove vm16 vm 65536 cpu && same vm16
  prove k20 keccak 43690 cuda || fail=1
  prove k20s keccak 43690 cuda --vram-budget 24GiB || fail=1
  if cmp -s "$WORK/k20.cuda.bin" "$WORK/k20s.cuda.bin"; then echo "k20: 24 GiB proof identical to the unbudgeted one"; else echo "k20: 24 GiB proof DIFFERS"; fail=1; fi
  rm -f "$WORK"/k20*.bin
elif [ "$MODE" = budget ]; then
  # the CUDA backend alone: keccak 2^20 unbudgeted, under 32 and 24 GiB (files compared), 2^21
  prove k20 keccak 43690 cuda || fail=1
  for b in 32GiB 24GiB; do
    prove "k20-$b" keccak 43690 cuda --vram-budget $b || fail=1
    if cmp -s "$WORK/k20.cuda.bin" "$WORK/k20-$b.cuda.bin"; then echo "k20-$b: identical to the unbudgeted proof"; else echo "k20-$b: DIFFERS from the unbudgeted proof"; fail=1; fi
  done
  rm -f "$WORK"/k20*.bin
  prove k21 keccak 87381 cuda || fail=1
  rm -f "$WORK"/k21*.bin
elif [ "$MODE" = quick ]; then
  prove vm16 vm 65536 cuda && prove vm16 vm 65536 cpu && same vm16
  prove k4096 keccak 170 cuda --vram-budget 1GiB && prove k4096 keccak 170 cpu && same k4096
else
  # vm at 2^20, 2^22, 2^24 steps: CUDA against the CPU backend
  for s in 1048576 4194304 16777216; do
    prove "vm$s" vm $s cuda || fail=1
    prove "vm$s" vm $s cpu || fail=1
    same "vm$s"
    rm -f "$WORK/vm$s".*.bin
  done
  # keccak 2^20 rows (43690 permutations): unbudgeted, 32 GiB, 24 GiB; the CPU's bytes
  prove k20 keccak 43690 cpu || fail=1
  for b in none 32GiB 24GiB; do
    if [ $b = none ]; then prove k20 keccak 43690 cuda || fail=1; else prove "k20-$b" keccak 43690 cuda --vram-budget $b || fail=1; cp "$WORK/k20.cpu.bin" "$WORK/k20-$b.cpu.bin"; same "k20-$b"; fi
  done
  same k20
  rm -f "$WORK"/k20*.bin
  # keccak 2^21 rows (87381 permutations), default budget
  prove k21 keccak 87381 cuda || fail=1
  rm -f "$WORK"/k21*.bin
  # a budget below what the shape needs (an error naming the minimum), one above the device
  prove k20-small keccak 43690 cuda --vram-budget 8GiB && { echo "8 GiB should have been refused"; fail=1; }
  prove k17-huge keccak 5461 cuda --vram-budget 4TiB || fail=1
fi
python3 - "$LOG" >> "$MD" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "report" not in r:
        continue
    rep = r["report"] or {}
    mem = rep.get("device_memory") or {}
    gib = lambda b: f"{b / 2**30:.2f}" if isinstance(b, (int, float)) else "-"
    print(f"| {r['run']} | {r['backend']} | {mem.get('budget_bytes') and gib(mem['budget_bytes']) or '-'} | "
          f"{rep.get('prove_seconds', '-')} | {round(r['wall_s'], 2)} | {gib(mem.get('peak_bytes'))} | "
          f"{gib(rep.get('peak_host_bytes'))} | {', '.join(mem.get('streamed', [])) or '-'} | | {r['verified']} |"
          + ("" if r["rc"] == 0 else f" rc={r['rc']}: {r['stderr'].strip().splitlines()[-1] if r['stderr'].strip() else ''}"))
PY
cat "$MD"
echo "scale.sh: exit $fail"
exit $fail
