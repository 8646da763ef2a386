// Helper kernels: fills, arithmetic probes for the parity tests, and the ceilings (Keccak-f,
// Goldilocks products, NTT butterflies, and both of the first and the last in one launch).
#include "field.cuh"
#include "keccak.cuh"
#include "ntt.cuh"

extern "C" __global__ void fill_u64(u64* out, u64 n, u64 value) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = value;
}

RS_HD u64 splitmix64(u64 x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Canonical pseudo-random field elements (benchmarks generate their inputs on the device).
extern "C" __global__ void fill_random_field(u64* out, u64 n, u64 seed) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  u64 v = splitmix64(seed ^ splitmix64(i));
  out[i] = v >= GL_P ? v - GL_P : v;
}

// out[4i..4i+4] = (a+b, a-b, a*b, -a) for the base-field parity test.
extern "C" __global__ void field_probe(const u64* a, const u64* b, u64 n, u64* out) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  u64 x = a[i], y = b[i];
  out[4 * i] = gl_add(x, y);
  out[4 * i + 1] = gl_sub(x, y);
  out[4 * i + 2] = gl_mul(x, y);
  out[4 * i + 3] = gl_neg(x);
}

// out[6i..6i+6] = (a*b, a+b) over the cubic extension (3 words per element).
extern "C" __global__ void ext_probe(const u64* a, const u64* b, u64 n, u64* out) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  gl3 x{a[3 * i], a[3 * i + 1], a[3 * i + 2]};
  gl3 y{b[3 * i], b[3 * i + 1], b[3 * i + 2]};
  gl3 p = gl3_mul(x, y);
  gl3 s = gl3_add(x, y);
  out[6 * i] = p.c0; out[6 * i + 1] = p.c1; out[6 * i + 2] = p.c2;
  out[6 * i + 3] = s.c0; out[6 * i + 4] = s.c1; out[6 * i + 5] = s.c2;
}

// Keccak-256 of arbitrary whole-word messages (for parity of the sponge itself):
// message q is words[offsets[q] .. offsets[q+1]].
extern "C" __global__ void keccak_probe(const u64* words, const u64* offsets, u64 nq, u64* out) {
  u64 q = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (q >= nq) return;
  const u64* m = words + offsets[q];
  u64 d[4];
  keccak256_words([&](u64 w) { return m[w]; }, offsets[q + 1] - offsets[q], d);
  for (int j = 0; j < 4; j++) out[4 * q + j] = d[j];
}

// `iters` chained Keccak-f permutations of one thread's state in registers (folded to a word).
RS_HD u64 keccak_chain(u64 t, u32 iters) {
  u64 s[25];
#pragma unroll
  for (int i = 0; i < 25; i++) s[i] = splitmix64(t * 25 + i);
  for (u32 it = 0; it < iters; it++) keccak_f1600(s);
  u64 x = 0;
#pragma unroll
  for (int i = 0; i < 25; i++) x ^= s[i];
  return x;
}

// Keccak-f ceiling: each thread chains `iters` permutations on its own state in registers.
extern "C" __global__ void __launch_bounds__(128) keccak_ceiling(u64* out, u32 iters) {
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  out[t] = keccak_chain(t, iters);
}

// Goldilocks multiplication ceiling: each thread runs 4 independent chains of `iters` products.
extern "C" __global__ void __launch_bounds__(256) gl_mul_ceiling(u64* out, u32 iters) {
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  u64 a = splitmix64(t) % GL_P, b = splitmix64(t + 1) % GL_P, c = splitmix64(t + 2) % GL_P,
      d = splitmix64(t + 3) % GL_P, w = splitmix64(t + 4) % GL_P;
  for (u32 i = 0; i < iters; i++) {
    a = gl_mul(a, w);
    b = gl_mul(b, w);
    c = gl_mul(c, w);
    d = gl_mul(d, w);
  }
  out[t] = a ^ b ^ c ^ d;
}

// One thread's 16-point radix-2 network (4 DIT stages of 8 butterflies, the NTT's own
// `ntt_butterfly`, stage s with twiddle w[s]), run `iters` times on values in registers.
RS_HD u64 butterfly_chain(u64 t, u32 iters) {
  u64 x[16], w[4];
#pragma unroll
  for (int i = 0; i < 16; i++) x[i] = splitmix64(t * 16 + i) % GL_P;
#pragma unroll
  for (int s = 0; s < 4; s++) w[s] = splitmix64(t * 16 + 100 + s) % GL_P;
  for (u32 it = 0; it < iters; it++) {
#pragma unroll
    for (int s = 0; s < 4; s++) {
#pragma unroll
      for (int i = 0; i < 16; i++) {
        if (i & (1 << s)) continue;
        ntt_butterfly(x[i], x[i + (1 << s)], w[s], false);
      }
    }
  }
  u64 r = 0;
#pragma unroll
  for (int i = 0; i < 16; i++) r ^= x[i];
  return r;
}

// NTT butterfly ceiling: 32 butterflies per thread per iteration, no memory traffic.
extern "C" __global__ void __launch_bounds__(256) gl_butterfly_ceiling(u64* out, u32 iters) {
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  out[t] = butterfly_chain(t, iters);
}

// Keccak-f chains in even blocks and butterfly chains in odd blocks of one launch: whether the
// two share the SM's integer pipes (time = the sum of each alone) or overlap (= the larger).
extern "C" __global__ void __launch_bounds__(128) keccak_butterfly_mix(u64* out, u32 keccak_iters,
                                                                       u32 butterfly_iters) {
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (blockIdx.x & 1) {
    if (butterfly_iters == 0) return;
    out[t] = butterfly_chain(t, butterfly_iters);
  } else {
    if (keccak_iters == 0) return;
    out[t] = keccak_chain(t, keccak_iters);
  }
}
