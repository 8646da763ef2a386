//! Every workload proves and verifies through the library at small sizes; a corrupted trace is
//! refused by the prover's witness check (naming table and row), and wrong public values are
//! rejected by the verifier.

use std::sync::Arc;

use rstark_backend_cpu::CpuBackend;
use rstark_field::{F, PrimeCharacteristicRing};
use rstark_protocol::{Proof, presets};
use rstark_prover::{ProveOptions, ProverError, TableInput, prove_with_options};
use rstark_verifier::{VerifierTable, verify};
use rstark_workloads::{Workload, build, build_generated};

fn inputs(w: &Workload) -> Vec<TableInput> {
    w.tables
        .iter()
        .map(|t| {
            TableInput::new(
                t.name,
                Arc::new(t.air),
                t.trace.clone(),
                t.public_values.clone(),
            )
        })
        .collect()
}

fn verifier_tables(w: &Workload) -> Vec<VerifierTable> {
    w.tables
        .iter()
        .map(|t| VerifierTable::new(t.name, Arc::new(t.air), t.public_values.clone()))
        .collect()
}

fn prove(w: &Workload) -> Result<Proof, ProverError> {
    let options = ProveOptions {
        check_witness: true,
        ..Default::default()
    };
    prove_with_options(
        &CpuBackend::new(),
        &presets::FAST_TEST,
        &inputs(w),
        &options,
    )
    .map(|(proof, _)| proof)
}

/// A generated trace (the CPU backend generates it on the host) proves the same bytes as the
/// host trace.
#[test]
fn generated_keccak_trace_proves_the_same_bytes() {
    for size in [1, 3] {
        let host = build("keccak", size).unwrap();
        let generated = build_generated("keccak", size).unwrap();
        assert!(matches!(
            generated.tables[0].trace,
            rstark_protocol::TraceSource::Generated(_)
        ));
        assert_eq!(
            *generated.tables[0].trace.host(),
            *host.tables[0].trace.host()
        );
        let options = ProveOptions::default();
        let (a, _) = prove_with_options(
            &CpuBackend::new(),
            &presets::FAST_TEST,
            &inputs(&host),
            &options,
        )
        .unwrap();
        let (b, _) = prove_with_options(
            &CpuBackend::new(),
            &presets::FAST_TEST,
            &inputs(&generated),
            &options,
        )
        .unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes(), "size {size}");
    }
}

#[test]
fn workloads_prove_and_verify() {
    for (name, size) in [("fib", 32), ("keccak", 1), ("vm", 100), ("multi", 2)] {
        let w = build(name, size).unwrap();
        let proof = prove(&w).unwrap();
        let decoded = Proof::from_bytes(&proof.to_bytes()).unwrap();
        verify(&presets::FAST_TEST, &verifier_tables(&w), &decoded)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn corrupted_trace_is_refused_by_the_prover() {
    let mut w = build("vm", 64).unwrap();
    let cpu = &mut w.tables[0];
    let width = cpu.trace.width();
    cpu.trace.host_mut().values[20 * width + rstark_workloads::vm::cpu::col::REG] += F::ONE;
    match prove(&w) {
        Err(ProverError::ConstraintFailed { table, row, .. }) => {
            assert_eq!((table.as_str(), row), ("cpu", 19));
        }
        other => panic!("expected a constraint failure, got {other:?}"),
    }

    // A range-table multiplicity: every AIR constraint holds, the bus does not balance.
    let mut w = build("vm", 64).unwrap();
    let range = &mut w.tables[2];
    let i = 3 * range.trace.width() + rstark_workloads::vm::range::col::MULT;
    range.trace.host_mut().values[i] += F::ONE;
    assert!(matches!(prove(&w), Err(ProverError::BusUnbalanced(_))));
}

#[test]
fn wrong_public_values_are_rejected() {
    for (name, size, table, index) in [("fib", 32, 0, 2), ("vm", 64, 0, 3)] {
        let mut w = build(name, size).unwrap();
        let proof = prove(&w).unwrap();
        w.tables[table].public_values[index] += F::ONE;
        assert!(
            verify(&presets::FAST_TEST, &verifier_tables(&w), &proof).is_err(),
            "{name}"
        );
    }
}
