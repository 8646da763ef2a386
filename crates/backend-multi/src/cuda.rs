//! GPUs as members: each a [`CudaBackend`] (its own context, stream, memory pool and budget).

use rstark_backend_cuda::{CudaBackend, CudaCodeword, residency};
use rstark_protocol::{BackendError, ProofPlan};

use crate::MultiBackend;
use crate::member::Member;

/// Several GPUs (or several contexts of one GPU) proving one statement.
pub type MultiCudaBackend = MultiBackend<CudaBackend>;

impl Member for CudaBackend {
    fn label(&self) -> String {
        self.context().label().to_string()
    }

    /// The residency plan of `share` within the budget left, less `reserve`
    /// (rstark_backend_cuda::residency: matrices streamed where needed).
    fn fits(&self, share: &ProofPlan, reserve: u64) -> Result<u64, String> {
        let avail = self
            .vram_budget()
            .saturating_sub(self.mem_in_use())
            .saturating_sub(reserve);
        residency::plan(share, avail)
            .map(|p| p.peak)
            .map_err(|e| e.to_string())
    }

    fn set_proof_reserve(&self, bytes: u64) {
        CudaBackend::set_proof_reserve(self, bytes);
    }

    fn import_codeword(
        &self,
        from: &Self,
        cw: &CudaCodeword,
    ) -> Result<(CudaCodeword, u64), BackendError> {
        CudaBackend::import_codeword(self, from, cw)
    }
}

/// Backends on `devices` (ordinals): the first use of an ordinal opens its primary context, a
/// repeated one a context of its own ([`CudaBackend::new_own_context`]), so `[0, 0]` stands in
/// for two GPUs on one. Each takes `RSTARK_VRAM_BUDGET` where set; else the default budget (90%
/// of the free memory) is shared equally by the contexts of one GPU.
pub fn open_devices(devices: &[usize]) -> Result<Vec<CudaBackend>, rstark_backend_cuda::CudaError> {
    let mut out = Vec::with_capacity(devices.len());
    for (k, &d) in devices.iter().enumerate() {
        let repeated = devices[..k].contains(&d);
        out.push(if repeated {
            CudaBackend::new_own_context(d)?
        } else {
            CudaBackend::new(d)?
        });
    }
    for (gpu, &d) in out.iter().zip(devices) {
        let sharing = devices.iter().filter(|&&o| o == d).count() as u64;
        if sharing > 1 && gpu.env_budget().is_none() {
            gpu.set_vram_budget(gpu.vram_budget() / sharing)?;
        }
    }
    Ok(out)
}
