//! Property tests of the LDE (PROTOCOL.md §2) on random shapes.

use proptest::prelude::*;
use rstark_field::{EF, F, PrimeCharacteristicRing, ef_from_base};
use rstark_poly::{
    RowMajor, coefficients, eval_columns_at, golden, interpolate, lde, lde_from_coefficients,
    lde_point,
};

fn horner(coeffs: &RowMajor, col: usize, x: F) -> F {
    coeffs
        .rows()
        .rev()
        .fold(F::ZERO, |acc, row| acc * x + row[col])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A polynomial of degree < N given by coefficients: its LDE equals direct evaluation at
    /// the bit-reversed coset points, and interpolating the LDE gives back the trace.
    #[test]
    fn lde_is_evaluation_at_bit_reversed_coset(
        log_n in 0usize..7, width in 1usize..12, log_b in 0usize..5, seed in any::<u64>()
    ) {
        let coeffs = golden::matrix(log_n, width, seed);
        let log_size = log_n + log_b;
        // The trace: evaluations on H (lde_from_coefficients at shift 1, then natural order).
        let on_h = lde_from_coefficients(&coeffs, log_n, F::ONE);
        let trace = RowMajor::new(
            rstark_poly::bit_reverse_rows(&on_h.values, width), width).unwrap();
        prop_assert_eq!(&coefficients(&trace), &coeffs);
        let ext = lde(&trace, log_b).unwrap();
        prop_assert_eq!(ext.height(), 1 << log_size);
        for j in 0..ext.height() {
            let x = lde_point(j, log_size);
            for c in 0..width {
                prop_assert_eq!(ext.row(j)[c], horner(&coeffs, c, x));
            }
        }
        prop_assert_eq!(interpolate(&ext, log_b).unwrap(), trace);
    }

    #[test]
    fn barycentric_matches_coefficients(log_n in 0usize..8, seed in any::<u64>(),
                                        z0 in any::<u64>(), z1 in any::<u64>()) {
        let trace = golden::matrix(log_n, 2, seed);
        let coeffs = coefficients(&trace);
        let z = ef_from_base([F::new(z0 >> 1), F::new(z1 >> 1), F::ONE]);
        let got = eval_columns_at(&trace, z);
        for c in 0..2 {
            let want = coeffs.rows().rev().fold(EF::ZERO, |acc, row| acc * z + row[c]);
            prop_assert_eq!(got[c], want);
        }
    }
}
