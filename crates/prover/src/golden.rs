//! Golden statements and the expected hashes of their proofs (docs/PROTOCOL.md §5.11).
//!
//! Every backend must reproduce these proof bytes exactly; [`check_backend`] proves each case with
//! a backend and compares. The hashes live in `tests/golden/proofs.txt` (regenerated with
//! `RSTARK_BLESS=1 cargo test -p rstark-prover --test golden_proofs`).

use std::sync::Arc;

use rstark_air::examples::{
    FibonacciAir, PowerMapAir, PreprocessedRangeAir, RangeTableAir, RangeUserAir, fibonacci_trace,
    power_map_trace, preprocessed_range_traces, range_pair_traces,
};
use rstark_air::{BaseAir, Table};
use rstark_field::F;
use rstark_poly::RowMajor;
use rstark_protocol::{Backend, Proof, StarkParams, VerifyingKey, presets};

use crate::{ProverError, TableInput, prove, prove_with_key, setup};

/// The expected `name length keccak256` lines.
pub const EXPECTED: &str = include_str!("../tests/golden/proofs.txt");

/// One golden statement.
pub struct GoldenCase {
    pub name: &'static str,
    pub params: StarkParams,
    pub tables: Vec<TableInput>,
}

fn input(
    name: &str,
    air: Arc<dyn Table>,
    values: Vec<F>,
    width: usize,
    publics: Vec<F>,
) -> TableInput {
    let trace = RowMajor::new(values, width).expect("golden traces are well-formed");
    TableInput::new(name, air, trace, publics)
}

/// The golden statements: the tiny AIRs of `rstark_air::examples` under several presets, one
/// table and several, quotient factors 1 to 8.
pub fn cases() -> Vec<GoldenCase> {
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
    let fixed = preprocessed_range_tables(4, 64, 3);
    let case = |name, params, tables| GoldenCase {
        name,
        params,
        tables,
    };
    vec![
        case("fib-64-fast-test", presets::FAST_TEST, vec![fib(64)]),
        case("fib-256-default", presets::DEFAULT, vec![fib(256)]),
        case("range-16-64-fast-test", presets::FAST_TEST, range(16, 64)),
        case("mixed-compact", presets::COMPACT, mixed),
        case(
            "pow9-blowup4",
            StarkParams {
                log_blowup: 2,
                ..presets::FAST_TEST
            },
            vec![pow(9)],
        ),
        case("fixed-range-fast-test", presets::FAST_TEST, fixed),
    ]
}

/// The tables `range` (`PreprocessedRangeAir` of 2^log_height rows, x_0 = `x0`: preprocessed and
/// periodic columns, a bus) and `user` (`RangeUserAir`, `users` lookups into it).
pub fn preprocessed_range_tables(log_height: usize, users: usize, x0: u64) -> Vec<TableInput> {
    let (main, publics, user) = preprocessed_range_traces(log_height, users, x0);
    vec![
        input(
            "range",
            Arc::new(PreprocessedRangeAir { log_height }),
            main,
            4,
            publics,
        ),
        input("user", Arc::new(RangeUserAir), user, 2, vec![]),
    ]
}

/// A case's proof with `backend`, and the verifying key when the statement needs one (tables
/// with preprocessed columns: the key is made with `backend` first).
pub fn prove_case<B: Backend>(
    backend: &B,
    case: &GoldenCase,
) -> Result<(Proof, Option<VerifyingKey>), ProverError> {
    let needs_key = case
        .tables
        .iter()
        .any(|t| BaseAir::<F>::preprocessed_width(t.air.as_ref()) > 0);
    if !needs_key {
        return Ok((prove(backend, &case.params, &case.tables)?, None));
    }
    let tables: Vec<(&str, &dyn Table)> = case
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.air.as_ref()))
        .collect();
    let (pk, vk) = setup(backend, &case.params, &tables)?;
    Ok((
        prove_with_key(backend, &case.params, &pk, &case.tables)?,
        Some(vk),
    ))
}

/// `name length keccak256-hex` of a case's proof with `backend`.
pub fn proof_line<B: Backend>(backend: &B, case: &GoldenCase) -> Result<String, String> {
    let (proof, _) = prove_case(backend, case).map_err(|e| e.to_string())?;
    let bytes = proof.to_bytes();
    let hash = rstark_merkle::keccak256(&bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{} {} {hex}", case.name, bytes.len()))
}

/// Proves every golden case with `backend` and compares with [`EXPECTED`]; the error names the
/// first case whose bytes differ.
pub fn check_backend<B: Backend>(backend: &B) -> Result<(), String> {
    for (case, want) in cases().iter().zip(EXPECTED.lines()) {
        let got = proof_line(backend, case)?;
        if got != want {
            return Err(format!("golden proof differs: got `{got}`, want `{want}`"));
        }
    }
    Ok(())
}
