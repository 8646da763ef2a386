//! Host-side planning for the LDE kernels (compiled with or without the `cuda` feature, so CI
//! tests it on any machine): how a size-2^n NTT is split into shared-memory passes, and the
//! twiddle and coset tables the kernels read. Values come from the same field code as the CPU.

use p3_field::{Field, PrimeCharacteristicRing, PrimeField64, TwoAdicField};
use p3_goldilocks::Goldilocks as F;

/// Largest tile a pass keeps in shared memory, log2 words (must match `NTT_TILE_LOG` in
/// kernels/ntt.cuh): 2^13 words are 68 KiB with padding, so 3 blocks still fit an H100 SM
/// (228 KiB), and 2^23- and 2^24-point transforms take two passes instead of three.
pub const NTT_TILE_LOG: u32 = 13;
/// Smallest tile the plan accepts, log2 words (the benchmark compares tile sizes).
pub const NTT_MIN_TILE_LOG: u32 = 10;
/// log2 of the fewest consecutive groups a strided tile keeps (4 words: 32-byte runs), so a
/// strided pass has at most `tile_log - 2` stages.
pub const NTT_MIN_LOG_C: u32 = 2;
/// Most consecutive groups per strided tile, log2, by default: none beyond the tile, so a
/// strided pass of few stages still fills its tile (2^17 points: 4 stages × 2^9 groups, where a
/// cap of 2^4 groups left 256-word tiles and 16 of 256 threads busy).
pub const NTT_MAX_LOG_C: u32 = NTT_TILE_LOG;
/// The cap this plan used before (kept selectable so the benchmark can compare).
pub const NTT_OLD_MAX_LOG_C: u32 = 4;
/// Dynamic shared memory of the largest tile in bytes (one pad word per 16, as
/// [`NttPass::shared_bytes`]); the NTT kernels' launch limit is raised to it.
pub const NTT_MAX_SHARED_BYTES: u32 = ((1u32 << NTT_TILE_LOG) + (1u32 << NTT_TILE_LOG) / 16) * 8;
/// `lo` coset table length, log2 (scale = lo[k mod 2^12] * hi[k >> 12]).
pub const COSET_LO_LOG: u32 = 12;
/// Largest LDE (log2 of its rows) whose coset table is kept whole: lo[a][k] = N^-1 · s_a^k for
/// every k and no `hi` factor, so the expand pass scales a coefficient with one product instead
/// of two (2 MiB of table at most; the pass is bound by its products).
pub const COSET_WHOLE_MAX_LOG: u32 = 18;
/// Largest supported NTT and LDE size, log2: the prover's largest domain (a height of at most
/// 2^28 rows times a blowup or quotient degree, at most 2^30 in all). The kernels' index
/// arithmetic holds up to 2^31 (twiddle indices are 32-bit); a 2^30 twiddle table is 8 GiB.
pub const MAX_LOG_N: u32 = 30;

/// One kernel launch: radix-2 stages with half-sizes 2^log_s .. 2^(log_s + k - 1), on tiles of
/// 2^log_c consecutive groups (so global accesses are runs of 2^log_c words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NttPass {
    pub log_s: u32,
    pub k: u32,
    pub log_c: u32,
}

impl NttPass {
    /// Words per tile.
    pub fn tile_words(&self) -> u64 {
        1u64 << (self.k + self.log_c)
    }

    /// Dynamic shared memory of one tile: one pad word per 16 (`NTT_PAD`).
    pub fn shared_bytes(&self) -> u32 {
        let w = self.tile_words();
        ((w + w / 16).max(1) * 8) as u32
    }
}

/// The passes of a size-2^log_n transform with the default tile ([`NTT_TILE_LOG`]).
pub fn ntt_plan(log_n: u32, dif: bool) -> Vec<NttPass> {
    ntt_plan_with(log_n, dif, NTT_TILE_LOG, NTT_MAX_LOG_C)
}

/// The passes of a size-2^log_n transform with tiles of at most 2^tile_log words (clamped to
/// [`NTT_MIN_TILE_LOG`]..=[`NTT_TILE_LOG`]). DIF (natural in, bit-reversed out) runs its stages
/// from the largest half-size down; DIT (bit-reversed in, natural out) from the smallest up.
/// The contiguous pass (s = 1) takes up to tile_log stages; the rest are split evenly into as
/// few strided passes of at most tile_log - 2 stages as possible (tile_log 13: one for
/// 2^14..2^24, two for 2^25..2^30). A strided tile takes as many consecutive groups as fill it,
/// at most 2^max_log_c (and never more than the stride s).
pub fn ntt_plan_with(log_n: u32, dif: bool, tile_log: u32, max_log_c: u32) -> Vec<NttPass> {
    let tile_log = tile_log.clamp(NTT_MIN_TILE_LOG, NTT_TILE_LOG);
    let k_last = log_n.min(tile_log);
    let upper_stages = log_n - k_last;
    let count = upper_stages.div_ceil(tile_log - NTT_MIN_LOG_C);
    let mut upper = Vec::new();
    let (mut hi, mut remaining) = (log_n, upper_stages);
    for i in 0..count {
        let k = remaining.div_ceil(count - i);
        remaining -= k;
        let lo = hi - k;
        upper.push(NttPass {
            log_s: lo,
            k,
            log_c: (tile_log - k).min(max_log_c.max(NTT_MIN_LOG_C)).min(lo),
        });
        hi = lo;
    }
    let last = (k_last > 0).then_some(NttPass {
        log_s: 0,
        k: k_last,
        log_c: 0,
    });
    if dif {
        upper.into_iter().chain(last).collect()
    } else {
        last.into_iter().chain(upper.into_iter().rev()).collect()
    }
}

/// Most stages of a fused inverse-last / forward-first pass (`ntt_inverse_expand`: one register
/// round of 2^k values a thread, k <= 4).
pub const FUSED_MAX_STAGES: u32 = 4;

/// The pass that ends a size-2^log_n inverse (DIT) and starts the forward (DIF) transform when
/// the two can run as one fused launch: both plans' top pass is the same strided pass of at most
/// [`FUSED_MAX_STAGES`] stages (2^14 .. 2^17 points with the default tile), with at least 256
/// values of `lo` (one block of threads) per column. `None` otherwise.
pub fn fused_top_pass(inverse: &[NttPass], forward: &[NttPass]) -> Option<NttPass> {
    let (&last, &first) = (inverse.last()?, forward.first()?);
    let n_stages: u32 = inverse.iter().map(|p| p.k).sum();
    (inverse.len() >= 2
        && last.log_s == first.log_s
        && last.k == first.k
        && last.k <= FUSED_MAX_STAGES
        && last.log_s + last.k == n_stages
        && last.log_s >= 8)
        .then_some(last)
}

/// Whether a pass of k stages runs better with register rounds of 3 stages (4 blocks per SM)
/// than of 4 (3 blocks per SM): when it needs no more rounds that way. Measured on the H100
/// with 2^12-word tiles (docs/PERF.md, "What moved it" 5): the 5- and 6-stage strided passes of
/// 2^23 and 2^24 points gained ~25%. (With 2^13-word tiles those sizes take one strided pass of
/// 10 or 11 stages; 2^13-word tiles also leave room for only 3 blocks per SM either way.)
pub fn prefers_round3(k: u32) -> bool {
    k.div_ceil(3) <= k.div_ceil(4)
}

/// ω_k as in docs/PROTOCOL.md §1.
pub fn omega(log_n: u32) -> F {
    F::two_adic_generator(log_n as usize)
}

/// Twiddles for every stage of a size-2^log_n transform: `tw[h + r] = w_{2h}^r` for each half-size
/// h = 2^j < 2^log_n and r < h (entry 0 unused). Inverse transforms use w^-1.
pub fn twiddle_table(log_n: u32, inverse: bool) -> Vec<u64> {
    let n = 1usize << log_n;
    let mut tw = vec![0u64; n.max(1)];
    for j in 0..log_n {
        let h = 1usize << j;
        let mut w = omega(j + 1);
        if inverse {
            w = w.inverse();
        }
        let mut x = F::ONE;
        for slot in &mut tw[h..2 * h] {
            *slot = x.as_canonical_u64();
            x *= w;
        }
    }
    tw
}

/// Coset tables for an LDE of 2^log_n rows with blowup 2^log_b. Output block a (rows a·N .. a·N+N)
/// evaluates the polynomial on the shift s_a = g · w_{n+b}^{bitrev_b(a)}, so its coefficient k is
/// scaled by N^-1 · s_a^k = lo[a][k mod LO] · hi[a][k / LO].
pub struct CosetTables {
    pub log_lo: u32,
    pub lo: Vec<u64>,
    pub hi: Vec<u64>,
}

pub fn coset_tables(log_n: u32, log_b: u32) -> CosetTables {
    let log_lo = if log_n + log_b <= COSET_WHOLE_MAX_LOG {
        log_n
    } else {
        log_n.min(COSET_LO_LOG)
    };
    let lo_len = 1usize << log_lo;
    let hi_len = 1usize << (log_n - log_lo);
    let n_inv = F::from_u64(1u64 << log_n).inverse();
    let mut lo = Vec::with_capacity(lo_len << log_b);
    let mut hi = Vec::with_capacity(hi_len << log_b);
    for a in 0..(1u64 << log_b) {
        let shift = generator() * omega(log_n + log_b).exp_u64(bitrev(a, log_b));
        let mut p = n_inv;
        for _ in 0..lo_len {
            lo.push(p.as_canonical_u64());
            p *= shift;
        }
        let step = shift.exp_u64(lo_len as u64);
        let mut q = F::ONE;
        for _ in 0..hi_len {
            hi.push(q.as_canonical_u64());
            q *= step;
        }
    }
    CosetTables { log_lo, lo, hi }
}

/// The multiplicative generator g = 7 (docs/PROTOCOL.md §1), the coset shift of every LDE.
pub fn generator() -> F {
    F::from_u64(7)
}

/// Reverse the low `bits` bits of `x`.
pub fn bitrev(x: u64, bits: u32) -> u64 {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (64 - bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_cover_every_stage_once() {
        let variants = [(12, NTT_OLD_MAX_LOG_C), (NTT_TILE_LOG, NTT_OLD_MAX_LOG_C)];
        let variants = variants
            .into_iter()
            .chain([(NTT_TILE_LOG, NTT_MAX_LOG_C), (10, 2)]);
        for ((tile_log, max_log_c), log_n) in
            variants.flat_map(|v| (0..=MAX_LOG_N).map(move |n| (v, n)))
        {
            for dif in [false, true] {
                let plan = ntt_plan_with(log_n, dif, tile_log, max_log_c);
                // the order the stages run in: DIF from the top down, DIT from the bottom up
                let stages: Vec<u32> = plan
                    .iter()
                    .flat_map(|p| {
                        let r = p.log_s..p.log_s + p.k;
                        if dif {
                            r.rev().collect::<Vec<_>>()
                        } else {
                            r.collect()
                        }
                    })
                    .collect();
                let want: Vec<u32> = if dif {
                    (0..log_n).rev().collect()
                } else {
                    (0..log_n).collect()
                };
                assert_eq!(stages, want, "log_n={log_n} dif={dif}");
                for p in &plan {
                    assert!(p.tile_words() <= 1 << tile_log);
                    // a tile's groups are consecutive `lo` values below s
                    assert!(p.log_c <= p.log_s);
                    assert!(p.log_s == 0 || p.log_c >= 2);
                }
            }
        }
    }

    #[test]
    fn default_tile_takes_two_passes_up_to_2_24() {
        for log_n in 14..=24 {
            assert_eq!(ntt_plan(log_n, true).len(), 2, "log_n={log_n}");
        }
        assert_eq!(ntt_plan(25, true).len(), 3);
        assert_eq!(ntt_plan_with(23, true, 12, NTT_OLD_MAX_LOG_C).len(), 3);
        // strided passes of few stages still fill their tiles
        for log_n in 14..=24 {
            for p in ntt_plan(log_n, true) {
                assert_eq!(p.tile_words(), 1 << NTT_TILE_LOG, "log_n={log_n} {p:?}");
            }
        }
        // the shared memory of a largest tile leaves room for 3 blocks per H100 SM
        let widest = ntt_plan(24, false).iter().map(|p| p.shared_bytes()).max();
        assert_eq!(widest, Some(NTT_MAX_SHARED_BYTES));
        const { assert!(3 * NTT_MAX_SHARED_BYTES <= 228 * 1024) };
    }

    #[test]
    fn fused_top_pass_is_both_plans_top_round() {
        for log_n in 0..=MAX_LOG_N {
            let (inv, fwd) = (ntt_plan(log_n, false), ntt_plan(log_n, true));
            let fused = fused_top_pass(&inv, &fwd);
            // with the default tile: 2^14 .. 2^17 points
            assert_eq!(fused.is_some(), (14..=17).contains(&log_n), "2^{log_n}");
            if let Some(p) = fused {
                assert_eq!((p.log_s, p.k), (NTT_TILE_LOG, log_n - NTT_TILE_LOG));
                assert_eq!(fwd[0], *inv.last().unwrap());
            }
        }
        // other tiles: whatever the plans, a fused pass is their shared top round
        for tile_log in NTT_MIN_TILE_LOG..=NTT_TILE_LOG {
            for log_n in 0..=MAX_LOG_N {
                let inv = ntt_plan_with(log_n, false, tile_log, NTT_MAX_LOG_C);
                let fwd = ntt_plan_with(log_n, true, tile_log, NTT_MAX_LOG_C);
                if let Some(p) = fused_top_pass(&inv, &fwd) {
                    assert!(p.k <= FUSED_MAX_STAGES && p.log_s + p.k == log_n);
                    assert_eq!((fwd[0].log_s, fwd[0].k), (p.log_s, p.k));
                }
            }
        }
    }

    #[test]
    fn twiddles_are_roots() {
        let tw = twiddle_table(10, false);
        let inv = twiddle_table(10, true);
        for j in 0..10 {
            let h = 1usize << j;
            let w = F::from_u64(tw[h + 1.min(h - 1)]);
            if h > 1 {
                assert_eq!(w.exp_u64(2 * h as u64), F::ONE);
                assert_ne!(w.exp_u64(h as u64), F::ONE);
            }
            for r in 0..h {
                assert_eq!(F::from_u64(tw[h + r]) * F::from_u64(inv[h + r]), F::ONE);
            }
        }
    }

    #[test]
    fn coset_tables_give_powers() {
        // split (lo · hi) and whole (one entry per coefficient, hi = 1)
        for (log_n, log_b, whole) in [(13, 2, true), (17, 2, false)] {
            check_coset_tables(log_n, log_b);
            let t = coset_tables(log_n, log_b);
            assert_eq!(t.log_lo == log_n, whole);
            assert!(t.hi.iter().all(|&h| h == 1) || !whole);
        }
    }

    fn check_coset_tables(log_n: u32, log_b: u32) {
        let t = coset_tables(log_n, log_b);
        let n_inv = F::from_u64(1 << log_n).inverse();
        for a in 0..1u64 << log_b {
            let shift = generator() * omega(log_n + log_b).exp_u64(bitrev(a, log_b));
            for k in [0u64, 1, 4095, 4096, 5000, 8191, (1 << log_n) - 1] {
                let lo_len = 1u64 << t.log_lo;
                let hi_len = 1u64 << (log_n - t.log_lo);
                let got = F::from_u64(t.lo[(a * lo_len + (k % lo_len)) as usize])
                    * F::from_u64(t.hi[(a * hi_len + k / lo_len) as usize]);
                assert_eq!(got, n_inv * shift.exp_u64(k));
            }
        }
    }
}
