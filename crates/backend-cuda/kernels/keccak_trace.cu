// p3-keccak-air's trace on the device (layout: keccak_trace.cuh).
//
// One block per permutation: thread 0 runs the rounds (a few hundred instructions each) and
// leaves the round's intermediate lanes in shared memory; then the whole block writes the row,
// consecutive threads on consecutive columns (coalesced).
#include "keccak_trace.cuh"

// inputs: n_perms × 25 lanes (index x + 5y); out: num_rows × 2633 words. Grid: one block per
// 24-row permutation slot, ceil(num_rows / 24) of them.
extern "C" __global__ void keccak_trace(const u64* __restrict__ inputs, u64 n_perms, u64 num_rows,
                                        u64* __restrict__ out) {
  __shared__ KtRound s;
  __shared__ u64 pre[25];
  u64 perm = blockIdx.x;
  if (threadIdx.x < 25) {
    u64 v = perm < n_perms ? inputs[perm * 25 + threadIdx.x] : 0;
    pre[threadIdx.x] = v;
    s.a[threadIdx.x] = v;
  }
  __syncthreads();
  for (int round = 0; round < KT_ROUNDS; round++) {
    u64 row = perm * KT_ROUNDS + round;
    if (row >= num_rows) break;  // uniform across the block
    if (threadIdx.x == 0) kt_round(s, round);
    __syncthreads();
    u64* dst = out + row * KT_COLS;
    for (u32 col = threadIdx.x; col < KT_COLS; col += blockDim.x) dst[col] = kt_value(s, pre, round, col);
    __syncthreads();
    if (threadIdx.x < 25) {  // the next round enters with A''' (A'' with iota on lane 0)
      s.a[threadIdx.x] = threadIdx.x == 0 ? s.appp00 : s.app[threadIdx.x];
    }
    __syncthreads();
  }
}
