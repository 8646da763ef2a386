// The batched NTT used by the coset LDE (docs/GPU.md, "LDE pipeline").
//
// A size-2^n transform is run as a few passes; each pass does k consecutive radix-2 stages
// in shared memory. The stages with half-sizes h = s, 2s, ..., s*2^(k-1) only mix elements
// whose indices agree outside the bits [log s, log s + k): a "group" is
// {hi * s * 2^k + t * s + lo : t < 2^k}. One tile holds C = min(s, 16) groups with consecutive
// `lo` (so global loads and stores are runs of C words) and all their 2^k points.
//
// Twiddles come from one table per size: tw[h + r] = w_{2h}^r for every half-size h (r < h).
// DIF (natural in, bit-reversed out): stages from h = N/2 down, butterfly (a + b, (a - b) w).
// DIT (bit-reversed in, natural out): stages from h = 1 up,    butterfly (a + w b, a - w b).
#pragma once
#include "field.cuh"

#define NTT_MAX_LOG_C 4      // at most 16 consecutive groups per tile
#define NTT_TILE_LOG 12      // at most 4096 words (32 KiB) per tile
#define NTT_THREADS 256

struct ntt_tile_geom {
  u32 log_s, k, log_c;
  u64 base;  // global index of element (t = 0, q = 0)
  u64 lo0;   // `lo` of q = 0
};

RS_HD ntt_tile_geom ntt_geom(u32 log_s, u32 k, u64 tile) {
  ntt_tile_geom g;
  g.log_s = log_s;
  g.k = k;
  g.log_c = log_s < NTT_MAX_LOG_C ? log_s : NTT_MAX_LOG_C;
  u32 log_runs = log_s - g.log_c;  // runs of C groups per `hi`
  u64 hi = tile >> log_runs;
  u64 run = tile & ((1ull << log_runs) - 1);
  g.lo0 = run << g.log_c;
  g.base = (hi << (log_s + k)) | g.lo0;
  return g;
}

RS_HD u64 ntt_elem_pos(const ntt_tile_geom& g, u32 e) {
  u64 t = e >> g.log_c;
  u64 q = e & ((1u << g.log_c) - 1);
  return g.base + (t << g.log_s) + q;
}

// One stage (local half-size 2^j) over the tile held in `sm`, butterflies tid, tid + nthreads, ...
RS_HD void ntt_tile_stage(u64* sm, const u64* tw, const ntt_tile_geom& g, u32 j, bool dif,
                          u32 tid, u32 nthreads) {
  u32 half_butterflies = 1u << (g.k - 1 + g.log_c);
  u32 cmask = (1u << g.log_c) - 1;
  u32 jmask = (1u << j) - 1;
  u64 h = 1ull << (g.log_s + j);
  for (u32 bi = tid; bi < half_butterflies; bi += nthreads) {
    u32 q = bi & cmask;
    u32 u = bi >> g.log_c;
    u32 t0 = ((u >> j) << (j + 1)) | (u & jmask);
    u32 t1 = t0 + (1u << j);
    u64 r = ((u64)(t0 & jmask) << g.log_s) + g.lo0 + q;
    u64 w = tw[h + r];
    u32 i0 = (t0 << g.log_c) + q;
    u32 i1 = (t1 << g.log_c) + q;
    u64 a = sm[i0];
    u64 b = sm[i1];
    if (dif) {
      sm[i0] = gl_add(a, b);
      sm[i1] = gl_mul(gl_sub(a, b), w);
    } else {
      u64 wb = gl_mul(b, w);
      sm[i0] = gl_add(a, wb);
      sm[i1] = gl_sub(a, wb);
    }
  }
}

// A whole pass for one tile of one column: element at global index i is read as load(i) and
// written to dst[i] (`load` may read another buffer, e.g. with the coset scaling fused in).
template <typename Load>
RS_HD void ntt_tile_pass_with(u64* sm, Load load, u64* dst, const u64* tw, u32 log_s, u32 k, bool dif,
                              u64 tile, u32 tid, u32 nthreads) {
  ntt_tile_geom g = ntt_geom(log_s, k, tile);
  u32 elems = 1u << (k + g.log_c);
  for (u32 e = tid; e < elems; e += nthreads) sm[e] = load(ntt_elem_pos(g, e));
  RS_SYNC();
  if (dif) {
    for (int j = (int)k - 1; j >= 0; j--) {
      ntt_tile_stage(sm, tw, g, (u32)j, true, tid, nthreads);
      RS_SYNC();
    }
  } else {
    for (u32 j = 0; j < k; j++) {
      ntt_tile_stage(sm, tw, g, j, false, tid, nthreads);
      RS_SYNC();
    }
  }
  for (u32 e = tid; e < elems; e += nthreads) dst[ntt_elem_pos(g, e)] = sm[e];
}

// In place: one tile of one column (`col` points at the column's first element).
RS_HD void ntt_tile_pass(u64* sm, u64* col, const u64* tw, u32 log_s, u32 k, bool dif, u64 tile,
                         u32 tid, u32 nthreads) {
  ntt_tile_pass_with(sm, [&](u64 i) { return col[i]; }, col, tw, log_s, k, dif, tile, tid, nthreads);
}

// Coset scaling of one coefficient into the B blocks: out_a[k] = coef[k] * lo_a[k mod LO] * hi_a[k / LO].
RS_HD u64 coset_scale(u64 v, const u64* lo_tab, const u64* hi_tab, u32 a, u64 kidx, u32 log_lo,
                      u64 hi_len) {
  u64 lo_len = 1ull << log_lo;
  u64 s = gl_mul(lo_tab[a * lo_len + (kidx & (lo_len - 1))], hi_tab[a * hi_len + (kidx >> log_lo)]);
  return gl_mul(v, s);
}
