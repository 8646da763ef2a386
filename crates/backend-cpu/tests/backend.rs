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
