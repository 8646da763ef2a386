// Streamed commitments (src/stream): a committed matrix kept on the device as its coefficients,
// its LDE recomputed in column chunks (commit, openings) or in row blocks (composition) when a
// round needs it, never held whole. Every kernel here is a grid-stride loop over a 1-D grid, so
// any size fits the launch limits.
#include "stream.cuh"

#define ST_FOR(i, n) \
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

// out[i] = scale * s^i for i < n.
extern "C" __global__ void st_powers(u64 s, u64 scale, u64 n, u64* __restrict__ out) {
  ST_FOR(i, n) out[i] = gl_mul(scale, gl_pow(s, i));
}

// out[3i..3i+3] = z^i (extension) for i < n.
extern "C" __global__ void st_ext_powers(u64 z0, u64 z1, u64 z2, u64 n, u64* __restrict__ out) {
  ST_FOR(i, n) {
    gl3 p = st_pow3(gl3{z0, z1, z2}, i);
    out[3 * i] = p.c0;
    out[3 * i + 1] = p.c1;
    out[3 * i + 2] = p.c2;
  }
}

// Row block of the LDE domain, step 1 (then a size-2^log_m forward NTT per column): columns
// c0 .. c0+cw of the coefficient matrix `coef` (column-major, n words per column) folded onto the
// coset s·<w_M>: out[c·M + i] = tab[i] · Σ_t coef[(c0+c)·n + i + tM] σ^t, tab[i] = scale·s^i.
extern "C" __global__ void st_fold(const u64* __restrict__ coef, u64 n, u64 c0, u64 cw, u32 log_m,
                                   const u64* __restrict__ tab, u64 sigma, u64* __restrict__ out) {
  u64 m = 1ull << log_m;
  ST_FOR(e, cw * m) {
    u64 c = e >> log_m, i = e & (m - 1);
    out[e] = gl_mul(tab[i], st_fold_sum(coef + (c0 + c) * n, n, log_m, i, sigma));
  }
}

// Natural-order rows r0 .. r0+rows of a row-major block (`src`, w words per row) into the
// column-major matrix `dst` (n words per column) at bit-reversed positions:
// dst[c·n + bitrev_{log_n}(r0 + t)] = src[t·w + c]. Blocks of a trace that is never whole on the
// device arrive this way, ready for the inverse NTT.
extern "C" __global__ void st_rows_to_colmajor_bitrev(const u64* __restrict__ src, u64 rows, u64 w,
                                                      u64 r0, u32 log_n, u64* __restrict__ dst) {
  u64 n = 1ull << log_n;
  ST_FOR(e, rows * w) {
    u64 t = e / w, c = e - t * w;
    dst[c * n + bitrev_bits(r0 + t, log_n)] = src[e];
  }
}

// The leaf sponges absorb one column chunk: states hold 25 lanes per leaf, lane-major
// (lane j of leaf i at j·leaves + i, so a warp's accesses coalesce). `ext` holds the chunk's cw
// columns of the LDE (rows words each, LDE row order); leaf i absorbs rows 2i + parity of them,
// words p0 .. p0+cw of its stream.
extern "C" __global__ void __launch_bounds__(128) st_absorb(u64* __restrict__ states, u64 leaves,
                                                            const u64* __restrict__ ext, u64 rows,
                                                            u32 cw, u32 parity, u64 p0) {
  ST_FOR(i, leaves) {
    u64 s[25];
#pragma unroll
    for (int j = 0; j < 25; j++) s[j] = states[(u64)j * leaves + i];
    const u64* col = ext + 2 * i + parity;
    st_sponge_absorb(s, p0, cw, [&](u32 c) { return col[(u64)c * rows]; });
#pragma unroll
    for (int j = 0; j < 25; j++) states[(u64)j * leaves + i] = s[j];
  }
}

// Every leaf absorbed `total` words: pad, permute, and write the digests as tree nodes L + i.
extern "C" __global__ void __launch_bounds__(128) st_squeeze(const u64* __restrict__ states, u64 leaves,
                                                             u64 total, u64* __restrict__ nodes) {
  ST_FOR(i, leaves) {
    u64 s[25];
#pragma unroll
    for (int j = 0; j < 25; j++) s[j] = states[(u64)j * leaves + i];
    u64 d[4];
    st_sponge_finish(s, total, d);
    u64* out = nodes + (leaves + i) * 4;
    out[0] = d[0];
    out[1] = d[1];
    out[2] = d[2];
    out[3] = d[3];
  }
}

// Opened rows from a column chunk of a recomputed LDE: out[q·w + c0 + c] = ext[c·rows + idx[q]]
// (idx checked on the host).
extern "C" __global__ void st_gather_rows(const u64* __restrict__ ext, u64 rows, u64 cw,
                                          const u64* __restrict__ idx, u64 nq, u64 w, u64 c0,
                                          u64* __restrict__ out) {
  ST_FOR(e, nq * cw) {
    u64 q = e / cw, c = e - q * cw;
    out[q * w + c0 + c] = ext[c * rows + idx[q]];
  }
}
