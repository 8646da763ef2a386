// p3-keccak-air's trace on the device (layout: keccak_trace.cuh).
//
// One block per permutation: thread 0 runs the rounds (a few hundred instructions each) and
// leaves the round's intermediate lanes in shared memory; then the whole block writes the row,
// consecutive threads on consecutive columns (coalesced).
#include "keccak_trace.cuh"

// inputs: n_perms × 25 lanes (index x + 5y); the trace has num_rows × 2633 words, of which rows
// row0 .. row0 + nrows are written to `out` (row row0 + t at out + t·2633: the whole trace, or a
// block of it for a commitment that never holds it whole). Grid: one block per 24-row permutation
// slot that meets the window, the first being slot row0 / 24.
extern "C" __global__ void keccak_trace_rows(const u64* __restrict__ inputs, u64 n_perms, u64 num_rows,
                                             u64 row0, u64 nrows, u64* __restrict__ out) {
  __shared__ KtRound s;
  __shared__ u64 pre[25];
  u64 perm = row0 / KT_ROUNDS + blockIdx.x;
  u64 row_end = row0 + nrows < num_rows ? row0 + nrows : num_rows;
  if (threadIdx.x < 25) {
    u64 v = perm < n_perms ? inputs[perm * 25 + threadIdx.x] : 0;
    pre[threadIdx.x] = v;
    s.a[threadIdx.x] = v;
  }
  __syncthreads();
  for (int round = 0; round < KT_ROUNDS; round++) {
    u64 row = perm * KT_ROUNDS + round;
    if (row >= row_end) break;  // uniform across the block
    if (threadIdx.x == 0) kt_round(s, round);
    __syncthreads();
    if (row >= row0) {
      u64* dst = out + (row - row0) * KT_COLS;
      for (u32 col = threadIdx.x; col < KT_COLS; col += blockDim.x) dst[col] = kt_value(s, pre, round, col);
    }
    __syncthreads();
    if (threadIdx.x < 25) {  // the next round enters with A''' (A'' with iota on lane 0)
      s.a[threadIdx.x] = threadIdx.x == 0 ? s.appp00 : s.app[threadIdx.x];
    }
    __syncthreads();
  }
}
