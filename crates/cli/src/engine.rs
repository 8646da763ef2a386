//! The CLI's only contact with the prover and the verifier (CPU backend).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rstark_backend_cpu::CpuBackend;
use rstark_field::F;
use rstark_protocol::{Proof, StarkParams};
use rstark_prover::{ProveOptions, ProverError, TableInput, prove_with_options};
use rstark_verifier::VerifierTable;
use rstark_workloads::{TableShape, Workload};

use crate::commands::CliError;
use crate::output::Phase;

/// A proof's bytes and how long its phases took.
pub struct Proved {
    pub proof: Vec<u8>,
    pub time: Duration,
    pub phases: Vec<Phase>,
}

/// Proves a workload on the CPU backend. With `check_witness` every constraint is checked first
/// (a bad witness is then an error naming its table and row, never a proof that fails later).
pub fn prove(
    params: &StarkParams,
    workload: &Workload,
    check_witness: bool,
) -> Result<Proved, CliError> {
    let tables: Vec<TableInput> = workload
        .tables
        .iter()
        .map(|t| {
            TableInput::new(
                t.name,
                Arc::new(t.air),
                t.trace.clone(),
                t.public_values.clone(),
            )
        })
        .collect();
    let options = ProveOptions {
        check_witness,
        ..Default::default()
    };
    let start = Instant::now();
    let (proof, report) = prove_with_options(&CpuBackend::new(), params, &tables, &options)
        .map_err(|e| match e {
            e @ (ProverError::ConstraintFailed { .. }
            | ProverError::BusUnbalanced(_)
            | ProverError::Logup { .. }) => CliError::Witness(e.to_string()),
            e => CliError::Prover(e.to_string()),
        })?;
    let time = start.elapsed();
    Ok(Proved {
        proof: proof.to_bytes(),
        time,
        phases: report
            .phases
            .iter()
            .map(|&(name, d)| Phase::new(name, d))
            .collect(),
    })
}

/// Verifies proof bytes against the statement's tables and public values; returns the tables'
/// heights.
pub fn verify(
    params: &StarkParams,
    shapes: &[TableShape],
    public_values: &[Vec<F>],
    proof: &[u8],
) -> Result<Vec<usize>, CliError> {
    let proof = Proof::from_bytes(proof).map_err(|e| CliError::Rejected(e.to_string()))?;
    // Heights the statement fixes are pinned; the verifier rejects a proof of other heights.
    let tables: Vec<VerifierTable> = shapes
        .iter()
        .zip(public_values)
        .map(|(s, pv)| {
            let table = VerifierTable::new(s.name, Arc::new(s.air), pv.clone());
            match s.height {
                Some(h) => table.with_log_height(h.trailing_zeros() as u8),
                None => table,
            }
        })
        .collect();
    rstark_verifier::verify(params, &tables, &proof)
        .map_err(|e| CliError::Rejected(e.to_string()))?;
    Ok(proof
        .tables
        .iter()
        .map(|t| 1usize.checked_shl(t.log_height.into()).unwrap_or(0))
        .collect())
}
