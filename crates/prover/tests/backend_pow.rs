//! Proof of work searched by the backend (`Backend::grind`): the prover absorbs the backend's
//! nonce only after checking it on the host, so a backend that finds the least nonce gives the
//! same proof bytes as the host search, and a wrong nonce or a failed search is a typed error,
//! never a proof.

use std::sync::Arc;
use std::sync::Mutex;

use rstark_air::examples::{FibonacciAir, fibonacci_trace};
use rstark_backend_cpu::{CpuBackend, CpuCodeword, CpuCommitted};
use rstark_field::EF;
use rstark_merkle::Digest;
use rstark_poly::RowMajor;
use rstark_protocol::{
    Backend, BackendError, CompositionInputs, DeepInputs, MerkleOpening, StarkParams, presets,
};
use rstark_prover::{ProverError, TableInput, prove};
use rstark_transcript::{TranscriptError, least_nonce};

/// What [`Grinding::grind`] answers.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// The least nonce (`least_nonce`).
    Least,
    /// The least nonce plus one (checked by the host: too few zero bits, or a valid but not
    /// least nonce).
    LeastPlusOne,
    /// No search: the prover searches on the host.
    Declines,
    /// The search fails.
    Fails,
}

/// The CPU backend with a proof-of-work search of its own; records what it was asked.
struct Grinding {
    cpu: CpuBackend,
    answer: Answer,
    asked: Mutex<Vec<([u8; 32], u32)>>,
}

impl Grinding {
    fn new(answer: Answer) -> Self {
        Self {
            cpu: CpuBackend,
            answer,
            asked: Mutex::new(Vec::new()),
        }
    }
}

impl Backend for Grinding {
    type Committed = CpuCommitted;
    type Codeword = CpuCodeword;
    fn name(&self) -> &'static str {
        "grinding"
    }
    fn grind(&self, state: &[u8; 32], bits: u32) -> Result<Option<u64>, BackendError> {
        self.asked.lock().unwrap().push((*state, bits));
        let least = || least_nonce(state, bits).map_err(|e| BackendError::BadInput(e.to_string()));
        match self.answer {
            Answer::Least => least().map(Some),
            Answer::LeastPlusOne => least().map(|n| Some(n + 1)),
            Answer::Declines => Ok(None),
            Answer::Fails => Err(BackendError::Device("injected grind failure".into())),
        }
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

fn fib() -> Vec<TableInput> {
    let (values, publics) = fibonacci_trace(64, 1, 1);
    vec![TableInput::new(
        "fib",
        Arc::new(FibonacciAir),
        RowMajor::new(values, 2).unwrap(),
        publics,
    )]
}

fn params(pow_bits: u8) -> StarkParams {
    StarkParams {
        pow_bits,
        ..presets::FAST_TEST
    }
}

#[test]
fn backend_nonce_gives_the_host_proof() {
    let tables = fib();
    for bits in [0u8, 1, 8, 12] {
        let want = prove(&CpuBackend, &params(bits), &tables).unwrap();
        for answer in [Answer::Least, Answer::Declines] {
            let be = Grinding::new(answer);
            let got = prove(&be, &params(bits), &tables).unwrap();
            assert_eq!(got.to_bytes(), want.to_bytes(), "bits {bits}, {answer:?}");
            let asked = be.asked.lock().unwrap().clone();
            assert_eq!(asked.len(), 1, "asked once per proof");
            assert_eq!(asked[0].1, u32::from(bits));
            assert_eq!(
                least_nonce(&asked[0].0, u32::from(bits)),
                Ok(want.pow_nonce),
                "the backend was asked about the transcript's state"
            );
        }
    }
}

#[test]
fn a_bad_backend_nonce_is_an_error() {
    let tables = fib();
    // Find bits for which the least nonce plus one has too few zero bits (almost always).
    let mut checked = 0;
    for bits in [8u8, 10, 12, 14] {
        let be = Grinding::new(Answer::LeastPlusOne);
        match prove(&be, &params(bits), &tables) {
            Err(ProverError::BadPowNonce {
                backend: "grinding",
                nonce,
                source: TranscriptError::InsufficientWork { required, got, .. },
            }) => {
                let want = prove(&CpuBackend, &params(bits), &tables).unwrap();
                assert_eq!(nonce, want.pow_nonce + 1);
                assert_eq!(required, u32::from(bits));
                assert!(got < required);
                checked += 1;
            }
            // The next nonce happened to qualify too: a valid proof (not the host's bytes).
            Ok(p) => assert!(p.pow_nonce > 0),
            Err(e) => panic!("bits {bits}: unexpected error {e}"),
        }
    }
    assert!(checked >= 3, "a wrong nonce was accepted");
    let err = prove(&Grinding::new(Answer::Fails), &params(4), &tables);
    assert!(
        matches!(err, Err(ProverError::Backend(BackendError::Device(_)))),
        "{err:?}"
    );
}
