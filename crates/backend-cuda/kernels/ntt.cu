// LDE kernels: layout changes, the batched NTT passes and the coset expansion.
#include "ntt.cuh"

// dst[c * rows + r] = src[r * cols + c] (row-major -> column-major, or back with rows/cols swapped).
// 1-D grid of 32 x 32 tiles, row tiles fastest (so either side may be long); block 32 x 8.
extern "C" __global__ void transpose_u64(const u64* __restrict__ src, u64* __restrict__ dst,
                                         u64 rows, u64 cols) {
  __shared__ u64 tile[32][33];
  u64 row_tiles = (rows + 31) / 32;
  u64 r0 = ((u64)blockIdx.x % row_tiles) * 32;
  u64 c0 = ((u64)blockIdx.x / row_tiles) * 32;
  for (u32 i = threadIdx.y; i < 32; i += 8) {
    u64 r = r0 + i;
    u64 c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[i][threadIdx.x] = src[r * cols + c];
  }
  __syncthreads();
  for (u32 i = threadIdx.y; i < 32; i += 8) {
    u64 c = c0 + i;
    u64 r = r0 + threadIdx.x;
    if (r < rows && c < cols) dst[c * rows + r] = tile[threadIdx.x][i];
  }
}

// Bit-reversal permutation of each column of length 2^log_n (column = blockIdx.y), log_n >= 10.
// Index r = (a: 5 bits | m: log_n - 10 bits | b: 5 bits) goes to (rev b | rev m | rev a): a 32 x 32
// tile per m keeps both the reads (runs over b) and the writes (runs over rev a) contiguous.
extern "C" __global__ void bitrev_columns_tiled(const u64* __restrict__ src, u64* __restrict__ dst,
                                                u32 log_n) {
  __shared__ u64 tile[32][33];
  u64 n = 1ull << log_n;
  const u64* s = src + (u64)blockIdx.y * n;
  u64* d = dst + (u64)blockIdx.y * n;
  u32 log_m = log_n - 10;
  u64 m = blockIdx.x;
  u64 rm = bitrev_bits(m, log_m);
  for (u32 a = threadIdx.y; a < 32; a += 8) {
    tile[a][threadIdx.x] = s[((u64)a << (log_n - 5)) | (m << 5) | threadIdx.x];
  }
  __syncthreads();
  for (u32 rb = threadIdx.y; rb < 32; rb += 8) {
    u32 ra = threadIdx.x;
    u32 a = (u32)bitrev_bits(ra, 5);
    u32 b = (u32)bitrev_bits(rb, 5);
    d[((u64)rb << (log_n - 5)) | (rm << 5) | ra] = tile[a][b];
  }
}

// Same permutation for short columns (log_n < 10): one thread per element.
extern "C" __global__ void bitrev_columns_small(const u64* __restrict__ src, u64* __restrict__ dst,
                                                u32 log_n, u64 total) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= total) return;
  u64 n = 1ull << log_n;
  u64 col = i >> log_n;
  u64 r = i & (n - 1);
  dst[col * n + bitrev_bits(r, log_n)] = src[i];
}

// One NTT pass over every column (column = blockIdx.y, tile = blockIdx.x).
extern "C" __global__ void __launch_bounds__(NTT_THREADS) ntt_pass(u64* data, const u64* __restrict__ tw,
                                                                   u32 log_n, u32 log_s, u32 k, u32 dif) {
  extern __shared__ u64 sm[];
  u64* col = data + ((u64)blockIdx.y << log_n);
  ntt_tile_pass(sm, col, tw, log_s, k, dif != 0, blockIdx.x, threadIdx.x, blockDim.x);
}

// The first forward pass with the coset expansion fused in: block a of column c (blockIdx.y =
// c * B + a) reads coefficient column c scaled by N^-1 * s_a^k and writes its own block of `out`.
extern "C" __global__ void __launch_bounds__(NTT_THREADS)
    ntt_pass_expand(const u64* __restrict__ coef, u64* out, const u64* __restrict__ tw, u32 log_n,
                    u32 log_s, u32 k, u32 log_b, const u64* __restrict__ lo_tab,
                    const u64* __restrict__ hi_tab, u32 log_lo) {
  extern __shared__ u64 sm[];
  u64 y = blockIdx.y;
  u32 a = (u32)(y & ((1u << log_b) - 1));
  const u64* src = coef + ((y >> log_b) << log_n);
  u64 hi_len = (1ull << log_n) >> log_lo;
  ntt_tile_pass_with(
      sm, [&](u64 i) { return coset_scale(src[i], lo_tab, hi_tab, a, i, log_lo, hi_len); },
      out + (y << log_n), tw, log_s, k, true, blockIdx.x, threadIdx.x, blockDim.x);
}
