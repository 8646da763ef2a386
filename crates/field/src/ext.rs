//! Moving between extension elements and their base-field coefficient triples.
//! Extension matrices are stored flattened (width 3W), PROTOCOL.md §1.

use p3_field::BasedVectorSpace;

use crate::{EF, F};

/// The three coefficients of an extension element, constant term first.
#[inline]
pub fn ef_to_base(x: EF) -> [F; 3] {
    let c = x.as_basis_coefficients_slice();
    [c[0], c[1], c[2]]
}

/// The extension element with the given coefficients, constant term first.
#[inline]
pub fn ef_from_base(c: [F; 3]) -> EF {
    EF::new(c)
}

/// Concatenates the coefficient triples of `xs` (length 3·len).
pub fn flatten_ext(xs: &[EF]) -> Vec<F> {
    let mut out = Vec::with_capacity(xs.len() * 3);
    for x in xs {
        out.extend_from_slice(x.as_basis_coefficients_slice());
    }
    out
}

/// Inverse of [`flatten_ext`]; `None` when the length is not a multiple of 3.
pub fn unflatten_ext(xs: &[F]) -> Option<Vec<EF>> {
    if !xs.len().is_multiple_of(3) {
        return None;
    }
    Some(
        xs.chunks_exact(3)
            .map(|c| ef_from_base([c[0], c[1], c[2]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_roundtrip() {
        let xs: Vec<EF> = (0..5u64)
            .map(|i| ef_from_base([F::new(i), F::new(10 + i), F::new(20 + i)]))
            .collect();
        let flat = flatten_ext(&xs);
        assert_eq!(flat.len(), 15);
        assert_eq!(flat[3], F::new(1));
        assert_eq!(unflatten_ext(&flat), Some(xs));
        assert_eq!(unflatten_ext(&flat[..14]), None);
        assert_eq!(
            ef_to_base(ef_from_base([F::new(4), F::new(5), F::new(6)]))[2],
            F::new(6)
        );
    }
}
