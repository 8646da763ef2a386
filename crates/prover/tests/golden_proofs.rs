//! Golden proofs: Keccak-256 of the proof bytes of fixed statements. Any change to the protocol
//! or the CPU backend's output shows up here (and a GPU backend must reproduce these bytes).
//! Regenerate with `RSTARK_BLESS=1 cargo test -p rstark-prover --test golden_proofs`.

use std::sync::Arc;

use rstark_air::Table;
use rstark_air::examples::{
    FibonacciAir, PowerMapAir, RangeTableAir, RangeUserAir, fibonacci_trace, power_map_trace,
    range_pair_traces,
};
use rstark_backend_cpu::CpuBackend;
use rstark_poly::RowMajor;
use rstark_protocol::{StarkParams, presets};
use rstark_prover::{TableInput, prove};
use rstark_verifier::{VerifierTable, verify};

const GOLDEN: &str = "tests/golden/proofs.txt";

fn input(
    name: &str,
    air: Arc<dyn Table>,
    values: Vec<rstark_field::F>,
    w: usize,
    publics: Vec<rstark_field::F>,
) -> TableInput {
    TableInput::new(name, air, RowMajor::new(values, w).unwrap(), publics)
}

fn cases() -> Vec<(&'static str, StarkParams, Vec<TableInput>)> {
    let fib = |n| {
        let (v, p) = fibonacci_trace(n, 1, 1);
        input("fib", Arc::new(FibonacciAir), v, 2, p)
    };
    let range = |r, u| {
        let (t, us) = range_pair_traces(r, u);
        vec![
            input("range", Arc::new(RangeTableAir), t, 2, vec![]),
            input("user", Arc::new(RangeUserAir), us, 2, vec![]),
        ]
    };
    let pow = |e| {
        let (v, p) = power_map_trace(e, 64, 5);
        input("pow", Arc::new(PowerMapAir { exponent: e }), v, 1, p)
    };
    let mut mixed = range(32, 128);
    mixed.push(fib(64));
    mixed.push(pow(5));
    vec![
        ("fib-64-fast-test", presets::FAST_TEST, vec![fib(64)]),
        ("fib-256-default", presets::DEFAULT, vec![fib(256)]),
        ("range-16-64-fast-test", presets::FAST_TEST, range(16, 64)),
        ("mixed-compact", presets::COMPACT, mixed),
        (
            "pow9-blowup4",
            StarkParams {
                log_blowup: 2,
                ..presets::FAST_TEST
            },
            vec![pow(9)],
        ),
    ]
}

#[test]
fn golden_proof_hashes() {
    let mut lines = Vec::new();
    for (name, params, inputs) in cases() {
        let proof = prove(&CpuBackend, &params, &inputs).unwrap();
        let stmt: Vec<_> = inputs
            .iter()
            .map(|t| VerifierTable::new(t.name.clone(), t.air.clone(), t.public_values.clone()))
            .collect();
        verify(&params, &stmt, &proof).unwrap();
        let bytes = proof.to_bytes();
        let hash = rstark_merkle::keccak256(&bytes);
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        lines.push(format!("{name} {} {hex}", bytes.len()));
    }
    let got = lines.join("\n") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var("RSTARK_BLESS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
    }
    let want =
        std::fs::read_to_string(&path).expect("golden file missing: run with RSTARK_BLESS=1");
    assert_eq!(
        got, want,
        "proof bytes changed (regenerate with RSTARK_BLESS=1 if intended)"
    );
}
