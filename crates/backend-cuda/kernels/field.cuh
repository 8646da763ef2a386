// Goldilocks (p = 2^64 - 2^32 + 1) and its cubic extension F[x]/(x^3 - x - 1).
// All values are kept canonical (< p) between operations, so bytes equal the CPU's.
#pragma once
#include "common.cuh"

#define GL_P 0xFFFFFFFF00000001ull
#define GL_EPS 0xFFFFFFFFull  // 2^64 mod p

RS_HD u64 gl_add(u64 a, u64 b) {
  // a + b < 2p: subtract p once if the sum reached p, whether or not it wrapped past 2^64
  // (wrapping arithmetic makes s - p right in both cases).
  u64 s = a + b;
  return (s < a || s >= GL_P) ? s - GL_P : s;
}

RS_HD u64 gl_sub(u64 a, u64 b) {
  return a >= b ? a - b : a + (GL_P - b);
}

RS_HD u64 gl_neg(u64 a) { return a == 0 ? 0 : GL_P - a; }

// Reduce lo + 2^64 * hi, using 2^64 = EPS and 2^96 = -1 (mod p).
RS_HD u64 gl_reduce128(u64 lo, u64 hi) {
  u64 hi_hi = hi >> 32;
  u64 hi_lo = hi & GL_EPS;
  u64 t0 = lo - hi_hi;
  if (lo < hi_hi) t0 -= GL_EPS;  // borrow of 2^64 == EPS
  u64 t1 = hi_lo * GL_EPS;       // < 2^64
  u64 r = t0 + t1;
  if (r < t0) r += GL_EPS;       // carry of 2^64 == EPS, cannot carry again
  return r >= GL_P ? r - GL_P : r;
}

RS_HD u64 gl_mul(u64 a, u64 b) {
#ifdef __CUDA_ARCH__
  u64 lo = a * b;
  u64 hi = __umul64hi(a, b);
#else
  unsigned __int128 p = (unsigned __int128)a * b;
  u64 lo = (u64)p;
  u64 hi = (u64)(p >> 64);
#endif
  return gl_reduce128(lo, hi);
}

// Cubic extension element c0 + c1 x + c2 x^2, with x^3 = x + 1.
struct gl3 {
  u64 c0, c1, c2;
};

RS_HD gl3 gl3_add(gl3 a, gl3 b) {
  return gl3{gl_add(a.c0, b.c0), gl_add(a.c1, b.c1), gl_add(a.c2, b.c2)};
}

RS_HD gl3 gl3_sub(gl3 a, gl3 b) {
  return gl3{gl_sub(a.c0, b.c0), gl_sub(a.c1, b.c1), gl_sub(a.c2, b.c2)};
}

RS_HD gl3 gl3_mul(gl3 a, gl3 b) {
  // Schoolbook product d0..d4, then x^3 = x + 1 and x^4 = x^2 + x.
  u64 d0 = gl_mul(a.c0, b.c0);
  u64 d1 = gl_add(gl_mul(a.c0, b.c1), gl_mul(a.c1, b.c0));
  u64 d2 = gl_add(gl_add(gl_mul(a.c0, b.c2), gl_mul(a.c1, b.c1)), gl_mul(a.c2, b.c0));
  u64 d3 = gl_add(gl_mul(a.c1, b.c2), gl_mul(a.c2, b.c1));
  u64 d4 = gl_mul(a.c2, b.c2);
  return gl3{gl_add(d0, d3), gl_add(gl_add(d1, d3), d4), gl_add(d2, d4)};
}

RS_HD gl3 gl3_scale(gl3 a, u64 s) {
  return gl3{gl_mul(a.c0, s), gl_mul(a.c1, s), gl_mul(a.c2, s)};
}
