//! Uploads through pinned host memory: field elements are converted to canonical words straight
//! into one of two pinned staging buffers while the other one's DMA runs, so a large upload
//! moves at pinned PCIe speed and the conversion overlaps the copy.
//!
//! [`GpuContext::upload_column_chunks`] also overlaps the copy with device work: a row-major
//! trace goes up as column chunks on a second (copy) stream, and the compute stream works on
//! chunk k while chunk k+1 is converted on the host and copied (docs/GPU.md, "Trace upload").

use std::sync::Arc;

use cudarc::driver::sys::CUevent_flags;
use std::ffi::c_void;

use cudarc::driver::{
    CudaEvent, CudaSlice, CudaStream, DevicePtr, PinnedHostSlice, PushKernelArg, result, sys,
};
use p3_field::PrimeField64;
use rayon::prelude::*;
use rstark_field::F;

use rstark_poly::RowMajor;

use crate::context::{GpuContext, grid_1d};
use crate::error::{CudaError, DriverContext, Result};
use crate::timeline::{COMPUTE, COPY};
use rstark_timeline::OpKind;

/// Words per staging buffer (64 MiB).
pub(crate) const STAGE_WORDS: usize = 1 << 23;
/// Below this, a plain (pageable) copy is cheaper than setting up the staging.
const MIN_STAGED_WORDS: usize = 1 << 17;

/// How [`crate::CudaBackend`] uploads a large trace before (or while) extending it. All three
/// give the same device words; docs/PERF.md compares their speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadMode {
    /// Converted to canonical words into two pinned staging buffers, the conversion of one
    /// overlapping the DMA of the other; the LDE runs after the whole trace is up.
    Staged,
    /// Column chunks through the staging on a copy stream, each chunk's LDE overlapping the
    /// next chunk's conversion and copy ([`GpuContext::upload_column_chunks`]).
    Pipelined,
    /// The trace's own memory page-locked for one DMA (no host-side conversion), reduced to
    /// canonical words on the device; falls back to `Staged` if the driver refuses the lock.
    Registered,
}

impl UploadMode {
    pub const ALL: [UploadMode; 3] = [Self::Staged, Self::Pipelined, Self::Registered];

    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Pipelined,
            2 => Self::Registered,
            _ => Self::Staged,
        }
    }

    pub(crate) fn to_u8(self) -> u8 {
        match self {
            Self::Staged => 0,
            Self::Pipelined => 1,
            Self::Registered => 2,
        }
    }
}

/// Whether a matrix of this many words is uploaded through the staging (or registration)
/// rather than one plain pageable copy.
pub(crate) fn staged(words: usize) -> bool {
    words >= MIN_STAGED_WORDS
}

/// Whether a trace of `rows` × `width` goes up through [`GpuContext::upload_column_chunks`]:
/// large enough for the staging, and a chunk of at least one column fits in a staging buffer.
pub(crate) fn pipelines(rows: usize, width: usize) -> bool {
    rows.saturating_mul(width) >= MIN_STAGED_WORDS && rows <= STAGE_WORDS
}

pub(crate) struct Staging {
    bufs: [PinnedHostSlice<u64>; 2],
    /// Recorded after each buffer's last copy; waited on before the buffer is refilled.
    copied: [CudaEvent; 2],
    /// The copy stream of [`GpuContext::upload_column_chunks`], and per device chunk buffer an
    /// event recorded once the compute stream is done reading it.
    copy: Arc<CudaStream>,
    consumed: [CudaEvent; 2],
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
        let plain = || {
            c.new_event(Some(CUevent_flags::CU_EVENT_DISABLE_TIMING))
                .ctx("creating an event")
        };
        Ok(Self {
            bufs: [alloc()?, alloc()?],
            copied: [event()?, event()?],
            copy: c.new_stream().ctx("creating the copy stream")?,
            consumed: [plain()?, plain()?],
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

    /// Uploads `m` (N rows × W) in column chunks of `cw` columns: chunk [c0, c0 + cw) is
    /// converted into pinned staging as an N × cw row-major matrix, copied on the copy stream
    /// into a device buffer, and handed to `on_chunk(buffer, c0, cw)`, which queues its work on
    /// the compute stream. Chunk k+1's conversion and copy overlap chunk k's device work; two
    /// device buffers alternate, each refilled only once the compute stream has consumed it.
    /// Counted as one host->device copy of the whole matrix.
    pub(crate) fn upload_column_chunks(
        &self,
        m: &RowMajor,
        cw: usize,
        mut on_chunk: impl FnMut(&CudaSlice<u64>, usize, usize) -> Result<()>,
    ) -> Result<()> {
        let (n, w) = (m.height(), m.width);
        if w == 0 || cw == 0 || n.checked_mul(cw).is_none_or(|x| x > STAGE_WORDS) {
            return Err(CudaError::Shape(format!(
                "column chunks of {cw} x {n} rows: must be 1..={STAGE_WORDS} words"
            )));
        }
        let mut guard = self.staging()?;
        let staging = guard.as_mut().expect("staging allocated above");
        let subs = [
            self.alloc_words(n * cw, "a trace chunk")?,
            self.alloc_words(n * cw, "a trace chunk")?,
        ];
        // the copy stream may write the chunk buffers once their allocation is done
        let allocated = self.stream().record_event(None).ctx("recording an event")?;
        staging
            .copy
            .wait(&allocated)
            .ctx("ordering the copy stream")?;
        let mut run = || -> Result<()> {
            for (i, c0) in (0..w).step_by(cw).enumerate() {
                let k = i % 2;
                let cwk = cw.min(w - c0);
                staging.copied[k]
                    .synchronize()
                    .ctx("waiting for a staging copy")?;
                let buf = staging.bufs[k]
                    .as_mut_slice()
                    .ctx("mapping pinned staging memory")?;
                let part = &mut buf[..n * cwk];
                part.par_chunks_mut(cwk)
                    .zip(m.values.par_chunks(w))
                    .for_each(|(d, row)| {
                        for (d, x) in d.iter_mut().zip(&row[c0..c0 + cwk]) {
                            *d = x.as_canonical_u64();
                        }
                    });
                if i >= 2 {
                    staging
                        .copy
                        .wait(&staging.consumed[k])
                        .ctx("ordering the copy stream")?;
                }
                let (dst, _sync) = subs[k].device_ptr(self.stream());
                let mark = self.tl_begin(&staging.copy, COPY);
                // SAFETY: `part` is pinned host memory left untouched until `copied[k]` fires; the
                // destination holds n·cw >= n·cwk words and is not read by the compute stream
                // before it waits on `copied[k]`, nor rewritten before `consumed[k]`.
                unsafe { result::memcpy_htod_async(dst, part, staging.copy.cu_stream()) }
                    .ctx("copying a trace chunk to the device (pinned)")?;
                self.tl_copy(
                    mark,
                    OpKind::HostToDevice,
                    "a trace chunk (pinned)",
                    (n * cwk * 8) as u64,
                );
                staging.copied[k]
                    .record(&staging.copy)
                    .ctx("recording a staging copy")?;
                self.stream()
                    .wait(&staging.copied[k])
                    .ctx("ordering the compute stream")?;
                on_chunk(&subs[k], c0, cwk)?;
                staging.consumed[k]
                    .record(self.stream())
                    .ctx("recording a chunk's use")?;
            }
            Ok(())
        };
        let result = run();
        // The chunk buffers are released on the compute stream: it must first wait for every
        // copy, also those still in flight when a chunk failed.
        let joined = self
            .stream()
            .join(&staging.copy)
            .ctx("ordering the compute stream");
        drop(subs);
        result?;
        joined?;
        self.count_h2d((m.values.len() * 8) as u64);
        Ok(())
    }

    /// Copies `values` into the start of `dst` with one DMA from their own memory, page-locked
    /// for the copy and unlocked after it (no host-side conversion: p3's Goldilocks is a
    /// transparent u64, not necessarily canonical, so a kernel reduces the words on the device).
    /// Waits for the stream. `Ok(false)`: the driver refused the lock and nothing was copied.
    pub(crate) fn upload_registered(&self, values: &[F], dst: &mut CudaSlice<u64>) -> Result<bool> {
        const PAGE: usize = 4096;
        if dst.len() < values.len() {
            return Err(CudaError::Shape("upload: destination too short".into()));
        }
        if values.is_empty() {
            return Ok(true);
        }
        let bytes = std::mem::size_of_val(values);
        let start = values.as_ptr() as usize;
        let (lo, hi) = (start & !(PAGE - 1), (start + bytes).next_multiple_of(PAGE));
        self.cuda_context()
            .bind_to_thread()
            .ctx("binding the context")?;
        // SAFETY: [lo, hi) covers only the pages holding `values` (mapped, alive for this call);
        // flags 0 only page-locks them, nothing is written.
        if unsafe { sys::cuMemHostRegister_v2(lo as *mut c_void, hi - lo, 0) }
            .result()
            .is_err()
        {
            return Ok(false);
        }
        // SAFETY: Goldilocks is #[repr(transparent)] over u64.
        let words: &[u64] =
            unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u64, values.len()) };
        let base = dst.device_ptr(self.stream()).0;
        let n = values.len() as u64;
        let mark = self.tl_begin(self.stream(), COMPUTE);
        // SAFETY: `words` is page-locked until the stream is synchronised below; the destination
        // range lies inside `dst` (checked above).
        let copied = unsafe { result::memcpy_htod_async(base, words, self.stream().cu_stream()) }
            .ctx("copying a matrix to the device (registered)")
            .and_then(|()| {
                self.tl_copy(
                    mark,
                    OpKind::HostToDevice,
                    "a matrix (registered)",
                    bytes as u64,
                );
                let mut b = self.func(&self.k.canonicalize_words);
                b.arg(&mut *dst).arg(&n);
                self.launch(b, grid_1d(n, 256), "canonicalize_words")
            });
        // the DMA must be over before the pages are unlocked, also after a failed launch
        let synced = self.synchronize();
        // SAFETY: `lo` was registered above.
        let unlocked = unsafe { sys::cuMemHostUnregister(lo as *mut c_void) }
            .result()
            .ctx("unlocking a registered trace");
        copied?;
        synced?;
        unlocked?;
        self.count_h2d(bytes as u64);
        Ok(true)
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
