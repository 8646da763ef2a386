//! Copies between two contexts: two GPUs of one host, or two contexts of one GPU (several
//! backends standing in for several devices). The copy (`cuMemcpyPeerAsync`, device to device)
//! runs on the destination's stream once the source's stream has done what it had queued
//! (an event), and the source's stream waits for the copy before anything it queues later —
//! such as freeing the source — runs. No host thread waits. NVLink multicast is never used.

use cudarc::driver::{DevicePtr, DevicePtrMut, result};
use rstark_timeline::OpKind;

use crate::context::GpuContext;
use crate::error::{DriverContext, Result};
use crate::memory::DeviceBuf;
use crate::timeline::COMPUTE;

impl GpuContext {
    /// A copy of `src` (this context's words) in `dst`'s memory, counted against `dst`'s
    /// budget; `what` names it in errors and on the timeline (a "P2P" copy on `dst`'s stream).
    pub fn copy_to<S: DevicePtr<u64>>(
        &self,
        dst: &GpuContext,
        src: &S,
        what: &str,
    ) -> Result<DeviceBuf<u64>> {
        let bytes = std::mem::size_of::<u64>() * src.len();
        // Pool memory is reachable from another device only once its pool grants it.
        self.mem_account().grant_access(dst.ordinal())?;
        let mut out = dst.alloc::<u64>(src.len(), what)?;
        let ready = self
            .stream()
            .record_event(None)
            .ctx(format!("marking {what} ready for a peer copy"))?;
        dst.stream()
            .wait(&ready)
            .ctx(format!("ordering the peer copy of {what}"))?;
        let mark = dst.tl_begin(dst.stream(), COMPUTE);
        {
            // Event tracking is off in both contexts: these guards record nothing.
            let (src_ptr, _src_guard) = src.device_ptr(self.stream());
            let (dst_ptr, _dst_guard) = out.device_ptr_mut(dst.stream());
            dst.cuda_context()
                .bind_to_thread()
                .ctx("binding the destination context")?;
            // SAFETY: both buffers are live and hold `bytes` bytes; the copy is ordered after
            // the source's pending work (the event above) and before the source's later work
            // (the event below), on the destination's stream, which owns `out`.
            unsafe {
                result::memcpy_peer_async(
                    dst.cuda_context().cu_ctx(),
                    dst_ptr,
                    self.cuda_context().cu_ctx(),
                    src_ptr,
                    bytes,
                    dst.stream().cu_stream(),
                )
            }
            .ctx(format!(
                "copying {what} ({bytes} bytes) from {} to {}",
                self.label(),
                dst.label()
            ))?;
        }
        dst.tl_copy(mark, OpKind::PeerToPeer, what, bytes as u64);
        let copied = dst
            .stream()
            .record_event(None)
            .ctx(format!("marking the peer copy of {what} done"))?;
        self.stream()
            .wait(&copied)
            .ctx(format!("ordering {what}'s source after its peer copy"))?;
        Ok(out)
    }
}
