// The main trace of p3-keccak-air 0.8.0 (`generate_trace_rows::<Goldilocks>(inputs, 0)`), written
// on the device as canonical words, row-major, so the ~2.8 GB trace of 2^17 rows never crosses
// PCIe: only the 200-byte inputs go up.
//
// Layout of one row (2633 columns, p3's `KeccakCols`; lanes A[x][y] = input[x + 5y]; limbs are
// 16-bit, little end first; bit vectors are little end first):
//     [0, 24)       step flags: 1 at the row's round, else 0
//     24            export: always 0
//     [25, 125)     preimage, [y][x][limb], the permutation's input (same on its 24 rows)
//     [125, 225)    A, [y][x][limb], the state entering the round
//     [225, 545)    C, [x][bit]:   C[x] = xor_y A[x][y]
//     [545, 865)    C', [x][bit]:  C'[x] = C[x] ^ C[x-1] ^ rot(C[x+1], 1)
//     [865, 2465)   A', [y][x][bit]: A[x][y] ^ C[x] ^ C'[x]
//     [2465, 2565)  A'', [y][x][limb]: chi of B = rho∘pi of A'
//     [2565, 2629)  bits of A''[0][0]
//     [2629, 2633)  limbs of A''[0][0] ^ RC[round] (iota)
// Row r belongs to permutation r / 24 at round r % 24. The height is a power of two; rows past
// the last input repeat the trace of the all-zero input, cut off at the last row (as p3 pads).
//
// Host and device code (the host side lets kernels/selfcheck.cpp-style harnesses run it).
#pragma once
#include "keccak.cuh"

#define KT_COLS 2633
#define KT_ROUNDS 24

#ifdef __CUDACC__
__device__ __constant__
#endif
static const int KT_ROT[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                               25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};  // [x + 5y]

// One round's lanes, all indexed x + 5y (C and C' by x).
struct KtRound {
  u64 a[25];     // entering state
  u64 c[5];
  u64 cp[5];
  u64 ap[25];    // A'
  u64 app[25];   // A''
  u64 appp00;    // A''[0][0] ^ RC
};

RS_HD void kt_round(KtRound& s, int round) {
  for (int x = 0; x < 5; x++)
    s.c[x] = s.a[x] ^ s.a[x + 5] ^ s.a[x + 10] ^ s.a[x + 15] ^ s.a[x + 20];
  for (int x = 0; x < 5; x++)
    s.cp[x] = s.c[x] ^ s.c[(x + 4) % 5] ^ rotl64(s.c[(x + 1) % 5], 1);
  for (int i = 0; i < 25; i++) s.ap[i] = s.a[i] ^ s.c[i % 5] ^ s.cp[i % 5];
  // B[x][y] = rot(A'[x'][y'], r[x'][y']) with x' = (x + 3y) % 5, y' = x.
  u64 b[25];
  for (int x = 0; x < 5; x++)
    for (int y = 0; y < 5; y++) {
      int src = (x + 3 * y) % 5 + 5 * x;
      b[x + 5 * y] = rotl64(s.ap[src], KT_ROT[src]);
    }
  for (int x = 0; x < 5; x++)
    for (int y = 0; y < 5; y++)
      s.app[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
  s.appp00 = s.app[0] ^ KECCAK_RC[round];
}

// Column `col` of the row of round `round`, given that round's lanes and the permutation input.
RS_HD u64 kt_value(const KtRound& s, const u64* pre, int round, u32 col) {
  if (col < 24) return col == (u32)round ? 1 : 0;
  if (col == 24) return 0;
  if (col < 225) {  // preimage or A, [y][x][limb]
    const u64* lanes = col < 125 ? pre : s.a;
    u32 k = col < 125 ? col - 25 : col - 125;
    u32 y = k / 20, x = (k / 4) % 5, limb = k % 4;
    return (lanes[x + 5 * y] >> (16 * limb)) & 0xFFFF;
  }
  if (col < 865) {  // C or C', [x][bit]
    const u64* v = col < 545 ? s.c : s.cp;
    u32 k = col < 545 ? col - 225 : col - 545;
    return (v[k / 64] >> (k % 64)) & 1;
  }
  if (col < 2465) {  // A', [y][x][bit]
    u32 k = col - 865;
    u32 y = k / 320, x = (k / 64) % 5, z = k % 64;
    return (s.ap[x + 5 * y] >> z) & 1;
  }
  if (col < 2565) {  // A'', [y][x][limb]
    u32 k = col - 2465;
    u32 y = k / 20, x = (k / 4) % 5, limb = k % 4;
    return (s.app[x + 5 * y] >> (16 * limb)) & 0xFFFF;
  }
  if (col < 2629) return (s.app[0] >> (col - 2565)) & 1;
  return (s.appp00 >> (16 * (col - 2629))) & 0xFFFF;
}

