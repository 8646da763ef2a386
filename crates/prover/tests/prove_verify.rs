//! End-to-end: prove on the CPU backend, verify, and reject bad witnesses, tampered proofs and
//! wrong public values.

mod common;

use std::sync::Arc;

use common::{range_inputs, statement};
use rstark_air::examples::{FibonacciAir, fibonacci_trace};
use rstark_air::logup;
use rstark_backend_cpu::CpuBackend;
use rstark_field::{EF, F, PrimeCharacteristicRing};
use rstark_poly::RowMajor;
use rstark_protocol::{Proof, StarkParams, presets};
use rstark_prover::{ProveOptions, ProverError, TableInput, prove, prove_with_options};
use rstark_verifier::{VerifierError, verify, verify_bytes};

const PARAMS: StarkParams = presets::FAST_TEST;

fn checked() -> ProveOptions {
    ProveOptions {
        check_witness: true,
        ..Default::default()
    }
}

fn fib_input(n: usize) -> TableInput {
    let (values, publics) = fibonacci_trace(n, 1, 1);
    TableInput::new(
        "fib",
        Arc::new(FibonacciAir),
        RowMajor::new(values, 2).unwrap(),
        publics,
    )
}

#[test]
fn fibonacci_round_trip() {
    for log_n in [1, 3, 6] {
        let inputs = vec![fib_input(1 << log_n)];
        let (proof, report) =
            prove_with_options(&CpuBackend, &PARAMS, &inputs, &checked()).unwrap();
        verify(&PARAMS, &statement(&inputs), &proof).unwrap();
        let bytes = proof.to_bytes();
        assert_eq!(report.proof_bytes, bytes.len());
        assert_eq!(Proof::from_bytes(&bytes).unwrap(), proof);
        verify_bytes(&PARAMS, &statement(&inputs), &bytes).unwrap();
    }
}

#[test]
fn fibonacci_every_preset() {
    for name in presets::NAMES {
        let params = presets::by_name(name).unwrap();
        let inputs = vec![fib_input(16)];
        let proof = prove(&CpuBackend, &params, &inputs).unwrap();
        verify(&params, &statement(&inputs), &proof).unwrap();
    }
}

#[test]
fn logup_two_tables_different_heights() {
    for (range, users) in [(16, 64), (64, 16), (8, 8)] {
        let inputs = range_inputs(range, users);
        let proof = prove_with_options(&CpuBackend, &PARAMS, &inputs, &checked())
            .unwrap()
            .0;
        verify(&PARAMS, &statement(&inputs), &proof).unwrap();
    }
}

#[test]
fn mixed_statement_with_blowup_4() {
    let params = StarkParams {
        log_blowup: 2,
        log_final_poly_len: 1,
        ..PARAMS
    };
    let mut inputs = range_inputs(32, 8);
    inputs.push(fib_input(128));
    let proof = prove(&CpuBackend, &params, &inputs).unwrap();
    verify(&params, &statement(&inputs), &proof).unwrap();
}

#[test]
fn wrong_witness_names_table_row_constraint() {
    let mut input = fib_input(16);
    input.trace.host_mut().values[2 * 5 + 1] += F::ONE; // b at row 5
    match prove_with_options(&CpuBackend, &PARAMS, &[input], &checked()) {
        Err(ProverError::ConstraintFailed {
            table,
            row,
            constraint,
        }) => {
            assert_eq!(table, "fib");
            assert_eq!(row, 4); // row 4's transition b' = a + b fails first
            assert_eq!(constraint, 3);
        }
        other => panic!("unexpected: {:?}", other.map(|_| ())),
    }
}

#[test]
fn wrong_witness_without_check_fails_verification() {
    let mut input = fib_input(16);
    input.trace.host_mut().values[2 * 5 + 1] += F::ONE;
    let opts = ProveOptions {
        check_witness: false,
        ..Default::default()
    };
    let stmt = statement(std::slice::from_ref(&input));
    match prove_with_options(&CpuBackend, &PARAMS, &[input], &opts) {
        Err(_) => {}
        Ok((proof, _)) => assert!(verify(&PARAMS, &stmt, &proof).is_err()),
    }
}

#[test]
fn unbalanced_bus_is_rejected_by_the_prover() {
    let mut inputs = range_inputs(16, 16);
    inputs[0].trace.host_mut().values[1] += F::ONE; // multiplicity of value 0
    match prove(&CpuBackend, &PARAMS, &inputs) {
        Err(ProverError::BusUnbalanced(u)) => {
            assert_eq!(u.buses, vec![rstark_air::examples::RANGE_BUS]);
        }
        other => panic!("unexpected: {:?}", other.map(|_| ())),
    }
}

#[test]
fn wrong_public_values_are_rejected() {
    let inputs = vec![fib_input(16)];
    let proof = prove(&CpuBackend, &PARAMS, &inputs).unwrap();
    let mut stmt = statement(&inputs);
    stmt[0].public_values[2] += F::ONE;
    assert!(verify(&PARAMS, &stmt, &proof).is_err());
    let mut stmt = statement(&inputs);
    stmt[0].public_values.push(F::ONE);
    assert!(verify(&PARAMS, &stmt, &proof).is_err());
    let stmt = vec![statement(&inputs)[0].clone().with_log_height(4)];
    verify(&PARAMS, &stmt, &proof).unwrap();
    let stmt = vec![statement(&inputs)[0].clone().with_log_height(5)];
    assert!(matches!(
        verify(&PARAMS, &stmt, &proof),
        Err(VerifierError::HeightMismatch { .. })
    ));
    let mut stmt = statement(&inputs);
    stmt[0].public_values.pop();
    assert!(matches!(
        verify(&PARAMS, &stmt, &proof),
        Err(VerifierError::Shape(_))
    ));
}

#[test]
fn wrong_params_or_statement_are_rejected() {
    let inputs = range_inputs(16, 32);
    let proof = prove(&CpuBackend, &PARAMS, &inputs).unwrap();
    let stmt = statement(&inputs);
    let other = StarkParams {
        num_queries: PARAMS.num_queries + 1,
        ..PARAMS
    };
    assert!(verify(&other, &stmt, &proof).is_err());
    let mut swapped = stmt.clone();
    swapped.swap(0, 1);
    assert!(verify(&PARAMS, &swapped, &proof).is_err());
    assert!(verify(&PARAMS, &stmt[..1], &proof).is_err());
    let mut renamed = stmt.clone();
    renamed[0].name = "other".into();
    assert!(verify(&PARAMS, &renamed, &proof).is_err());
}

/// Every section of the proof, tampered, makes verification fail with an error.
#[test]
fn tampered_sections_are_rejected() {
    let inputs = range_inputs(16, 64);
    let stmt = statement(&inputs);
    let params = StarkParams {
        log_final_poly_len: 1,
        ..PARAMS
    };
    let proof = prove(&CpuBackend, &params, &inputs).unwrap();
    verify(&params, &stmt, &proof).unwrap();
    assert!(!proof.fri_roots.is_empty());
    let bump = |x: &mut EF| *x += EF::ONE;
    let bump_f = |x: &mut F| *x += F::ONE;
    let flip = |d: &mut [u8; 32]| d[0] ^= 1;
    type Tamper = Box<dyn Fn(&mut Proof)>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("log height", Box::new(|p| p.tables[0].log_height += 1)),
        (
            "main root",
            Box::new(move |p| flip(&mut p.tables[0].main_root)),
        ),
        (
            "aux root",
            Box::new(move |p| flip(&mut p.tables[1].aux.as_mut().unwrap().root)),
        ),
        (
            "claimed sum",
            Box::new(move |p| bump(&mut p.tables[1].aux.as_mut().unwrap().claimed_sum)),
        ),
        (
            "balanced claimed sums",
            Box::new(move |p| {
                bump(&mut p.tables[0].aux.as_mut().unwrap().claimed_sum);
                p.tables[1].aux.as_mut().unwrap().claimed_sum -= EF::ONE;
            }),
        ),
        (
            "comp root",
            Box::new(move |p| flip(&mut p.tables[0].comp_root)),
        ),
        (
            "ood main z",
            Box::new(move |p| bump(&mut p.tables[0].ood.main_z[0])),
        ),
        (
            "ood main zw",
            Box::new(move |p| bump(&mut p.tables[1].ood.main_zw[1])),
        ),
        (
            "ood aux z",
            Box::new(move |p| bump(&mut p.tables[0].ood.aux_z[2])),
        ),
        (
            "ood aux zw",
            Box::new(move |p| bump(&mut p.tables[1].ood.aux_zw[0])),
        ),
        (
            "ood comp",
            Box::new(move |p| bump(&mut p.tables[0].ood.comp_z[0])),
        ),
        (
            "ood length",
            Box::new(|p| p.tables[0].ood.comp_z.truncate(1)),
        ),
        ("fri root", Box::new(move |p| flip(&mut p.fri_roots[0]))),
        (
            "fri root count",
            Box::new(|p| {
                p.fri_roots.pop();
            }),
        ),
        ("final poly", Box::new(move |p| bump(&mut p.final_poly[0]))),
        ("pow nonce", Box::new(|p| p.pow_nonce ^= 0xdead_beef)),
        (
            "main row",
            Box::new(move |p| bump_f(&mut p.queries[0].tables[0].main.row0[0])),
        ),
        (
            "aux row",
            Box::new(move |p| bump_f(&mut p.queries[1].tables[1].aux.as_mut().unwrap().row1[2])),
        ),
        (
            "comp row",
            Box::new(move |p| bump_f(&mut p.queries[2].tables[0].comp.row0[1])),
        ),
        (
            "path",
            Box::new(move |p| flip(&mut p.queries[0].tables[1].main.path[0])),
        ),
        (
            "fri layer row",
            Box::new(move |p| bump_f(&mut p.queries[0].layers[0].row0[0])),
        ),
        (
            "fri layer path",
            Box::new(move |p| flip(&mut p.queries[3].layers[0].path[0])),
        ),
        (
            "query count",
            Box::new(|p| {
                p.queries.pop();
            }),
        ),
        (
            "query width",
            Box::new(|p| {
                p.queries[0].tables[0].main.row0.pop();
            }),
        ),
        ("aux missing", Box::new(|p| p.tables[0].aux = None)),
    ];
    for (name, tamper) in cases {
        let mut bad = proof.clone();
        tamper(&mut bad);
        let res = verify(&params, &stmt, &bad);
        assert!(res.is_err(), "tampered {name} accepted");
        // The encoded form is rejected too (by the decoder or the verifier).
        assert!(
            verify_bytes(&params, &stmt, &bad.to_bytes()).is_err(),
            "{name}"
        );
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let mut input = fib_input(16);
    input.trace = RowMajor::new(input.trace.host().values[..24].to_vec(), 2)
        .unwrap()
        .into();
    assert!(matches!(
        prove(&CpuBackend, &PARAMS, &[input]),
        Err(ProverError::TraceShape { .. })
    ));
    assert!(matches!(
        prove(&CpuBackend, &PARAMS, &[]),
        Err(ProverError::NoTables)
    ));
    let bad = StarkParams {
        log_blowup: 9,
        ..PARAMS
    };
    assert!(matches!(
        prove(&CpuBackend, &bad, &[fib_input(8)]),
        Err(ProverError::Params(_))
    ));
    assert!(matches!(
        verify(
            &bad,
            &[],
            &prove(&CpuBackend, &PARAMS, &[fib_input(8)]).unwrap()
        ),
        Err(VerifierError::Params(_))
    ));
    let _ = logup::aux_ext_width(1);
}

/// p3-keccak-air proves unchanged (through a newtype that adds the interactions).
mod keccak {
    use super::*;
    use p3_air::{Air, AirBuilder, BaseAir};
    use p3_keccak_air::{KeccakAir, generate_trace_rows};

    struct Keccak(KeccakAir);

    impl BaseAir<F> for Keccak {
        fn width(&self) -> usize {
            BaseAir::<F>::width(&self.0)
        }
    }

    impl<AB: AirBuilder<F = F>> Air<AB> for Keccak {
        fn eval(&self, builder: &mut AB) {
            self.0.eval(builder);
        }
    }

    impl rstark_air::Interactions for Keccak {}

    #[test]
    fn keccak_permutations_round_trip() {
        let inputs: Vec<[u64; 25]> = (0..2u64)
            .map(|i| core::array::from_fn(|j| i * 31 + j as u64))
            .collect();
        let trace = generate_trace_rows::<F>(inputs, 0);
        let width = trace.width;
        let input = TableInput::new(
            "keccak",
            Arc::new(Keccak(KeccakAir {})),
            RowMajor::new(trace.values, width).unwrap(),
            vec![],
        );
        let inputs = vec![input];
        let (proof, _) = prove_with_options(&CpuBackend, &PARAMS, &inputs, &checked()).unwrap();
        verify(&PARAMS, &statement(&inputs), &proof).unwrap();
    }

    /// A wide trace the prover owns grows into its LDE in place (`commit_trace_owned`): the
    /// same proof bytes as from a borrowed trace.
    #[test]
    fn owned_wide_trace_proves_the_same_bytes() {
        use rstark_prover::prove_owned;
        let inputs: Vec<[u64; 25]> = (0..3u64)
            .map(|i| core::array::from_fn(|j| i * 17 + j as u64))
            .collect();
        let trace = generate_trace_rows::<F>(inputs, 0);
        let width = trace.width;
        assert!(width > 8, "the wide LDE path");
        let input = || {
            vec![TableInput::new(
                "keccak",
                Arc::new(Keccak(KeccakAir {})),
                RowMajor::new(trace.values.clone(), width).unwrap(),
                vec![],
            )]
        };
        let options = ProveOptions::default();
        let (borrowed, _) = prove_with_options(&CpuBackend, &PARAMS, &input(), &options).unwrap();
        let (owned, _) = prove_owned(&CpuBackend, &PARAMS, input(), &options).unwrap();
        assert_eq!(owned.to_bytes(), borrowed.to_bytes());
        verify(&PARAMS, &statement(&input()), &owned).unwrap();
    }
}

/// Quotient factor D from 1 to 8, below, equal to and above the blowup.
#[test]
fn high_degree_constraints() {
    use rstark_air::examples::{PowerMapAir, power_map_trace};
    for exponent in [2u64, 3, 5, 9] {
        for log_blowup in [1u8, 2] {
            let params = StarkParams {
                log_blowup,
                ..PARAMS
            };
            let (values, publics) = power_map_trace(exponent, 32, 3);
            let inputs = vec![TableInput::new(
                "pow",
                Arc::new(PowerMapAir { exponent }),
                RowMajor::new(values, 1).unwrap(),
                publics,
            )];
            let proof = prove_with_options(&CpuBackend, &params, &inputs, &checked())
                .unwrap()
                .0;
            verify(&params, &statement(&inputs), &proof)
                .unwrap_or_else(|e| panic!("exponent {exponent}, blowup 2^{log_blowup}: {e}"));
        }
    }
}

#[test]
fn progress_callback_sees_every_phase() {
    use std::sync::Mutex;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let opts = ProveOptions {
        check_witness: true,
        on_phase: Some(Arc::new(move |phase, _| sink.lock().unwrap().push(phase))),
        ..Default::default()
    };
    let (_, report) = prove_with_options(&CpuBackend, &PARAMS, &[fib_input(8)], &opts).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), report.phases.len());
    assert!(seen.len() >= 8);
    assert_eq!(
        report.conjectured_security_bits,
        PARAMS.conjectured_security_bits()
    );
}

/// Tuples of two values, two interactions in one table, affine multiplicities and values.
mod tuples {
    use super::*;
    use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
    use rstark_air::{Interaction, Interactions, LinearCombination};

    const BUS: u32 = 3;

    /// (a, b, m): receives (a, b + 1) with multiplicity m.
    struct PairTable;
    impl BaseAir<F> for PairTable {
        fn width(&self) -> usize {
            3
        }
    }
    impl<AB: AirBuilder<F = F>> Air<AB> for PairTable {
        fn eval(&self, _builder: &mut AB) {}
    }
    impl Interactions for PairTable {
        fn interactions(&self) -> Vec<Interaction> {
            let b_plus_one = LinearCombination {
                terms: vec![(1, F::ONE)],
                constant: F::ONE,
            };
            vec![Interaction::receive(
                BUS,
                vec![LinearCombination::column(0), b_plus_one],
                LinearCombination::column(2),
            )]
        }
    }

    /// (x, y, u, v): sends (x, y) and (u, v), each once; y = x² on every row.
    struct PairUser;
    impl BaseAir<F> for PairUser {
        fn width(&self) -> usize {
            4
        }
    }
    impl<AB: AirBuilder<F = F>> Air<AB> for PairUser {
        fn eval(&self, builder: &mut AB) {
            let main = builder.main();
            let r = main.current_slice();
            builder.assert_eq(r[1], r[0] * r[0]);
        }
    }
    impl Interactions for PairUser {
        fn interactions(&self) -> Vec<Interaction> {
            let one = LinearCombination::constant(F::ONE);
            vec![
                Interaction::send(
                    BUS,
                    vec![LinearCombination::column(0), LinearCombination::column(1)],
                    one.clone(),
                ),
                Interaction::send(
                    BUS,
                    vec![LinearCombination::column(2), LinearCombination::column(3)],
                    one,
                ),
            ]
        }
    }

    fn inputs(tamper: bool) -> Vec<TableInput> {
        // Table rows: (i, i² − 1, count) for i < 8; users draw x, u from 0..8.
        let users = 32;
        let mut counts = [0u64; 8];
        let mut user = Vec::new();
        for i in 0..users {
            let (x, u) = ((i * 3) % 8, (i * 5 + 1) % 8);
            counts[x] += 1;
            counts[u] += 1;
            let (x, u) = (x as u64, u as u64);
            user.extend([x, x * x, u, u * u].map(F::from_u64));
        }
        let mut table = Vec::new();
        for (i, &c) in counts.iter().enumerate() {
            let i = i as u64;
            table.extend([F::from_u64(i), F::from_u64(i * i) - F::ONE, F::from_u64(c)]);
        }
        if tamper {
            // Send (u, v) = (0, 1) instead of (0, 0) somewhere: not in the table.
            let row = (0..users).find(|i| (i * 5 + 1) % 8 == 0).unwrap();
            user[4 * row + 3] = F::ONE;
        }
        vec![
            TableInput::new(
                "pairs",
                Arc::new(PairTable),
                RowMajor::new(table, 3).unwrap(),
                vec![],
            ),
            TableInput::new(
                "users",
                Arc::new(PairUser),
                RowMajor::new(user, 4).unwrap(),
                vec![],
            ),
        ]
    }

    #[test]
    fn two_value_tuples_round_trip() {
        let inputs = inputs(false);
        let proof = prove_with_options(&CpuBackend, &PARAMS, &inputs, &checked())
            .unwrap()
            .0;
        verify(&PARAMS, &statement(&inputs), &proof).unwrap();
    }

    #[test]
    fn tuple_not_in_table_is_rejected() {
        let inputs = inputs(true);
        // Row constraint y = x² holds for u = 0, v = 1? No: v is unconstrained, only the bus
        // catches it.
        match prove(&CpuBackend, &PARAMS, &inputs) {
            Err(ProverError::BusUnbalanced(_)) => {}
            other => panic!("unexpected: {:?}", other.map(|_| ())),
        }
    }
}

/// The tallest table is exactly the final polynomial's size: no folds, no FRI layer.
#[test]
fn no_fri_folds() {
    let params = StarkParams {
        log_final_poly_len: 3,
        ..PARAMS
    };
    let inputs = vec![fib_input(8)];
    let proof = prove(&CpuBackend, &params, &inputs).unwrap();
    assert!(proof.fri_roots.is_empty());
    verify(&params, &statement(&inputs), &proof).unwrap();
    let mut bad = proof.clone();
    bad.final_poly[7] += EF::ONE;
    assert!(verify(&params, &statement(&inputs), &bad).is_err());
}

/// An AIR that reads public values 0 and 1 without declaring them (`num_public_values` is 0):
/// given fewer, the prover and the verifier return a shape error instead of the AIR indexing
/// past the slice it is handed.
#[test]
fn undeclared_public_values_are_typed_errors() {
    use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};

    struct ReadsTwoPublics;
    impl<T> BaseAir<T> for ReadsTwoPublics {
        fn width(&self) -> usize {
            1
        }
    }
    impl<AB: AirBuilder> Air<AB> for ReadsTwoPublics {
        fn eval(&self, builder: &mut AB) {
            let a = builder.main().current_slice()[0];
            let pv = builder.public_values();
            let (p0, p1): (AB::Expr, AB::Expr) = (pv[0].into(), pv[1].into());
            builder.when_first_row().assert_eq(a, p0 + p1);
        }
    }
    impl rstark_air::Interactions for ReadsTwoPublics {}

    let trace = RowMajor::new(vec![F::from_u64(5); 8], 1).unwrap();
    for publics in [vec![], vec![F::from_u64(2)]] {
        let inputs = vec![TableInput::new(
            "t",
            Arc::new(ReadsTwoPublics),
            trace.clone(),
            publics.clone(),
        )];
        match prove(&CpuBackend, &PARAMS, &inputs) {
            Err(ProverError::Shape(rstark_protocol::ShapeError::PublicValues {
                expected: 2,
                got,
                ..
            })) => assert_eq!(got, publics.len()),
            other => panic!("unexpected: {:?}", other.map(|_| ())),
        }
    }
    // With both values it proves; a statement that drops one is a shape error for the verifier.
    let inputs = vec![TableInput::new(
        "t",
        Arc::new(ReadsTwoPublics),
        trace,
        vec![F::from_u64(2), F::from_u64(3)],
    )];
    let proof = prove_with_options(&CpuBackend, &PARAMS, &inputs, &checked())
        .unwrap()
        .0;
    verify(&PARAMS, &statement(&inputs), &proof).unwrap();
    let mut stmt = statement(&inputs);
    stmt[0].public_values.pop();
    assert!(matches!(
        verify(&PARAMS, &stmt, &proof),
        Err(VerifierError::Shape(_))
    ));
}
