//! Exact sums of u64 × u64 products on AVX2's 32 × 32 → 64-bit multiplier, four lanes at a time:
//! the out-of-domain sums (four columns against one weight per row) and DEEP rows (four columns
//! against four coefficients). Scalar `mulx` + add/adc/adc ([`crate::wide::Wide`]) keeps the
//! integer ALUs busy at ~2 cycles a product on the development VM; these lanes use the vector
//! units instead (docs/PERF.md has the numbers).
//!
//! **Exactness.** A weight w < 2^64 is split into limbs w = w_0 + w_1·2^22 + w_2·2^44
//! (w_0, w_1 < 2^22, w_2 < 2^20) and a value x into halves x = x_0 + x_1·2^32 (< 2^32 each).
//! Each of the six partial products x_h·w_j is below 2^54, so a 64-bit lane sums
//! [`BLOCK_TERMS`] = 2^10 of them without overflow; a [`Block`] holds the six sums
//! S_{h,j} and is worth Σ S_{h,j}·2^{32h + 22j}. Callers start a new block every 2^10 products
//! per lane. (Six multiplies and six adds per four products measured ~20 % faster than four
//! 32-bit-half multiplies whose 64-bit partials need their high halves summed apart.)

use rstark_field::{F, PrimeCharacteristicRing};

/// Products per lane a [`Block`] takes (each partial < 2^54, 2^10 of them < 2^64).
pub(crate) const BLOCK_TERMS: usize = 1 << 10;

/// Whether the vector kernels are compiled in (x86-64 built with AVX2, e.g. x86-64-v3).
pub(crate) const ENABLED: bool = cfg!(all(target_arch = "x86_64", target_feature = "avx2"));

/// A weight's limbs `[w mod 2^22, ⌊w/2^22⌋ mod 2^22, ⌊w/2^44⌋]`.
pub(crate) fn limbs(w: u64) -> [u64; 3] {
    const MASK: u64 = (1 << 22) - 1;
    [w & MASK, (w >> 22) & MASK, w >> 44]
}

/// Per lane, the six sums S_{h,j} at index 2j + h (see the module comment), of at most
/// [`BLOCK_TERMS`] products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Block(pub(crate) [[u64; 4]; 6]);

/// 2^{32h + 22j} mod p for index 2j + h.
fn block_scales() -> [F; 6] {
    std::array::from_fn(|i| F::TWO.exp_u64((32 * (i % 2) + 22 * (i / 2)) as u64))
}

impl Block {
    /// Each lane's sum mod p.
    pub(crate) fn reduce(&self) -> [F; 4] {
        let scales = block_scales();
        std::array::from_fn(|l| {
            self.0
                .iter()
                .zip(&scales)
                .map(|(s, &c)| F::from_u64(s[l]) * c)
                .sum()
        })
    }

    /// The four lanes' sums added, mod p (the lanes are added exactly before reducing).
    pub(crate) fn reduce_sum(&self) -> F {
        let scales = block_scales();
        self.0
            .iter()
            .zip(&scales)
            .map(|(s, &c)| reduce_u128(s.iter().map(|&x| x as u128).sum()) * c)
            .sum()
    }
}

/// x mod p, using 2^64 ≡ 2^32 − 1.
fn reduce_u128(x: u128) -> F {
    F::from_u64(x as u64) + F::from_u64((x >> 64) as u64) * F::from_u64(0xffff_ffff)
}

/// Adds Σ_i values[i][l]·w_{i,l} to each lane l of `block`, the weights given by their limbs
/// (`limbs[j][i][l]` = limb j of w_{i,l}, see [`limbs`]), over the shortest slice. The block
/// must end up with at most [`BLOCK_TERMS`] products per lane (the caller's bound).
/// `None` (and `block` unchanged) when the kernels are not compiled in.
pub(crate) fn add_products(
    block: &mut Block,
    values: &[[u64; 4]],
    limbs: [&[[u64; 4]]; 3],
) -> Option<()> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        // SAFETY: this build targets AVX2 (the cfg above), so the CPU running it has AVX2.
        unsafe { avx2::add_products(block, values, limbs) };
        Some(())
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let _ = (block, values, limbs);
        None
    }
}

/// [`add_products`] for two weight sets at once (`blocks[b]` takes the weights `limbs[b]`): one
/// load and shift of the values serve both, 12 accumulators in registers.
pub(crate) fn add_products_pair(
    blocks: &mut [Block; 2],
    values: &[[u64; 4]],
    limbs: [[&[[u64; 4]]; 3]; 2],
) -> Option<()> {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    {
        // SAFETY: this build targets AVX2 (the cfg above), so the CPU running it has AVX2.
        unsafe { avx2::add_products_pair(blocks, values, limbs) };
        Some(())
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let _ = (blocks, values, limbs);
        None
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod avx2 {
    use std::arch::x86_64::*;

    use super::Block;

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

    /// Adds x·w to the six sums `s` per lane (w by its limbs).
    #[target_feature(enable = "avx2")]
    fn mac(s: &mut [__m256i; 6], x0: __m256i, x1: __m256i, w: [&[u64; 4]; 3]) {
        // _mm256_mul_epu32 multiplies the low 32 bits of each lane.
        for (j, w) in w.into_iter().enumerate() {
            let w = load(w);
            s[2 * j] = _mm256_add_epi64(s[2 * j], _mm256_mul_epu32(x0, w));
            s[2 * j + 1] = _mm256_add_epi64(s[2 * j + 1], _mm256_mul_epu32(x1, w));
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn add_products_pair(
        blocks: &mut [Block; 2],
        values: &[[u64; 4]],
        limbs: [[&[[u64; 4]]; 3]; 2],
    ) {
        let [[a0, a1, a2], [b0, b1, b2]] = limbs;
        let mut s: [[__m256i; 6]; 2] =
            std::array::from_fn(|b| std::array::from_fn(|i| load(&blocks[b].0[i])));
        let rows = values
            .iter()
            .zip(a0)
            .zip(a1)
            .zip(a2)
            .zip(b0)
            .zip(b1)
            .zip(b2);
        for ((((((v, a0), a1), a2), b0), b1), b2) in rows {
            let x0 = load(v);
            let x1 = _mm256_srli_epi64::<32>(x0);
            mac(&mut s[0], x0, x1, [a0, a1, a2]);
            mac(&mut s[1], x0, x1, [b0, b1, b2]);
        }
        for (s, block) in s.iter().zip(blocks.iter_mut()) {
            for (&v, to) in s.iter().zip(&mut block.0) {
                store(v, to);
            }
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn add_products(block: &mut Block, values: &[[u64; 4]], limbs: [&[[u64; 4]]; 3]) {
        let mut s: [__m256i; 6] = std::array::from_fn(|i| load(&block.0[i]));
        let rows = values.iter().zip(limbs[0]).zip(limbs[1]).zip(limbs[2]);
        for (((v, w0), w1), w2) in rows {
            let x0 = load(v);
            let x1 = _mm256_srli_epi64::<32>(x0);
            // _mm256_mul_epu32 multiplies the low 32 bits of each lane.
            for (j, w) in [w0, w1, w2].into_iter().enumerate() {
                let w = load(w);
                s[2 * j] = _mm256_add_epi64(s[2 * j], _mm256_mul_epu32(x0, w));
                s[2 * j + 1] = _mm256_add_epi64(s[2 * j + 1], _mm256_mul_epu32(x1, w));
            }
        }
        for (v, to) in s.into_iter().zip(&mut block.0) {
            store(v, to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::PrimeField64;

    #[test]
    fn blocks_sum_exactly() {
        if !ENABLED {
            return;
        }
        let e = crate::golden::elements(8 * BLOCK_TERMS, 21);
        let m = F::NEG_ONE.as_canonical_u64();
        for n in [0, 1, 2, 7, BLOCK_TERMS] {
            // Random values, p − 1 and u64::MAX everywhere (the largest partial products).
            for fill in [None, Some(m), Some(u64::MAX)] {
                let pick = |i: usize| fill.unwrap_or(e[i].as_canonical_u64());
                let values: Vec<[u64; 4]> = (0..n)
                    .map(|r| std::array::from_fn(|l| pick(4 * r + l)))
                    .collect();
                let w: Vec<[u64; 4]> = (0..n)
                    .map(|r| std::array::from_fn(|l| pick(4 * n + 4 * r + l)))
                    .collect();
                let split: [Vec<[u64; 4]>; 3] =
                    std::array::from_fn(|j| w.iter().map(|w| w.map(|w| limbs(w)[j])).collect());
                let mut block = Block::default();
                // In two calls: the block carries over.
                let (a, b) = values.split_at(n / 2);
                let half = |j: usize, lo: bool| {
                    let s: &[[u64; 4]] = &split[j];
                    if lo { &s[..n / 2] } else { &s[n / 2..] }
                };
                add_products(&mut block, a, [half(0, true), half(1, true), half(2, true)]).unwrap();
                add_products(
                    &mut block,
                    b,
                    [half(0, false), half(1, false), half(2, false)],
                )
                .unwrap();
                let want: [F; 4] = std::array::from_fn(|l| {
                    (0..n)
                        .map(|r| F::from_u64(values[r][l]) * F::from_u64(w[r][l]))
                        .sum()
                });
                assert_eq!(block.reduce(), want, "n {n} {fill:?}");
                // The pair kernel: the same weights and the values' own limbs side by side.
                let own: [Vec<[u64; 4]>; 3] = std::array::from_fn(|j| {
                    values.iter().map(|v| v.map(|x| limbs(x)[j])).collect()
                });
                let mut pair = [Block::default(); 2];
                add_products_pair(
                    &mut pair,
                    &values,
                    [
                        [&split[0], &split[1], &split[2]],
                        [&own[0], &own[1], &own[2]],
                    ],
                )
                .unwrap();
                assert_eq!(pair[0], block, "pair n {n} {fill:?}");
                let squares: [F; 4] = std::array::from_fn(|l| {
                    values.iter().map(|v| F::from_u64(v[l]).square()).sum()
                });
                assert_eq!(pair[1].reduce(), squares, "pair n {n} {fill:?}");
                assert_eq!(block.reduce_sum(), want.iter().copied().sum::<F>());
            }
        }
    }
}
