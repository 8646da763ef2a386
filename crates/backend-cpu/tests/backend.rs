//! CpuBackend pieces against direct computations.

use rstark_backend_cpu::{CpuBackend, CpuCodeword};
use rstark_field::{EF, F, GENERATOR, PrimeCharacteristicRing, ef_from_base};
use rstark_poly::{RowMajor, eval_columns_at};
use rstark_protocol::Backend;
use rstark_protocol::domain::coset_point;

fn pseudo(i: u64) -> F {
    F::from_u64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 3)
}

#[test]
fn out_of_domain_values_match_barycentric_on_the_trace() {
    let width = 5;
    for log_n in [1usize, 3, 6] {
        let values = (0..(width << log_n) as u64).map(pseudo).collect();
        let trace = RowMajor::new(values, width).unwrap();
        for log_blowup in [1, 2, 3] {
            let c = CpuBackend.commit_trace(&trace, log_blowup).unwrap();
            let z = ef_from_base([F::from_u64(3), F::from_u64(5), F::from_u64(7)]);
            assert_eq!(
                CpuBackend.evaluate_at(&c, z).unwrap(),
                eval_columns_at(&trace, z)
            );
        }
    }
}

/// A codeword of a degree < 4 polynomial folds down to its final polynomial; a random one does
/// not.
#[test]
fn fold_keeps_low_degree() {
    let coeffs: Vec<EF> = (0..4u64).map(|i| EF::from(pseudo(i + 1))).collect();
    let log_size = 5;
    let values: Vec<EF> = (0..1usize << log_size)
        .map(|j| {
            let x = coset_point(j, log_size, GENERATOR);
            coeffs.iter().rev().fold(EF::ZERO, |acc, &c| acc * x + c)
        })
        .collect();
    let cw = CpuCodeword::new(values, log_size, GENERATOR);
    let beta = EF::from(pseudo(99));
    let once = CpuBackend.fold(&cw, beta).unwrap();
    let twice = CpuBackend.fold(&once, beta).unwrap();
    let fin = CpuBackend.final_poly(&twice, 1).unwrap();
    assert_eq!(fin.len(), 1);
    assert!(CpuBackend.final_poly(&once, 2).is_ok());
    let noise: Vec<EF> = (0..32u64).map(|i| EF::from(pseudo(i + 1000))).collect();
    let bad = CpuCodeword::new(noise, log_size, GENERATOR);
    assert!(CpuBackend.final_poly(&bad, 4).is_err());
}

/// Handles with inconsistent public fields are refused with a `BackendError`, not a panic.
#[test]
fn inconsistent_handles_are_typed_errors() {
    let beta = EF::from(pseudo(7));
    let values: Vec<EF> = (0..6u64).map(|i| EF::from(pseudo(i))).collect();
    let ragged = CpuCodeword::new(values, 3, GENERATOR);
    assert!(CpuBackend.fold(&ragged, beta).is_err());
    assert!(CpuBackend.final_poly(&ragged, 1).is_err());
    let single = CpuCodeword::new(vec![EF::ONE], 0, GENERATOR);
    assert!(CpuBackend.fold(&single, beta).is_err());
    assert_eq!(CpuBackend.final_poly(&single, 1).unwrap(), vec![EF::ONE]);

    let trace = RowMajor::new((0..16u64).map(pseudo).collect(), 2).unwrap();
    let mut c = CpuBackend.commit_trace(&trace, 1).unwrap();
    c.log_blowup = 9; // claims more blowup than the LDE has rows for
    assert!(CpuBackend.evaluate_at(&c, EF::from(pseudo(3))).is_err());
}

/// `quotient_values` (public, reusable by other backends) checks the rows against the AIR.
#[test]
fn quotient_rows_that_disagree_with_the_air_are_refused() {
    use rstark_air::examples::{FibonacciAir, RangeUserAir};
    use rstark_air::logup::LogupChallenges;
    use rstark_air::{BaseAir, Interactions};
    use rstark_backend_cpu::{QuotientRows, quotient_values};
    use rstark_protocol::CompositionInputs;

    let check = |air: &dyn rstark_air::Table, main_w: usize, aux_w: usize| {
        let (log_n, log_d) = (2, 1);
        let q = 1usize << (log_n + log_d);
        let interactions = air.interactions();
        let logup = LogupChallenges::new(EF::ONE, EF::TWO, &[&interactions]);
        let publics = vec![F::ONE; BaseAir::<F>::num_public_values(air)];
        let alpha_pows = vec![EF::ONE; 16];
        let inputs = CompositionInputs {
            table: 0,
            air,
            main: &(),
            aux: None,
            preprocessed: None,
            periodic: None,
            log_height: log_n,
            log_blowup: log_d,
            log_quotient_degree: log_d,
            public_values: &publics,
            alpha_pows: &alpha_pows,
            num_air_constraints: 3,
            interactions: &interactions,
            logup: &logup,
            claimed_sum: EF::ZERO,
        };
        let main = vec![F::ONE; q * main_w];
        let aux = vec![F::ONE; q * aux_w];
        let rows = QuotientRows {
            main: &main,
            main_width: main_w,
            aux: (aux_w > 0).then_some(&aux[..]),
            aux_width: aux_w,
            preprocessed: None,
            preprocessed_width: 0,
        };
        quotient_values(&inputs, &rows)
    };
    assert!(check(&FibonacciAir, 2, 0).is_ok());
    assert!(check(&FibonacciAir, 1, 0).is_err(), "AIR reads column 1");
    assert!(
        check(&FibonacciAir, 2, 6).is_err(),
        "aux without interactions"
    );
    let users_w = BaseAir::<F>::width(&RangeUserAir);
    let aux_w = 3 * rstark_air::logup::aux_ext_width(RangeUserAir.interactions().len());
    assert!(check(&RangeUserAir, users_w, aux_w).is_ok());
    assert!(check(&RangeUserAir, users_w, 3).is_err(), "aux too narrow");
    assert!(check(&RangeUserAir, users_w, 0).is_err(), "aux missing");
}
