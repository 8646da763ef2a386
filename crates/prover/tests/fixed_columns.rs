//! Preprocessed and periodic columns end to end on the CPU backend: setup, prove with the key,
//! verify with the key (and with the key's bytes), and every bad input a typed error that names
//! the table.

use std::sync::Arc;

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use rstark_air::examples::{FibonacciAir, fibonacci_trace, preprocessed_range_traces};
use rstark_air::{AirTable, Table};
use rstark_backend_cpu::CpuBackend;
use rstark_field::{F, PrimeCharacteristicRing};
use rstark_poly::RowMajor;
use rstark_protocol::{KeyError, Proof, ShapeError, StarkParams, VerifyingKey, presets};
use rstark_prover::{
    ProveOptions, ProverError, ProvingKey, TableInput, prove, prove_with_key,
    prove_with_key_and_options, setup,
};
use rstark_verifier::{
    VerifierError, VerifierTable, verify, verify_bytes_with_key, verify_with_key,
};

const PARAMS: StarkParams = presets::FAST_TEST;

fn inputs(log_n: usize, users: usize) -> Vec<TableInput> {
    rstark_prover::golden::preprocessed_range_tables(log_n, users, 11)
}

fn statement(inputs: &[TableInput]) -> Vec<VerifierTable> {
    inputs
        .iter()
        .map(|t| VerifierTable::new(t.name.clone(), t.air.clone(), t.public_values.clone()))
        .collect()
}

fn keys(
    params: &StarkParams,
    inputs: &[TableInput],
) -> (ProvingKey<rstark_backend_cpu::CpuCommitted>, VerifyingKey) {
    let tables: Vec<(&str, &dyn Table)> = inputs
        .iter()
        .map(|t| (t.name.as_str(), t.air.as_ref()))
        .collect();
    setup(&CpuBackend, params, &tables).unwrap()
}

fn checked() -> ProveOptions {
    ProveOptions {
        check_witness: true,
        ..Default::default()
    }
}

#[test]
fn preprocessed_periodic_and_bus_prove_and_verify() {
    // blowup 2 (quotient factor 2 > blowup: a separate quotient extension), 4 and 8
    for (log_b, log_n) in [(1, 2), (1, 5), (2, 4), (3, 6)] {
        let params = StarkParams {
            log_blowup: log_b,
            ..PARAMS
        };
        let inputs = inputs(log_n, 4 << log_n);
        let (pk, vk) = keys(&params, &inputs);
        assert!(vk.tables[0].preprocessed.is_some());
        assert!(vk.tables[1].preprocessed.is_none());
        let (proof, _) =
            prove_with_key_and_options(&CpuBackend, &params, &pk, &inputs, &checked()).unwrap();
        verify_with_key(&params, &vk, &statement(&inputs), &proof).unwrap();
        // The key and the proof as bytes.
        let vk2 = VerifyingKey::from_bytes(&vk.to_bytes()).unwrap();
        assert_eq!(vk2, vk);
        let bytes = proof.to_bytes();
        assert_eq!(Proof::from_bytes(&bytes).unwrap(), proof);
        verify_bytes_with_key(&params, &vk2, &statement(&inputs), &bytes).unwrap();
        // The same statement proved again with the same key: the same bytes.
        assert_eq!(
            prove_with_key(&CpuBackend, &params, &pk, &inputs).unwrap(),
            proof
        );
    }
}

/// A counter `a` and `q = p·a`, p a periodic column of period 4 (no preprocessed columns).
#[derive(Clone, Copy)]
struct PeriodicOnly;

impl BaseAir<F> for PeriodicOnly {
    fn width(&self) -> usize {
        2
    }
    fn num_periodic_columns(&self) -> usize {
        1
    }
    fn periodic_columns(&self) -> std::borrow::Cow<'_, [Vec<F>]> {
        std::borrow::Cow::Owned(vec![[2u64, 7, 1, 9].map(F::from_u64).to_vec()])
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for PeriodicOnly {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (a, q) = (main.current_slice()[0], main.current_slice()[1]);
        let na = main.next_slice()[0];
        let p: AB::Expr = builder.periodic_values()[0].into();
        builder.assert_eq(q, p * a);
        builder.when_transition().assert_eq(na, a + AB::Expr::ONE);
    }
}

fn periodic_only_input(n: usize) -> TableInput {
    let per = [2u64, 7, 1, 9].map(F::from_u64);
    let values = (0..n)
        .flat_map(|i| {
            let a = F::from_u64(i as u64);
            [a, per[i % 4] * a]
        })
        .collect();
    TableInput::new(
        "periodic",
        Arc::new(AirTable::new(PeriodicOnly)),
        RowMajor::new(values, 2).unwrap(),
        vec![],
    )
}

#[test]
fn periodic_columns_need_no_key() {
    for log_n in [2, 3, 7] {
        let inputs = vec![periodic_only_input(1 << log_n)];
        let (proof, _) =
            rstark_prover::prove_with_options(&CpuBackend, &PARAMS, &inputs, &checked()).unwrap();
        verify(&PARAMS, &statement(&inputs), &proof).unwrap();
    }
    // A wrong value on a row the periodic column selects is caught by the witness check.
    let mut input = periodic_only_input(16);
    if let rstark_protocol::TraceSource::Host(m) = &mut input.trace {
        m.values[2 * 5 + 1] += F::ONE;
    }
    let err =
        rstark_prover::prove_with_options(&CpuBackend, &PARAMS, &[input], &checked()).unwrap_err();
    assert!(
        matches!(&err, ProverError::ConstraintFailed { table, row: 5, constraint: 0 } if table == "periodic"),
        "{err}"
    );
}

#[test]
fn a_table_with_preprocessed_columns_needs_a_key() {
    let inputs = inputs(3, 8);
    let err = prove(&CpuBackend, &PARAMS, &inputs).unwrap_err();
    assert!(
        matches!(&err, ProverError::Shape(ShapeError::MissingKey(t)) if t == "range"),
        "{err}"
    );
    let (pk, _) = keys(&PARAMS, &inputs);
    let proof = prove_with_key(&CpuBackend, &PARAMS, &pk, &inputs).unwrap();
    let err = verify(&PARAMS, &statement(&inputs), &proof).unwrap_err();
    assert!(
        matches!(&err, VerifierError::Shape(ShapeError::MissingKey(t)) if t == "range"),
        "{err}"
    );
}

#[test]
fn bad_inputs_are_typed_errors_naming_the_table() {
    let good = inputs(3, 8);
    let (pk, vk) = keys(&PARAMS, &good);

    // Trace width does not match the AIR.
    let mut bad = good.clone();
    bad[0].trace = RowMajor::new(vec![F::ZERO; 8 * 3], 3).unwrap().into();
    let err = prove_with_key(&CpuBackend, &PARAMS, &pk, &bad).unwrap_err();
    assert!(
        matches!(&err, ProverError::TraceShape { table, .. } if table == "range"),
        "{err}"
    );

    // Trace height does not match the key's preprocessed height (with the AIR of the key, and
    // with the same AIR made for the taller trace).
    let bad = inputs(4, 8);
    let err = prove_with_key(&CpuBackend, &PARAMS, &pk, &bad).unwrap_err();
    assert!(
        matches!(&err, ProverError::Shape(ShapeError::PreprocessedHeight { table, .. }) if table == "range"),
        "{err}"
    );
    let mut bad = good.clone();
    let (main, _, _) = preprocessed_range_traces(4, 8, 11);
    bad[0].trace = RowMajor::new(main, 4).unwrap().into();
    let err = prove_with_key(&CpuBackend, &PARAMS, &pk, &bad).unwrap_err();
    assert!(
        matches!(&err, ProverError::Shape(ShapeError::PreprocessedHeight { table, preprocessed: 3, trace: 4 }) if table == "range"),
        "{err}"
    );

    // A verifying key from another AIR, for another height, from other tables, or for another
    // blowup.
    let proof = prove_with_key(&CpuBackend, &PARAMS, &pk, &good).unwrap();
    let mut other = good.clone();
    other[0].air = Arc::new(rstark_air::examples::RangeTableAir);
    let (_, other_vk) = keys(&PARAMS, &other);
    let err = verify_with_key(&PARAMS, &other_vk, &statement(&good), &proof).unwrap_err();
    assert!(
        matches!(&err, VerifierError::Key(KeyError::OtherAir { table }) if table == "range"),
        "{err}"
    );
    let (other_pk, taller_vk) = keys(&PARAMS, &inputs(4, 8));
    let err = verify_with_key(&PARAMS, &taller_vk, &statement(&good), &proof).unwrap_err();
    assert!(
        matches!(&err, VerifierError::Shape(ShapeError::PreprocessedHeight { table, .. }) if table == "range"),
        "{err}"
    );
    let err = prove_with_key(&CpuBackend, &PARAMS, &other_pk, &other).unwrap_err();
    assert!(
        matches!(&err, ProverError::Key(KeyError::OtherAir { table }) if table == "range"),
        "{err}"
    );
    let mut renamed = vk.clone();
    renamed.tables[1].name = "users".into();
    let err = verify_with_key(&PARAMS, &renamed, &statement(&good), &proof).unwrap_err();
    assert!(
        matches!(
            &err,
            VerifierError::Key(KeyError::TableName { index: 1, .. })
        ),
        "{err}"
    );
    let fib = {
        let (v, p) = fibonacci_trace(8, 1, 1);
        TableInput::new(
            "fib",
            Arc::new(FibonacciAir),
            RowMajor::new(v, 2).unwrap(),
            p,
        )
    };
    let (_, fib_vk) = keys(&PARAMS, &[fib]);
    let err = verify_with_key(&PARAMS, &fib_vk, &statement(&good), &proof).unwrap_err();
    assert!(
        matches!(&err, VerifierError::Key(KeyError::TableCount { .. })),
        "{err}"
    );
    let params4 = StarkParams {
        log_blowup: 2,
        ..PARAMS
    };
    let err = verify_with_key(&params4, &vk, &statement(&good), &proof).unwrap_err();
    assert!(
        matches!(
            &err,
            VerifierError::Key(KeyError::Blowup { key: 1, params: 2 })
        ),
        "{err}"
    );
    let err = prove_with_key(&CpuBackend, &params4, &pk, &good).unwrap_err();
    assert!(
        matches!(&err, ProverError::Key(KeyError::Blowup { .. })),
        "{err}"
    );

    // A key whose root is not the preprocessed trace's: the proof does not verify.
    let mut forged = vk.clone();
    if let Some(p) = &mut forged.tables[0].preprocessed {
        p.root[0] ^= 1;
    }
    assert!(verify_with_key(&PARAMS, &forged, &statement(&good), &proof).is_err());

    // A preprocessed trace of the wrong height (not a power of two) at setup.
    let err = setup(
        &CpuBackend,
        &PARAMS,
        &[("odd", &AirTable::new(OddPreprocessed) as &dyn Table)],
    )
    .err()
    .unwrap();
    assert!(
        matches!(&err, ProverError::Key(KeyError::Preprocessed { table, .. }) if table == "odd"),
        "{err}"
    );

    // A failing constraint of the preprocessed table: its row.
    let mut bad = good.clone();
    if let rstark_protocol::TraceSource::Host(m) = &mut bad[0].trace {
        m.values[4 * 5 + 2] += F::ONE; // x at row 5: row 4's transition fails
    }
    let err = prove_with_key_and_options(&CpuBackend, &PARAMS, &pk, &bad, &checked()).unwrap_err();
    assert!(
        matches!(&err, ProverError::ConstraintFailed { table, row: 4, constraint: 2 } if table == "range"),
        "{err}"
    );
}

/// Declares one preprocessed column and gives a trace of 3 rows.
struct OddPreprocessed;

impl BaseAir<F> for OddPreprocessed {
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_width(&self) -> usize {
        1
    }
    fn preprocessed_trace(&self) -> Option<p3_matrix::dense::RowMajorMatrix<F>> {
        Some(p3_matrix::dense::RowMajorMatrix::new(vec![F::ONE; 3], 1))
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for OddPreprocessed {
    fn eval(&self, builder: &mut AB) {
        let p = builder.preprocessed().current_slice()[0];
        let a = builder.main().current_slice()[0];
        builder.assert_eq(a, p);
    }
}
