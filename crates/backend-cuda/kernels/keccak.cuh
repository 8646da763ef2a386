// Keccak-f[1600] and Keccak-256 (original 0x01 padding, rate 136 bytes = 17 lanes), as used by
// rstark's Merkle trees (docs/PROTOCOL.md §3). The state lives in 25 registers; every array index
// below is a compile-time constant after unrolling.
#pragma once
#include "common.cuh"

#define KECCAK_RATE_LANES 17

#ifdef __CUDACC__
__device__ __constant__
#endif
static const u64 KECCAK_RC[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808Aull, 0x8000000080008000ull,
    0x000000000000808Bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008Aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000Aull,
    0x000000008000808Bull, 0x800000000000008Bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800Aull, 0x800000008000000Aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull};

RS_HD u64 rotl64(u64 x, int n) { return n == 0 ? x : (x << n) | (x >> (64 - n)); }

// One permutation, lanes indexed a[x + 5y].
RS_HD void keccak_f1600(u64 a[25]) {
  // rho offsets for lane index x + 5y
  const int RHO[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                       25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
#ifdef __CUDACC__
#pragma unroll 1
#endif
  for (int round = 0; round < 24; round++) {
    u64 c[5], d[5], b[25];
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
    // theta + rho + pi: B[y, 2x + 3y] = rot(A[x, y] ^ D[x], RHO[x, y])
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int x = 0; x < 5; x++) {
#ifdef __CUDACC__
#pragma unroll
#endif
      for (int y = 0; y < 5; y++) {
        b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(a[x + 5 * y] ^ d[x], RHO[x + 5 * y]);
      }
    }
    // chi
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int y = 0; y < 5; y++) {
#ifdef __CUDACC__
#pragma unroll
#endif
      for (int x = 0; x < 5; x++) {
        a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
      }
    }
    a[0] ^= KECCAK_RC[round];
  }
}

// Keccak-256 of the concatenation of two 32-byte digests (a Merkle node): one permutation.
RS_HD void keccak256_node(const u64 l[4], const u64 r[4], u64 out[4]) {
  u64 s[25];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 25; i++) s[i] = 0;
  s[0] = l[0]; s[1] = l[1]; s[2] = l[2]; s[3] = l[3];
  s[4] = r[0]; s[5] = r[1]; s[6] = r[2]; s[7] = r[3];
  s[8] = 0x01ull;
  s[16] = 0x8000000000000000ull;
  keccak_f1600(s);
  out[0] = s[0]; out[1] = s[1]; out[2] = s[2]; out[3] = s[3];
}

// Keccak-256 of a message of `nwords` 8-byte little-endian words (field elements), read through
// `word(i)`. Full 17-word blocks are absorbed with unrolled constant indices, then the padding
// (0x01 right after the message, 0x80 in the last byte of the block). The next block's words are
// loaded before the current block's permutation, so their latency hides behind it (a wide leaf is
// hundreds of blocks, and 2^16 leaves leave few warps per SM to hide it otherwise).
template <typename WordFn>
RS_HD void keccak256_words(WordFn word, u64 nwords, u64 out[4]) {
  u64 s[25];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 25; i++) s[i] = 0;
  u64 full = nwords / KECCAK_RATE_LANES;
  u64 base = 0;
  u64 next[KECCAK_RATE_LANES];
  if (full > 0) {
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int j = 0; j < KECCAK_RATE_LANES; j++) next[j] = word(j);
  }
  for (u64 blk = 0; blk < full; blk++) {
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int j = 0; j < KECCAK_RATE_LANES; j++) s[j] ^= next[j];
    base += KECCAK_RATE_LANES;
    if (blk + 1 < full) {
#ifdef __CUDACC__
#pragma unroll
#endif
      for (int j = 0; j < KECCAK_RATE_LANES; j++) next[j] = word(base + j);
    }
    keccak_f1600(s);
  }
  u32 rem = (u32)(nwords - base);
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int j = 0; j < KECCAK_RATE_LANES; j++) {
    if ((u32)j < rem) s[j] ^= word(base + j);
    if ((u32)j == rem) s[j] ^= 0x01ull;
  }
  s[16] ^= 0x8000000000000000ull;
  keccak_f1600(s);
  out[0] = s[0]; out[1] = s[1]; out[2] = s[2]; out[3] = s[3];
}
