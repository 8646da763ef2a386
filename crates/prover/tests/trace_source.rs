//! Generated main traces (`TraceSource::Generated`): the prover asks the backend to generate a
//! trace it can generate itself, keeps host values only where the protocol reads them, and the
//! proof is the same bytes as with the host trace.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rstark_air::examples::{FibonacciAir, fibonacci_trace};
use rstark_backend_cpu::{CpuBackend, CpuCodeword, CpuCommitted};
use rstark_field::{EF, F, PrimeCharacteristicRing};
use rstark_merkle::Digest;
use rstark_poly::RowMajor;
use rstark_protocol::{
    Backend, BackendError, CompositionInputs, DeepInputs, MerkleOpening, TraceGenerator,
    TraceSource, presets,
};
use rstark_prover::{ProveOptions, ProverError, TableInput, prove_owned, prove_with_options};

/// Fibonacci rows from (1, 1); `corrupt` adds 1 to one cell, `claimed_height` may lie.
#[derive(Debug)]
struct FibGen {
    n: usize,
    claimed_height: usize,
    corrupt: bool,
}

impl FibGen {
    fn new(n: usize) -> Self {
        Self {
            n,
            claimed_height: n,
            corrupt: false,
        }
    }
}

impl TraceGenerator for FibGen {
    fn width(&self) -> usize {
        2
    }
    fn height(&self) -> usize {
        self.claimed_height
    }
    fn generate(&self) -> RowMajor {
        let (mut values, _) = fibonacci_trace(self.n, 1, 1);
        if self.corrupt {
            values[2 * 5 + 1] += F::ONE;
        }
        RowMajor::new(values, 2).unwrap()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The CPU backend, claiming to generate `FibGen` traces itself (counted).
#[derive(Default)]
struct Generating {
    cpu: CpuBackend,
    generated: AtomicUsize,
}

impl Backend for Generating {
    type Committed = CpuCommitted;
    type Codeword = CpuCodeword;
    fn name(&self) -> &'static str {
        "generating"
    }
    fn generates(&self, g: &dyn TraceGenerator) -> bool {
        g.as_any().is::<FibGen>()
    }
    fn commit_generated(
        &self,
        g: &dyn TraceGenerator,
        log_blowup: usize,
    ) -> Result<CpuCommitted, BackendError> {
        self.generated.fetch_add(1, Ordering::Relaxed);
        self.cpu.commit_trace(&g.generate(), log_blowup)
    }
    fn commit_trace(&self, t: &RowMajor, b: usize) -> Result<CpuCommitted, BackendError> {
        self.cpu.commit_trace(t, b)
    }
    fn root(&self, m: &CpuCommitted) -> Digest {
        self.cpu.root(m)
    }
    fn open(&self, m: &CpuCommitted, leaf: usize) -> Result<MerkleOpening, BackendError> {
        self.cpu.open(m, leaf)
    }
    fn evaluate_at(&self, m: &CpuCommitted, point: EF) -> Result<Vec<EF>, BackendError> {
        self.cpu.evaluate_at(m, point)
    }
    fn composition(
        &self,
        inputs: &CompositionInputs<'_, CpuCommitted>,
    ) -> Result<CpuCommitted, BackendError> {
        self.cpu.composition(inputs)
    }
    fn deep(&self, inputs: &DeepInputs<'_, CpuCommitted>) -> Result<CpuCodeword, BackendError> {
        self.cpu.deep(inputs)
    }
    fn add_codeword(&self, acc: &mut CpuCodeword, other: &CpuCodeword) -> Result<(), BackendError> {
        self.cpu.add_codeword(acc, other)
    }
    fn fold(&self, cw: &CpuCodeword, beta: EF) -> Result<CpuCodeword, BackendError> {
        self.cpu.fold(cw, beta)
    }
    fn commit_codeword(&self, cw: &mut CpuCodeword) -> Result<Digest, BackendError> {
        self.cpu.commit_codeword(cw)
    }
    fn open_codeword(&self, cw: &CpuCodeword, leaf: usize) -> Result<MerkleOpening, BackendError> {
        self.cpu.open_codeword(cw, leaf)
    }
    fn final_poly(&self, cw: &CpuCodeword, len: usize) -> Result<Vec<EF>, BackendError> {
        self.cpu.final_poly(cw, len)
    }
}

fn table(trace: TraceSource) -> Vec<TableInput> {
    let (_, publics) = fibonacci_trace(64, 1, 1);
    vec![TableInput::new(
        "fib",
        Arc::new(FibonacciAir),
        trace,
        publics,
    )]
}

fn options(check_witness: bool) -> ProveOptions {
    ProveOptions {
        check_witness,
        ..Default::default()
    }
}

#[test]
fn generated_traces_prove_the_host_traces_bytes() {
    let host = table(FibGen::new(64).generate().into());
    let generated = table(TraceSource::generated(FibGen::new(64)));
    let params = presets::FAST_TEST;
    for check in [false, true] {
        let want = prove_with_options(&CpuBackend, &params, &host, &options(check))
            .unwrap()
            .0
            .to_bytes();
        // The CPU backend: generated on the host by the prover.
        let (proof, report) =
            prove_with_options(&CpuBackend, &params, &generated, &options(check)).unwrap();
        assert_eq!(proof.to_bytes(), want);
        assert!(report.phases.iter().any(|(p, _)| *p == "trace generation"));
        // A backend that generates it: asked once, whether or not the witness check ran.
        let be = Generating::default();
        let (proof, report) =
            prove_with_options(&be, &params, &generated, &options(check)).unwrap();
        assert_eq!(proof.to_bytes(), want, "check_witness {check}");
        assert_eq!(be.generated.load(Ordering::Relaxed), 1);
        let on_host = report.phases.iter().any(|(p, _)| *p == "trace generation");
        assert_eq!(on_host, check, "host values only for the witness check");
        // The same when the prover owns the tables.
        for owned in [host.clone(), generated.clone()] {
            let (proof, _) = prove_owned(&be, &params, owned, &options(check)).unwrap();
            assert_eq!(proof.to_bytes(), want, "owned, check_witness {check}");
        }
    }
}

#[test]
fn generated_traces_are_checked() {
    let params = presets::FAST_TEST;
    let bad = table(TraceSource::generated(FibGen {
        corrupt: true,
        ..FibGen::new(64)
    }));
    let err = prove_with_options(&Generating::default(), &params, &bad, &options(true));
    assert!(
        matches!(err, Err(ProverError::ConstraintFailed { row: 4, .. })),
        "{err:?}"
    );
    let liar = table(TraceSource::generated(FibGen {
        claimed_height: 128,
        ..FibGen::new(64)
    }));
    let err = prove_with_options(&CpuBackend, &params, &liar, &options(false));
    assert!(
        matches!(err, Err(ProverError::TraceShape { .. })),
        "{err:?}"
    );
}
