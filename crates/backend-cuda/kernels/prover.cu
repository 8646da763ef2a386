// Prover-round kernels of the CUDA backend (src/backend): out-of-domain evaluation (barycentric
// weights and per-column sums over the LDE's coset prefix), the DEEP codeword, FRI folding and
// codeword addition. Extension values are 3 words (c0, c1, c2), as `flatten_ext` lays them out.
// Field arithmetic is exact, so every result equals the CPU backend's bit for bit.
#include "field.cuh"
#include "field_acc.cuh"

// The point shift * omega^bitrev(j) of a bit-reversed coset of 2^log_size points.
RS_HD u64 pv_point(u64 j, u32 log_size, u64 shift, u64 omega) {
  return gl_mul(shift, gl_pow(omega, bitrev_bits(j, log_size)));
}

RS_HD gl3 pv_load3(const u64* p) { return gl3{p[0], p[1], p[2]}; }
RS_HD void pv_store3(u64* p, gl3 v) {
  p[0] = v.c0;
  p[1] = v.c1;
  p[2] = v.c2;
}

// Out-of-domain values from coefficients: partial[3(k·w + c)] = Σ_{j in chunk k} coef[c·n + j] · zp[j]
// (coef column-major, zp = powers of the point, 3 words each). One block per (column, chunk),
// block index b = c·chunks + k; its threads stride over the chunk's rows (coalesced) and reduce in
// shared memory.
extern "C" __global__ void __launch_bounds__(256) pv_ood_coef_partial(const u64* __restrict__ coef, u64 n,
                                                                      u64 w, const u64* __restrict__ zp,
                                                                      u64 chunks, u64* __restrict__ partial) {
  __shared__ u64 red[3][256];
  u64 b = blockIdx.x;
  u64 c = b / chunks, k = b - c * chunks;
  u64 rows = n / chunks;
  const u64* col = coef + c * n + k * rows;
  const u64* p = zp + 3 * k * rows;
  gl3 acc{0, 0, 0};
  for (u64 r = threadIdx.x; r < rows; r += blockDim.x) acc = gl3_add(acc, gl3_scale(pv_load3(p + 3 * r), col[r]));
  red[0][threadIdx.x] = acc.c0;
  red[1][threadIdx.x] = acc.c1;
  red[2][threadIdx.x] = acc.c2;
  __syncthreads();
  for (u32 h = blockDim.x / 2; h > 0; h >>= 1) {
    if (threadIdx.x < h)
      for (int e = 0; e < 3; e++) red[e][threadIdx.x] = gl_add(red[e][threadIdx.x], red[e][threadIdx.x + h]);
    __syncthreads();
  }
  if (threadIdx.x == 0) pv_store3(partial + 3 * (k * w + c), gl3{red[0][0], red[1][0], red[2][0]});
}

// Columns per block of the two-point kernel (each thread keeps 2 points x 3 words x this many
// accumulators; the powers of both points are read once per row for all of them).
#define PV_OOD2_COLS 2

// Out-of-domain values at two points from one read of the coefficients:
// partial[3(k·2w + c)] = Σ_{j in chunk k} coef[c·n + j] · za[j] and
// partial[3(k·2w + w + c)] = the same with zb (za, zb: powers of the points, 3 words each).
// One block per (group of PV_OOD2_COLS columns, chunk), b = g·chunks + k. Each thread sums its
// rows' products unreduced, reduces once, and the block adds the threads' values in shared
// memory, so the sums equal pv_ood_coef_partial's at each point (field arithmetic is exact).
extern "C" __global__ void __launch_bounds__(256) pv_ood2_coef_partial(const u64* __restrict__ coef, u64 n,
                                                                       u64 w, const u64* __restrict__ za,
                                                                       const u64* __restrict__ zb, u64 chunks,
                                                                       u64* __restrict__ partial) {
  __shared__ u64 red[6][256];
  u64 b = blockIdx.x;
  u64 g = b / chunks, k = b - g * chunks;
  u64 rows = n / chunks;
  u64 c0 = g * PV_OOD2_COLS;
  u32 cols = (u32)(w - c0 < PV_OOD2_COLS ? w - c0 : PV_OOD2_COLS);
  gl_acc192 acc[PV_OOD2_COLS][6];
#pragma unroll
  for (int j = 0; j < PV_OOD2_COLS; j++)
#pragma unroll
    for (int e = 0; e < 6; e++) acc[j][e] = gl_acc192{0, 0, 0};
  // Software-pipelined: the next row's loads are issued before this row's products, so a thread
  // keeps two rows of loads in flight (one left the kernel waiting on memory at ~0.8 TB/s).
  u64 p[6], x[PV_OOD2_COLS];
  auto load = [&](u64 r, u64* pp, u64* xx) {
    u64 row = k * rows + r;
    pp[0] = za[3 * row], pp[1] = za[3 * row + 1], pp[2] = za[3 * row + 2];
    pp[3] = zb[3 * row], pp[4] = zb[3 * row + 1], pp[5] = zb[3 * row + 2];
#pragma unroll
    for (int j = 0; j < PV_OOD2_COLS; j++) xx[j] = j < (int)cols ? coef[(c0 + j) * n + row] : 0;
  };
  if (threadIdx.x < rows) load(threadIdx.x, p, x);
  for (u64 r = threadIdx.x; r < rows; r += blockDim.x) {
    u64 pn[6], xn[PV_OOD2_COLS];
    if (r + blockDim.x < rows) load(r + blockDim.x, pn, xn);
#pragma unroll
    for (int j = 0; j < PV_OOD2_COLS; j++) {
      if (j < (int)cols) {
#pragma unroll
        for (int e = 0; e < 6; e++) gl_mac(acc[j][e], x[j], p[e]);
      }
    }
#pragma unroll
    for (int e = 0; e < 6; e++) p[e] = pn[e];
#pragma unroll
    for (int j = 0; j < PV_OOD2_COLS; j++) x[j] = xn[j];
  }
#pragma unroll
  for (int j = 0; j < PV_OOD2_COLS; j++) {
    if (j >= (int)cols) break;  // uniform across the block
#pragma unroll
    for (int e = 0; e < 6; e++) red[e][threadIdx.x] = gl_acc_reduce(acc[j][e]);
    __syncthreads();
    for (u32 h = blockDim.x / 2; h > 0; h >>= 1) {
      if (threadIdx.x < h)
        for (int e = 0; e < 6; e++) red[e][threadIdx.x] = gl_add(red[e][threadIdx.x], red[e][threadIdx.x + h]);
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      u64 c = c0 + j;
      pv_store3(partial + 3 * (k * 2 * w + c), gl3{red[0][0], red[1][0], red[2][0]});
      pv_store3(partial + 3 * (k * 2 * w + w + c), gl3{red[3][0], red[4][0], red[5][0]});
    }
    __syncthreads();
  }
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

// DEEP, step 1 (docs/PROTOCOL.md §5.6, linear in the columns): the polynomials
// A = Σ_{k < n_shifted} δ^k f_k and C = Σ_{k >= n_shifted} δ^k f_k from the coefficients of one
// committed matrix (w columns, column-major, n words each; its columns are numbered from `off`
// across the table's matrices), by column groups: group g = blockIdx.y takes columns
// [g·cpg, (g+1)·cpg) and writes its sums to out + 6n·g (A's 3 coefficients, then C's, n words
// each). One thread per coefficient index j (coalesced); the groups give a narrow N enough
// threads to hide the loads (2^16 rows were 512 warps for 132 SMs). The sums stay unreduced
// (field_acc.cuh) until the group's last column: the kernel was bound by the products'
// reductions, not by its reads.
extern "C" __global__ void pv_deep_combine(const u64* __restrict__ coef, u64 n, u32 w,
                                           const u64* __restrict__ pows, u32 off, u32 n_shifted,
                                           u32 cpg, u64* __restrict__ out) {
  u32 k0 = blockIdx.y * cpg;
  u32 k1 = min(w, k0 + cpg);
  u64* o = out + 6 * n * blockIdx.y;
  for (u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += (u64)gridDim.x * blockDim.x) {
    gl_acc192 acc[6] = {};  // A's three coefficients, then C's
    for (u32 k = k0; k < k1; k++) {
      const u64* p = pows + 3 * (u64)(off + k);
      u64 x = coef[(u64)k * n + j];
      if (off + k < n_shifted) {  // uniform across the block
        gl_mac(acc[0], p[0], x);
        gl_mac(acc[1], p[1], x);
        gl_mac(acc[2], p[2], x);
      } else {
        gl_mac(acc[3], p[0], x);
        gl_mac(acc[4], p[1], x);
        gl_mac(acc[5], p[2], x);
      }
    }
#pragma unroll
    for (int e = 0; e < 6; e++) o[e * n + j] = gl_acc_reduce(acc[e]);
  }
}

// ac[i] (+)= Σ_g parts[g·len + i] for i < len: the column groups' sums (added to ac's words
// when `accumulate`, else replacing them).
extern "C" __global__ void pv_deep_sum(const u64* __restrict__ parts, u32 groups, u64 len,
                                       u32 accumulate, u64* __restrict__ ac) {
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < len; i += (u64)gridDim.x * blockDim.x) {
    u64 v = accumulate ? ac[i] : 0;
    for (u32 g = 0; g < groups; g++) v = gl_add(v, parts[g * len + i]);
    ac[i] = v;
  }
}

// DEEP, step 2: `ext` holds A and C evaluated on the LDE domain (6 columns of `size` words, LDE
// row order); out[j] = ((A + C - V_z)/(x - z) + (δ^W A - V_zw)/(x - zω)) · scale at x = point j.
extern "C" __global__ void pv_deep_finish(const u64* __restrict__ ext, u64 size, u32 log_size,
                                          u64 shift, u64 omega, const u64* __restrict__ k,
                                          u64* __restrict__ out) {
  for (u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x; j < size; j += (u64)gridDim.x * blockDim.x) {
    gl3 a{ext[j], ext[size + j], ext[2 * size + j]};
    gl3 c{ext[3 * size + j], ext[4 * size + j], ext[5 * size + j]};
    u64 x = pv_point(j, log_size, shift, omega);
    gl3 z = pv_load3(k + PV_Z), zw = pv_load3(k + PV_ZW);
    gl3 inv_z = gl3_inv(gl3{gl_sub(x, z.c0), gl_neg(z.c1), gl_neg(z.c2)});
    gl3 inv_zw = gl3_inv(gl3{gl_sub(x, zw.c0), gl_neg(zw.c1), gl_neg(zw.c2)});
    gl3 t1 = gl3_mul(gl3_sub(gl3_add(a, c), pv_load3(k + PV_VZ)), inv_z);
    gl3 t2 = gl3_mul(gl3_sub(gl3_mul(pv_load3(k + PV_SHIFT_COEFF), a), pv_load3(k + PV_VZW)), inv_zw);
    pv_store3(out + 3 * j, gl3_mul(gl3_add(t1, t2), pv_load3(k + PV_SCALE)));
  }
}

// f'(x^2) = ((a + b) + beta (a - b) x^-1) / 2 with a = f[2i], b = f[2i+1],
// x^-1 = shift^-1 * omega^-bitrev(i) (omega of the input's size, bits of the output's).
extern "C" __global__ void pv_fold(const u64* in, u64 half, u32 log_half, u64 shift_inv,
                                   u64 omega_inv, u64 b0, u64 b1, u64 b2, u64 two_inv,
                                   u64* out) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= half) return;
  gl3 a = pv_load3(in + 6 * i), b = pv_load3(in + 6 * i + 3);
  u64 x_inv = gl_mul(shift_inv, gl_pow(omega_inv, bitrev_bits(i, log_half)));
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
  u64 s = gl_mul(factor, gl_pow(g_inv, k));
  for (u32 e = 0; e < 3; e++) out[((3 * i + e) << log_n) + r] = gl_mul(in[e * size + k], s);
}
