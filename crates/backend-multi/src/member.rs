//! What a backend supplies to be one device of a [`crate::MultiBackend`]: a name, its memory
//! model, and a way to copy a codeword in from another member.

use rstark_backend_cpu::{CpuBackend, CpuCodeword};
use rstark_protocol::{Backend, BackendError, ProofPlan};

/// One device of a [`crate::MultiBackend`].
pub trait Member: Backend + Send {
    /// What placements, reports and timelines call it ("GPU 1: NVIDIA H200").
    fn label(&self) -> String;

    /// Its modelled peak memory (bytes) for a proof of `share` with `reserve` bytes kept free
    /// besides, or why that does not fit. A member without a memory limit says `Ok(0)`.
    fn fits(&self, share: &ProofPlan, reserve: u64) -> Result<u64, String>;

    /// Keeps `bytes` out of the memory plan of the proofs it begins from now on (room for a
    /// codeword copied in at the FRI join). Default: nothing to keep.
    fn set_proof_reserve(&self, _bytes: u64) {}

    /// Codeword `cw`, held by `from`, copied into this member's memory (an uncommitted DEEP
    /// codeword); and the bytes moved.
    fn import_codeword(
        &self,
        from: &Self,
        cw: &Self::Codeword,
    ) -> Result<(Self::Codeword, u64), BackendError>;
}

/// Several CPU backends share one host's memory and threads: tests use them to check the
/// scheduling (lanes, placement, the FRI join) without a GPU.
impl Member for CpuBackend {
    fn label(&self) -> String {
        "cpu".into()
    }

    fn fits(&self, _share: &ProofPlan, _reserve: u64) -> Result<u64, String> {
        Ok(0)
    }

    fn import_codeword(
        &self,
        _from: &Self,
        cw: &CpuCodeword,
    ) -> Result<(CpuCodeword, u64), BackendError> {
        let bytes = (cw.values.len() * 24) as u64;
        Ok((
            CpuCodeword::new(cw.values.clone(), cw.log_size, cw.shift),
            bytes,
        ))
    }
}
