// Prover-round kernels of the CUDA backend (src/backend): out-of-domain evaluation (barycentric
// weights and per-column sums over the LDE's coset prefix), the DEEP codeword, FRI folding and
// codeword addition. Extension values are 3 words (c0, c1, c2), as `flatten_ext` lays them out.
// Field arithmetic is exact, so every result equals the CPU backend's bit for bit.
#include "field.cuh"

RS_HD u64 pv_pow(u64 x, u64 e) {
  u64 r = 1;
  while (e) {
    if (e & 1) r = gl_mul(r, x);
    x = gl_mul(x, x);
    e >>= 1;
  }
  return r;
}

// a^(p-2) (a != 0).
RS_HD u64 pv_inv(u64 a) { return pv_pow(a, GL_P - 2); }

// Inverse in F[x]/(x^3 - x - 1): b = M^-1 e0 with M the matrix of multiplication by a, by
// cofactors of M's first row (columns of M: a, a*x, a*x^2).
RS_HD gl3 pv_ext_inv(gl3 a) {
  u64 m10 = a.c1, m11 = gl_add(a.c0, a.c2), m12 = gl_add(a.c1, a.c2);
  u64 m20 = a.c2, m21 = a.c1, m22 = m11;
  u64 c0 = gl_sub(gl_mul(m11, m22), gl_mul(m12, m21));
  u64 c1 = gl_sub(gl_mul(m12, m20), gl_mul(m10, m22));
  u64 c2 = gl_sub(gl_mul(m10, m21), gl_mul(m11, m20));
  u64 det = gl_add(gl_add(gl_mul(a.c0, c0), gl_mul(a.c2, c1)), gl_mul(a.c1, c2));
  u64 di = pv_inv(det);
  return gl3{gl_mul(c0, di), gl_mul(c1, di), gl_mul(c2, di)};
}

// The point shift * omega^bitrev(j) of a bit-reversed coset of 2^log_size points.
RS_HD u64 pv_point(u64 j, u32 log_size, u64 shift, u64 omega) {
  return gl_mul(shift, pv_pow(omega, bitrev_bits(j, log_size)));
}

RS_HD gl3 pv_load3(const u64* p) { return gl3{p[0], p[1], p[2]}; }
RS_HD void pv_store3(u64* p, gl3 v) {
  p[0] = v.c0;
  p[1] = v.c1;
  p[2] = v.c2;
}

// Barycentric weights of the coset prefix g*H (bit-reversed): w_j = x_j / (z - x_j).
extern "C" __global__ void pv_ood_weights(u64 n, u32 log_n, u64 shift, u64 omega, u64 z0, u64 z1,
                                          u64 z2, u64* out) {
  u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= n) return;
  u64 x = pv_point(j, log_n, shift, omega);
  gl3 d{gl_sub(z0, x), z1, z2};  // z - x
  pv_store3(out + 3 * j, gl3_scale(pv_ext_inv(d), x));
}

// partial[(k*w + c)] = sum over rows r of chunk k (rows_per_chunk rows, r < n) of w_r * m[r][c].
// Grid: x over columns, y over chunks; neighbouring threads read neighbouring columns.
extern "C" __global__ void pv_ood_partial(const u64* m, u64 n, u32 w, const u64* weights,
                                          u64 rows_per_chunk, u64* partial) {
  u64 c = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= w) return;
  u64 k = blockIdx.y;
  u64 r0 = k * rows_per_chunk, r1 = r0 + rows_per_chunk;
  if (r1 > n) r1 = n;
  gl3 acc{0, 0, 0};
  for (u64 r = r0; r < r1; r++) acc = gl3_add(acc, gl3_scale(pv_load3(weights + 3 * r), m[r * w + c]));
  pv_store3(partial + 3 * (k * w + c), acc);
}

// out[c] = sum_k partial[k*w + c].
extern "C" __global__ void pv_ood_reduce(const u64* partial, u64 chunks, u32 w, u64* out) {
  u64 c = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= w) return;
  gl3 acc{0, 0, 0};
  for (u64 k = 0; k < chunks; k++) acc = gl3_add(acc, pv_load3(partial + 3 * (k * w + c)));
  pv_store3(out + 3 * c, acc);
}

// Constants of the DEEP kernel, 3 words each: z, z*omega, delta^W, V_z, V_zw, scale.
#define PV_Z 0
#define PV_ZW 3
#define PV_SHIFT_COEFF 6
#define PV_VZ 9
#define PV_VZW 12
#define PV_SCALE 15

RS_HD gl3 pv_shfl_down(gl3 v, int d) {
#ifdef __CUDA_ARCH__
  return gl3{__shfl_down_sync(0xffffffffu, v.c0, d), __shfl_down_sync(0xffffffffu, v.c1, d),
             __shfl_down_sync(0xffffffffu, v.c2, d)};
#else
  return v;
#endif
}

// One warp per LDE row j: A = sum over the first n_shifted columns of delta^k f_k(x),
// C = the rest (columns numbered across the up to 3 matrices), then
// out[j] = ((A + C - V_z)/(x - z) + (delta^W A - V_zw)/(x - z omega)) * scale.
extern "C" __global__ void pv_deep(const u64* m0, u32 w0, const u64* m1, u32 w1, const u64* m2,
                                   u32 w2, const u64* pows, u32 n_shifted, u64 size,
                                   u32 log_size, u64 shift, u64 omega, const u64* k,
                                   u64* out) {
  u64 warp = ((u64)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  u32 lane = threadIdx.x & 31;
  if (warp >= size) return;  // whole warps exit together
  u64 j = warp;
  gl3 a{0, 0, 0}, c{0, 0, 0};
  const u64* ms[3] = {m0, m1, m2};
  u32 ws[3] = {w0, w1, w2};
  u32 off = 0;
  for (int t = 0; t < 3; t++) {
    u32 w = ws[t];
    const u64* row = ms[t] + j * (u64)w;
    for (u32 col = lane; col < w; col += 32) {
      gl3 term = gl3_scale(pv_load3(pows + 3 * (u64)(off + col)), row[col]);
      if (off + col < n_shifted)
        a = gl3_add(a, term);
      else
        c = gl3_add(c, term);
    }
    off += w;
  }
  for (int d = 16; d > 0; d >>= 1) {
    a = gl3_add(a, pv_shfl_down(a, d));
    c = gl3_add(c, pv_shfl_down(c, d));
  }
  if (lane != 0) return;
  u64 x = pv_point(j, log_size, shift, omega);
  gl3 z = pv_load3(k + PV_Z), zw = pv_load3(k + PV_ZW);
  gl3 inv_z = pv_ext_inv(gl3{gl_sub(x, z.c0), gl_neg(z.c1), gl_neg(z.c2)});
  gl3 inv_zw = pv_ext_inv(gl3{gl_sub(x, zw.c0), gl_neg(zw.c1), gl_neg(zw.c2)});
  gl3 t1 = gl3_mul(gl3_sub(gl3_add(a, c), pv_load3(k + PV_VZ)), inv_z);
  gl3 t2 = gl3_mul(gl3_sub(gl3_mul(pv_load3(k + PV_SHIFT_COEFF), a), pv_load3(k + PV_VZW)), inv_zw);
  pv_store3(out + 3 * j, gl3_mul(gl3_add(t1, t2), pv_load3(k + PV_SCALE)));
}

// f'(x^2) = ((a + b) + beta (a - b) x^-1) / 2 with a = f[2i], b = f[2i+1],
// x^-1 = shift^-1 * omega^-bitrev(i) (omega of the input's size, bits of the output's).
extern "C" __global__ void pv_fold(const u64* in, u64 half, u32 log_half, u64 shift_inv,
                                   u64 omega_inv, u64 b0, u64 b1, u64 b2, u64 two_inv,
                                   u64* out) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= half) return;
  gl3 a = pv_load3(in + 6 * i), b = pv_load3(in + 6 * i + 3);
  u64 x_inv = gl_mul(shift_inv, pv_pow(omega_inv, bitrev_bits(i, log_half)));
  gl3 beta{b0, b1, b2};
  gl3 v = gl3_add(gl3_add(a, b), gl3_scale(gl3_mul(beta, gl3_sub(a, b)), x_inv));
  pv_store3(out + 3 * i, gl3_scale(v, two_inv));
}

// acc[i] += other[i] over n words.
extern "C" __global__ void pv_add(u64* acc, const u64* other, u64 n) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) acc[i] = gl_add(acc[i], other[i]);
}

// dst[c * rows + r] = src[r * w + c]: a row-major matrix in column-major order (the quotient,
// w = 3, before its inverse NTT).
extern "C" __global__ void pv_rows_to_cols(const u64* __restrict__ src, u64 rows, u32 w,
                                           u64* __restrict__ dst) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= rows * w) return;
  u64 r = i / w, c = i % w;
  dst[c * rows + r] = src[i];
}

// The quotient's D parts from its inverse NTT. `in`: 3 columns of N*D words, column e holding
// N*D * coefficient e of c_k * g^k (c_k = the quotient's k-th coefficient, EF, k < N*D; the
// inverse NTT of the values on g*<w_{n+d}> gives the coefficients of Q(g*y)). `out`: 3D columns
// of N words (column-major parts matrix: part i in columns 3i..3i+2), column 3i+e, row r =
// in[e][iN + r] * factor * g^-(iN + r); factor = (N*D)^-1 gives the coefficients themselves,
// D^-1 gives N * them (what the LDE's forward pass expects).
extern "C" __global__ void pv_split_parts(const u64* __restrict__ in, u32 log_n, u32 log_d,
                                          u64 g_inv, u64 factor, u64* __restrict__ out) {
  u64 k = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  u64 size = 1ull << (log_n + log_d);
  if (k >= size) return;
  u64 n = 1ull << log_n;
  u64 i = k >> log_n, r = k & (n - 1);
  u64 s = gl_mul(factor, pv_pow(g_inv, k));
  for (u32 e = 0; e < 3; e++) out[((3 * i + e) << log_n) + r] = gl_mul(in[e * size + k], s);
}
