//! Uploads through pinned host memory: field elements are converted to canonical words straight
//! into one of two pinned staging buffers while the other one's DMA runs, so a large upload
//! moves at pinned PCIe speed and the conversion overlaps the copy. (Pipelining the upload with
//! the LDE on a second stream, and page-locking the trace's own memory, were measured and did
//! not win: docs/PERF.md, "Constraint cache, device quotient split, trace upload modes".)

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaEvent, CudaSlice, CudaView, DevicePtr, PinnedHostSlice, result};
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

/// Smallest pinned download buffer (words): 512 KiB.
const MIN_DOWNLOAD_WORDS: usize = 1 << 16;

impl GpuContext {
    /// Copies `src` to the host through the context's pinned download buffer (allocated on first
    /// use, grown to the next power of two, kept for later downloads) and hands its words to `f`
    /// once the copy is done: no pageable bounce and no fresh host allocation per download.
    /// Where pinned memory cannot be had, a plain copy (the same words). Counted as
    /// device->host.
    pub(crate) fn download_with<R>(
        &self,
        src: &CudaView<'_, u64>,
        what: &str,
        f: impl FnOnce(&[u64]) -> R,
    ) -> Result<R> {
        let len = src.len();
        let bytes = (len * 8) as u64;
        let mut guard = self
            .download_stage
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_none_or(|b| b.len() < len) {
            *guard = None;
            let words = len.next_power_of_two().max(MIN_DOWNLOAD_WORDS);
            // SAFETY: pinned u64s (any bit pattern valid), written by the copy before reading.
            // Flags 0: cached memory, which the host reads fast (write-combined reads do not).
            *guard = unsafe { self.cuda_context().alloc_pinned_with_flags::<u64>(words, 0) }.ok();
        }
        let Some(stage) = guard.as_mut() else {
            drop(guard);
            let mark = self.tl_begin(self.stream(), COMPUTE);
            let v = self
                .stream()
                .clone_dtoh(src)
                .ctx(format!("copying {what} to the host ({bytes} bytes)"))?;
            self.tl_copy(mark, OpKind::DeviceToHost, what, bytes);
            self.synchronize()?;
            self.count_d2h(bytes);
            return Ok(f(&v));
        };
        // Exactly `len` words: the stage is larger, and a copy into the whole of it would read
        // past the source (cuMemcpyDtoH copies the destination's size).
        let words = &mut stage
            .as_mut_slice()
            .ctx(format!("waiting for the staging buffer for {what}"))?[..len];
        let mark = self.tl_begin(self.stream(), COMPUTE);
        self.stream().memcpy_dtoh(src, words).ctx(format!(
            "copying {what} to the host ({bytes} bytes, pinned)"
        ))?;
        self.tl_copy(mark, OpKind::DeviceToHost, what, bytes);
        self.synchronize()?;
        self.count_d2h(bytes);
        Ok(f(words))
    }
}
