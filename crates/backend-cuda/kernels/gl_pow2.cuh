// Goldilocks products by a compile-time power of two: x * 2^E mod p for E in [0, 96), x canonical.
// Every root of unity of order <= 64 is +-2^e (2 has order 192, 2^96 = -1), so the NTT's small
// twiddles (ntt.cuh, register rounds) cost shifts and one or two modular adds instead of gl_mul.
// With the words of x * 2^E, a 160-bit value W0 + W1 2^32 + W2 2^64 + W3 2^96 + W4 2^128:
//   2^64 = 2^32 - 1 (EPS), 2^96 = -1, 2^128 = -2^32   (mod p),
// and the modular add / subtract of field.cuh (carry-flag PTX on the device) does the rest.
// Kept out of field.cuh, which is part of the JIT constraint kernels' cache key.
#pragma once
#include "field.cuh"

template <int E>
RS_HD u64 gl_mul_pow2(u64 x) {
  static_assert(E >= 0 && E < 96, "gl_mul_pow2: exponent in [0, 96)");
  if constexpr (E == 0) {
    return x;
  } else if constexpr (E < 32) {
    // x 2^E = lo + 2^64 h, h < 2^E: == lo + h EPS, where h EPS < 2^63 is canonical and
    // lo + h EPS < 2^64 + 2^63 < 2p (gl_add's range: a < 2^64, b < p, a + b < 2p).
    u64 lo = x << E, h = x >> (64 - E);
    return gl_add(lo, (h << 32) - h);
  } else if constexpr (E < 64) {
    // x 2^E = (W1 : 0) + 2^64 W2 + 2^96 W3, W3 < 2^(E-32): == (W1 : 0) + (W2 EPS - W3), where
    // (W1 : 0) <= 2^64 - 2^32 = p - 1 and W2 EPS < p, W3 < p are canonical.
    u64 lo = x << E;         // (W1 : 0)
    u64 hi = x >> (64 - E);  // (W3 : W2)
    u64 w2 = hi & GL_EPS, w3 = hi >> 32;
    return gl_add(lo, gl_sub((w2 << 32) - w2, w3));
  } else {
    // x 2^E = 2^64 W2 + 2^96 (W4 : W3) with (W4 : W3 : W2) = x 2^(E-64): == W2 EPS - (W4 : W3),
    // both canonical ((W4 : W3) < 2^(E-32) < p).
    constexpr int T = E - 64;
    u64 w2 = (u64)(u32)(x << T);
    u64 w43 = x >> (32 - T);
    return gl_sub((w2 << 32) - w2, w43);
  }
}
