// Unreduced multiply-accumulate for dot products: prover.cu's two-point out-of-domain kernel and
// the compiled constraint kernels' sum of challenge-weighted constraints (constraints_jit.cuh;
// this header is part of their source, the key of their disk cache, src/jit.rs).
#pragma once
#include "field.cuh"

// A sum of 128-bit products kept unreduced (lo + 2^64 hi + 2^128 top): a dot product multiplies
// and adds, and reduces once per thread instead of once per product. top counts the carries past 2^128 (fewer than the products summed).
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
