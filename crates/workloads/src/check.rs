//! Independent witness checks of a workload, without the prover: every AIR constraint on every
//! row (p3-air's debug checker), and the LogUp bus sums computed directly.

use std::collections::BTreeMap;

use p3_field::{Field, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;
use rstark_air::Interactions;
use rstark_field::{EF, F};

use crate::WorkloadTable;

/// The first violated constraint of a table, as "table T: row R: constraint #C".
pub fn check_constraints(table: &WorkloadTable) -> Result<(), String> {
    let host = table.trace.host();
    let trace = RowMajorMatrix::new(host.values.clone(), host.width);
    let report = p3_air::check_all_constraints(&table.air, &trace, &table.public_values, Some(1));
    match report.failures.first() {
        None => Ok(()),
        Some(f) => Err(format!(
            "table {}: row {}: constraint {f}",
            table.name, f.row
        )),
    }
}

/// For each bus, Σ over every table, row and interaction of m / (α − (bus + Σ_i β^{i+1}·v_i)).
/// Every bus balances (sums to 0) for a valid witness.
pub fn bus_sums(tables: &[WorkloadTable], alpha: EF, beta: EF) -> BTreeMap<u32, EF> {
    let mut sums = BTreeMap::new();
    for table in tables {
        let interactions = table.air.interactions();
        let host = table.trace.host();
        for row in host.values.chunks_exact(host.width) {
            for it in &interactions {
                let m = it.multiplicity.eval(row);
                let sum = sums.entry(it.bus).or_insert(EF::ZERO);
                if m == F::ZERO {
                    continue;
                }
                let mut fingerprint = EF::from(F::from_u32(it.bus));
                let mut power = beta;
                for v in &it.values {
                    fingerprint += power * v.eval(row);
                    power *= beta;
                }
                *sum += (alpha - fingerprint).inverse() * m;
            }
        }
    }
    sums
}

/// Pseudo-random extension elements for [`bus_sums`] (splitmix64 of `seed`).
pub fn sample_ext(seed: u64) -> EF {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        F::from_u64(z ^ (z >> 31))
    };
    let coeffs = [next(), next(), next()];
    <EF as p3_field::BasedVectorSpace<F>>::from_basis_coefficients_slice(&coeffs).unwrap_or(EF::ONE)
}
