//! Device memory of one context: every allocation comes from the context's own stream-ordered
//! pool (so several contexts on one device never share a pool or its figures) and is a
//! [`DeviceBuf`], counted in the context's [`MemCounter`] while it lives. An allocation that
//! would pass the budget is refused before the driver is asked (`CudaError::OutOfBudget`); a
//! driver that is short of memory gives `CudaError::OutOfMemory`. The pool keeps freed memory
//! for reuse up to the budget (its release threshold) and hands the rest back to the driver at
//! the next synchronisation. Test hooks fail the n-th next allocation or launch
//! ([`GpuContext::inject_alloc_fault`], [`GpuContext::inject_launch_fault`]).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use cudarc::driver::sys::{self, CUmemPool_attribute};
use cudarc::driver::{
    CudaContext, CudaSlice, CudaStream, DevicePtr, DevicePtrMut, DeviceRepr, DeviceSlice,
    DriverError, LaunchArgs, PushKernelArg, SyncOnDrop, result,
};

use crate::budget::{MemCounter, VramBudget, clamp_budget, default_budget};
use crate::context::GpuContext;
use crate::error::{CudaError, DriverContext, Result};

/// A device allocation made through a [`GpuContext`]: a `CudaSlice` (which it dereferences to)
/// whose bytes count as the context's memory in use until it is dropped.
#[derive(Debug)]
pub struct DeviceBuf<T> {
    slice: CudaSlice<T>,
    bytes: u64,
    account: Arc<MemAccount>,
}

impl<T> Drop for DeviceBuf<T> {
    fn drop(&mut self) {
        // the slice's free is queued on the stream right after; stream-ordered reuse makes
        // the bytes available to the next allocation on that stream at once
        self.account.counter.release(self.bytes);
    }
}

impl<T> Deref for DeviceBuf<T> {
    type Target = CudaSlice<T>;
    fn deref(&self) -> &CudaSlice<T> {
        &self.slice
    }
}

impl<T> DerefMut for DeviceBuf<T> {
    fn deref_mut(&mut self) -> &mut CudaSlice<T> {
        &mut self.slice
    }
}

// Copies and memsets take a DeviceBuf where they take a CudaSlice.
impl<T> DeviceSlice<T> for DeviceBuf<T> {
    fn len(&self) -> usize {
        self.slice.len()
    }
    fn stream(&self) -> &Arc<CudaStream> {
        self.slice.stream()
    }
}

impl<T> DevicePtr<T> for DeviceBuf<T> {
    fn device_ptr<'a>(&'a self, stream: &'a CudaStream) -> (sys::CUdeviceptr, SyncOnDrop<'a>) {
        self.slice.device_ptr(stream)
    }
}

impl<T> DevicePtrMut<T> for DeviceBuf<T> {
    fn device_ptr_mut<'a>(
        &'a mut self,
        stream: &'a CudaStream,
    ) -> (sys::CUdeviceptr, SyncOnDrop<'a>) {
        self.slice.device_ptr_mut(stream)
    }
}

// SAFETY: both pass the inner slice exactly as cudarc's impls for `&CudaSlice` and
// `&mut CudaSlice` do (the argument borrows the buffer for the builder's lifetime).
unsafe impl<'a, 'b: 'a, T> PushKernelArg<&'b DeviceBuf<T>> for LaunchArgs<'a> {
    #[inline(always)]
    fn arg(&mut self, arg: &'b DeviceBuf<T>) -> &mut Self {
        self.arg(&arg.slice)
    }
}

unsafe impl<'a, 'b: 'a, T> PushKernelArg<&'b mut DeviceBuf<T>> for LaunchArgs<'a> {
    #[inline(always)]
    fn arg(&mut self, arg: &'b mut DeviceBuf<T>) -> &mut Self {
        self.arg(&mut arg.slice)
    }
}

/// The counter and the pool of one context; outlives every buffer allocated from it.
#[derive(Debug)]
pub(crate) struct MemAccount {
    pub counter: MemCounter,
    /// The context's own pool, or `None` where the device has no stream-ordered allocator
    /// (cudarc then allocates synchronously).
    pool: Option<sys::CUmemoryPool>,
    ctx: Arc<CudaContext>,
    /// Other devices granted access to the pool (`grant_access`).
    granted: std::sync::Mutex<Vec<usize>>,
}

// SAFETY: a pool handle may be used from any thread (the driver serialises pool calls).
unsafe impl Send for MemAccount {}
unsafe impl Sync for MemAccount {}

impl Drop for MemAccount {
    fn drop(&mut self) {
        if let Some(pool) = self.pool {
            // SAFETY: every buffer from the pool is dropped (each holds this account); the
            // driver releases the pool once their queued frees have run.
            let _ = self.ctx.bind_to_thread();
            let _ = unsafe { result::mem_pool::destroy(pool) };
        }
    }
}

impl MemAccount {
    /// A new pool on the context's device (where supported), its release threshold the budget.
    pub(crate) fn new(ctx: &Arc<CudaContext>, budget: u64) -> Result<Self> {
        let pool = if ctx.has_async_alloc() {
            let props = sys::CUmemPoolProps {
                allocType: sys::CUmemAllocationType::CU_MEM_ALLOCATION_TYPE_PINNED,
                handleTypes: sys::CUmemAllocationHandleType::CU_MEM_HANDLE_TYPE_NONE,
                location: sys::CUmemLocation {
                    type_: sys::CUmemLocationType::CU_MEM_LOCATION_TYPE_DEVICE,
                    id: ctx.ordinal() as i32,
                },
                win32SecurityAttributes: std::ptr::null_mut(),
                maxSize: 0,
                usage: 0,
                reserved: [0; 54],
            };
            ctx.bind_to_thread().ctx("binding the context")?;
            // SAFETY: `props` is a valid pool description for this device.
            Some(unsafe { result::mem_pool::create(&props) }.ctx("creating the memory pool")?)
        } else {
            None
        };
        let account = Self {
            counter: MemCounter::new(budget),
            pool,
            ctx: ctx.clone(),
            granted: std::sync::Mutex::new(Vec::new()),
        };
        account.set_release_threshold(budget)?;
        Ok(account)
    }

    fn set_release_threshold(&self, bytes: u64) -> Result<()> {
        let Some(pool) = self.pool else {
            return Ok(());
        };
        let mut v = bytes;
        // SAFETY: a live pool; the attribute takes a u64.
        unsafe {
            result::mem_pool::set_attribute(
                pool,
                CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                (&mut v as *mut u64).cast(),
            )
        }
        .ctx("setting the memory pool's release threshold")
    }

    /// Lets device `ordinal` read and write the pool's allocations, so a peer copy to it goes
    /// device to device (pool memory ignores cuCtxEnablePeerAccess); once per device, and only
    /// where the driver says the two devices can reach each other. Nothing for the pool's own
    /// device.
    pub(crate) fn grant_access(&self, ordinal: usize) -> Result<()> {
        let Some(pool) = self.pool else {
            return Ok(());
        };
        if ordinal == self.ctx.ordinal() {
            return Ok(());
        }
        let mut granted = self.granted.lock().unwrap_or_else(|e| e.into_inner());
        if granted.contains(&ordinal) {
            return Ok(());
        }
        let peer = result::device::get(ordinal as i32).ctx("opening the peer device")?;
        let mut can = 0;
        // SAFETY: two valid device handles and an out-parameter.
        unsafe { sys::cuDeviceCanAccessPeer(&mut can, peer, self.ctx.cu_device()) }
            .result()
            .ctx("asking whether the devices can reach each other")?;
        if can != 0 {
            let desc = sys::CUmemAccessDesc {
                location: sys::CUmemLocation {
                    type_: sys::CUmemLocationType::CU_MEM_LOCATION_TYPE_DEVICE,
                    id: ordinal as i32,
                },
                flags: sys::CUmemAccess_flags::CU_MEM_ACCESS_FLAGS_PROT_READWRITE,
            };
            self.ctx.bind_to_thread().ctx("binding the context")?;
            // SAFETY: a live pool and one valid access descriptor.
            unsafe { sys::cuMemPoolSetAccess(pool, &desc, 1) }
                .result()
                .ctx(format!(
                    "granting device {ordinal} access to the memory pool"
                ))?;
        }
        granted.push(ordinal);
        Ok(())
    }

    /// Bytes the pool holds from the driver (in use and kept for reuse).
    fn reserved(&self) -> Result<u64> {
        let Some(pool) = self.pool else {
            return Ok(self.counter.in_use());
        };
        let mut v = 0u64;
        // SAFETY: a live pool; the attribute is a u64.
        unsafe {
            result::mem_pool::get_attribute(
                pool,
                CUmemPool_attribute::CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT,
                (&mut v as *mut u64).cast(),
            )
        }
        .ctx("reading the memory pool's reserved memory")?;
        Ok(v)
    }
}

/// Allocations from this size on are timed on a timeline (crate::timeline).
const LARGE_ALLOC_BYTES: u64 = 256 << 20;

/// The default budget of a new context ([`default_budget`] of the free memory).
pub(crate) fn initial_budget(ctx: &CudaContext) -> Result<u64> {
    let (free, _) = ctx.mem_get_info().ctx("reading device memory info")?;
    Ok(default_budget(free as u64))
}

impl GpuContext {
    /// A new device buffer of `len` elements (at least one), uninitialised: counted, within the
    /// budget, from the context's pool.
    pub(crate) fn alloc<T: DeviceRepr>(&self, len: usize, what: &str) -> Result<DeviceBuf<T>> {
        let len = len.max(1);
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .map_or(u64::MAX, |b| b as u64);
        let account = self.mem_account();
        account
            .counter
            .reserve(bytes)
            .map_err(|o| CudaError::OutOfBudget {
                what: what.to_string(),
                requested: bytes,
                in_use: o.in_use,
                budget: o.budget,
            })?;
        let slice = if self.faults.alloc.fires() {
            Err(DriverError(sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY))
        } else if bytes >= LARGE_ALLOC_BYTES && rstark_timeline::recording() {
            // On a timeline: the host time of a large allocation, and whether the pool had to
            // take more memory from the driver for it (a span "pool grew" inside).
            let _span = rstark_timeline::spans::op("device allocation (large)");
            let before = account.reserved().unwrap_or(0);
            let slice = self.alloc_from_pool(account.pool, len, bytes);
            if account.reserved().unwrap_or(0) > before {
                drop(rstark_timeline::spans::op("pool grew"));
            }
            slice
        } else {
            self.alloc_from_pool(account.pool, len, bytes)
        };
        match slice {
            Ok(slice) => Ok(DeviceBuf {
                slice,
                bytes,
                account: account.clone(),
            }),
            Err(e) => {
                account.counter.release(bytes);
                Err(self.alloc_error(e, what, bytes))
            }
        }
    }

    fn alloc_from_pool<T: DeviceRepr>(
        &self,
        pool: Option<sys::CUmemoryPool>,
        len: usize,
        bytes: u64,
    ) -> std::result::Result<CudaSlice<T>, DriverError> {
        let stream = self.stream();
        match pool {
            Some(pool) => {
                self.cuda_context().bind_to_thread()?;
                // SAFETY: the pool and stream belong to this context; the memory is handed to
                // a CudaSlice of `len` elements (`bytes` = len·size_of::<T>()), freed on drop
                // with cuMemFreeAsync on the same stream.
                unsafe {
                    let ptr =
                        result::mem_pool::alloc_async(pool, bytes as usize, stream.cu_stream())?;
                    Ok(stream.upgrade_device_ptr(ptr, len))
                }
            }
            // SAFETY: callers initialise the buffer before reading it.
            None => unsafe { stream.alloc::<T>(len) },
        }
    }

    /// A driver refusal as a typed error: short of memory, or another driver failure.
    fn alloc_error(&self, e: DriverError, what: &str, bytes: u64) -> CudaError {
        if e.0 == sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
            let free = self.mem_info().map_or(0, |(free, _)| free as u64);
            CudaError::OutOfMemory {
                what: what.to_string(),
                requested: bytes,
                free,
            }
        } else {
            CudaError::Driver {
                what: format!("allocating {what} ({bytes} bytes)"),
                source: e,
            }
        }
    }

    /// Sets the device-memory budget; a request above what the device can give this context
    /// (its free memory plus what the context's pool already holds) is lowered to that, and
    /// the returned value says so ([`VramBudget::clamped`]). Also the pool's release threshold.
    pub fn set_vram_budget(&self, bytes: u64) -> Result<VramBudget> {
        let (free, _) = self.mem_info()?;
        let account = self.mem_account();
        let held = account.reserved()?.max(account.counter.in_use());
        let b = clamp_budget(bytes, free as u64 + held);
        account.counter.set_budget(b.bytes);
        account.set_release_threshold(b.bytes)?;
        Ok(b)
    }

    /// The budget no allocation may pass (default: 90% of the free memory at creation).
    pub fn vram_budget(&self) -> u64 {
        self.mem_account().counter.budget()
    }

    /// Bytes held by this context's live buffers.
    pub fn mem_in_use(&self) -> u64 {
        self.mem_account().counter.in_use()
    }

    /// The most bytes in use at once since the context was made or [`reset_mem_peak`](Self::reset_mem_peak).
    pub fn mem_peak(&self) -> u64 {
        self.mem_account().counter.peak()
    }

    pub fn reset_mem_peak(&self) {
        self.mem_account().counter.reset_peak();
    }

    /// Bytes the context's pool holds from the driver: in use, plus freed memory kept for reuse
    /// (at most the budget once the stream is synchronised).
    pub fn pool_reserved(&self) -> Result<u64> {
        self.mem_account().reserved()
    }

    /// Test hook: the n-th next allocation fails as a real shortage does
    /// (`CudaError::OutOfMemory`); 0 disarms. Off, it costs one relaxed load per allocation.
    pub fn inject_alloc_fault(&self, n: u64) {
        self.faults.alloc.arm(n);
    }

    /// Test hook: the n-th next kernel launch fails as a refused launch does
    /// (`CudaError::Driver`, CUDA_ERROR_LAUNCH_FAILED, nothing queued); 0 disarms.
    pub fn inject_launch_fault(&self, n: u64) {
        self.faults.launch.arm(n);
    }

    /// Whether an injected fault is still to come.
    pub fn fault_pending(&self) -> bool {
        self.faults.alloc.armed() || self.faults.launch.armed()
    }

    /// Makes the pool hold at least `bytes` more than the live buffers use, grown in one piece
    /// where it holds less: one allocation of the shortfall (outside the budget's count and the
    /// fault hooks), freed at once and kept by the pool for reuse (the release threshold is the
    /// budget). A proof whose allocations all fit in that piece finds the same free memory every
    /// time, and never waits for the pool to grow (mapping fresh memory, ~1 ms per GB) in the
    /// middle of its work. Returns the bytes the pool grew by (0: it held enough, or there is no
    /// pool, or the driver could not give it: the allocations then grow it as before).
    pub fn reserve_pool(&self, bytes: u64) -> Result<u64> {
        let account = self.mem_account();
        if account.pool.is_none() {
            return Ok(0);
        }
        let want = account.counter.in_use().saturating_add(bytes);
        let have = account.reserved()?;
        if have >= want {
            return Ok(0);
        }
        let grow = want - have;
        let Ok(len) = usize::try_from(grow) else {
            return Ok(0);
        };
        let _span = rstark_timeline::spans::op("memory pool reserve");
        match self.alloc_from_pool::<u8>(account.pool, len, grow) {
            // dropped at once: a stream-ordered free, the memory stays in the pool
            Ok(slice) => {
                drop(slice);
                Ok(account.reserved()?.saturating_sub(have))
            }
            Err(_) => Ok(0),
        }
    }

    /// Waits for the stream, then hands the pool's unused memory back to the driver.
    pub fn trim_pool(&self) -> Result<()> {
        self.synchronize()?;
        if let Some(pool) = self.mem_account().pool {
            // SAFETY: the context's pool; nothing is in flight after the sync.
            unsafe { result::mem_pool::trim_to(pool, 0) }.ctx("trimming the memory pool")?;
        }
        Ok(())
    }
}

/// The one-shot faults of [`GpuContext::inject_alloc_fault`] and
/// [`GpuContext::inject_launch_fault`].
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub alloc: crate::budget::FaultCounter,
    pub launch: crate::budget::FaultCounter,
}
