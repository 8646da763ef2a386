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

// The trace straight into the LDE's first layout, column-major with bit-reversed rows
// (out[c * N + bitrev(r)] = trace[r][c]), with no row-major copy and no transpose: first every
// row's round lanes (a KtRound, padded to KT_REC words), then the columns from them.
#define KT_REC 87  // odd: 32 consecutive records in shared memory sit in distinct bank pairs

// A warp of 32 permutation slots (a block): each thread runs its slot's rounds, and after each
// round the warp stores the 32 records (contiguous: records are indexed round * slots + slot,
// slots = ceil(num_rows / 24)) as runs of 32 words. Rows past num_rows are computed, never read.
extern "C" __global__ void __launch_bounds__(32)
    keccak_round_states(const u64* __restrict__ inputs, u64 n_perms, u64 slots, u64* __restrict__ states) {
  __shared__ u64 rec[32 * KT_REC];
  u64 slot0 = (u64)blockIdx.x * 32;
  u64 perm = slot0 + threadIdx.x;
  u32 valid = slots - slot0 < 32 ? (u32)(slots - slot0) : 32;
  KtRound s;
  for (int i = 0; i < 25; i++) s.a[i] = perm < n_perms ? inputs[perm * 25 + i] : 0;
  for (int round = 0; round < KT_ROUNDS; round++) {
    kt_round(s, round);
    const u64* w = reinterpret_cast<const u64*>(&s);
    for (int i = 0; i < (int)(sizeof(KtRound) / 8); i++) rec[threadIdx.x * KT_REC + i] = w[i];
    __syncwarp();
    u64* dst = states + ((u64)round * slots + slot0) * KT_REC;
    for (u32 i = threadIdx.x; i < valid * KT_REC; i += 32) dst[i] = rec[i];
    __syncwarp();
    for (int i = 0; i < 25; i++) s.a[i] = i == 0 ? s.appp00 : s.app[i];
  }
}

// Block b: the 32 bit-reversed positions 32b .. 32b + 31 (rows bitrev(p), log_n >= 5) of every
// column; a warp writes 32 consecutive words of one column at a time.
extern "C" __global__ void __launch_bounds__(256)
    keccak_trace_colmajor_bitrev(const u64* __restrict__ states, const u64* __restrict__ inputs,
                                 u64 n_perms, u32 log_n, u64* __restrict__ out) {
  __shared__ u64 rec[32 * KT_REC];
  __shared__ u64 pre[32 * 25];
  __shared__ int rounds[32];
  u64 n = 1ull << log_n;
  u64 slots = (n + KT_ROUNDS - 1) / KT_ROUNDS;
  u64 p0 = (u64)blockIdx.x * 32;
  for (u32 i = threadIdx.x; i < 32 * KT_REC; i += blockDim.x) {
    u32 j = i / KT_REC, w = i % KT_REC;
    u64 row = bitrev_bits(p0 + j, log_n);
    u64 at = ((row % KT_ROUNDS) * slots + row / KT_ROUNDS) * KT_REC;
    rec[i] = w < sizeof(KtRound) / 8 ? states[at + w] : 0;
  }
  for (u32 i = threadIdx.x; i < 32 * 25; i += blockDim.x) {
    u32 j = i / 25, w = i % 25;
    u64 perm = bitrev_bits(p0 + j, log_n) / KT_ROUNDS;
    pre[i] = perm < n_perms ? inputs[perm * 25 + w] : 0;
  }
  if (threadIdx.x < 32) rounds[threadIdx.x] = (int)(bitrev_bits(p0 + threadIdx.x, log_n) % KT_ROUNDS);
  __syncthreads();
  u32 lane = threadIdx.x % 32;
  const KtRound& s = *reinterpret_cast<const KtRound*>(rec + lane * KT_REC);
  const u64* pr = pre + lane * 25;
  int round = rounds[lane];
  for (u32 col = threadIdx.x / 32; col < KT_COLS; col += blockDim.x / 32)
    out[col * n + p0 + lane] = kt_value(s, pr, round, col);
}
