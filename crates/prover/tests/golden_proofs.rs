//! Golden proofs: the CPU backend's proof bytes of fixed statements (`rstark_prover::golden`).
//! Regenerate with `RSTARK_BLESS=1 cargo test -p rstark-prover --test golden_proofs`.

use rstark_backend_cpu::CpuBackend;
use rstark_prover::golden::{cases, proof_line, prove_case};
use rstark_verifier::{VerifierTable, verify, verify_with_key};

#[test]
fn golden_proof_hashes() {
    let mut lines = Vec::new();
    for case in cases() {
        let (proof, vk) = prove_case(&CpuBackend, &case).unwrap();
        let stmt: Vec<_> = case
            .tables
            .iter()
            .map(|t| VerifierTable::new(t.name.clone(), t.air.clone(), t.public_values.clone()))
            .collect();
        match vk {
            Some(vk) => verify_with_key(&case.params, &vk, &stmt, &proof).unwrap(),
            None => verify(&case.params, &stmt, &proof).unwrap(),
        }
        lines.push(proof_line(&CpuBackend, &case).unwrap());
    }
    let got = lines.join("\n") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/proofs.txt");
    if std::env::var("RSTARK_BLESS").is_ok() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        got, want,
        "proof bytes changed (regenerate with RSTARK_BLESS=1 if intended)"
    );
    rstark_prover::golden::check_backend(&CpuBackend).unwrap();
}
