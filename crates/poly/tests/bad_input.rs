//! Public entry points reject malformed input with a `PolyError` instead of panicking.

use rstark_field::{EF, F, GENERATOR, PrimeCharacteristicRing, TWO_ADICITY};
use rstark_poly::{
    PolyError, RowMajor, coefficients, eval_columns_at, golden, lde_from_coefficients,
    try_coefficients, try_eval_columns_at, try_lde_from_coefficients,
};

/// A matrix built without `RowMajor::new`'s checks (its fields are public).
fn raw(len: usize, width: usize) -> RowMajor {
    RowMajor {
        values: vec![F::ONE; len],
        width,
    }
}

#[test]
fn coefficients_and_ood_evaluation_reject_bad_shapes() {
    let z = EF::from(F::from_u64(5));
    for (m, want) in [
        (raw(6, 2), PolyError::HeightNotPowerOfTwo { height: 3 }),
        (raw(0, 2), PolyError::HeightNotPowerOfTwo { height: 0 }),
        (raw(4, 0), PolyError::ZeroWidth),
        (raw(5, 2), PolyError::RaggedMatrix { len: 5, width: 2 }),
    ] {
        assert_eq!(try_coefficients(&m).unwrap_err(), want);
        assert_eq!(try_eval_columns_at(&m, z).unwrap_err(), want);
    }
    let m = golden::matrix(3, 2, 9);
    assert_eq!(try_coefficients(&m).unwrap(), coefficients(&m));
    assert_eq!(try_eval_columns_at(&m, z).unwrap(), eval_columns_at(&m, z));
}

#[test]
fn lde_from_coefficients_rejects_bad_input() {
    let g = GENERATOR;
    assert_eq!(
        try_lde_from_coefficients(&raw(10, 2), 2, g).unwrap_err(),
        PolyError::TooManyCoefficients {
            rows: 5,
            log_size: 2
        }
    );
    assert_eq!(
        try_lde_from_coefficients(&raw(2, 2), TWO_ADICITY + 1, g).unwrap_err(),
        PolyError::DomainTooLarge {
            log_size: TWO_ADICITY + 1
        }
    );
    assert_eq!(
        try_lde_from_coefficients(&raw(2, 0), 2, g).unwrap_err(),
        PolyError::ZeroWidth
    );
    assert_eq!(
        try_lde_from_coefficients(&raw(3, 2), 2, g).unwrap_err(),
        PolyError::RaggedMatrix { len: 3, width: 2 }
    );
    // Any row count up to the domain size is fine (zero-padded), powers of two or not.
    let c = raw(6, 2);
    assert_eq!(
        try_lde_from_coefficients(&c, 2, g).unwrap(),
        lde_from_coefficients(&c, 2, g)
    );
}
