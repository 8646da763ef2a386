//! Canonical byte forms (PROTOCOL.md §1). p3 may hold Goldilocks values non-canonically
//! (in [0, 2^64)), so bytes always go through `as_canonical_u64`.

use p3_field::{BasedVectorSpace, PrimeField64};

use crate::{EF, F, P};

/// A base element as its canonical value, u64 little-endian.
#[inline]
pub fn f_to_bytes(x: F) -> [u8; 8] {
    x.as_canonical_u64().to_le_bytes()
}

/// Decodes a base element; `None` when the value is not canonical (≥ p).
#[inline]
pub fn f_from_bytes(bytes: [u8; 8]) -> Option<F> {
    let v = u64::from_le_bytes(bytes);
    (v < P).then(|| F::new(v))
}

/// An extension element as its three coefficients' canonical bytes, constant term first.
#[inline]
pub fn ef_to_bytes(x: EF) -> [u8; 24] {
    let mut out = [0u8; 24];
    for (chunk, c) in out.chunks_exact_mut(8).zip(x.as_basis_coefficients_slice()) {
        chunk.copy_from_slice(&f_to_bytes(*c));
    }
    out
}

/// Decodes an extension element; `None` when any coefficient is not canonical.
pub fn ef_from_bytes(bytes: &[u8; 24]) -> Option<EF> {
    let mut coeffs = [F::new(0); 3];
    for (c, chunk) in coeffs.iter_mut().zip(bytes.chunks_exact(8)) {
        *c = f_from_bytes(chunk.try_into().ok()?)?;
    }
    Some(crate::ef_from_base(coeffs))
}

/// Appends the canonical bytes of a row (8 bytes per element) to `out`.
#[inline]
pub fn write_row_bytes(row: &[F], out: &mut Vec<u8>) {
    out.reserve(row.len() * 8);
    for x in row {
        out.extend_from_slice(&f_to_bytes(*x));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p3_field::PrimeCharacteristicRing;
    use proptest::prelude::*;

    #[test]
    fn non_canonical_values_are_rejected() {
        assert_eq!(f_from_bytes(P.to_le_bytes()), None);
        assert_eq!(f_from_bytes(u64::MAX.to_le_bytes()), None);
        assert_eq!(f_from_bytes((P - 1).to_le_bytes()), Some(-F::ONE));
        let mut b = [0u8; 24];
        b[16..].copy_from_slice(&P.to_le_bytes());
        assert_eq!(ef_from_bytes(&b), None);
    }

    #[test]
    fn non_canonical_internal_value_encodes_canonically() {
        // F::new does not reduce; p + 5 is a valid internal form of 5.
        let x = F::new(P.wrapping_add(5));
        assert_eq!(f_to_bytes(x), 5u64.to_le_bytes());
    }

    #[test]
    fn ext_layout_is_constant_term_first() {
        let x = crate::ef_from_base([F::new(1), F::new(2), F::new(3)]);
        let b = ef_to_bytes(x);
        assert_eq!(&b[0..8], &1u64.to_le_bytes());
        assert_eq!(&b[8..16], &2u64.to_le_bytes());
        assert_eq!(&b[16..24], &3u64.to_le_bytes());
        let mut row = Vec::new();
        write_row_bytes(&[F::new(9), -F::ONE], &mut row);
        assert_eq!(row.len(), 16);
        assert_eq!(&row[8..], &(P - 1).to_le_bytes());
    }

    proptest! {
        #[test]
        fn roundtrip(a in 0..P, b in 0..P, c in 0..P) {
            prop_assert_eq!(f_from_bytes(f_to_bytes(F::new(a))), Some(F::new(a)));
            let x = crate::ef_from_base([F::new(a), F::new(b), F::new(c)]);
            prop_assert_eq!(ef_from_bytes(&ef_to_bytes(x)), Some(x));
        }
    }
}
