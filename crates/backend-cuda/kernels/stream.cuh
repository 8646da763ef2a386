// Helpers of the streamed commitments (stream.cu): a matrix kept as coefficients, whose LDE is
// recomputed in blocks when a round needs it, and whose Merkle leaves absorb it chunk by chunk.
// __host__ __device__ so kernels/selfcheck.cpp checks them on the CPU.
#pragma once
#include "field.cuh"
#include "keccak.cuh"

RS_HD gl3 st_pow3(gl3 x, u64 e) {
  gl3 r{1, 0, 0};
  while (e) {
    if (e & 1) r = gl3_mul(r, x);
    x = gl3_mul(x, x);
    e >>= 1;
  }
  return r;
}

// Coefficient folding for a block of the LDE domain. A polynomial f of degree < N (coefficients
// c_0 .. c_{N-1} in `col`) on the coset s·<w_M> (M = 2^log_m ≤ N) equals the size-M transform of
// h_i = s^i · Σ_t c_{i + tM} σ^t, σ = s^M. This returns the sum (Horner over t, high to low);
// the caller multiplies by s^i (a table) and transforms.
RS_HD u64 st_fold_sum(const u64* col, u64 n, u32 log_m, u64 i, u64 sigma) {
  u64 m = 1ull << log_m;
  u64 terms = n >> log_m;
  u64 acc = 0;
  for (u64 t = terms; t-- > 0;) acc = gl_add(gl_mul(acc, sigma), col[i + t * m]);
  return acc;
}

// The streamed leaf sponge. A row-pair leaf hashes 2W words (row 2i, then row 2i+1; PROTOCOL.md
// §3). When the LDE is produced column chunk by column chunk, each leaf's Keccak state absorbs the
// words [p0, p0 + count) of its stream from one chunk (p0 = parity·W + first column); `word(j)`
// gives word p0 + j. Every full rate block is permuted as soon as it is complete, so the state
// after all chunks equals keccak256_words' state before its padding block. Lane indices stay
// compile-time constants (predicated), so the state lives in registers.
template <typename WordFn>
RS_HD void st_sponge_absorb(u64 s[25], u64 p0, u32 count, WordFn word) {
  u32 done = 0;
  u64 pos = p0;
  while (done < count) {
    u32 j0 = (u32)(pos % KECCAK_RATE_LANES);
    u32 take = KECCAK_RATE_LANES - j0;
    if (take > count - done) take = count - done;
#ifdef __CUDACC__
#pragma unroll
#endif
    for (u32 j = 0; j < KECCAK_RATE_LANES; j++) {
      if (j >= j0 && j < j0 + take) s[j] ^= word(done + j - j0);
    }
    done += take;
    pos += take;
    if (pos % KECCAK_RATE_LANES == 0) keccak_f1600(s);
  }
}

// Keccak-256's padding after `total` absorbed words, the last permutation, the digest.
RS_HD void st_sponge_finish(u64 s[25], u64 total, u64 out[4]) {
  u32 rem = (u32)(total % KECCAK_RATE_LANES);
#ifdef __CUDACC__
#pragma unroll
#endif
  for (u32 j = 0; j < KECCAK_RATE_LANES; j++) {
    if (j == rem) s[j] ^= 0x01ull;
  }
  s[16] ^= 0x8000000000000000ull;
  keccak_f1600(s);
  out[0] = s[0];
  out[1] = s[1];
  out[2] = s[2];
  out[3] = s[3];
}
