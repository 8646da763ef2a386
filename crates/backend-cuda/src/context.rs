//! The device context: one CUDA context and stream, the loaded kernels, the context's own
//! stream-ordered memory pool and its accounting (`crate::memory`), cached twiddle tables, and a
//! count of every byte that crosses PCIe.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cudarc::driver::sys::{CUfunction_attribute, CUresult};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, DeviceRepr, DriverError,
    LaunchArgs, LaunchConfig, PushKernelArg, result,
};

use crate::error::{CudaError, DriverContext, Result};
use crate::grid::{self, KernelLimits};
use crate::kernels::Kernels;
use crate::memory::{DeviceBuf, Faults, MemAccount};
use crate::plan;
use crate::timeline::{COMPUTE, GpuTimeline};
use rstark_timeline::OpKind;

/// Host<->device traffic since the context was made (or since [`GpuContext::reset_transfers`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferStats {
    pub h2d_bytes: u64,
    pub d2h_bytes: u64,
    pub h2d_copies: u64,
    pub d2h_copies: u64,
}

#[derive(Default)]
struct TransferCounter {
    h2d_bytes: AtomicU64,
    d2h_bytes: AtomicU64,
    h2d_copies: AtomicU64,
    d2h_copies: AtomicU64,
}

/// One GPU. All work is ordered on one stream, so device buffers need no cross-stream events.
pub struct GpuContext {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    pub(crate) k: Kernels,
    transfers: TransferCounter,
    twiddles: Mutex<HashMap<(u32, bool), DevWords>>,
    cosets: Mutex<HashMap<(u32, u32), CosetDev>>,
    pub(crate) staging: Mutex<Option<crate::staging::Staging>>,
    /// Pinned (cached, not write-combined) host memory the larger downloads land in, kept and
    /// grown (crate::staging).
    pub(crate) download_stage: Mutex<Option<cudarc::driver::PinnedHostSlice<u64>>>,
    poison: AtomicBool,
    ntt_round: AtomicU32,
    ntt_tile_log: AtomicU32,
    ntt_max_log_c: AtomicU32,
    /// Per kernel (by function handle): the threads and dynamic shared memory it accepts.
    kernel_limits: Mutex<HashMap<usize, KernelLimits>>,
    /// The context's pool and the bytes its live buffers hold (crate::memory).
    mem: Arc<MemAccount>,
    pub(crate) faults: Faults,
    name: String,
    /// "GPU 0: NVIDIA H200", or "GPU 0 (context 2): …" for a context of its own.
    label: String,
    /// Kernels and copies timed for a timeline while one is recorded (`timeline.rs`).
    pub(crate) timeline: GpuTimeline,
}

/// A kernel's argument list being built ([`GpuContext::func`]), with the kernel it launches so
/// [`GpuContext::launch`] can check the launch against that kernel's limits.
pub(crate) struct KernelCall<'a> {
    args: LaunchArgs<'a>,
    func: &'a CudaFunction,
}

impl<'a> std::ops::Deref for KernelCall<'a> {
    type Target = LaunchArgs<'a>;
    fn deref(&self) -> &LaunchArgs<'a> {
        &self.args
    }
}

impl<'a> std::ops::DerefMut for KernelCall<'a> {
    fn deref_mut(&mut self) -> &mut LaunchArgs<'a> {
        &mut self.args
    }
}

/// The NTT variant a new context uses: 0 = chosen per pass (see [`GpuContext::set_ntt_round`]).
pub const DEFAULT_NTT_ROUND: u32 = 0;

/// Words written into fresh output buffers when poisoning is on (not a canonical element).
pub const POISON: u64 = 0xDEAD_BEEF_DEAD_BEEF;

impl GpuContext {
    /// Open device `ordinal` (its primary context): fails (never panics) when no driver or
    /// device is there.
    pub fn new(ordinal: usize) -> Result<Self> {
        Self::open(ordinal, false)
    }

    /// A context of its own on device `ordinal`, not the device's primary context: several
    /// backends on one GPU, each with its own context, stand in for several GPUs (copies
    /// between them are then real cross-context peer copies, `crate::peer`).
    pub fn new_own_context(ordinal: usize) -> Result<Self> {
        Self::open(ordinal, true)
    }

    fn open(ordinal: usize, own: bool) -> Result<Self> {
        // SAFETY: only probes whether the driver library can be opened.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(CudaError::NoDevice(
                "the CUDA driver library (libcuda.so) was not found".into(),
            ));
        }
        result::init().ctx("initialising the CUDA driver")?;
        let count = CudaContext::device_count().ctx("counting CUDA devices")?;
        if ordinal >= count.max(0) as usize {
            return Err(CudaError::NoDevice(format!(
                "device {ordinal} asked for, {count} CUDA device(s) present"
            )));
        }
        let ctx = if own {
            CudaContext::new_non_primary(ordinal, 0)
        } else {
            CudaContext::new(ordinal)
        }
        .ctx(format!("creating a context on device {ordinal}"))?;
        // One stream orders everything, so cudarc's per-buffer event tracking is not needed.
        // SAFETY: no buffer of this context is ever used on another stream.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().ctx("creating a stream")?;
        let k = Kernels::load(&ctx)?;
        // The context's own pool keeps freed memory for reuse up to the budget (its release
        // threshold); by default the budget is 90% of what is free now.
        let mem = Arc::new(MemAccount::new(&ctx, crate::memory::initial_budget(&ctx)?)?);
        // Tiles of up to 2^13 words need more than the default 48 KiB of dynamic shared memory.
        for f in [
            &k.ntt_pass,
            &k.ntt_pass_expand,
            &k.ntt_pass_r3,
            &k.ntt_pass_expand_r3,
        ] {
            f.set_attribute(
                CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                plan::NTT_MAX_SHARED_BYTES as i32,
            )
            .ctx("raising the NTT kernels' shared memory limit")?;
        }
        let name = ctx.name().unwrap_or_else(|_| "unknown CUDA device".into());
        let label = if own {
            static OWN_CONTEXTS: AtomicU32 = AtomicU32::new(0);
            let k = OWN_CONTEXTS.fetch_add(1, Ordering::Relaxed) + 1;
            format!("GPU {ordinal} (context {k}): {name}")
        } else {
            format!("GPU {ordinal}: {name}")
        };
        Ok(Self {
            ctx,
            stream,
            k,
            transfers: TransferCounter::default(),
            twiddles: Mutex::new(HashMap::new()),
            cosets: Mutex::new(HashMap::new()),
            staging: Mutex::new(None),
            download_stage: Mutex::new(None),
            poison: AtomicBool::new(false),
            ntt_round: AtomicU32::new(DEFAULT_NTT_ROUND),
            ntt_tile_log: AtomicU32::new(plan::NTT_TILE_LOG),
            ntt_max_log_c: AtomicU32::new(plan::NTT_MAX_LOG_C),
            kernel_limits: Mutex::new(HashMap::new()),
            mem,
            faults: Faults::default(),
            timeline: GpuTimeline::new(label.clone()),
            name,
            label,
        })
    }

    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// The device and context, as timelines and reports name them ("GPU 0: NVIDIA H200").
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The device's ordinal.
    pub fn ordinal(&self) -> usize {
        self.ctx.ordinal()
    }

    /// Cubin architectures embedded in this binary.
    pub fn embedded_archs() -> &'static str {
        crate::kernels::ARCHS
    }

    pub fn compute_capability(&self) -> Result<(i32, i32)> {
        self.ctx
            .compute_capability()
            .ctx("reading the compute capability")
    }

    /// (free, total) device memory in bytes.
    pub fn mem_info(&self) -> Result<(usize, usize)> {
        self.ctx.mem_get_info().ctx("reading device memory info")
    }

    pub fn cuda_context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().ctx("waiting for the stream")
    }

    pub fn transfers(&self) -> TransferStats {
        let t = &self.transfers;
        TransferStats {
            h2d_bytes: t.h2d_bytes.load(Ordering::Relaxed),
            d2h_bytes: t.d2h_bytes.load(Ordering::Relaxed),
            h2d_copies: t.h2d_copies.load(Ordering::Relaxed),
            d2h_copies: t.d2h_copies.load(Ordering::Relaxed),
        }
    }

    pub fn reset_transfers(&self) {
        let t = &self.transfers;
        for a in [&t.h2d_bytes, &t.d2h_bytes, &t.h2d_copies, &t.d2h_copies] {
            a.store(0, Ordering::Relaxed);
        }
    }

    /// Fill every new output buffer with [`POISON`] before kernels write it (tests use this to
    /// prove every element is written).
    pub fn set_poison(&self, on: bool) {
        self.poison.store(on, Ordering::Relaxed);
    }

    /// NTT kernel variant: register rounds of up to 4 stages (3 blocks per SM) or of up to 3
    /// (4 blocks per SM); 0 (the default) picks per pass with [`plan::prefers_round3`]. All give
    /// the same bytes; the benchmark times them.
    pub fn set_ntt_round(&self, max_stages: u32) {
        self.ntt_round.store(max_stages.min(4), Ordering::Relaxed);
    }

    /// Largest NTT tile, log2 words (default and most [`plan::NTT_TILE_LOG`], least
    /// [`plan::NTT_MIN_TILE_LOG`]; clamped). All give the same bytes; the benchmark times them.
    pub fn set_ntt_tile_log(&self, tile_log: u32) {
        self.ntt_tile_log.store(
            tile_log.clamp(plan::NTT_MIN_TILE_LOG, plan::NTT_TILE_LOG),
            Ordering::Relaxed,
        );
    }

    /// Most consecutive groups of a strided NTT tile, log2 (default [`plan::NTT_MAX_LOG_C`]:
    /// as many as fill the tile; [`plan::NTT_OLD_MAX_LOG_C`] is the earlier cap). All give the
    /// same bytes; the benchmark times them.
    pub fn set_ntt_max_log_c(&self, max_log_c: u32) {
        self.ntt_max_log_c.store(max_log_c, Ordering::Relaxed);
    }

    /// The passes of a size-2^log_n NTT with this context's tile settings.
    pub(crate) fn ntt_plan(&self, log_n: u32, dif: bool) -> Vec<plan::NttPass> {
        plan::ntt_plan_with(
            log_n,
            dif,
            self.ntt_tile_log.load(Ordering::Relaxed),
            self.ntt_max_log_c.load(Ordering::Relaxed),
        )
    }

    /// The device address of a buffer, for kernels that take addresses in a table. The buffer
    /// must outlive every launch that reads it (frees are ordered on this stream after them).
    pub(crate) fn device_address(&self, buf: &CudaSlice<u64>) -> u64 {
        let (ptr, _sync) = buf.device_ptr(self.stream());
        ptr
    }

    /// (in-place pass, first forward pass with coset scaling) kernels for a pass of k stages.
    pub(crate) fn ntt_kernels(&self, k: u32) -> (&CudaFunction, &CudaFunction) {
        let r3 = match self.ntt_round.load(Ordering::Relaxed) {
            0 => plan::prefers_round3(k),
            r => r <= 3,
        };
        if r3 {
            (&self.k.ntt_pass_r3, &self.k.ntt_pass_expand_r3)
        } else {
            (&self.k.ntt_pass, &self.k.ntt_pass_expand)
        }
    }

    /// Copy host words to a new device buffer (counted).
    pub fn upload<T: DeviceRepr>(&self, host: &[T], what: &str) -> Result<DeviceBuf<T>> {
        let bytes = std::mem::size_of_val(host) as u64;
        let mut buf = self.alloc::<T>(host.len(), what)?;
        let mark = self.tl_begin(&self.stream, COMPUTE);
        self.stream
            .memcpy_htod(host, &mut *buf)
            .ctx(format!("copying {what} to the device ({bytes} bytes)"))?;
        self.tl_copy(mark, OpKind::HostToDevice, what, bytes);
        self.transfers.h2d_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.transfers.h2d_copies.fetch_add(1, Ordering::Relaxed);
        Ok(buf)
    }

    /// Copy a device buffer back (counted); waits for the stream.
    pub fn download<T: DeviceRepr>(&self, dev: &CudaSlice<T>, what: &str) -> Result<Vec<T>> {
        let bytes = dev.num_bytes() as u64;
        let mark = self.tl_begin(&self.stream, COMPUTE);
        let v = self
            .stream
            .clone_dtoh(dev)
            .ctx(format!("copying {what} to the host ({bytes} bytes)"))?;
        self.tl_copy(mark, OpKind::DeviceToHost, what, bytes);
        self.synchronize()?;
        self.transfers.d2h_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.transfers.d2h_copies.fetch_add(1, Ordering::Relaxed);
        Ok(v)
    }

    pub(crate) fn count_h2d(&self, bytes: u64) {
        self.transfers.h2d_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.transfers.h2d_copies.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_d2h(&self, bytes: u64) {
        self.transfers.d2h_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.transfers.d2h_copies.fetch_add(1, Ordering::Relaxed);
    }

    /// A new device buffer of `len` words (counted, within the budget), poisoned when
    /// poisoning is on. Callers fully overwrite it (tests check it with poisoning on).
    pub fn alloc_words(&self, len: usize, what: &str) -> Result<DeviceBuf<u64>> {
        let mut buf = self.alloc::<u64>(len, what)?;
        if self.poison.load(Ordering::Relaxed) {
            self.fill_words(&mut buf, POISON)?;
        }
        Ok(buf)
    }

    pub fn alloc_zeroed_u32(&self, len: usize, what: &str) -> Result<DeviceBuf<u32>> {
        let mut buf = self.alloc::<u32>(len, what)?;
        self.stream
            .memset_zeros(&mut *buf)
            .ctx(format!("clearing {what}"))?;
        Ok(buf)
    }

    pub(crate) fn mem_account(&self) -> &Arc<MemAccount> {
        &self.mem
    }

    pub fn fill_words(&self, buf: &mut CudaSlice<u64>, value: u64) -> Result<()> {
        let n = buf.len() as u64;
        let mut b = self.func(&self.k.fill_u64);
        b.arg(buf).arg(&n).arg(&value);
        self.launch(b, grid_1d(n, 256), "fill_u64")
    }

    /// Twiddles of a size-2^log_n transform on the device, uploaded once per size.
    pub(crate) fn twiddles(&self, log_n: u32, inverse: bool) -> Result<DevWords> {
        let mut cache = self.twiddles.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cache.get(&(log_n, inverse)) {
            return Ok(t.clone());
        }
        let host = plan::twiddle_table(log_n, inverse);
        let t = Arc::new(self.upload(&host, "twiddles")?);
        cache.insert((log_n, inverse), t.clone());
        Ok(t)
    }

    /// Coset tables (lo, hi, log_lo) of an LDE of 2^log_n rows with blowup 2^log_b, uploaded once.
    pub(crate) fn coset_tables(&self, log_n: u32, log_b: u32) -> Result<CosetDev> {
        let mut cache = self.cosets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cache.get(&(log_n, log_b)) {
            return Ok(t.clone());
        }
        let host = plan::coset_tables(log_n, log_b);
        let t = (
            Arc::new(self.upload(&host.lo, "coset table")?),
            Arc::new(self.upload(&host.hi, "coset table")?),
            host.log_lo,
        );
        cache.insert((log_n, log_b), t.clone());
        Ok(t)
    }

    /// Launch a prepared kernel; errors name the kernel. A configuration past the hardware's
    /// or the kernel's limits is refused here ([`CudaError::LaunchLimits`]), before the driver.
    pub(crate) fn launch(
        &self,
        mut b: KernelCall<'_>,
        cfg: LaunchConfig,
        name: &str,
    ) -> Result<()> {
        self.check_launch(b.func, &cfg, name)?;
        if self.faults.launch.fires() {
            return Err(CudaError::Driver {
                what: format!("launching {name} (injected fault)"),
                source: DriverError(CUresult::CUDA_ERROR_LAUNCH_FAILED),
            });
        }
        let mark = self.tl_begin(&self.stream, COMPUTE);
        // SAFETY: every caller passes the argument list its kernel's signature declares, with
        // buffers sized for the grid it launches (checked on the host before the launch).
        unsafe { b.args.launch(cfg) }.ctx(format!("launching {name}"))?;
        self.tl_kernel(mark, name, &cfg);
        Ok(())
    }

    pub(crate) fn func<'a>(&'a self, f: &'a CudaFunction) -> KernelCall<'a> {
        KernelCall {
            args: self.stream.launch_builder(f),
            func: f,
        }
    }

    fn check_launch(&self, f: &CudaFunction, cfg: &LaunchConfig, name: &str) -> Result<()> {
        let limits = self.kernel_limits(f, name)?;
        grid::check_launch(cfg.grid_dim, cfg.block_dim, cfg.shared_mem_bytes, limits).map_err(
            |reason| CudaError::LaunchLimits {
                kernel: name.to_string(),
                grid: cfg.grid_dim,
                block: cfg.block_dim,
                shared_bytes: cfg.shared_mem_bytes,
                reason,
            },
        )
    }

    /// The threads per block and dynamic shared memory `f` accepts (asked once per kernel).
    fn kernel_limits(&self, f: &CudaFunction, name: &str) -> Result<KernelLimits> {
        let key = f.cu_function() as usize;
        let mut cache = self.kernel_limits.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = cache.get(&key) {
            return Ok(*l);
        }
        let attr = |a| {
            f.get_attribute(a)
                .map(|v| v.max(0) as u32)
                .ctx(format!("reading the launch limits of {name}"))
        };
        let l = KernelLimits {
            max_threads: attr(CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK)?,
            max_dynamic_shared: attr(
                CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            )?,
        };
        cache.insert(key, l);
        Ok(l)
    }
}

/// A shared device buffer of words (cached tables).
pub(crate) type DevWords = Arc<DeviceBuf<u64>>;
/// Coset tables on the device: (lo, hi, log_lo).
pub(crate) type CosetDev = (DevWords, DevWords, u32);

/// A 1-D grid of `threads`-wide blocks covering `n` items (a count past the grid's x limit
/// saturates and is refused by [`GpuContext::launch`], never wrapped).
pub(crate) fn grid_1d(n: u64, threads: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (grid::blocks_1d(n, threads), 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    }
}
