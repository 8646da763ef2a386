// Merkle kernels: row-pair leaf hashing, the node layers, and gathers for openings.
// Digests are 4 little-endian u64 words = the 32 digest bytes; nodes[k] is at words 4k..4k+4,
// in the heap layout of docs/PROTOCOL.md §3 (leaf i at node L + i, root at node 1).
#include "field.cuh"
#include "keccak.cuh"

#define MERKLE_THREADS 128

// Leaf i = Keccak256(row 2i || row 2i+1) of a row-major matrix: its 2W words are contiguous.
extern "C" __global__ void __launch_bounds__(MERKLE_THREADS)
    hash_leaves_rowmajor(const u64* __restrict__ m, u64 num_leaves, u32 width, u64* __restrict__ nodes) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= num_leaves) return;
  const u64* leaf = m + i * 2 * (u64)width;
  u64 d[4];
  keccak256_words([&](u64 w) { return __ldg(leaf + w); }, 2 * (u64)width, d);
  u64* out = nodes + (num_leaves + i) * 4;
  out[0] = d[0]; out[1] = d[1]; out[2] = d[2]; out[3] = d[3];
}

// The same leaves read from a column-major matrix of `rows` rows (the LDE's layout): consecutive
// threads read consecutive row pairs of a column, so a warp's load is one 512-byte run.
extern "C" __global__ void __launch_bounds__(MERKLE_THREADS)
    hash_leaves_colmajor(const u64* __restrict__ col, u64 rows, u32 width, u64* __restrict__ nodes) {
  u64 num_leaves = rows / 2;
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= num_leaves) return;
  u64 w_ = width;
  u64 d[4];
  keccak256_words(
      [&](u64 w) { return w < w_ ? __ldg(col + w * rows + 2 * i) : __ldg(col + (w - w_) * rows + 2 * i + 1); },
      2 * w_, d);
  u64* out = nodes + (num_leaves + i) * 4;
  out[0] = d[0]; out[1] = d[1]; out[2] = d[2]; out[3] = d[3];
}

// Several node layers per launch. The launch computes the layer of `first` nodes
// (nodes first .. 2*first-1) from their children in global memory, then keeps halving inside
// each block's shared memory for `levels` layers in all. blockDim.x = the block's share of the
// first layer (a power of two); layer l of the launch has blockDim.x >> l nodes per block.
extern "C" __global__ void __launch_bounds__(256) merkle_layers(u64* nodes, u64 first, u32 levels) {
  __shared__ u64 sm[256][4];
  u32 tid = threadIdx.x;
  u32 per_block = blockDim.x;
  u64 k = first + (u64)blockIdx.x * per_block + tid;
  u64 l[4], r[4], h[4];
  const u64* c = nodes + 2 * k * 4;
#pragma unroll
  for (int j = 0; j < 4; j++) { l[j] = c[j]; r[j] = c[4 + j]; }
  keccak256_node(l, r, h);
#pragma unroll
  for (int j = 0; j < 4; j++) { nodes[k * 4 + j] = h[j]; sm[tid][j] = h[j]; }
  u64 layer_first = first;
  for (u32 lv = 1; lv < levels; lv++) {
    __syncthreads();
    u32 active = per_block >> lv;
    layer_first >>= 1;
    bool on = tid < active;
    if (on) {
#pragma unroll
      for (int j = 0; j < 4; j++) { l[j] = sm[2 * tid][j]; r[j] = sm[2 * tid + 1][j]; }
      keccak256_node(l, r, h);
    }
    __syncthreads();
    if (on) {
      u64 kk = layer_first + (u64)blockIdx.x * active + tid;
#pragma unroll
      for (int j = 0; j < 4; j++) { nodes[kk * 4 + j] = h[j]; sm[tid][j] = h[j]; }
    }
  }
}

// Authentication paths: out[(q * depth + l)] = nodes[((L + leaf_q) >> l) ^ 1], one thread per
// (query, level). A leaf index >= L sets *bad and writes nothing (the host checks first too).
extern "C" __global__ void gather_paths(const u64* __restrict__ nodes, u64 num_leaves, u32 depth,
                                        const u64* __restrict__ leaves, u64 nq, u64* __restrict__ out,
                                        u32* bad) {
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= nq * depth) return;
  u64 q = t / depth;
  u32 l = (u32)(t % depth);
  u64 leaf = leaves[q];
  if (leaf >= num_leaves) {
    atomicOr(bad, 1u);
    return;
  }
  u64 idx = ((num_leaves + leaf) >> l) ^ 1ull;
#pragma unroll
  for (int j = 0; j < 4; j++) out[t * 4 + j] = nodes[idx * 4 + j];
}

// Row gather: out[i * W + c] = element (idx[i], c) of m, at m[r * row_stride + c * col_stride]
// (row-major: W, 1; column-major: 1, rows); an index >= rows sets *bad.
extern "C" __global__ void gather_rows(const u64* __restrict__ m, u64 rows, u32 width, u64 row_stride,
                                       u64 col_stride, const u64* __restrict__ idx, u64 n,
                                       u64* __restrict__ out, u32* bad) {
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n * width) return;
  u64 i = t / width;
  u32 c = (u32)(t % width);
  u64 r = idx[i];
  if (r >= rows) {
    atomicOr(bad, 1u);
    return;
  }
  out[t] = m[r * row_stride + c * col_stride];
}

// Every opening of a query phase in one launch (src/openings.rs): `buf` holds the row and leaf
// indices, then n_jobs descriptors of GJ_WORDS words at buf + jobs_at:
//   0 matrix address, 1 rows, 2 row stride, 3 column stride, 4 width, 5 path depth,
//   6 node array address, 7 leaves, 8 offset of the row indices (2 per leaf) in buf,
//   9 offset of the leaves, 10 leaves opened, 11 output offset of the rows, 12 of the paths,
//   13 the job's first thread (threads: 2·n·width row words, then n·depth path nodes).
// An index out of range sets out[flag_at] and writes nothing.
#define GJ_WORDS 14
extern "C" __global__ void gather_openings(const u64* __restrict__ buf, u32 n_jobs, u64 jobs_at,
                                           u64 threads, u64* __restrict__ out, u64 flag_at) {
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= threads) return;
  const u64* jobs = buf + jobs_at;
  u32 j = 0;
  while (j + 1 < n_jobs && jobs[(u64)(j + 1) * GJ_WORDS + 13] <= t) j++;
  const u64* g = jobs + (u64)j * GJ_WORDS;
  u64 local = t - g[13];
  u64 width = g[4], n_rows = 2 * g[10] * width;
  if (local < n_rows) {
    u64 r = buf[g[8] + local / width], c = local % width;
    if (r >= g[1]) {
      atomicOr((unsigned long long*)(out + flag_at), 1ull);
      return;
    }
    out[g[11] + local] = reinterpret_cast<const u64*>(g[0])[r * g[2] + c * g[3]];
  } else {
    u64 p = local - n_rows, depth = g[5];
    u64 leaf = buf[g[9] + p / depth];
    if (leaf >= g[7]) {
      atomicOr((unsigned long long*)(out + flag_at), 1ull);
      return;
    }
    u64 node = ((g[7] + leaf) >> (p % depth)) ^ 1ull;
    const u64* nodes = reinterpret_cast<const u64*>(g[6]);
#pragma unroll
    for (int k = 0; k < 4; k++) out[g[12] + p * 4 + k] = nodes[node * 4 + k];
  }
}
