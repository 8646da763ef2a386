//! Several CPU backends as the devices of a `MultiBackend`: the scheduling (placement, lanes,
//! the FRI join, preprocessed columns pinned at setup) checked without a GPU. Every proof is
//! byte-identical to one CPU backend's and verifies.

use std::sync::Arc;

use rstark_backend_cpu::CpuBackend;
use rstark_backend_multi::{CostOrigin, CostSource, MultiBackend};
use rstark_field::{F, PrimeCharacteristicRing};
use rstark_protocol::{Backend, presets};
use rstark_prover::{ProveOptions, ProverError, TableInput, golden, prove_with_options};
use rstark_verifier::{VerifierTable, verify};
use rstark_workloads::Workload;

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

fn prove<B: Backend>(backend: &B, w: &Workload) -> Result<Vec<u8>, ProverError> {
    let options = ProveOptions {
        check_witness: true,
        ..Default::default()
    };
    prove_with_options(backend, &presets::FAST_TEST, &inputs(w), &options)
        .map(|(p, _)| p.to_bytes())
}

fn cpus(n: usize) -> MultiBackend<CpuBackend> {
    MultiBackend::new(vec![CpuBackend::new(); n]).unwrap()
}

#[test]
fn proofs_equal_one_backends_on_one_two_and_three_devices() {
    for (name, size) in [("fib", 64), ("keccak", 2), ("vm", 100), ("multi", 2)] {
        let w = rstark_workloads::build(name, size).unwrap();
        let want = prove(&CpuBackend::new(), &w).unwrap();
        for n in [1, 2, 3] {
            let multi = cpus(n);
            let got = prove(&multi, &w).unwrap();
            assert!(got == want, "{name} on {n} devices: proof bytes differ");
            let placement = multi.placement().unwrap();
            let used = placement
                .members
                .iter()
                .filter(|m| !m.tables.is_empty())
                .count();
            assert_eq!(used, w.tables.len().min(n), "{name} on {n}:\n{placement}");
            // exactly the codewords the placement predicted crossed between devices
            let moves = multi.moves();
            assert_eq!(moves.bytes, placement.moved_bytes, "{name} on {n}");
            assert_eq!(moves.copies as usize, placement.moved_codewords);
            assert!(
                moves
                    .by_pair
                    .keys()
                    .all(|&(_, to)| to == placement.fri_member)
            );
        }
    }
}

#[test]
fn the_multi_workload_spreads_and_verifies() {
    let w = rstark_workloads::build("multi", 4).unwrap();
    let multi = cpus(3);
    multi.set_cost_source(CostSource::Modelled);
    let bytes = prove(&multi, &w).unwrap();
    let p = multi.placement().unwrap();
    assert!(p.costs.iter().all(|c| c.1 == CostOrigin::Modelled));
    // 19 tables over 3 devices: each gets some, none more than half the modelled work
    assert!(p.members.iter().all(|m| !m.tables.is_empty()), "{p}");
    assert!(p.makespan_fraction() < 0.5, "{p}");
    let statement: Vec<VerifierTable> = w
        .tables
        .iter()
        .map(|t| VerifierTable::new(t.name, Arc::new(t.air), t.public_values.clone()))
        .collect();
    let proof = rstark_protocol::Proof::from_bytes(&bytes).unwrap();
    verify(&presets::FAST_TEST, &statement, &proof).unwrap();
    // the second proof is placed by the first one's measured costs; same bytes
    multi.set_cost_source(CostSource::MeasuredElseModelled);
    assert_eq!(prove(&multi, &w).unwrap(), bytes);
    let p2 = multi.placement().unwrap();
    assert!(p2.costs.iter().all(|c| c.1 == CostOrigin::Measured), "{p2}");
}

#[test]
fn golden_proofs_on_two_devices_with_preprocessed_columns_pinned() {
    let multi = cpus(2);
    golden::check_backend(&multi).unwrap();
    // the last golden case has preprocessed columns: its tables stayed where setup put them
    let p = multi.placement().unwrap();
    assert_eq!(p.owner.len(), 2);
    assert_eq!(
        p.owner,
        vec![0, 1],
        "range pinned where setup put it, user elsewhere: {p}"
    );
}

#[test]
fn a_bad_witness_is_named_as_on_one_backend() {
    let mut w = rstark_workloads::build("vm", 64).unwrap();
    let cpu = &mut w.tables[0];
    let width = cpu.trace.width();
    cpu.trace.host_mut().values[20 * width + rstark_workloads::vm::cpu::col::REG] += F::ONE;
    let one = prove(&CpuBackend::new(), &w).unwrap_err().to_string();
    let three = prove(&cpus(3), &w).unwrap_err().to_string();
    assert_eq!(one, three);
    assert!(one.contains("cpu") && one.contains("19"), "{one}");
}

#[test]
fn no_devices_is_an_error_not_a_panic() {
    assert!(MultiBackend::<CpuBackend>::new(Vec::new()).is_err());
}
