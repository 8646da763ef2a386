//! The CPU backend (rayon): the reference implementation of [`rstark_protocol::Backend`] and the
//! oracle the CUDA backend's bytes are checked against.

mod codeword;
mod committed;
mod composition;
mod deep;
mod util;

use rstark_field::EF;
use rstark_merkle::Digest;
use rstark_poly::RowMajor;
use rstark_protocol::{Backend, BackendError, CompositionInputs, DeepInputs, MerkleOpening};
use rstark_timeline::spans::op;

pub use codeword::CpuCodeword;
pub use committed::CpuCommitted;
pub use composition::{QuotientRows, quotient_values, split_quotient};

/// The CPU backend. Uses rayon's global thread pool.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

impl CpuBackend {
    pub fn new() -> Self {
        Self
    }
}

impl Backend for CpuBackend {
    type Committed = CpuCommitted;
    type Codeword = CpuCodeword;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn commit_trace(
        &self,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> Result<CpuCommitted, BackendError> {
        let _op = op("commit trace");
        CpuCommitted::from_trace(trace, log_blowup)
    }

    fn commit_trace_owned(
        &self,
        trace: RowMajor,
        log_blowup: usize,
    ) -> Result<CpuCommitted, BackendError> {
        let _op = op("commit trace");
        CpuCommitted::from_owned_trace(trace, log_blowup)
    }

    fn takes_owned_traces(&self) -> bool {
        true
    }

    fn root(&self, m: &CpuCommitted) -> Digest {
        m.tree.root()
    }

    fn open(&self, m: &CpuCommitted, leaf: usize) -> Result<MerkleOpening, BackendError> {
        let _op = op("open");
        util::open(&m.lde, &m.tree, leaf)
    }

    fn evaluate_at(&self, m: &CpuCommitted, point: EF) -> Result<Vec<EF>, BackendError> {
        let _op = op("evaluate at a point");
        m.evaluate_at(point)
    }

    fn evaluate_at_pair(
        &self,
        m: &CpuCommitted,
        a: EF,
        b: EF,
    ) -> Result<(Vec<EF>, Vec<EF>), BackendError> {
        let _op = op("evaluate at two points");
        let [va, vb] = m.evaluate_at_points([a, b])?;
        Ok((va, vb))
    }

    fn composition(
        &self,
        inputs: &CompositionInputs<'_, CpuCommitted>,
    ) -> Result<CpuCommitted, BackendError> {
        let _op = op("composition");
        composition::commit_composition(inputs)
    }

    fn deep(&self, inputs: &DeepInputs<'_, CpuCommitted>) -> Result<CpuCodeword, BackendError> {
        let _op = op("DEEP");
        deep::deep_codeword(inputs)
    }

    fn add_codeword(&self, acc: &mut CpuCodeword, other: &CpuCodeword) -> Result<(), BackendError> {
        let _op = op("add codeword");
        acc.add(other)
    }

    fn fold(&self, cw: &CpuCodeword, beta: EF) -> Result<CpuCodeword, BackendError> {
        let _op = op("fold");
        cw.fold(beta)
    }

    fn commit_codeword(&self, cw: &mut CpuCodeword) -> Result<Digest, BackendError> {
        let _op = op("commit codeword");
        cw.commit()
    }

    fn open_codeword(&self, cw: &CpuCodeword, leaf: usize) -> Result<MerkleOpening, BackendError> {
        let _op = op("open codeword");
        cw.open(leaf)
    }

    fn final_poly(&self, cw: &CpuCodeword, len: usize) -> Result<Vec<EF>, BackendError> {
        let _op = op("final polynomial");
        cw.final_poly(len)
    }
}
