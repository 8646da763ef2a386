//! Exact sums of u64 × u64 products on AVX2's 32 × 32 → 64-bit multiplier, four lanes at a time:
//! the out-of-domain sums (four columns against one weight per row) and DEEP rows (four columns
//! against four coefficients). Scalar `mulx` + add/adc/adc ([`crate::wide::Wide`]) keeps the
//! integer ALUs busy; these lanes use the vector units instead, and measured about 1.3-1.4× more
//! products per second on one core (docs/PERF.md).
//!
//! **Exactness.** With x = x_h·2^32 + x_l and w = w_h·2^32 + w_l (halves < 2^32),
//! x·w = p11·2^64 + (p01 + p10)·2^32 + p00, every partial p < 2^64. A sum of partials P = Σ p is
//! kept as A = Σ p mod 2^64 and H = Σ ⌊p/2^32⌋ (a sum of 32-bit values); the low halves then sum
//! to (A − H·2^32) mod 2^64, exact while that sum is below 2^64, so P = H·2^32 + that. The middle
//! group adds two partials per product, so a lane takes fewer than 2^31 products
//! ([`MAX_TERMS`]); callers stay far below (a task's rows, a row's columns).

use rstark_field::{F, PrimeCharacteristicRing};

/// Products per lane below which [`Sums`] is exact (see the module comment).
pub(crate) const MAX_TERMS: usize = 1 << 31;

/// Whether the vector kernels are compiled in (x86-64 built with AVX2, e.g. x86-64-v3).
pub(crate) const ENABLED: bool = cfg!(all(target_arch = "x86_64", target_feature = "avx2"));

/// Per lane, the three groups' (A, H) of the module comment: `[a00, h00, a_mid, h_mid, a11, h11]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LaneSums(pub(crate) [[u64; 4]; 6]);

impl LaneSums {
    /// Each lane's sum mod p.
    pub(crate) fn reduce(&self) -> [F; 4] {
        let s = &self.0;
        let two32 = F::from_u64(1 << 32);
        let two64 = F::from_u64(0xffff_ffff);
        std::array::from_fn(|l| {
            let low = reduce_u128(exact(s[0][l], s[1][l]));
            let mid = reduce_u128(exact(s[2][l], s[3][l]));
            let high = reduce_u128(exact(s[4][l], s[5][l]));
            low + mid * two32 + high * two64
        })
    }
}

impl LaneSums {
    /// The four lanes' sums added, mod p (the lanes' exact sums are added before reducing).
    pub(crate) fn reduce_sum(&self) -> F {
        let s = &self.0;
        let group = |a: usize| {
            let total: u128 = (0..4).map(|l| exact(s[a][l], s[a + 1][l])).sum();
            reduce_u128(total)
        };
        group(0) + group(2) * F::from_u64(1 << 32) + group(4) * F::from_u64(0xffff_ffff)
    }
}

/// P = H·2^32 + ((A − H·2^32) mod 2^64) for a group's (A, H).
fn exact(a: u64, h: u64) -> u128 {
    ((h as u128) << 32) + a.wrapping_sub(h << 32) as u128
}

/// x mod p, using 2^64 ≡ 2^32 − 1.
fn reduce_u128(x: u128) -> F {
    F::from_u64(x as u64) + F::from_u64((x >> 64) as u64) * F::from_u64(0xffff_ffff)
}

/// A weight split for the lanes: `[w mod 2^32, ⌊w/2^32⌋]`.
pub(crate) fn split(w: u64) -> [u64; 2] {
    [w & 0xffff_ffff, w >> 32]
}

/// Adds Σ_r values[r][l]·w_r to each lane l of `acc`, w_r = `weights[r]` split by [`split`] (one
/// weight per row, shared by the four lanes), over the shorter of the two slices; exact while
/// `acc` holds fewer than [`MAX_TERMS`] products per lane. `None` (and `acc` unchanged) when the
/// kernels are not compiled in.
pub(crate) fn add_broadcast_sums(
    acc: &mut LaneSums,
    values: &[[u64; 4]],
    weights: &[[u64; 2]],
) -> Option<()> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        // SAFETY: this build targets AVX2 (the cfg above), so the CPU running it has AVX2; the
        // function only reads its slices by safe indexing.
        unsafe { avx2::add_broadcast_sums(acc, values, weights) };
        Some(())
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let _ = (acc, values, weights);
        None
    }
}

/// Σ_i values[i][l]·w_{i,l} for each lane l, the weights split into `lows` and `highs`
/// (`[w mod 2^32; 4]`, `[⌊w/2^32⌋; 4]`), over the shortest slice, at most [`MAX_TERMS`]. `None`
/// when the kernels are not compiled in.
pub(crate) fn lane_sums(
    values: &[[u64; 4]],
    lows: &[[u64; 4]],
    highs: &[[u64; 4]],
) -> Option<LaneSums> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        // SAFETY: as in `broadcast_sums`.
        Some(unsafe { avx2::lane_sums(values, lows, highs) })
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let _ = (values, lows, highs);
        None
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod avx2 {
    use std::arch::x86_64::*;

    use super::LaneSums;

    /// One 32-byte load (`_mm256_set_epi64x` of the four elements compiled to five shuffles
    /// and loads, which cost the kernel ~30 %).
    #[target_feature(enable = "avx2")]
    fn load(v: &[u64; 4]) -> __m256i {
        // SAFETY: `v` is a reference to 32 readable bytes; `loadu` has no alignment requirement.
        unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
    }

    #[target_feature(enable = "avx2")]
    fn store(v: __m256i, to: &mut [u64; 4]) {
        // SAFETY: `to` is a reference to 32 writable bytes; `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_si256(to.as_mut_ptr().cast(), v) }
    }

    /// The six accumulators of [`LaneSums`] in registers.
    struct Acc([__m256i; 6]);

    impl Acc {
        #[target_feature(enable = "avx2")]
        fn new() -> Self {
            Self([_mm256_setzero_si256(); 6])
        }

        #[target_feature(enable = "avx2")]
        fn from(sums: &LaneSums) -> Self {
            Self(std::array::from_fn(|i| load(&sums.0[i])))
        }

        /// Adds x·w per lane, w given as its 32-bit halves (`wl`, `wh`, each < 2^32 per lane).
        #[target_feature(enable = "avx2")]
        fn add(&mut self, x: __m256i, wl: __m256i, wh: __m256i) {
            let a = &mut self.0;
            let xh = _mm256_srli_epi64::<32>(x);
            // _mm256_mul_epu32 multiplies the low 32 bits of each lane.
            let p00 = _mm256_mul_epu32(x, wl);
            let p01 = _mm256_mul_epu32(xh, wl);
            let p10 = _mm256_mul_epu32(x, wh);
            let p11 = _mm256_mul_epu32(xh, wh);
            let hi = |p| _mm256_srli_epi64::<32>(p);
            a[0] = _mm256_add_epi64(a[0], p00);
            a[1] = _mm256_add_epi64(a[1], hi(p00));
            a[2] = _mm256_add_epi64(a[2], _mm256_add_epi64(p01, p10));
            a[3] = _mm256_add_epi64(a[3], _mm256_add_epi64(hi(p01), hi(p10)));
            a[4] = _mm256_add_epi64(a[4], p11);
            a[5] = _mm256_add_epi64(a[5], hi(p11));
        }

        #[target_feature(enable = "avx2")]
        fn finish(&self, to: &mut LaneSums) {
            for (v, t) in self.0.iter().zip(&mut to.0) {
                store(*v, t);
            }
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn add_broadcast_sums(
        acc: &mut LaneSums,
        values: &[[u64; 4]],
        weights: &[[u64; 2]],
    ) {
        let mut a = Acc::from(acc);
        for (v, w) in values.iter().zip(weights) {
            let wl = _mm256_set1_epi64x(w[0] as i64);
            let wh = _mm256_set1_epi64x(w[1] as i64);
            a.add(load(v), wl, wh);
        }
        a.finish(acc);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn lane_sums(
        values: &[[u64; 4]],
        lows: &[[u64; 4]],
        highs: &[[u64; 4]],
    ) -> LaneSums {
        let mut acc = Acc::new();
        for ((v, l), h) in values.iter().zip(lows).zip(highs) {
            acc.add(load(v), load(l), load(h));
        }
        let mut sums = LaneSums::default();
        acc.finish(&mut sums);
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::PrimeField64;

    fn want(values: &[[u64; 4]], weights: impl Fn(usize, usize) -> u64) -> [F; 4] {
        std::array::from_fn(|l| {
            values
                .iter()
                .enumerate()
                .map(|(r, v)| F::from_u64(v[l]) * F::from_u64(weights(r, l)))
                .sum()
        })
    }

    #[test]
    fn lanes_sum_exactly() {
        if !ENABLED {
            return;
        }
        let e = crate::golden::elements(4 * 3000 * 3, 21);
        let m = F::NEG_ONE.as_canonical_u64();
        for n in [0, 1, 2, 7, 3000] {
            // Random values, p − 1 everywhere, and u64::MAX (a non-canonical representative).
            for fill in [None, Some(m), Some(u64::MAX)] {
                let pick = |i: usize| fill.unwrap_or(e[i].as_canonical_u64());
                let values: Vec<[u64; 4]> = (0..n)
                    .map(|r| std::array::from_fn(|l| pick(4 * r + l)))
                    .collect();
                let w: Vec<u64> = (0..n).map(|r| pick(4 * n + r)).collect();
                let split_w: Vec<[u64; 2]> = w.iter().map(|&w| split(w)).collect();
                let mut acc = LaneSums::default();
                // In two calls: the accumulator carries over.
                let (a, b) = values.split_at(n / 2);
                add_broadcast_sums(&mut acc, a, &split_w).unwrap();
                add_broadcast_sums(&mut acc, b, &split_w[n / 2..]).unwrap();
                let got = acc.reduce();
                assert_eq!(got, want(&values, |r, _| w[r]), "broadcast n {n} {fill:?}");
                let lw: Vec<[u64; 4]> = (0..n)
                    .map(|r| std::array::from_fn(|l| pick(8 * n + 4 * r + l)))
                    .collect();
                let lows: Vec<[u64; 4]> = lw.iter().map(|w| w.map(|w| split(w)[0])).collect();
                let highs: Vec<[u64; 4]> = lw.iter().map(|w| w.map(|w| split(w)[1])).collect();
                let got = lane_sums(&values, &lows, &highs).unwrap().reduce();
                assert_eq!(got, want(&values, |r, l| lw[r][l]), "lanes n {n} {fill:?}");
            }
        }
    }
}
