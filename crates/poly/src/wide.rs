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

#[cfg(test)]
mod tests {
    use super::*;

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
