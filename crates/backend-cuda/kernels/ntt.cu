// LDE kernels: layout changes, the batched NTT passes and the coset expansion.
#include "ntt.cuh"

// Column-major `src` (cw columns of `rows` words) into columns c0 .. c0+cw of the row-major
// `dst` (rows x dst_width): a block moves `tile_rows` whole rows. Reads are runs of tile_rows
// words per column; writes are runs of cw words per row (one run when cw = dst_width); shared
// memory rows are padded to cw + 1 words.
extern "C" __global__ void __launch_bounds__(256)
    colmajor_to_rowmajor(const u64* __restrict__ src, u64* __restrict__ dst, u64 rows, u32 cw,
                         u32 tile_rows, u64 dst_width, u64 c0) {
  extern __shared__ u64 sm[];
  u64 r0 = (u64)blockIdx.x * tile_rows;
  u32 total = tile_rows * cw;
  u32 stride = cw + 1;
  for (u32 i = threadIdx.x; i < total; i += blockDim.x) {
    u32 c = i / tile_rows, r = i % tile_rows;
    sm[r * stride + c] = src[(u64)c * rows + r0 + r];
  }
  __syncthreads();
  for (u32 i = threadIdx.x; i < total; i += blockDim.x) {
    u32 r = i / cw, c = i % cw;
    dst[(r0 + r) * dst_width + c0 + c] = sm[r * stride + c];
  }
}

// The LDE's first step in one pass: row-major trace (N x W) -> column-major with bit-reversed
// rows, dst[c * N + bitrev(r)] = src[r * W + c], for log_n >= 10. Row r = (a | m | b), with
// 5-bit a and b, goes to bitrev(r) = (rev b | rev m | rev a): a block takes one m and 4 columns,
// 32 x 32 rows x 4 columns through shared memory, read as runs of a row's 4 columns and written
// as runs of 32 words (rev a over consecutive threads). Groups of 4 columns run along y, and a
// block takes groups y, y + gridDim.y, ... (any width fits the grid's y limit).
#define TB_COLS 4
extern "C" __global__ void __launch_bounds__(256)
    trace_to_colmajor_bitrev(const u64* __restrict__ src, u64* __restrict__ dst, u32 log_n, u32 width) {
  __shared__ u64 tile[TB_COLS * 32][33];
  u64 m = blockIdx.x;
  u64 n = 1ull << log_n;
  u64 rm = bitrev_bits(m, log_n - 10);
  u32 tid = threadIdx.y * 32 + threadIdx.x;
  u32 ra = threadIdx.x;
  u32 a_out = (u32)bitrev_bits(ra, 5);
  for (u64 g = blockIdx.y; g * TB_COLS < width; g += gridDim.y) {  // uniform across the block
    u64 c0 = g * TB_COLS;
    u32 cc = width - c0 < TB_COLS ? (u32)(width - c0) : TB_COLS;
    // all of a thread's loads in flight at once (one at a time ran at half the DRAM speed)
    constexpr u32 PER_THREAD = 32 * 32 * TB_COLS / 256;
    u64 v[PER_THREAD];
#ifdef __CUDACC__
#pragma unroll
#endif
    for (u32 j = 0; j < PER_THREAD; j++) {
      u32 idx = tid + j * 256, a = idx / (32 * TB_COLS), e = idx % (32 * TB_COLS);
      u32 b = e / TB_COLS, c = e % TB_COLS;
      u64 row = ((u64)a << (log_n - 5)) | (m << 5) | b;
      v[j] = c < cc ? src[row * width + c0 + c] : 0;
    }
#ifdef __CUDACC__
#pragma unroll
#endif
    for (u32 j = 0; j < PER_THREAD; j++) {
      u32 idx = tid + j * 256, a = idx / (32 * TB_COLS), e = idx % (32 * TB_COLS);
      tile[(e % TB_COLS) * 32 + a][e / TB_COLS] = v[j];
    }
    __syncthreads();
    for (u32 i = threadIdx.y; i < 32 * cc; i += 8) {
      u32 c = i / 32, rb = i % 32;
      u32 b = (u32)bitrev_bits(rb, 5);
      dst[(c0 + c) * n + (((u64)rb << (log_n - 5)) | (rm << 5) | ra)] = tile[c * 32 + a_out][b];
    }
    __syncthreads();
  }
}

// Same for short traces (log_n < 10): one thread per element.
extern "C" __global__ void trace_to_colmajor_bitrev_small(const u64* __restrict__ src, u64* __restrict__ dst,
                                                          u32 log_n, u32 width) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  u64 n = 1ull << log_n;
  if (i >= n * width) return;
  u64 r = i / width, c = i % width;
  dst[c * n + bitrev_bits(r, log_n)] = src[i];
}

// One NTT pass over every column (column = blockIdx.y, tile = blockIdx.x), and the first
// forward pass with the coset expansion fused in: block a of column c (blockIdx.y = c * B + a)
// reads coefficient column c scaled by N^-1 * s_a^k and writes its own block of `out`.
// Two variants: register rounds of up to 4 stages (3 blocks per SM) or 3 (4 blocks per SM).
#define NTT_KERNELS(SUFFIX, MAXR, MINB)                                                              \
  extern "C" __global__ void __launch_bounds__(NTT_THREADS, MINB)                                   \
      ntt_pass##SUFFIX(u64* data, const u64* __restrict__ tw, u32 log_n, u32 log_s, u32 k, u32 log_c, \
                       u32 dif) {                                                                    \
    extern __shared__ u64 sm[];                                                                      \
    u64* col = data + ((u64)blockIdx.y << log_n);                                                    \
    ntt_tile_pass<MAXR>(sm, col, tw, log_s, k, log_c, dif != 0, blockIdx.x, threadIdx.x, blockDim.x); \
  }                                                                                                  \
  extern "C" __global__ void __launch_bounds__(NTT_THREADS, MINB) ntt_pass_expand##SUFFIX(            \
      const u64* __restrict__ coef, u64* out, const u64* __restrict__ tw, u32 log_n, u32 log_s,     \
      u32 k, u32 log_c, u32 log_b, const u64* __restrict__ lo_tab, const u64* __restrict__ hi_tab,  \
      u32 log_lo) {                                                                                  \
    extern __shared__ u64 sm[];                                                                      \
    u64 y = blockIdx.y;                                                                              \
    u32 a = (u32)(y & ((1u << log_b) - 1));                                                          \
    const u64* src = coef + ((y >> log_b) << log_n);                                                 \
    u64 hi_len = (1ull << log_n) >> log_lo;                                                          \
    ntt_tile_pass_with<MAXR>(                                                                        \
        sm, [&](u64 i) { return coset_scale(src[i], lo_tab, hi_tab, a, i, log_lo, hi_len); },       \
        out + (y << log_n), tw, log_s, k, log_c, true, blockIdx.x, threadIdx.x, blockDim.x);         \
  }

NTT_KERNELS(, 4, 3)
NTT_KERNELS(_r3, 3, 4)

// The inverse transform's last pass fused with the forward transform's first, for sizes where
// both are the same single register round: the top R <= 4 stages (half-sizes 2^log_s ..
// 2^(log_n-1), log_s = log_n - R), which mix the 2^R values at t * 2^log_s + lo (t < 2^R). A
// thread takes one (column, lo): it loads those values (after the inverse's other passes), runs
// the inverse round, writes the N * coefficients back in place (the proof keeps them), then for
// each coset block a scales them by N^-1 * s_a^k and runs the forward round into block a of
// `out`. The coefficient matrix is read once where the two passes read it twice and wrote it
// twice. No shared memory: the loads and stores of a warp are runs of 32 words.
template <int R>
__device__ __forceinline__ void ntt_inverse_expand_thread(u64* col, u64* out_col, const u64* inv_tw, const u64* fwd_tw,
                                     u32 log_n, u32 log_b, const u64* lo_tab, const u64* hi_tab,
                                     u32 log_lo, u32 lo) {
  constexpr int M = 1 << R;
  const u32 log_s = log_n - R;
  u64 x[M];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int t = 0; t < M; t++) x[t] = col[((u64)t << log_s) + lo];
  ntt_stages_regs<R, false>(x, inv_tw, log_s, lo);
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int t = 0; t < M; t++) col[((u64)t << log_s) + lo] = x[t];
  const u64 hi_len = (1ull << log_n) >> log_lo;
  for (u32 a = 0; a < (1u << log_b); a++) {
    u64 y[M];
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int t = 0; t < M; t++)
      y[t] = coset_scale(x[t], lo_tab, hi_tab, a, ((u64)t << log_s) + lo, log_lo, hi_len);
    // (R = 4: 20 bytes of spill at 128 registers; by quarters, as ntt_round does, spilled 80)
    ntt_stages_regs<R, true>(y, fwd_tw, log_s, lo);
    u64* dst = out_col + ((u64)a << log_n);
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int t = 0; t < M; t++) dst[((u64)t << log_s) + lo] = y[t];
  }
}

// Grid: x covers lo < 2^(log_n - r) in blocks of NTT_THREADS (a divisor of it), y the columns;
// coef holds them (2^log_n words each), out their 2^log_b blocks each. Two kernels: r <= 3 fits
// 80 registers (3 blocks per SM), r = 4 takes 128 (2 per SM).
#define NTT_INVERSE_EXPAND_ARGS                                                                  \
  u64 *coef, u64 *out, const u64 *__restrict__ inv_tw, const u64 *__restrict__ fwd_tw, u32 log_n, \
      u32 r, u32 log_b, const u64 *__restrict__ lo_tab, const u64 *__restrict__ hi_tab, u32 log_lo
#define NTT_INVERSE_EXPAND_CALL(R)                                                                  \
  ntt_inverse_expand_thread<R>(coef + ((u64)blockIdx.y << log_n),                                \
                               out + (((u64)blockIdx.y << log_b) << log_n), inv_tw, fwd_tw, log_n, \
                               log_b, lo_tab, hi_tab, log_lo, blockIdx.x * blockDim.x + threadIdx.x)
extern "C" __global__ void __launch_bounds__(NTT_THREADS, 3) ntt_inverse_expand(NTT_INVERSE_EXPAND_ARGS) {
  switch (r) {
    case 1: return NTT_INVERSE_EXPAND_CALL(1);
    case 2: return NTT_INVERSE_EXPAND_CALL(2);
    default: return NTT_INVERSE_EXPAND_CALL(3);
  }
}
extern "C" __global__ void __launch_bounds__(NTT_THREADS, 2) ntt_inverse_expand4(NTT_INVERSE_EXPAND_ARGS) {
  NTT_INVERSE_EXPAND_CALL(4);
}
