//! Mutation test: random byte flips, truncations and insertions of a valid proof must give an
//! error from `verify_bytes`, never a panic.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use rstark_air::Table;
use rstark_air::examples::{RangeTableAir, RangeUserAir, range_pair_traces};
use rstark_backend_cpu::CpuBackend;
use rstark_poly::RowMajor;
use rstark_protocol::{StarkParams, VerifyingKey, presets};
use rstark_prover::{TableInput, prove, prove_with_key, setup};
use rstark_verifier::{VerifierTable, verify_bytes, verify_bytes_with_key};

const PARAMS: StarkParams = StarkParams {
    log_final_poly_len: 1,
    ..presets::FAST_TEST
};

fn fixture() -> &'static (Vec<VerifierTable>, Vec<u8>) {
    static FIXTURE: OnceLock<(Vec<VerifierTable>, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (table, user) = range_pair_traces(8, 32);
        let inputs = vec![
            TableInput::new(
                "range",
                Arc::new(RangeTableAir),
                RowMajor::new(table, 2).unwrap(),
                vec![],
            ),
            TableInput::new(
                "user",
                Arc::new(RangeUserAir),
                RowMajor::new(user, 2).unwrap(),
                vec![],
            ),
        ];
        let proof = prove(&CpuBackend, &PARAMS, &inputs).unwrap();
        let stmt = inputs
            .iter()
            .map(|t| VerifierTable::new(t.name.clone(), t.air.clone(), t.public_values.clone()))
            .collect();
        (stmt, proof.to_bytes())
    })
}

/// A proof with preprocessed and periodic columns, its statement and verifying key.
fn fixed_fixture() -> &'static (Vec<VerifierTable>, VerifyingKey, Vec<u8>) {
    static FIXTURE: OnceLock<(Vec<VerifierTable>, VerifyingKey, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let inputs = rstark_prover::golden::preprocessed_range_tables(3, 16, 5);
        let tables: Vec<(&str, &dyn Table)> = inputs
            .iter()
            .map(|t| (t.name.as_str(), t.air.as_ref()))
            .collect();
        let (pk, vk) = setup(&CpuBackend, &PARAMS, &tables).unwrap();
        let proof = prove_with_key(&CpuBackend, &PARAMS, &pk, &inputs).unwrap();
        let stmt = inputs
            .iter()
            .map(|t| VerifierTable::new(t.name.clone(), t.air.clone(), t.public_values.clone()))
            .collect();
        (stmt, vk, proof.to_bytes())
    })
}

#[test]
fn valid_proof_verifies() {
    let (stmt, vk, bytes) = fixed_fixture();
    verify_bytes_with_key(&PARAMS, vk, stmt, bytes).unwrap();
    let (stmt, bytes) = fixture();
    verify_bytes(&PARAMS, stmt, bytes).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn flipped_bytes_are_rejected(pos in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let (stmt, bytes) = fixture();
        let mut bad = bytes.clone();
        let i = pos.index(bad.len());
        bad[i] ^= mask;
        prop_assert!(verify_bytes(&PARAMS, stmt, &bad).is_err());
    }

    #[test]
    fn flipped_bytes_of_a_preprocessed_proof_are_rejected(pos in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let (stmt, vk, bytes) = fixed_fixture();
        let mut bad = bytes.clone();
        let i = pos.index(bad.len());
        bad[i] ^= mask;
        prop_assert!(verify_bytes_with_key(&PARAMS, vk, stmt, &bad).is_err());
    }

    #[test]
    fn truncated_proofs_are_rejected(len in any::<prop::sample::Index>()) {
        let (stmt, bytes) = fixture();
        let cut = len.index(bytes.len());
        prop_assert!(verify_bytes(&PARAMS, stmt, &bytes[..cut]).is_err());
    }

    #[test]
    fn inserted_bytes_are_rejected(pos in any::<prop::sample::Index>(), extra in prop::collection::vec(any::<u8>(), 1..40)) {
        let (stmt, bytes) = fixture();
        let mut bad = bytes.clone();
        let i = pos.index(bad.len() + 1);
        bad.splice(i..i, extra);
        prop_assert!(verify_bytes(&PARAMS, stmt, &bad).is_err());
    }

    #[test]
    fn random_bytes_are_rejected(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let (stmt, _) = fixture();
        prop_assert!(verify_bytes(&PARAMS, stmt, &bytes).is_err());
    }

    /// Multiple random overwrites in the length fields' neighbourhood (header region).
    #[test]
    fn header_garbage_is_rejected(pos in 0usize..200, vals in prop::collection::vec(any::<u8>(), 1..8)) {
        let (stmt, bytes) = fixture();
        let mut bad = bytes.clone();
        for (k, v) in vals.iter().enumerate() {
            let i = (pos + k * 13) % bad.len();
            bad[i] = bad[i].wrapping_add(*v | 1);
        }
        prop_assert!(verify_bytes(&PARAMS, stmt, &bad).is_err());
    }
}
