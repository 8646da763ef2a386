//! Inputs shared by the prover's integration tests.
#![allow(dead_code)] // each test binary uses its part

use std::sync::Arc;

use rstark_air::Table;
use rstark_air::examples::{RangeTableAir, RangeUserAir, range_pair_traces};
use rstark_poly::RowMajor;
use rstark_prover::TableInput;
use rstark_verifier::VerifierTable;

/// The LogUp range-check pair: a `range` table of `range` values and a `user` table of `users`
/// looked-up values.
pub fn range_inputs(range: usize, users: usize) -> Vec<TableInput> {
    let (table, user) = range_pair_traces(range, users);
    vec![
        TableInput::new(
            "range",
            Arc::new(RangeTableAir) as Arc<dyn Table>,
            RowMajor::new(table, 2).unwrap(),
            vec![],
        ),
        TableInput::new(
            "user",
            Arc::new(RangeUserAir),
            RowMajor::new(user, 2).unwrap(),
            vec![],
        ),
    ]
}

/// The verifier's statement for the prover's inputs.
pub fn statement(inputs: &[TableInput]) -> Vec<VerifierTable> {
    inputs
        .iter()
        .map(|t| VerifierTable::new(t.name.clone(), t.air.clone(), t.public_values.clone()))
        .collect()
}
