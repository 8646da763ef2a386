//! Goldilocks and its cubic extension, with rstark's canonical byte forms (docs/PROTOCOL.md §1).
//!
//! The arithmetic is Plonky3's (`p3-goldilocks`, `p3-field`); this crate only pins the types,
//! the constants the protocol names, and the exact bytes every backend must produce.

mod bytes;
mod ext;

pub use bytes::{ef_from_bytes, ef_to_bytes, f_from_bytes, f_to_bytes, write_row_bytes};
pub use ext::{ef_from_base, ef_to_base, flatten_ext, unflatten_ext};

pub use p3_field::{
    BasedVectorSpace, ExtensionField, Field, PrimeCharacteristicRing, PrimeField64, TwoAdicField,
    batch_multiplicative_inverse,
};
pub use p3_goldilocks::Goldilocks as F;

/// The cubic extension F[x]/(x^3 − x − 1).
pub type EF = p3_field::extension::CubicTrinomialExtensionField<F>;

/// Extension degree of [`EF`] over [`F`].
pub const EXT_DEGREE: usize = 3;

/// The Goldilocks modulus p = 2^64 − 2^32 + 1.
pub const P: u64 = 0xffff_ffff_0000_0001;

/// Bytes of one base element in canonical form.
pub const F_BYTES: usize = 8;

/// Bytes of one extension element in canonical form.
pub const EF_BYTES: usize = 24;

/// The multiplicative generator g = 7, used as the LDE coset offset.
pub const GENERATOR: F = F::new(7);

/// Largest `log_n` for which [`omega`] is defined (the two-adicity of p − 1).
pub const TWO_ADICITY: usize = 32;

/// The primitive 2^log_n-th root of unity ω_{log_n} (ω_k = ω_{k+1}^2).
///
/// # Panics
/// If `log_n > 32`: no such root exists in Goldilocks. Callers derive `log_n` from sizes they
/// have already validated; [`try_omega`] is the variant for unvalidated sizes.
pub fn omega(log_n: usize) -> F {
    match try_omega(log_n) {
        Some(w) => w,
        None => panic!("omega: log_n = {log_n} exceeds the two-adicity 32"),
    }
}

/// [`omega`], or `None` if `log_n > 32` (no such root exists in Goldilocks).
pub fn try_omega(log_n: usize) -> Option<F> {
    (log_n <= TWO_ADICITY).then(|| F::two_adic_generator(log_n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_p3() {
        assert_eq!(GENERATOR, <F as Field>::GENERATOR);
        assert_eq!(P, F::ORDER_U64);
        assert_eq!(omega(0), F::ONE);
        for k in 1..=TWO_ADICITY {
            assert_eq!(omega(k).square(), omega(k - 1));
            assert_ne!(omega(k), F::ONE);
        }
        assert_eq!(omega(1), -F::ONE);
    }

    #[test]
    fn try_omega_rejects_sizes_above_two_adicity() {
        assert_eq!(try_omega(TWO_ADICITY), Some(omega(TWO_ADICITY)));
        assert_eq!(try_omega(TWO_ADICITY + 1), None);
        assert_eq!(try_omega(usize::MAX), None);
    }

    #[test]
    fn extension_reduces_by_x3_minus_x_minus_1() {
        let x = ef_from_base([F::ZERO, F::ONE, F::ZERO]);
        assert_eq!(x * x * x, x + EF::ONE);
    }
}
