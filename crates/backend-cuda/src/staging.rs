//! Uploads through pinned host memory: field elements are converted to canonical words straight
//! into one of two pinned staging buffers while the other one's DMA runs, so a large upload
//! moves at pinned PCIe speed and the conversion overlaps the copy. (Pipelining the upload with
//! the LDE on a second stream, and page-locking the trace's own memory, were measured and did
//! not win: docs/PERF.md, "Constraint cache, device quotient split, trace upload modes".)

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaEvent, CudaSlice, DevicePtr, PinnedHostSlice, result};
use p3_field::PrimeField64;
use rayon::prelude::*;
use rstark_field::F;

use crate::context::GpuContext;
use crate::error::{DriverContext, Result};
use crate::timeline::COMPUTE;
use rstark_timeline::OpKind;

/// Words per staging buffer (64 MiB).
pub(crate) const STAGE_WORDS: usize = 1 << 23;
/// Below this, a plain (pageable) copy is cheaper than setting up the staging.
const MIN_STAGED_WORDS: usize = 1 << 17;

pub(crate) struct Staging {
    bufs: [PinnedHostSlice<u64>; 2],
    /// Recorded after each buffer's last copy; waited on before the buffer is refilled.
    copied: [CudaEvent; 2],
}

impl Staging {
    fn new(ctx: &GpuContext) -> Result<Self> {
        let c = ctx.cuda_context();
        // SAFETY: plain pinned allocations of u64 (every bit pattern valid); written before use.
        let alloc = || {
            unsafe { c.alloc_pinned::<u64>(STAGE_WORDS) }.ctx("allocating pinned staging memory")
        };
        let event = || {
            c.new_event(Some(CUevent_flags::CU_EVENT_BLOCKING_SYNC))
                .ctx("creating an event")
        };
        Ok(Self {
            bufs: [alloc()?, alloc()?],
            copied: [event()?, event()?],
        })
    }
}

impl GpuContext {
    fn staging(&self) -> Result<std::sync::MutexGuard<'_, Option<Staging>>> {
        let mut guard = self.staging.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(Staging::new(self)?);
        }
        Ok(guard)
    }

    /// Copy `values` as canonical words into the start of `dst` (counted as host->device).
    pub(crate) fn upload_field_into(&self, values: &[F], dst: &mut CudaSlice<u64>) -> Result<()> {
        assert!(
            dst.len() >= values.len(),
            "upload_field_into: destination too short"
        );
        if values.len() < MIN_STAGED_WORDS {
            let words: Vec<u64> = values.iter().map(|x| x.as_canonical_u64()).collect();
            let mut view = dst.slice_mut(0..words.len());
            let mark = self.tl_begin(self.stream(), COMPUTE);
            self.stream()
                .memcpy_htod(&words, &mut view)
                .ctx("copying a matrix to the device")?;
            self.tl_copy(
                mark,
                OpKind::HostToDevice,
                "a matrix",
                (words.len() * 8) as u64,
            );
            self.count_h2d((words.len() * 8) as u64);
            return Ok(());
        }
        let mut guard = self.staging()?;
        let staging = guard.as_mut().expect("staging allocated above");
        let (base, _sync) = dst.device_ptr(self.stream());
        for (i, chunk) in values.chunks(STAGE_WORDS).enumerate() {
            let k = i % 2;
            // the buffer's previous copy must be done before it is overwritten
            staging.copied[k]
                .synchronize()
                .ctx("waiting for a staging copy")?;
            let buf = staging.bufs[k]
                .as_mut_slice()
                .ctx("mapping pinned staging memory")?;
            let part = &mut buf[..chunk.len()];
            part.par_iter_mut()
                .zip(chunk.par_iter())
                .for_each(|(d, x)| *d = x.as_canonical_u64());
            let offset = (i * STAGE_WORDS * 8) as u64;
            let mark = self.tl_begin(self.stream(), COMPUTE);
            // SAFETY: `part` is pinned host memory that stays untouched until `copied[k]` fires,
            // and the destination range lies inside `dst` (checked above).
            unsafe { result::memcpy_htod_async(base + offset, part, self.stream().cu_stream()) }
                .ctx("copying a matrix to the device (pinned)")?;
            self.tl_copy(
                mark,
                OpKind::HostToDevice,
                "a matrix (pinned)",
                (chunk.len() * 8) as u64,
            );
            staging.copied[k]
                .record(self.stream())
                .ctx("recording a staging copy")?;
        }
        self.count_h2d((values.len() * 8) as u64);
        Ok(())
    }
}
