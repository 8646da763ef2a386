//! Exact sums of many u64 × u64 products with one modular reduction at the end: the inner loop
//! of Σ_k e_k·f_k with extension coefficients e_k and base values f_k (barycentric sums, DEEP
//! rows). A Goldilocks product reduced at every step costs about twice as much.

use rstark_field::{EF, F, PrimeCharacteristicRing, PrimeField64, ef_from_base, ef_to_base};

/// A sum of u64 × u64 products kept exactly: `low` plus `carries`·2^128.
#[derive(Clone, Copy)]
pub(crate) struct Wide {
    low: u128,
    carries: u64,
}

impl Wide {
    pub(crate) const ZERO: Self = Self { low: 0, carries: 0 };

    #[inline(always)]
    pub(crate) fn add_product(&mut self, a: u64, b: u64) {
        let (low, carry) = self.low.overflowing_add(a as u128 * b as u128);
        self.low = low;
        self.carries += carry as u64;
    }

    /// The sum mod p, using 2^64 ≡ 2^32 − 1 (mod p).
    pub(crate) fn reduce(self) -> F {
        let two64 = F::from_u64(0xffff_ffff);
        let lo = F::from_u64(self.low as u64);
        let hi = F::from_u64((self.low >> 64) as u64);
        lo + hi * two64 + F::from_u64(self.carries) * two64.square()
    }
}

/// An extension element's three base coefficients as canonical integers (the form
/// [`dot_ext_base`] takes its coefficients in).
pub fn ext_to_u64s(e: EF) -> [u64; 3] {
    ef_to_base(e).map(|c| c.as_canonical_u64())
}

/// Σ_k coeffs[k]·values[k] (extension coefficients from [`ext_to_u64s`], base values), over
/// the shorter of the two slices; exact, so equal to the field sum of the products.
#[inline]
pub fn dot_ext_base(coeffs: &[[u64; 3]], values: &[F]) -> EF {
    let mut acc = [Wide::ZERO; 3];
    for (c, v) in coeffs.iter().zip(values) {
        let v = v.as_canonical_u64();
        acc[0].add_product(c[0], v);
        acc[1].add_product(c[1], v);
        acc[2].add_product(c[2], v);
    }
    ef_from_base(acc.map(Wide::reduce))
}

/// Extension coefficients prepared for [`ExtCoeffs::dot`], the DEEP row sum Σ_k e_k·f_k: on
/// AVX2 builds four columns at a time on the vector lanes ([`crate::lanes`]; extension
/// coordinates 0 and 1 in one pass over the row, 2 in a second), else [`dot_ext_base`].
#[derive(Clone, Debug)]
pub struct ExtCoeffs {
    /// As [`ext_to_u64s`] (the fallback).
    wide: Vec<[u64; 3]>,
    /// limbs[t][j][g]: limb j of coordinate t of coefficients 4g … 4g + 3 (zero past the end),
    /// the lanes' weights. Empty without the lanes (not compiled in, or a narrow row).
    limbs: [[Vec<[u64; 4]>; 3]; 3],
}

impl ExtCoeffs {
    pub fn new(coeffs: &[EF]) -> Self {
        let wide: Vec<[u64; 3]> = coeffs.iter().map(|&c| ext_to_u64s(c)).collect();
        // Narrow rows (a composition's few columns) cost more in the lanes' reductions than
        // in their products: they stay on `dot_ext_base`.
        let lanes = crate::lanes::ENABLED && wide.len() >= MIN_LANE_WIDTH;
        let limbs = std::array::from_fn(|t| {
            std::array::from_fn(|j| {
                if !lanes {
                    return Vec::new();
                }
                wide.chunks(4)
                    .map(|g| {
                        std::array::from_fn(|l| {
                            g.get(l).map_or(0, |c| crate::lanes::limbs(c[t])[j])
                        })
                    })
                    .collect()
            })
        });
        Self { wide, limbs }
    }

    pub fn len(&self) -> usize {
        self.wide.len()
    }

    pub fn is_empty(&self) -> bool {
        self.wide.is_empty()
    }

    /// Σ_k coeffs[k]·values[k] over the shorter of the two, exactly (equal to the field sum);
    /// `scratch` is reused between calls (the values as canonical integers).
    pub fn dot(&self, values: &[F], scratch: &mut Vec<u64>) -> EF {
        if self.limbs[0][0].is_empty() {
            return dot_ext_base(&self.wide, values);
        }
        let values = &values[..values.len().min(self.wide.len())];
        // A plain map (vectorised by the compiler), then zeros to a multiple of four.
        scratch.clear();
        scratch.extend(values.iter().map(|v| v.as_canonical_u64()));
        scratch.resize(values.len().div_ceil(4) * 4, 0);
        let (groups, _) = scratch.as_chunks::<4>();
        let per_block = crate::lanes::BLOCK_TERMS;
        let mut out = [F::ZERO; 3];
        for (b, piece) in groups.chunks(per_block).enumerate() {
            let at = b * per_block;
            let limbs = |t: usize| std::array::from_fn(|j| &self.limbs[t][j][at..]);
            // Coordinates 0 and 1 in one pass (one load of the values), 2 in another.
            let mut pair = [crate::lanes::Block::default(); 2];
            let mut third = crate::lanes::Block::default();
            if crate::lanes::add_products_pair(&mut pair, piece, [limbs(0), limbs(1)]).is_none()
                || crate::lanes::add_products(&mut third, piece, limbs(2)).is_none()
            {
                return dot_ext_base(&self.wide, values);
            }
            for (o, block) in out.iter_mut().zip(pair.iter().chain([&third])) {
                *o += block.reduce_sum();
            }
        }
        ef_from_base(out)
    }
}

/// Fewer columns than this stay on [`dot_ext_base`].
const MIN_LANE_WIDTH: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_coeffs_dot_matches_field_arithmetic() {
        let m = F::NEG_ONE;
        let mut scratch = Vec::new();
        // Past 4·BLOCK_TERMS columns a row takes several blocks per lane.
        for n in [
            0,
            1,
            3,
            4,
            5,
            64,
            65,
            150,
            2633,
            4 * crate::lanes::BLOCK_TERMS + 9,
        ] {
            for extreme in [false, true] {
                let mut values = crate::golden::elements(n + 3, n as u64);
                let mut flat = crate::golden::elements(3 * n, 50 + n as u64);
                if extreme {
                    values.fill(m);
                    flat.fill(m);
                }
                let coeffs: Vec<EF> = flat
                    .chunks_exact(3)
                    .map(|c| ef_from_base([c[0], c[1], c[2]]))
                    .collect();
                let prepared = ExtCoeffs::new(&coeffs);
                // Values longer, equal and shorter than the coefficients.
                for len in [n + 3, n, n.saturating_sub(2)] {
                    let want: EF = coeffs
                        .iter()
                        .zip(&values[..len])
                        .map(|(&c, &v)| c * v)
                        .sum();
                    assert_eq!(
                        prepared.dot(&values[..len], &mut scratch),
                        want,
                        "{n} {len} {extreme}"
                    );
                }
            }
        }
    }

    #[test]
    fn wide_sums_reduce_exactly() {
        let big = u64::MAX;
        let mut w = Wide::ZERO;
        let mut want = F::ZERO;
        for _ in 0..1000 {
            w.add_product(big, big);
            want += F::from_u64(big) * F::from_u64(big);
        }
        assert!(w.carries > 0);
        assert_eq!(w.reduce(), want);
    }

    #[test]
    fn dot_matches_field_arithmetic() {
        let values = crate::golden::elements(3000, 9);
        let coeffs: Vec<EF> = crate::golden::elements(9000, 10)
            .chunks_exact(3)
            .map(|c| ef_from_base([c[0], c[1], c[2]]))
            .collect();
        let want: EF = coeffs.iter().zip(&values).map(|(&c, &v)| c * v).sum();
        let as_u64: Vec<[u64; 3]> = coeffs.iter().map(|&c| ext_to_u64s(c)).collect();
        assert_eq!(dot_ext_base(&as_u64, &values), want);
        assert_eq!(dot_ext_base(&as_u64[..0], &values), EF::ZERO);
        // Extreme values: every coefficient and value p − 1.
        let m = F::NEG_ONE;
        let big = vec![ef_from_base([m, m, m]); 5000];
        let ones = vec![m; 5000];
        let want: EF = big.iter().zip(&ones).map(|(&c, &v)| c * v).sum();
        let big_u64: Vec<[u64; 3]> = big.iter().map(|&c| ext_to_u64s(c)).collect();
        assert_eq!(dot_ext_base(&big_u64, &ones), want);
    }
}
