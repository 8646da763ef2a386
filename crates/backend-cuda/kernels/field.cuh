// Goldilocks (p = 2^64 - 2^32 + 1) and its cubic extension F[x]/(x^3 - x - 1).
// All values are kept canonical (< p) between operations, so bytes equal the CPU's.
#pragma once
#include "common.cuh"

#define GL_P 0xFFFFFFFF00000001ull
#define GL_EPS 0xFFFFFFFFull  // 2^64 mod p

#ifdef __CUDA_ARCH__
// On the device, on carry flags (the butterfly's add and subtract weigh as much as its
// product, docs/PERF.md). a + b = a - (p - b): with nb = p - b in [1, p], d = a - nb borrows
// iff a + b < p, and then d + p == d - EPS (mod 2^64) = a + b cannot borrow again.
// The borrow is taken as a 0 / 0xffffffff mask (EPS = 2^32 - 1).
__device__ __forceinline__ u64 gl_add(u64 a, u64 b) {
  u32 rl, rh;
  asm("{\n\t"
      ".reg .u32 nl, nh, m;\n\t"
      "sub.cc.u32 nl, 1, %4;\n\t"
      "subc.u32 nh, 0xffffffff, %5;\n\t"
      "sub.cc.u32 %0, %2, nl;\n\t"
      "subc.cc.u32 %1, %3, nh;\n\t"
      "subc.u32 m, 0, 0;\n\t"
      "sub.cc.u32 %0, %0, m;\n\t"
      "subc.u32 %1, %1, 0;\n\t"
      "}"
      : "=&r"(rl), "=&r"(rh)
      : "r"((u32)a), "r"((u32)(a >> 32)), "r"((u32)b), "r"((u32)(b >> 32)));
  return ((u64)rh << 32) | rl;
}

// d = a - b with borrow; on borrow d + p == d - EPS (mod 2^64), which cannot borrow again
// (d >= 2^64 - p + 1 > EPS). The borrow is taken as a 0 / 0xffffffff mask.
__device__ __forceinline__ u64 gl_sub(u64 a, u64 b) {
  u32 rl, rh;
  asm("{\n\t"
      ".reg .u32 m;\n\t"
      "sub.cc.u32 %0, %2, %4;\n\t"
      "subc.cc.u32 %1, %3, %5;\n\t"
      "subc.u32 m, 0, 0;\n\t"
      "sub.cc.u32 %0, %0, m;\n\t"
      "subc.u32 %1, %1, 0;\n\t"
      "}"
      : "=&r"(rl), "=&r"(rh)
      : "r"((u32)a), "r"((u32)(a >> 32)), "r"((u32)b), "r"((u32)(b >> 32)));
  return ((u64)rh << 32) | rl;
}
#else
RS_HD u64 gl_add(u64 a, u64 b) {
  // a + b < 2p: subtract p once if the sum reached p, whether or not it wrapped past 2^64
  // (wrapping arithmetic makes s - p right in both cases).
  u64 s = a + b;
  return (s < a || s >= GL_P) ? s - GL_P : s;
}

RS_HD u64 gl_sub(u64 a, u64 b) {
  return a >= b ? a - b : a + (GL_P - b);
}
#endif

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

#ifdef __CUDA_ARCH__
// On the device: the 128-bit product from 32-bit multiply-adds on one carry chain, and the
// reduction on carry flags (borrows and carries become masks, no 64-bit compares):
//   x = r3 2^96 + r2 2^64 + (r1:r0) == (r1:r0) - r3 + r2 (2^32 - 1)   (mod p)
__device__ __forceinline__ u64 gl_mul_ptx(u64 a, u64 b) {
  u32 a0 = (u32)a, a1 = (u32)(a >> 32), b0 = (u32)b, b1 = (u32)(b >> 32);
  u32 r0, r1, r2, r3;
  asm("mul.lo.u32 %0, %4, %6;\n\t"
      "mul.hi.u32 %1, %4, %6;\n\t"
      "mad.lo.cc.u32 %1, %4, %7, %1;\n\t"
      "madc.hi.u32 %2, %4, %7, 0;\n\t"
      "mad.lo.cc.u32 %1, %5, %6, %1;\n\t"
      "madc.hi.cc.u32 %2, %5, %6, %2;\n\t"
      "addc.u32 %3, 0, 0;\n\t"
      "mad.lo.cc.u32 %2, %5, %7, %2;\n\t"
      "madc.hi.u32 %3, %5, %7, %3;"
      : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
      : "r"(a0), "r"(a1), "r"(b0), "r"(b1));
  // t0 = (r1:r0) - r3; on borrow subtract 2^64 == EPS once more (cannot borrow again).
  u32 t0l, t0h, m;
  asm("sub.cc.u32 %0, %3, %5;\n\t"
      "subc.cc.u32 %1, %4, 0;\n\t"
      "subc.u32 %2, 0, 0;"
      : "=r"(t0l), "=r"(t0h), "=r"(m)
      : "r"(r0), "r"(r1), "r"(r3));
  // t1 = r2 (2^32 - 1) = (r2 : 0) - r2; then t0 - (m ? EPS : 0) and r = t0 + t1 with carry c.
  u32 rl, rh, c;
  asm("{\n\t"
      ".reg .u32 t1l, t1h;\n\t"
      "sub.cc.u32 t1l, 0, %5;\n\t"
      "subc.u32 t1h, %5, 0;\n\t"
      "sub.cc.u32 %0, %3, %6;\n\t"
      "subc.u32 %1, %4, 0;\n\t"
      "add.cc.u32 %0, %0, t1l;\n\t"
      "addc.cc.u32 %1, %1, t1h;\n\t"
      "addc.u32 %2, 0, 0;\n\t"
      "}"
      : "=r"(rl), "=r"(rh), "=r"(c)
      : "r"(t0l), "r"(t0h), "r"(r2), "r"(m));
  // carry of 2^64 == EPS: add it (cannot carry again); then r >= p iff r + EPS carries out.
  u32 xl, xh, c2;
  asm("add.cc.u32 %0, %0, %5;\n\t"
      "addc.u32 %1, %1, 0;\n\t"
      "add.cc.u32 %2, %0, 0xffffffff;\n\t"
      "addc.cc.u32 %3, %1, 0;\n\t"
      "addc.u32 %4, 0, 0;"
      : "+r"(rl), "+r"(rh), "=r"(xl), "=r"(xh), "=r"(c2)
      : "r"(0u - c));
  if (c2) {
    rl = xl;
    rh = xh;
  }
  return ((u64)rh << 32) | rl;
}
#endif

RS_HD u64 gl_mul(u64 a, u64 b) {
#ifdef __CUDA_ARCH__
  return gl_mul_ptx(a, b);
#else
  unsigned __int128 p = (unsigned __int128)a * b;
  return gl_reduce128((u64)p, (u64)(p >> 64));
#endif
}

// A sum of 128-bit products kept unreduced (lo + 2^64 hi + 2^128 top): a dot product (prover.cu's
// two-point out-of-domain kernel) multiplies and adds, and reduces once per thread instead of
// once per product. top counts the carries past 2^128 (fewer than the products summed).
struct gl_acc192 {
  u64 lo, hi, top;
};

#ifdef __CUDA_ARCH__
// a += x * y on the device: the four 32-bit partial products added straight into the
// accumulator's 32-bit limbs on three carry chains (13 instructions, no reduction):
// x0·y0 at limb 0 and x1·y1 at limb 2 (one chain), then x0·y1 and x1·y0 at limb 1.
__device__ __forceinline__ void gl_mac(gl_acc192& a, u64 x, u64 y) {
  u32 a0 = (u32)a.lo, a1 = (u32)(a.lo >> 32), a2 = (u32)a.hi, a3 = (u32)(a.hi >> 32), a4 = (u32)a.top;
  asm("mad.lo.cc.u32 %0, %5, %7, %0;\n\t"
      "madc.hi.cc.u32 %1, %5, %7, %1;\n\t"
      "madc.lo.cc.u32 %2, %6, %8, %2;\n\t"
      "madc.hi.cc.u32 %3, %6, %8, %3;\n\t"
      "addc.u32 %4, %4, 0;\n\t"
      "mad.lo.cc.u32 %1, %5, %8, %1;\n\t"
      "madc.hi.cc.u32 %2, %5, %8, %2;\n\t"
      "addc.cc.u32 %3, %3, 0;\n\t"
      "addc.u32 %4, %4, 0;\n\t"
      "mad.lo.cc.u32 %1, %6, %7, %1;\n\t"
      "madc.hi.cc.u32 %2, %6, %7, %2;\n\t"
      "addc.cc.u32 %3, %3, 0;\n\t"
      "addc.u32 %4, %4, 0;"
      : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4)
      : "r"((u32)x), "r"((u32)(x >> 32)), "r"((u32)y), "r"((u32)(y >> 32)));
  a.lo = ((u64)a1 << 32) | a0;
  a.hi = ((u64)a3 << 32) | a2;
  a.top = a4;
}
#else
// a += x * y (any 64-bit x, y: the product's high word is at most 2^64 - 2, so hi + carry
// cannot wrap).
RS_HD void gl_mac(gl_acc192& a, u64 x, u64 y) {
  unsigned __int128 p = (unsigned __int128)x * y;
  u64 lo = (u64)p, hi = (u64)(p >> 64);
  a.lo += lo;
  u64 h = hi + (a.lo < lo ? 1 : 0);
  a.hi += h;
  a.top += a.hi < h ? 1 : 0;
}
#endif

// The accumulator mod p, canonical: reduce128(lo, hi) + top * 2^128, with 2^128 = -2^32 (mod p).
RS_HD u64 gl_acc_reduce(gl_acc192 a) {
  return gl_sub(gl_reduce128(a.lo, a.hi), gl_mul(a.top, 1ull << 32));
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

RS_HD u64 gl_pow(u64 x, u64 e) {
  u64 r = 1;
  while (e) {
    if (e & 1) r = gl_mul(r, x);
    x = gl_mul(x, x);
    e >>= 1;
  }
  return r;
}

// a^(p-2) (a != 0).
RS_HD u64 gl_inv(u64 a) { return gl_pow(a, GL_P - 2); }

// Inverse in F[x]/(x^3 - x - 1): b = M^-1 e0 with M the matrix of multiplication by a, by
// cofactors of M's first row (columns of M: a, a*x, a*x^2).
RS_HD gl3 gl3_inv(gl3 a) {
  u64 m10 = a.c1, m11 = gl_add(a.c0, a.c2), m12 = gl_add(a.c1, a.c2);
  u64 m20 = a.c2, m21 = a.c1, m22 = m11;
  u64 c0 = gl_sub(gl_mul(m11, m22), gl_mul(m12, m21));
  u64 c1 = gl_sub(gl_mul(m12, m20), gl_mul(m10, m22));
  u64 c2 = gl_sub(gl_mul(m10, m21), gl_mul(m11, m20));
  u64 det = gl_add(gl_add(gl_mul(a.c0, c0), gl_mul(a.c2, c1)), gl_mul(a.c1, c2));
  u64 di = gl_inv(det);
  return gl3{gl_mul(c0, di), gl_mul(c1, di), gl_mul(c2, di)};
}
