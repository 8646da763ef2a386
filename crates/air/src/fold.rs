//! Folding a block of packed constraints with the base coefficients of α^i:
//! `Σ_i C_i·c_{k,i}` for k = 0, 1, 2, each lane separately.
//!
//! With AVX2 lanes (`PackedF` is four u64 lanes) the products are summed exactly on the
//! 32 × 32 → 64-bit multiplier: a coefficient c < 2^64 is split into limbs
//! c = c_0 + c_1·2^22 + c_2·2^44 (c_0, c_1 < 2^22, c_2 < 2^20) and a constraint's value x into
//! halves x = x_0 + x_1·2^32. Each partial product x_h·c_j is below 2^54, so a 64-bit lane sums
//! [`MAX_BLOCK`] = 2^10 of them without overflow; the six sums S_{h,j} are reduced once per
//! block, worth Σ S_{h,j}·2^{32h + 22j}. That is 6 multiplies and 6 adds per coefficient and
//! constraint, against p3's packed dot product's full 64 × 64 products with carry tracking
//! (~23 vector operations each). The result is the same field element either way.

use p3_field::{Algebra, PackedValue, PrimeCharacteristicRing, PrimeField64};
use rstark_field::{EF, F, ef_to_base};

use crate::folder::PackedF;

/// Most constraints one call to [`FoldCoeffs::fold`] takes (each lane's partial sums stay
/// below 2^64).
pub const MAX_BLOCK: usize = 1 << 10;

/// The base coefficients of α^0, α^1, … (constraint i is weighted by α^i), in the forms the
/// folders read: plain, and (with AVX2 lanes) split into limbs.
#[derive(Clone, Debug)]
pub struct FoldCoeffs {
    /// `coeffs[k][i]` is base coefficient k of α^i.
    coeffs: [Vec<F>; 3],
    /// `limbs[i][3k + j]` is limb j of base coefficient k of α^i (empty without AVX2 lanes).
    limbs: Vec<[u32; 9]>,
}

impl FoldCoeffs {
    pub fn new(alpha_pows: &[EF]) -> Self {
        let coeffs =
            core::array::from_fn(|k| alpha_pows.iter().map(|&a| ef_to_base(a)[k]).collect());
        let limbs = if avx2::ENABLED {
            alpha_pows
                .iter()
                .map(|&a| {
                    let base = ef_to_base(a).map(|c| limbs(c.as_canonical_u64()));
                    core::array::from_fn(|m| base[m / 3][m % 3])
                })
                .collect()
        } else {
            Vec::new()
        };
        Self { coeffs, limbs }
    }

    /// Number of powers α^i (constraints past them count with coefficient 0).
    pub fn len(&self) -> usize {
        self.coeffs[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Base coefficient k of α^0, α^1, ….
    pub fn coeffs(&self, k: usize) -> &[F] {
        &self.coeffs[k]
    }

    /// `Σ_i xs[i]·c_{k, start + i}` for k = 0, 1, 2 (at most [`MAX_BLOCK`] values).
    #[inline]
    pub fn fold(&self, xs: &[PackedF], start: usize) -> [PackedF; 3] {
        debug_assert!(xs.len() <= MAX_BLOCK);
        let n = xs.len().min(self.len().saturating_sub(start));
        let xs = &xs[..n];
        if avx2::ENABLED {
            avx2::fold(xs, &self.limbs[start..start + n])
        } else {
            core::array::from_fn(|k| dot_chunks(xs, &self.coeffs[k][start..start + n]))
        }
    }
}

/// A coefficient's limbs `[c mod 2^22, ⌊c/2^22⌋ mod 2^22, ⌊c/2^44⌋]`.
fn limbs(c: u64) -> [u32; 3] {
    const MASK: u64 = (1 << 22) - 1;
    [c & MASK, (c >> 22) & MASK, c >> 44].map(|l| l as u32)
}

/// `Σ_i xs[i]·cs[i]` with p3's packed mixed dot products (one reduction per 6 terms).
fn dot_chunks(xs: &[PackedF], cs: &[F]) -> PackedF {
    const N: usize = 6;
    let mut acc = PackedF::ZERO;
    let (xc, xr) = xs.as_chunks::<N>();
    let (cc, cr) = cs.as_chunks::<N>();
    for (x, c) in xc.iter().zip(cc) {
        acc += <PackedF as Algebra<F>>::mixed_dot_product(x, c);
    }
    for (&x, &c) in xr.iter().zip(cr) {
        acc += x * c;
    }
    acc
}

/// The sums S_{h,j} (index 2j + h) of one coefficient reduced mod p per lane.
fn reduce_sums(sums: [[u64; 4]; 6]) -> PackedF {
    let scales: [F; 6] =
        core::array::from_fn(|i| F::TWO.exp_u64((32 * (i % 2) + 22 * (i / 2)) as u64));
    // Goldilocks takes any u64 as a (possibly non-canonical) representative.
    let sums = sums.map(|s| PackedF::from_fn(|l| F::new(s[l])));
    <PackedF as Algebra<F>>::mixed_dot_product(&sums, &scales)
}

/// The kernel where `PackedF` is p3's AVX2 Goldilocks packing (four u64 lanes).
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    not(target_feature = "avx512f")
))]
mod avx2 {
    use core::arch::x86_64::*;

    use super::{PackedF, reduce_sums};

    pub(super) const ENABLED: bool = true;

    // The loads below read a `PackedF` as four u64 lanes: p3's `PackedGoldilocksAVX2` is a
    // `repr(transparent)` [Goldilocks; 4], and Goldilocks a `repr(transparent)` u64.
    const _: () = assert!(size_of::<PackedF>() == 32);

    #[target_feature(enable = "avx2")]
    fn load(x: &PackedF) -> __m256i {
        // SAFETY: `x` is 32 readable bytes (asserted above); `loadu` needs no alignment.
        unsafe { _mm256_loadu_si256((x as *const PackedF).cast()) }
    }

    #[target_feature(enable = "avx2")]
    fn to_lanes(v: __m256i) -> [u64; 4] {
        let mut out = [0u64; 4];
        // SAFETY: `out` is 32 writable bytes; `storeu` needs no alignment.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
        out
    }

    /// Adds x·c to the six sums `s` (c by its limbs, each broadcast to the lanes).
    #[target_feature(enable = "avx2")]
    fn mac(s: &mut [__m256i; 6], x0: __m256i, x1: __m256i, c: &[u32]) {
        // _mm256_mul_epu32 multiplies the low 32 bits of each lane. A 32-bit broadcast is a
        // plain load (a 64-bit one of a u32 compiled to a zero-extend and a shuffle).
        for (j, &c) in c.iter().enumerate() {
            let c = _mm256_set1_epi32(c as i32);
            s[2 * j] = _mm256_add_epi64(s[2 * j], _mm256_mul_epu32(x0, c));
            s[2 * j + 1] = _mm256_add_epi64(s[2 * j + 1], _mm256_mul_epu32(x1, c));
        }
    }

    /// Coefficients 0 and 1 in one pass (12 accumulators), coefficient 2 in a second: 18
    /// accumulators at once would not fit AVX2's 16 registers.
    #[target_feature(enable = "avx2")]
    fn sums(xs: &[PackedF], limbs: &[[u32; 9]]) -> [[__m256i; 6]; 3] {
        let zero = _mm256_setzero_si256();
        let mut s01 = [[zero; 6]; 2];
        for (x, c) in xs.iter().zip(limbs) {
            let x0 = load(x);
            let x1 = _mm256_srli_epi64::<32>(x0);
            mac(&mut s01[0], x0, x1, &c[0..3]);
            mac(&mut s01[1], x0, x1, &c[3..6]);
        }
        let mut s2 = [zero; 6];
        for (x, c) in xs.iter().zip(limbs) {
            let x0 = load(x);
            let x1 = _mm256_srli_epi64::<32>(x0);
            mac(&mut s2, x0, x1, &c[6..9]);
        }
        [s01[0], s01[1], s2]
    }

    #[inline]
    pub(super) fn fold(xs: &[PackedF], limbs: &[[u32; 9]]) -> [PackedF; 3] {
        // SAFETY: this build targets AVX2 (the cfg above), so the CPU running it has AVX2.
        let s = unsafe { sums(xs, limbs) };
        // SAFETY: as above.
        s.map(|s| reduce_sums(s.map(|v| unsafe { to_lanes(v) })))
    }
}

#[cfg(not(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    not(target_feature = "avx512f")
)))]
mod avx2 {
    use super::{PackedF, reduce_sums};

    pub(super) const ENABLED: bool = false;

    pub(super) fn fold(_: &[PackedF], _: &[[u32; 9]]) -> [PackedF; 3] {
        let _ = reduce_sums;
        unreachable!("the AVX2 kernel is not compiled in")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::ef_from_base;

    /// Values near 2^64 (non-canonical representatives too) and large coefficients, over a full
    /// block and a ragged one, against the field's own arithmetic.
    #[test]
    fn fold_matches_field_arithmetic() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pows: Vec<EF> = (0..MAX_BLOCK + 7)
            .map(|_| ef_from_base([F::new(next()), F::new(next()), F::new(next())]))
            .collect();
        let coeffs = FoldCoeffs::new(&pows);
        let xs: Vec<PackedF> = (0..MAX_BLOCK)
            .map(|i| PackedF::from_fn(|l| F::new(if i % 5 == l { u64::MAX } else { next() })))
            .collect();
        for (start, n) in [(0, MAX_BLOCK), (7, MAX_BLOCK), (3, 10), (MAX_BLOCK + 2, 9)] {
            let got = coeffs.fold(&xs[..n], start);
            for (k, got) in got.into_iter().enumerate() {
                let want: PackedF = xs[..n]
                    .iter()
                    .zip(coeffs.coeffs(k).iter().skip(start))
                    .map(|(&x, &c)| x * c)
                    .sum();
                assert_eq!(got, want, "start {start}, {n} values, coefficient {k}");
            }
        }
    }
}
