// The witness check on the device (src/witness.rs): a table's AIR constraints, compiled without
// LogUp (rstark-constraints), run by the constraint interpreter (cp_run, constraints.cu) on rows
// of the trace domain with the host check's 0/1 selectors (rstark_air::first_failing_constraint):
// is_first_row on row 0, is_last_row on row N-1, is_transition on every other row, and row 0
// after row N-1. Each row folds its constraints with powers of a random extension element r
// (chal[i] = r^i, drawn per check): the sum is non-zero when some constraint fails there (a
// failing row sums to zero with probability at most M/p^3), and the smallest such row is kept
// (atomicMin). The host then names the constraint from that row and the next.
#include "field.cuh"

// Rows [first_row, first_row + n_rows) of a trace of 2^log_n rows, row-major in `rows`
// (w words each); the row after the last of them is at tail + tail_off (row 0 of `rows` itself
// when the block is the whole trace). Registers as constraints_quotient's: scratch holds
// (nb + 3 ne) * n_threads words. *fail: the smallest failing natural row (start at ~0).
extern "C" __global__ void __launch_bounds__(256) witness_check(
    const uint4* __restrict__ code, u32 n_instr, const u64* __restrict__ consts,
    const u64* __restrict__ chal, const u64* __restrict__ pub, const u64* __restrict__ rows,
    u32 w, u64 n_rows, const u64* __restrict__ tail, u64 tail_off, u64 first_row, u32 log_n,
    u64* __restrict__ scratch, u32 nb, u64 n_threads, unsigned long long* __restrict__ fail) {
  u64 tid = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (tid >= n_threads) return;
  const u64 last = (1ull << log_n) - 1;
  CpRow r;
  r.pub = pub;
  r.cst = consts;
  r.chal = chal;
  r.stride = n_threads;
  r.rb = scratch + tid;
  r.re = scratch + (u64)nb * n_threads + tid;
  r.ac = r.an = rows;  // an AIR-only program reads no aux column
  for (u64 i = tid; i < n_rows; i += n_threads) {
    u64 row = first_row + i;
    r.s0 = row == 0;
    r.s1 = row == last;
    r.s2 = row != last;
    r.mc = rows + i * w;
    r.mn = i + 1 < n_rows ? rows + (i + 1) * w : tail + tail_off;
    gl3 acc = cp_run(r, code, n_instr, chal);
    if ((acc.c0 | acc.c1 | acc.c2) != 0) atomicMin(fail, (unsigned long long)row);
  }
}
