//! A built-in workload as the prover's tables and the verifier's statement (shared by the GPU
//! tests and examples that prove and verify whole workloads: `#[path]`-included).

use std::sync::Arc;

use rstark_prover::TableInput;
use rstark_verifier::VerifierTable;

pub struct Statement {
    pub tables: Vec<TableInput>,
    pub verifier: Vec<VerifierTable>,
}

pub fn statement(
    workload: &str,
    size: usize,
) -> Result<Statement, rstark_workloads::WorkloadError> {
    let w = rstark_workloads::build(workload, size)?;
    Ok(Statement {
        verifier: w
            .tables
            .iter()
            .map(|t| VerifierTable::new(t.name, Arc::new(t.air), t.public_values.clone()))
            .collect(),
        tables: w
            .tables
            .into_iter()
            .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
            .collect(),
    })
}
