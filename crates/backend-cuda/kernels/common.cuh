// Shared definitions for rstark's CUDA kernels. Every helper is __host__ __device__ so the same
// source can be compiled by a host C++ compiler for a CPU-side self-check (kernels/selfcheck.cpp).
#pragma once
#include <stdint.h>

#ifdef __CUDACC__
#define RS_HD __host__ __device__ __forceinline__
#else
#define RS_HD inline
#endif

typedef uint64_t u64;
typedef uint32_t u32;

#ifdef __CUDA_ARCH__
#define RS_SYNC() __syncthreads()
#else
#define RS_SYNC() \
  do {            \
  } while (0)
#endif

RS_HD u64 bitrev_bits(u64 x, u32 bits) {
  if (bits == 0) return 0;
#ifdef __CUDA_ARCH__
  return __brevll(x) >> (64 - bits);
#else
  u64 r = 0;
  for (u32 i = 0; i < bits; i++) r |= ((x >> i) & 1ull) << (bits - 1 - i);
  return r;
#endif
}
