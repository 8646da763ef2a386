// Host-side self-check of the kernel helpers: compiled with a plain C++ compiler (no GPU), it runs
// the same tile code the NTT kernels run, block by block, and checks Keccak and the field.
// Build and run: scripts/ci-cuda.sh does `g++ -O2 -std=c++17 kernels/selfcheck.cpp && ./a.out`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <array>
#include "field.cuh"
#include "field_acc.cuh"
#include "keccak.cuh"
#include "keccak_trace.cuh"
#include "ntt.cuh"
#include "stream.cuh"

static u64 omega(u32 k) { return gl_pow(gl_pow(7, (GL_P - 1) >> 32), 1ull << (32 - k)); }

static u64 rng_state = 12345;
static u64 rnd() {
  rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
  return rng_state % GL_P;
}

static int failures = 0;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL: " __VA_ARGS__); printf("\n"); failures++; } } while (0)

// Mirrors src/plan.rs `ntt_plan`.
struct Pass { u32 log_s, k, log_c; };
static std::vector<Pass> plan(u32 n, bool dif) {
  std::vector<Pass> upper, out;
  u32 k_last = n < NTT_TILE_LOG ? n : NTT_TILE_LOG;
  u32 u = n - k_last;
  u32 count = (u + (NTT_TILE_LOG - 2) - 1) / (NTT_TILE_LOG - 2);
  u32 hi = n, remaining = u;
  for (u32 i = 0; i < count; i++) {
    u32 k = (remaining + (count - i) - 1) / (count - i);  // ceil(remaining / passes left)
    remaining -= k;
    u32 lo = hi - k;
    u32 lc = NTT_TILE_LOG - k < lo ? NTT_TILE_LOG - k : lo;  // fill the tile, at most s groups
    upper.push_back({lo, k, lc});
    hi = lo;
  }
  if (dif) { out = upper; if (k_last) out.push_back({0, k_last, 0}); }
  else { if (k_last) out.push_back({0, k_last, 0}); for (int i = (int)upper.size() - 1; i >= 0; i--) out.push_back(upper[i]); }
  return out;
}

static std::vector<u64> twiddles(u32 n, bool inv) {
  std::vector<u64> tw(1ull << n, 0);
  for (u32 j = 0; j + 1 <= n; j++) {  // h = 2^j, root of order 2h
    u64 h = 1ull << j;
    u64 w = omega(j + 1);
    if (inv) w = gl_inv(w);
    u64 x = 1;
    for (u64 r = 0; r < h; r++) { tw[h + r] = x; x = gl_mul(x, w); }
  }
  return tw;
}

template <int MAXR = 3>
static void run_ntt(std::vector<u64>& col, u32 n, bool dif, const std::vector<u64>& tw) {
  std::vector<u64> sm(NTT_PAD(1u << NTT_TILE_LOG));
  for (Pass p : plan(n, dif)) {
    u64 tiles = (1ull << n) >> (p.k + p.log_c);
    for (u64 t = 0; t < tiles; t++) ntt_tile_pass<MAXR>(sm.data(), col.data(), tw.data(), p.log_s, p.k, p.log_c, dif, t, 0, 1);
  }
}

// x * 2^E by the 128-bit product.
static u64 pow2_ref(u64 x, u32 e) {
  u64 t = 1;
  for (u32 i = 0; i < e; i++) t = (u64)(((unsigned __int128)t * 2) % GL_P);
  return (u64)((unsigned __int128)x * t % GL_P);
}

// gl_mul_pow2<E> (gl_pow2.cuh) for every E in [0, 96) on edge and random values.
template <int E = 0>
static void check_mul_pow2() {
  if constexpr (E < 96) {
    const u64 edge[] = {0, 1, 2, GL_P - 1, GL_P - 2, 1ull << 32, (1ull << 32) - 1, (1ull << 32) + 1,
                        1ull << 63, (1ull << 63) - 1, GL_P - (1ull << 32), GL_EPS << 32, 0x8000000080000000ull,
                        0xfffffffe00000000ull, 0xffffffff00000000ull};
    int bad = 0;
    for (u64 x : edge) bad += gl_mul_pow2<E>(x) != pow2_ref(x, E);
    u64 t = pow2_ref(1, E);
    for (int i = 0; i < 20000; i++) {
      u64 x = rnd();
      bad += gl_mul_pow2<E>(x) != (u64)((unsigned __int128)x * t % GL_P);
    }
    // every value the low 32 bits / high bits of which are extreme
    for (u64 hi : {0ull, 1ull, 0xfffffffeull, 0xffffffffull, 0x80000000ull})
      for (u64 lo : {0ull, 1ull, 0xfffffffeull, 0xffffffffull, 0x80000000ull}) {
        u64 x = (hi << 32) | lo;
        if (x < GL_P) bad += gl_mul_pow2<E>(x) != pow2_ref(x, E);
      }
    CHECK(bad == 0, "gl_mul_pow2<%d>: %d wrong", E, bad);
    check_mul_pow2<E + 1>();
  }
}

// The register rounds' compile-time twiddles (ntt.cuh, ntt_zeta_log2) equal the table entries
// tw[2^s + mm] = zeta_{2^(s+1)}^mm they replace, for s < 4: forward table for DIF, inverse for DIT.
template <bool DIF, int S = 0, int MM = 0>
static void check_zetas(const std::vector<u64>& tw) {
  if constexpr (S < 4) {
    if constexpr (MM < (1 << S)) {
      constexpr int E = ntt_zeta_log2<DIF, S, MM>();
      CHECK(tw[(1u << S) + MM] == pow2_ref(1, E), "zeta s=%d mm=%d dif=%d: table %llx, 2^%d", S, MM, DIF,
            (unsigned long long)tw[(1u << S) + MM], E);
      check_zetas<DIF, S, MM + 1>(tw);
    } else {
      check_zetas<DIF, S + 1, 0>(tw);
    }
  }
}

// One pass (any log_s, k, log_c) of the tile code against its stages done one by one on the
// whole column: DIF stages h = s 2^(k-1) .. s, DIT h = s .. s 2^(k-1), twiddle tw[h + (i mod h)].
template <int MAXR>
static void check_pass(u32 log_s, u32 k, u32 log_c, bool dif) {
  u32 n = log_s + k + 1;  // two `hi` values
  u64 N = 1ull << n;
  std::vector<u64> tw = twiddles(n, !dif);
  std::vector<u64> x(N), want;
  for (auto& v : x) v = rnd();
  want = x;
  for (u32 st = 0; st < k; st++) {
    u32 j = dif ? k - 1 - st : st;
    u64 h = 1ull << (log_s + j);
    for (u64 i = 0; i < N; i++) {
      if (i & h) continue;
      u64 w = tw[h + (i & (h - 1))];
      ntt_butterfly(want[i], want[i + h], w, dif);
    }
  }
  std::vector<u64> sm(NTT_PAD(1u << NTT_TILE_LOG));
  u64 tiles = N >> (k + log_c);
  for (u64 t = 0; t < tiles; t++) ntt_tile_pass<MAXR>(sm.data(), x.data(), tw.data(), log_s, k, log_c, dif, t, 0, 1);
  u64 bad = 0;
  for (u64 i = 0; i < N; i++) bad += x[i] != want[i];
  CHECK(bad == 0, "pass MAXR=%d log_s=%u k=%u log_c=%u dif=%d: %llu wrong", MAXR, log_s, k, log_c, dif,
        (unsigned long long)bad);
}

// whole: the coset table kept whole (plan::COSET_WHOLE_MAX_LOG), one entry per coefficient
static void check_lde(u32 n, u32 b, bool whole = false) {
  u64 N = 1ull << n, B = 1ull << b, M = N << b;
  std::vector<u64> x(N);
  for (auto& v : x) v = rnd();
  // bit-reverse, inverse DIT -> N * coefficients (natural order)
  std::vector<u64> c(N);
  for (u64 i = 0; i < N; i++) c[bitrev_bits(i, n)] = x[i];
  run_ntt(c, n, false, twiddles(n, true));
  // scale tables as the host builds them
  u32 log_lo = whole || n < 12 ? n : 12;
  u64 lo_len = 1ull << log_lo, hi_len = N >> log_lo;
  std::vector<u64> lo_tab(B * lo_len), hi_tab(B * hi_len);
  u64 ninv = gl_inv(N % GL_P);
  for (u64 a = 0; a < B; a++) {
    u64 s = gl_mul(7, gl_pow(omega(n + b), bitrev_bits(a, b)));
    u64 p = ninv;
    for (u64 i = 0; i < lo_len; i++) { lo_tab[a * lo_len + i] = p; p = gl_mul(p, s); }
    u64 sl = gl_pow(s, lo_len), q = 1;
    for (u64 i = 0; i < hi_len; i++) { hi_tab[a * hi_len + i] = q; q = gl_mul(q, sl); }
  }
  std::vector<u64> out(M);
  for (u64 a = 0; a < B; a++) {
    // as the device does it: the first DIF pass loads the scaled coefficients (ntt_pass_expand)
    std::vector<u64> blk(N);
    std::vector<u64> sm(NTT_PAD(1u << NTT_TILE_LOG));
    std::vector<u64> tw = twiddles(n, false);
    std::vector<Pass> passes = plan(n, true);
    for (size_t pi = 0; pi < passes.size(); pi++) {
      Pass p = passes[pi];
      u64 tiles = N >> (p.k + p.log_c);
      for (u64 t = 0; t < tiles; t++) {
        if (pi == 0) {
          auto load = [&](u64 i) { return coset_scale(c[i], lo_tab.data(), hi_tab.data(), (u32)a, i, log_lo, hi_len); };
          ntt_tile_pass_with<4>(sm.data(), load, blk.data(), tw.data(), p.log_s, p.k, p.log_c, true, t, 0, 1);
        } else {
          ntt_tile_pass<4>(sm.data(), blk.data(), tw.data(), p.log_s, p.k, p.log_c, true, t, 0, 1);
        }
      }
    }
    if (passes.empty()) blk[0] = coset_scale(c[0], lo_tab.data(), hi_tab.data(), (u32)a, 0, log_lo, hi_len);
    for (u64 v = 0; v < N; v++) out[a * N + v] = blk[v];
  }
  // naive reference: coefficients, then evaluation at g * w_{n+b}^{bitrev(j)}
  std::vector<u64> coef(N);
  u64 wi = gl_inv(omega(n));
  for (u64 k = 0; k < N; k++) {
    u64 acc = 0;
    for (u64 j = 0; j < N; j++) acc = gl_add(acc, gl_mul(x[j], gl_pow(wi, (j * k) % N)));
    coef[k] = gl_mul(acc, ninv);
  }
  u64 bad = 0;
  for (u64 j = 0; j < M; j++) {
    u64 pt = gl_mul(7, gl_pow(omega(n + b), bitrev_bits(j, n + b)));
    u64 acc = 0;
    for (int k = (int)N - 1; k >= 0; k--) acc = gl_add(gl_mul(acc, pt), coef[k]);
    if (acc != out[j]) bad++;
  }
  CHECK(bad == 0, "lde n=%u b=%u: %llu of %llu wrong", n, b, (unsigned long long)bad, (unsigned long long)M);
}

// Large transform: DIT(inverse) of DIF(forward) must give N * identity, with bit-reversals between.
template <int MAXR>
static void check_roundtrip(u32 n) {
  u64 N = 1ull << n;
  std::vector<u64> x(N), y(N);
  for (auto& v : x) v = rnd();
  std::vector<u64> f = x;
  run_ntt<MAXR>(f, n, true, twiddles(n, false));       // bit-reversed evaluations
  run_ntt<MAXR>(f, n, false, twiddles(n, true));       // DIT takes bit-reversed input -> natural
  u64 nn = N % GL_P, bad = 0;
  for (u64 i = 0; i < N; i++) if (f[i] != gl_mul(x[i], nn)) bad++;
  CHECK(bad == 0, "roundtrip n=%u: %llu wrong", n, (unsigned long long)bad);
}


// Streamed blocks (stream.cuh): row block m (2^k rows) of the bit-reversed domain
// shift·<w_L> is the fold of the coefficients onto its coset, then a DIF transform of 2^k points.
static void check_fold_block(u32 n, u32 L, u32 k, u64 m) {
  u64 N = 1ull << n, M = 1ull << k;
  std::vector<u64> c(N);
  for (auto& v : c) v = rnd();
  u64 s = gl_mul(7, gl_pow(omega(L), bitrev_bits(m, L - k)));
  u64 sigma = gl_pow(s, M);
  std::vector<u64> h(M);
  for (u64 i = 0; i < M; i++) h[i] = gl_mul(gl_pow(s, i), st_fold_sum(c.data(), N, k, i, sigma));
  run_ntt(h, k, true, twiddles(k, false));
  u64 bad = 0;
  for (u64 i = 0; i < M; i++) {
    u64 pt = gl_mul(7, gl_pow(omega(L), bitrev_bits(m * M + i, L)));
    u64 acc = 0;
    for (int j = (int)N - 1; j >= 0; j--) acc = gl_add(gl_mul(acc, pt), c[j]);
    if (acc != h[i]) bad++;
  }
  CHECK(bad == 0, "fold block n=%u L=%u k=%u m=%llu: %llu wrong", n, L, k, (unsigned long long)m,
        (unsigned long long)bad);
}

// The streamed leaf sponge over column chunks of widths `chunks` (even rows, then odd rows)
// equals keccak256_words of the row pair.
static void check_sponge(u32 w, std::vector<u32> chunks) {
  std::vector<u64> r0(w), r1(w);
  for (auto& v : r0) v = rnd();
  for (auto& v : r1) v = rnd();
  u64 want[4];
  keccak256_words([&](u64 i) { return i < w ? r0[i] : r1[i - w]; }, 2 * (u64)w, want);
  u64 st[25] = {0};
  for (u32 parity = 0; parity < 2; parity++) {
    u32 c0 = 0;
    for (u32 cw : chunks) {
      const std::vector<u64>& r = parity ? r1 : r0;
      st_sponge_absorb(st, (u64)parity * w + c0, cw, [&](u32 j) { return r[c0 + j]; });
      c0 += cw;
    }
  }
  u64 got[4];
  st_sponge_finish(st, 2 * (u64)w, got);
  CHECK(memcmp(got, want, 32) == 0, "streamed sponge w=%u", w);
}

int main() {
  // Keccak-256("") and Keccak-256 of one zero word.
  u64 d[4];
  keccak256_words([](u64) { return 0ull; }, 0, d);
  const unsigned char empty[32] = {0xc5,0xd2,0x46,0x01,0x86,0xf7,0x23,0x3c,0x92,0x7e,0x7d,0xb2,0xdc,0xc7,0x03,0xc0,
                                   0xe5,0x00,0xb6,0x53,0xca,0x82,0x27,0x3b,0x7b,0xfa,0xd8,0x04,0x5d,0x85,0xa4,0x70};
  CHECK(memcmp(d, empty, 32) == 0, "keccak256 of the empty message");
  // Unreduced dot products (gl_mac, gl_acc_reduce: the two-point out-of-domain kernel) equal
  // the reduced sum, for sums of up to 64 products of extreme and random values.
  for (int t = 0; t < 20000; t++) {
    gl_acc192 acc{0, 0, 0};
    u64 want = 0;
    for (int i = 0; i <= t % 64; i++) {
      u64 a = t % 3 ? rnd() : GL_P - 1 - (u64)(i % 3), b = t % 5 ? rnd() : GL_P - 1;
      gl_mac(acc, a, b);
      want = gl_add(want, gl_mul(a, b));
    }
    CHECK(gl_acc_reduce(acc) == want, "unreduced dot product, case %d", t);
    if (failures) break;
  }
  // Field: compare with 128-bit arithmetic.
  for (int i = 0; i < 100000; i++) {
    u64 a = rnd(), b = rnd();
    if (i < 4) { a = GL_P - 1 - i; b = GL_P - 1; }
    unsigned __int128 m = (unsigned __int128)a * b % GL_P;
    CHECK(gl_mul(a, b) == (u64)m, "mul");
    CHECK(gl_add(a, b) == (u64)(((unsigned __int128)a + b) % GL_P), "add");
    CHECK(gl_sub(a, b) == (u64)(((unsigned __int128)a + GL_P - b) % GL_P), "sub");
    if (failures) break;
  }
  // Inverses (field.cuh): a * a^-1 = 1 in the field and in the extension.
  for (int i = 0; i < 10000; i++) {
    u64 a = rnd() | 1;
    CHECK(gl_mul(a, gl_inv(a)) == 1, "inverse");
    gl3 x{rnd(), rnd(), rnd()};
    if (i == 0) x = gl3{0, 0, 1};
    gl3 y = gl3_mul(x, gl3_inv(x));
    CHECK(y.c0 == 1 && y.c1 == 0 && y.c2 == 0, "extension inverse");
    if (failures) break;
  }
  // Keccak trace rounds (keccak_trace.cuh): 24 rounds of the row generator end in Keccak-f, and
  // the row's limbs and bits re-assemble the lanes (the device parity test compares with p3).
  {
    u64 in[25], ref[25];
    for (int i = 0; i < 25; i++) in[i] = ref[i] = ((u64)rnd() << 7) ^ (u64)i;
    keccak_f1600(ref);
    KtRound s;
    for (int i = 0; i < 25; i++) s.a[i] = in[i];
    for (int r = 0; r < 24; r++) {
      kt_round(s, r);
      u64 a00 = 0, c0 = 0;
      for (u32 l = 0; l < 4; l++) a00 |= kt_value(s, in, r, 125 + l) << (16 * l);
      for (u32 z = 0; z < 64; z++) c0 |= kt_value(s, in, r, 225 + z) << z;
      CHECK(a00 == s.a[0] && c0 == s.c[0] && kt_value(s, in, r, (u32)r) == 1, "keccak trace row");
      for (int i = 0; i < 25; i++) s.a[i] = i == 0 ? s.appp00 : s.app[i];
    }
    CHECK(memcmp(s.a, ref, sizeof ref) == 0, "keccak trace rounds end in Keccak-f");
  }
  u64 w = omega(32);
  CHECK(gl_pow(w, 1ull << 31) == GL_P - 1, "omega(32) has order 2^32");
  CHECK(omega(4) == 0xefffffff00000001ull, "omega(4) is p3-goldilocks' two-adic generator of order 16");
  check_mul_pow2();
  for (u32 n : {4u, 10u}) {
    std::vector<u64> fwd = twiddles(n, false), inv = twiddles(n, true);
    CHECK(fwd[9] == pow2_ref(1, NTT_LOG2_W16_FWD), "forward w_16 = 2^%d", NTT_LOG2_W16_FWD);
    CHECK(inv[9] == pow2_ref(1, NTT_LOG2_W16_INV), "inverse w_16 = 2^%d", NTT_LOG2_W16_INV);
    check_zetas<true>(fwd);
    check_zetas<false>(inv);
  }
  // every pass shape: strides, groups per tile (log_c) and stage counts, both round sizes
  for (u32 log_s : {0u, 1u, 2u, 4u, 7u})
    for (u32 k = 1; k <= NTT_TILE_LOG; k++)
      for (u32 log_c = 0; log_c <= log_s && k + log_c <= NTT_TILE_LOG; log_c += (log_c < 2 ? 1 : 3))
        for (bool dif : {true, false}) {
          if (log_s + k > 16) continue;
          check_pass<4>(log_s, k, log_c, dif);
          check_pass<3>(log_s, k, log_c, dif);
        }
  for (u32 n = 0; n <= 9; n++)
    for (u32 b = 1; b <= 3; b++) check_lde(n, b);
  check_lde(13, 1);
  check_lde(13, 1, true);
  // 16: a 3-stage strided pass whose tile the plan fills (2^10 groups); 21..24: 8..11 stages
  for (u32 n : {12u, 13u, 14u, 16u, 21u, 22u, 24u}) check_roundtrip<3>(n);
  for (u32 n : {1u, 2u, 3u, 5u, 7u, 12u, 13u, 14u, 16u, 17u, 21u}) check_roundtrip<4>(n);
  for (auto [n, L, k] : {std::array<u32, 3>{4, 5, 2}, {6, 7, 6}, {5, 7, 3}, {3, 3, 0}, {8, 9, 5}})
    for (u64 m : {0ull, 1ull, (1ull << (L - k)) - 1}) check_fold_block(n, L, k, m);
  check_sponge(1, {1});
  check_sponge(8, {3, 5});
  check_sponge(17, {17});
  check_sponge(2633, {64, 64, 1000, 1505});
  check_sponge(25, {1, 1, 23});
  printf("selfcheck: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
