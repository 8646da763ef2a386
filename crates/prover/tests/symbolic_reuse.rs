//! The AIR's symbolic evaluation made once per AIR object and reused by later proofs
//! (`ProveOptions::symbolic_cache`): a second proof does not evaluate again, different AIR
//! objects are never confused, and the proofs are the same bytes with and without reuse.

mod common;

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use p3_air::{Air, BaseAir, SymbolicAirBuilder};
use p3_matrix::dense::RowMajorMatrix;
use rstark_air::examples::{
    FibonacciAir, PowerMapAir, PreprocessedRangeAir, fibonacci_trace, power_map_trace,
    preprocessed_range_traces,
};
use rstark_air::{Interaction, Interactions, PackedRowFolder, PointFolder, RowFolder, Table};
use rstark_backend_cpu::CpuBackend;
use rstark_field::F;
use rstark_poly::RowMajor;
use rstark_protocol::{StarkParams, presets};
use rstark_prover::golden::cases;
use rstark_prover::{
    ProveOptions, SymbolicCache, TableInput, prove_owned, prove_with_key_and_options,
    prove_with_options, setup,
};
use rstark_verifier::{verify, verify_with_key};

use common::statement;

const PARAMS: StarkParams = presets::FAST_TEST;

/// An AIR that counts its symbolic evaluations (`eval` with p3's symbolic builder); every other
/// builder and every `BaseAir` method is forwarded.
struct Counting<A> {
    air: A,
    symbolic: AtomicUsize,
}

impl<A> Counting<A> {
    fn new(air: A) -> Arc<Self> {
        Arc::new(Self {
            air,
            symbolic: AtomicUsize::new(0),
        })
    }

    fn evaluations(&self) -> usize {
        self.symbolic.load(Ordering::SeqCst)
    }
}

impl<A: BaseAir<F>> BaseAir<F> for Counting<A> {
    fn width(&self) -> usize {
        self.air.width()
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        self.air.preprocessed_trace()
    }
    fn preprocessed_width(&self) -> usize {
        self.air.preprocessed_width()
    }
    fn num_periodic_columns(&self) -> usize {
        self.air.num_periodic_columns()
    }
    fn periodic_columns(&self) -> Cow<'_, [Vec<F>]> {
        self.air.periodic_columns()
    }
    fn num_public_values(&self) -> usize {
        self.air.num_public_values()
    }
}

impl<A: Interactions> Interactions for Counting<A> {
    fn interactions(&self) -> Vec<Interaction> {
        self.air.interactions()
    }
}

impl<A: Table> Air<SymbolicAirBuilder<F>> for Counting<A> {
    fn eval(&self, builder: &mut SymbolicAirBuilder<F>) {
        self.symbolic.fetch_add(1, Ordering::SeqCst);
        self.air.eval(builder)
    }
}

impl<'a, A: Table> Air<RowFolder<'a>> for Counting<A> {
    fn eval(&self, builder: &mut RowFolder<'a>) {
        self.air.eval(builder)
    }
}

impl<'a, A: Table> Air<PackedRowFolder<'a>> for Counting<A> {
    fn eval(&self, builder: &mut PackedRowFolder<'a>) {
        self.air.eval(builder)
    }
}

impl<'a, A: Table> Air<PointFolder<'a>> for Counting<A> {
    fn eval(&self, builder: &mut PointFolder<'a>) {
        self.air.eval(builder)
    }
}

fn options(cache: Option<&Arc<SymbolicCache>>) -> ProveOptions {
    ProveOptions {
        check_witness: true,
        symbolic_cache: cache.cloned(),
        ..Default::default()
    }
}

fn fib_input(air: Arc<dyn Table>, n: usize, a0: u64) -> TableInput {
    let (values, publics) = fibonacci_trace(n, a0, 1);
    TableInput::new("fib", air, RowMajor::new(values, 2).unwrap(), publics)
}

/// Proof bytes of `tables` with `options`.
fn prove_bytes(tables: &[TableInput], options: &ProveOptions) -> Vec<u8> {
    let (proof, _) = prove_with_options(&CpuBackend, &PARAMS, tables, options).unwrap();
    proof.to_bytes()
}

/// [`prove_bytes`], checked by the verifier.
fn proof_bytes(tables: &[TableInput], options: &ProveOptions) -> Vec<u8> {
    let bytes = prove_bytes(tables, options);
    rstark_verifier::verify_bytes(&PARAMS, &statement(tables), &bytes).unwrap();
    bytes
}

#[test]
fn a_second_proof_with_the_same_air_object_does_not_evaluate_it_again() {
    let cache = Arc::new(SymbolicCache::new(8));
    let counting = Counting::new(FibonacciAir);
    let air: Arc<dyn Table> = counting.clone();
    // Evaluations made while `f` runs (the verifier, which evaluates too, runs outside).
    let evaluations_in = |f: &mut dyn FnMut()| {
        let before = counting.evaluations();
        f();
        counting.evaluations() - before
    };
    // Segments of other heights and public values: the shape is derived for each.
    let segments = [(64, 1), (256, 7), (64, 2), (1024, 3)];
    for (i, &(n, a0)) in segments.iter().enumerate() {
        let tables = [fib_input(air.clone(), n, a0)];
        let (mut reused, mut fresh) = (Vec::new(), Vec::new());
        let made = evaluations_in(&mut || reused = prove_bytes(&tables, &options(Some(&cache))));
        assert_eq!(made, usize::from(i == 0), "segment {i}");
        let made = evaluations_in(&mut || fresh = prove_bytes(&tables, &options(None)));
        assert_eq!(made, 1, "segment {i}: without a cache, one evaluation");
        assert_eq!(reused, fresh, "segment {i}");
        rstark_verifier::verify_bytes(&PARAMS, &statement(&tables), &reused).unwrap();
    }
    // The prover that takes its tables reuses it too.
    let mut proof = None;
    let made = evaluations_in(&mut || {
        let tables = vec![fib_input(air.clone(), 128, 4)];
        proof = Some(prove_owned(&CpuBackend, &PARAMS, tables, &options(Some(&cache))).unwrap());
    });
    assert_eq!(made, 0);
    let (proof, _) = proof.unwrap();
    verify(&PARAMS, &statement(&[fib_input(air, 128, 4)]), &proof).unwrap();
    let stats = cache.stats();
    assert_eq!((stats.evaluations, stats.hits), (1, segments.len() as u64));
}

#[test]
fn a_second_proof_with_a_key_does_not_evaluate_the_air_again() {
    let log_height = 4;
    let counting = Counting::new(PreprocessedRangeAir { log_height });
    let air: Arc<dyn Table> = counting.clone();
    let (main, publics, user) = preprocessed_range_traces(log_height, 64, 3);
    let user_air: Arc<dyn Table> = Arc::new(rstark_air::examples::RangeUserAir);
    let tables = vec![
        TableInput::new(
            "range",
            air.clone(),
            RowMajor::new(main, 4).unwrap(),
            publics,
        ),
        TableInput::new("user", user_air, RowMajor::new(user, 2).unwrap(), vec![]),
    ];
    let named: Vec<(&str, &dyn Table)> = tables
        .iter()
        .map(|t| (t.name.as_str(), t.air.as_ref()))
        .collect();
    let (pk, vk) = setup(&CpuBackend, &PARAMS, &named).unwrap();
    let cache = Arc::new(SymbolicCache::new(8));
    // Proof bytes and the evaluations made while proving.
    let prove = |cache: Option<&Arc<SymbolicCache>>| {
        let before = counting.evaluations();
        let (proof, _) =
            prove_with_key_and_options(&CpuBackend, &PARAMS, &pk, &tables, &options(cache))
                .unwrap();
        let made = counting.evaluations() - before;
        verify_with_key(&PARAMS, &vk, &statement(&tables), &proof).unwrap();
        (proof.to_bytes(), made)
    };
    // The key check's AIR digest and the shape read one evaluation (the AIR declares its
    // public values).
    let (first, made) = prove(Some(&cache));
    assert_eq!(made, 1);
    let (second, made) = prove(Some(&cache));
    assert_eq!(made, 0);
    assert_eq!(first, second);
    // Without a cache the key check and the shape evaluate it, in every proof.
    let (fresh, made) = prove(None);
    assert_eq!(made, 2);
    assert_eq!(first, fresh);
}

#[test]
fn different_air_objects_are_never_confused() {
    let cache = Arc::new(SymbolicCache::new(4));
    let pow = |air: &Arc<dyn Table>, e: u64| {
        let (values, publics) = power_map_trace(e, 64, 5);
        TableInput::new(
            "pow",
            air.clone(),
            RowMajor::new(values, 1).unwrap(),
            publics,
        )
    };
    // The same type, width and public values, other constraints; new objects are made and
    // dropped all along (a dropped one's address may come back for a new object), more of
    // them than the cache holds.
    let exponents = [3, 5, 3, 7, 2, 5, 9, 3, 4, 6, 2, 8];
    let mut kept: Vec<(u64, Arc<dyn Table>)> = Vec::new();
    for (i, &e) in exponents.iter().enumerate() {
        let fresh: Arc<dyn Table> = Arc::new(PowerMapAir { exponent: e });
        let tables = [pow(&fresh, e)];
        assert_eq!(
            proof_bytes(&tables, &options(Some(&cache))),
            proof_bytes(&tables, &options(None)),
            "exponent {e} (object {i})"
        );
        if i % 3 == 0 {
            kept.push((e, fresh));
        }
        // Two objects in one statement, one of them evaluated before.
        if let Some((ke, k)) = kept.first() {
            let other: Arc<dyn Table> = Arc::new(PowerMapAir { exponent: e });
            let both = [pow(k, *ke), pow(&other, e)];
            let both: Vec<TableInput> = both
                .into_iter()
                .enumerate()
                .map(|(j, mut t)| {
                    t.name = format!("pow{j}");
                    t
                })
                .collect();
            assert_eq!(
                proof_bytes(&both, &options(Some(&cache))),
                proof_bytes(&both, &options(None)),
                "exponents {ke} and {e}"
            );
        }
    }
    assert!(cache.len() <= cache.capacity());
}

#[test]
fn proofs_are_the_same_bytes_with_and_without_reuse() {
    let cache = Arc::new(SymbolicCache::new(16));
    for case in cases() {
        let needs_key = case
            .tables
            .iter()
            .any(|t| BaseAir::<F>::preprocessed_width(t.air.as_ref()) > 0);
        let prove = |options: &ProveOptions| {
            if !needs_key {
                let (p, _) =
                    prove_with_options(&CpuBackend, &case.params, &case.tables, options).unwrap();
                return p.to_bytes();
            }
            let named: Vec<(&str, &dyn Table)> = case
                .tables
                .iter()
                .map(|t| (t.name.as_str(), t.air.as_ref()))
                .collect();
            let (pk, _) = setup(&CpuBackend, &case.params, &named).unwrap();
            let (p, _) =
                prove_with_key_and_options(&CpuBackend, &case.params, &pk, &case.tables, options)
                    .unwrap();
            p.to_bytes()
        };
        let fresh = prove(&options(None));
        let before = cache.stats();
        let first = prove(&options(Some(&cache)));
        let evaluated = cache.stats().evaluations - before.evaluations;
        assert!(evaluated > 0, "{}", case.name);
        let reused = prove(&options(Some(&cache)));
        assert_eq!(
            cache.stats().evaluations - before.evaluations,
            evaluated,
            "{}: the second proof evaluated again",
            case.name
        );
        assert_eq!(first, fresh, "{}", case.name);
        assert_eq!(reused, fresh, "{}", case.name);
    }
}
