// The batched NTT used by the coset LDE (docs/GPU.md, "LDE pipeline").
//
// A size-2^n transform is run as a few passes; each pass does k consecutive radix-2 stages
// in shared memory. The stages with half-sizes h = s, 2s, ..., s*2^(k-1) only mix elements
// whose indices agree outside the bits [log s, log s + k): a "group" is
// {hi * s * 2^k + t * s + lo : t < 2^k}. One tile holds C = 2^log_c groups with consecutive
// `lo` (so global loads and stores are runs of C words) and all their 2^k points; the host's
// plan (src/plan.rs) picks log_c (0 for the contiguous pass, 2..4 for strided ones).
//
// Twiddles come from one table per size: tw[h + r] = w_{2h}^r for every half-size h (r < h).
// DIF (natural in, bit-reversed out): stages from h = N/2 down, butterfly (a + b, (a - b) w).
// DIT (bit-reversed in, natural out): stages from h = 1 up,    butterfly (a + w b, a - w b).
#pragma once
#include "field.cuh"
#include "gl_pow2.cuh"

#define NTT_TILE_LOG 13      // at most 8192 words per tile (src/plan.rs NTT_TILE_LOG)
#define NTT_THREADS 256
// Register rounds of up to 4 stages (16 values per thread, 3 blocks per SM) or of up to 3
// (8 values, 4 blocks per SM); the host picks the variant (GpuContext::set_ntt_round).
// Shared-memory index of tile element e: one pad word per 16 keeps the strided register
// rounds free of bank conflicts.
#define NTT_PAD(e) ((e) + ((e) >> 4))
// Loads a thread has in flight when it fills its tile.
#define NTT_LOAD_BATCH 8

struct ntt_tile_geom {
  u32 log_s, k, log_c;
  u64 base;  // global index of element (t = 0, q = 0)
  u64 lo0;   // `lo` of q = 0
};

RS_HD ntt_tile_geom ntt_geom(u32 log_s, u32 k, u32 log_c, u64 tile) {
  ntt_tile_geom g;
  g.log_s = log_s;
  g.k = k;
  g.log_c = log_c;
  u32 log_runs = log_s - log_c;  // runs of C groups per `hi`
  u64 hi = tile >> log_runs;
  u64 run = tile & ((1ull << log_runs) - 1);
  g.lo0 = run << log_c;
  g.base = (hi << (log_s + k)) | g.lo0;
  return g;
}

RS_HD u64 ntt_elem_pos(const ntt_tile_geom& g, u32 e) {
  u64 t = e >> g.log_c;
  u64 q = e & ((1u << g.log_c) - 1);
  return g.base + (t << g.log_s) + q;
}

RS_HD void ntt_butterfly(u64& a, u64& b, u64 w, bool dif) {
  if (dif) {
    u64 d = gl_sub(a, b);
    a = gl_add(a, b);
    b = gl_mul(d, w);
  } else {
    u64 wb = gl_mul(b, w);
    b = gl_sub(a, wb);
    a = gl_add(a, wb);
  }
}

// A register round factors into a plain size-2^R transform and one product per value.
// Its stage s (local, 0 <= s < R) has half-size h = H0 2^s (H0 = 2^(log_s + j0)) and
// twiddle tw[h + r0 + mm H0] = w_{2h}^(r0 + mm H0) = psi^(2^(R-1-s)) zeta_{2^(s+1)}^mm, with
// psi = w_{2^R H0}^r0, r0 < H0 the thread's offset and mm < 2^s the index in the half-block.
// DIF: the factor psi^(2^(R-1-s)) rides on every value whose index has bit s set and passes
// through the later (lower) stages, which pair values agreeing in bit s; so output b is
// psi^bitrev_R(b) times the same network with twiddles zeta_{2^(s+1)}^mm alone. DIT mirrors it:
// input m is first multiplied by psi^bitrev_R(m). Every zeta is a 16th root of unity, i.e.
// +-2^e (gl_pow2.cuh): the round does 2^R - 1 general products instead of R 2^(R-1).
//
// The tables' 16th root as a power of two: tw[8 + 1] = w_16 = 2^156 in the forward table (used
// by DIF), 2^36 in the inverse one (DIT, src/lde.rs twiddles(log_n, !dif)); selfcheck.cpp
// asserts both against the tables.
#define NTT_LOG2_W16_FWD 156
#define NTT_LOG2_W16_INV 36

// zeta_{2^(s+1)}^mm = w_16^(mm 2^(3-s)) = 2^E, E mod 192 (2 has order 192).
template <bool DIF, int S, int MM>
RS_HD constexpr int ntt_zeta_log2() {
  return ((DIF ? NTT_LOG2_W16_FWD : NTT_LOG2_W16_INV) * (MM << (3 - S))) % 192;
}

// Butterfly with twiddle 2^E, E in [0, 192): 2^E = -2^(E-96) for E >= 96, the sign folded
// into the add / subtract.
template <int E, bool DIF>
RS_HD void ntt_butterfly_pow2(u64& a, u64& b) {
  constexpr bool NEG = E >= 96;
  constexpr int E0 = E % 96;
  if constexpr (DIF) {
    u64 d = NEG ? gl_sub(b, a) : gl_sub(a, b);
    a = gl_add(a, b);
    b = gl_mul_pow2<E0>(d);
  } else {
    u64 wb = gl_mul_pow2<E0>(b);
    u64 s = gl_add(a, wb), t = gl_sub(a, wb);
    a = NEG ? t : s;
    b = NEG ? s : t;
  }
}

// Local stage S of the plain network: butterflies (m, m + 2^S), twiddle zeta_{2^(S+1)}^MM for
// m = MM mod 2^(S+1) (compile-time MM and S, so every x[] index and exponent is a constant).
template <int R, int S, bool DIF, int MM = 0>
RS_HD void ntt_stage_plain(u64* x) {
  if constexpr (MM < (1 << S)) {
    constexpr int E = ntt_zeta_log2<DIF, S, MM>();
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int hi = 0; hi < (1 << (R - 1 - S)); hi++) {
      const int m0 = MM + (hi << (S + 1));
      ntt_butterfly_pow2<E, DIF>(x[m0], x[m0 + (1 << S)]);
    }
    ntt_stage_plain<R, S, DIF, MM + 1>(x);
  }
}

// The R plain stages: DIF from the top one down, DIT from the bottom one up.
template <int R, bool DIF, int SI = 0>
RS_HD void ntt_stages_plain(u64* x) {
  if constexpr (SI < R) {
    ntt_stage_plain<R, DIF ? R - 1 - SI : SI, DIF>(x);
    ntt_stages_plain<R, DIF, SI + 1>(x);
  }
}

RS_HD constexpr int ntt_bitrev_c(int v, int bits) { return bits == 0 ? 0 : ((v & 1) << (bits - 1)) | ntt_bitrev_c(v >> 1, bits - 1); }
RS_HD constexpr int ntt_ctz_c(int v) { return (v & 1) ? 0 : 1 + ntt_ctz_c(v >> 1); }

// psi^K (0 < K < 2^R) from the table: with K = 2^C O (O odd), psi^K = w_{2h}^(O r0) for the
// half-size h = 2^(R-1-C) H0, and O r0 < 2h; past h, w_{2h}^h = -1 gives the sign. That needs
// O > 2^(R-1-C), i.e. K > 2^(R-1): only there is the sign checked. (Powers of two K load the
// entries the unfactored round loaded; odd O spreads a warp's loads over O times the words.)
template <int R, int K>
RS_HD u64 ntt_psi_pow(const u64* tw, u32 log_h0, u32 r0) {
  constexpr int C = ntt_ctz_c(K);
  constexpr u32 O = (u32)K >> C;
  u32 log_h = log_h0 + R - 1 - C;
  u32 i = O * r0;
  if constexpr (K <= (1 << (R - 1))) {
    return tw[(1u << log_h) + i];
  } else {
    u64 v = tw[(1u << log_h) + (i & ((1u << log_h) - 1))];
    return (i >> log_h) ? GL_P - v : v;  // v != 0: canonical
  }
}

// x[m] *= psi^bitrev_R(m) for m = M .. END - 1 (by default all of 1 .. 2^R - 1; x[0]'s factor is 1).
template <int R, int M = 1, int END = (1 << R)>
RS_HD void ntt_twist(u64* x, const u64* tw, u32 log_h0, u32 r0) {
  if constexpr (M < END) {
    x[M] = gl_mul(x[M], ntt_psi_pow<R, ntt_bitrev_c(M, R)>(tw, log_h0, r0));
    ntt_twist<R, M + 1, END>(x, tw, log_h0, r0);
  }
}

// The R stages of a round on x[0 .. 2^R) (see above). H0 = 1 (the first DIT and last DIF round
// of a contiguous pass) has r0 = 0, psi = 1: no twist.
// (The 4-stage DIF round runs by quarters in ntt_round: all of it here spilled at 80 registers.)
template <int R, bool DIF>
RS_HD void ntt_stages_regs(u64* x, const u64* tw, u32 log_h0, u32 r0) {
  if constexpr (DIF) {
    ntt_stages_plain<R, true>(x);
    if (log_h0 != 0) ntt_twist<R>(x, tw, log_h0, r0);
  } else {
    if (log_h0 != 0) ntt_twist<R>(x, tw, log_h0, r0);
    ntt_stages_plain<R, false>(x);
  }
}

// Quarter G of a 4-stage DIF round (values 4G .. 4G+3 after the top two plain stages): its
// stages 1 and 0, the twist of its outputs, and their store.
template <int G>
RS_HD void ntt_dif4_quarter(u64* x, u64* sm, const u64* tw, u32 log_h0, u32 r0, u32 tb, u32 j0,
                            u32 log_c, u32 q) {
  constexpr int B = 4 * G;
  ntt_butterfly_pow2<ntt_zeta_log2<true, 1, 0>(), true>(x[B], x[B + 2]);
  ntt_butterfly_pow2<ntt_zeta_log2<true, 1, 1>(), true>(x[B + 1], x[B + 3]);
  ntt_butterfly_pow2<ntt_zeta_log2<true, 0, 0>(), true>(x[B], x[B + 1]);
  ntt_butterfly_pow2<ntt_zeta_log2<true, 0, 0>(), true>(x[B + 2], x[B + 3]);
  if (log_h0 != 0) ntt_twist<4, (B > 0 ? B : 1), B + 4>(x, tw, log_h0, r0);
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int m = B; m < B + 4; m++) sm[NTT_PAD((((tb + ((u32)m << j0)) << log_c) | q))] = x[m];
}

// One register round: the local stages j0 .. j0+R-1 (t-space half-sizes 2^j). Each thread takes
// groups of 2^R values t = tb + m * 2^j0 (tb with bits j0..j0+R-1 clear) into registers, runs
// the R stages there, and writes them back. Stage j of the round pairs m and m + 2^s (s = j - j0)
// with twiddle tw[h + r], h = s_glob * 2^j, r = ((t0 mod 2^j) << log_s) + lo.
template <int R, bool DIF>
RS_HD void ntt_round(u64* sm, const u64* tw, const ntt_tile_geom& g, u32 j0, u32 tid, u32 nthreads) {
  const int M = 1 << R;
  u32 groups = 1u << (g.k + g.log_c - R);
  u32 cmask = (1u << g.log_c) - 1;
  u32 lowmask = (1u << j0) - 1;
  for (u32 gi = tid; gi < groups; gi += nthreads) {
    u32 q = gi & cmask;
    u32 rest = gi >> g.log_c;
    u32 tb = (rest & lowmask) | ((rest >> j0) << (j0 + R));
    u64 x[M];
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int m = 0; m < M; m++) x[m] = sm[NTT_PAD((((tb + ((u32)m << j0)) << g.log_c) | q))];
    u32 log_h0 = g.log_s + j0, r0 = ((tb & lowmask) << g.log_s) + (u32)(g.lo0 + q);
    if constexpr (DIF && R == 4) {
      // The 4-stage DIF round by quarters: after the two top stages the quarters are
      // independent, so each finishes (stages 1 and 0, twist) and is stored before the next
      // starts; all 16 values and 15 twist factors at once spilled at 80 registers.
      ntt_stage_plain<4, 3, true>(x);
      ntt_stage_plain<4, 2, true>(x);
      ntt_dif4_quarter<0>(x, sm, tw, log_h0, r0, tb, j0, g.log_c, q);
      ntt_dif4_quarter<1>(x, sm, tw, log_h0, r0, tb, j0, g.log_c, q);
      ntt_dif4_quarter<2>(x, sm, tw, log_h0, r0, tb, j0, g.log_c, q);
      ntt_dif4_quarter<3>(x, sm, tw, log_h0, r0, tb, j0, g.log_c, q);
    } else {
      ntt_stages_regs<R, DIF>(x, tw, log_h0, r0);
#ifdef __CUDACC__
#pragma unroll
#endif
      for (int m = 0; m < M; m++) sm[NTT_PAD((((tb + ((u32)m << j0)) << g.log_c) | q))] = x[m];
    }
  }
}

template <int MAXR, bool DIF>
RS_HD void ntt_round_upto(u64* sm, const u64* tw, const ntt_tile_geom& g, u32 j0, u32 r, u32 tid,
                          u32 nthreads) {
  if constexpr (MAXR >= 4) {
    if (r >= 4) return ntt_round<4, DIF>(sm, tw, g, j0, tid, nthreads);
  }
  if (r == 3) return ntt_round<3, DIF>(sm, tw, g, j0, tid, nthreads);
  if (r == 2) return ntt_round<2, DIF>(sm, tw, g, j0, tid, nthreads);
  ntt_round<1, DIF>(sm, tw, g, j0, tid, nthreads);
}

// A whole pass for one tile of one column: element at global index i is read as load(i) and
// written to dst[i] (`load` may read another buffer, e.g. with the coset scaling fused in).
template <int MAXR, typename Load>
RS_HD void ntt_tile_pass_with(u64* sm, Load load, u64* dst, const u64* tw, u32 log_s, u32 k,
                              u32 log_c, bool dif, u64 tile, u32 tid, u32 nthreads) {
  ntt_tile_geom g = ntt_geom(log_s, k, log_c, tile);
  u32 elems = 1u << (k + g.log_c);
  // Each thread issues NTT_LOAD_BATCH independent loads before it stores any: with one load in
  // flight per thread, 768 threads per SM keep too few bytes in flight to reach DRAM speed.
  u32 e = tid;
  for (; e + (NTT_LOAD_BATCH - 1) * nthreads < elems; e += NTT_LOAD_BATCH * nthreads) {
    u64 v[NTT_LOAD_BATCH];
#ifdef __CUDACC__
#pragma unroll
#endif
    for (u32 j = 0; j < NTT_LOAD_BATCH; j++) v[j] = load(ntt_elem_pos(g, e + j * nthreads));
#ifdef __CUDACC__
#pragma unroll
#endif
    for (u32 j = 0; j < NTT_LOAD_BATCH; j++) sm[NTT_PAD(e + j * nthreads)] = v[j];
  }
  for (; e < elems; e += nthreads) sm[NTT_PAD(e)] = load(ntt_elem_pos(g, e));
  RS_SYNC();
  // Rounds i = 0 .. of the stages j0 = i MAXR .. min(j0 + MAXR, k) - 1: DIT runs them up, DIF
  // the same rounds down, so the round at j0 = 0 (no twist in a contiguous pass) is a full one.
  u32 rounds = (k + MAXR - 1) / MAXR;
  for (u32 i = 0; i < rounds; i++) {
    u32 j0 = (dif ? rounds - 1 - i : i) * MAXR;
    u32 r = k - j0 < (u32)MAXR ? k - j0 : (u32)MAXR;
    if (dif)
      ntt_round_upto<MAXR, true>(sm, tw, g, j0, r, tid, nthreads);
    else
      ntt_round_upto<MAXR, false>(sm, tw, g, j0, r, tid, nthreads);
    RS_SYNC();
  }
  for (u32 e = tid; e < elems; e += nthreads) dst[ntt_elem_pos(g, e)] = sm[NTT_PAD(e)];
}

// In place: one tile of one column (`col` points at the column's first element).
template <int MAXR>
RS_HD void ntt_tile_pass(u64* sm, u64* col, const u64* tw, u32 log_s, u32 k, u32 log_c, bool dif,
                         u64 tile, u32 tid, u32 nthreads) {
  ntt_tile_pass_with<MAXR>(sm, [&](u64 i) { return col[i]; }, col, tw, log_s, k, log_c, dif, tile, tid,
                     nthreads);
}

// Coset scaling of one coefficient into the B blocks: out_a[k] = coef[k] * lo_a[k mod LO] * hi_a[k / LO]
// (a whole table, hi_len = 1, needs no hi factor: it is 1).
RS_HD u64 coset_scale(u64 v, const u64* lo_tab, const u64* hi_tab, u32 a, u64 kidx, u32 log_lo,
                      u64 hi_len) {
  u64 lo_len = 1ull << log_lo;
  u64 s = lo_tab[a * lo_len + (kidx & (lo_len - 1))];
  if (hi_len > 1) s = gl_mul(s, hi_tab[a * hi_len + (kidx >> log_lo)]);
  return gl_mul(v, s);
}
