//! Constraint kernels compiled per program at run time (issue 9). The program becomes straight-line
//! CUDA (`jit_source`), compiled by NVRTC (libnvrtc, loaded dynamically when first needed) to a
//! cubin for this device, kept in memory with the program and on disk
//! (`jit_source::cache_dir`), and launched in place of the interpreter v2 with the same arguments.
//! The interpreter stays the fallback and the oracle: a program whose kernel is not compiled (mode,
//! size, no libnvrtc, a compile error) runs v2, with the same values.
//!
//! Modes (`RSTARK_CONSTRAINT_KERNEL`, or `ConstraintKernel::set_jit_mode`):
//! - `auto` (default): programs of at most `RSTARK_JIT_MAX_INSTRUCTIONS` (default
//!   [`AUTO_MAX_INSTRUCTIONS`]) instructions, or any program already in the disk cache, are
//!   compiled on a host thread; a composition uses the compiled kernel once it is ready and the
//!   interpreter until then (the first proof never waits for the compiler);
//! - `jit`: every program is compiled and the composition waits for it;
//! - `interpreter`: never compiled.
//!
//! Straight-line code compiles slowly for large programs (docs/PERF.md: NVVM did not finish
//! Keccak-f's 35 787 instructions as one function in an hour), so a program longer than
//! `RSTARK_JIT_SLICE_INSTRUCTIONS` is compiled as slices (`rstark_constraints::split_program`),
//! one kernel each, compiled in parallel on the host's cores and cached one by one; the slices'
//! kernels run one after another over the same rows, each adding its constraints to the quotient
//! values. Hence also the size limit in `auto` (a large program is used when every slice is in
//! the disk cache, which scripts/jit-precompile.sh can fill ahead of time with nvcc).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use cudarc::driver::{CudaFunction, CudaModule};
use cudarc::nvrtc::Ptx;
use rstark_constraints::ConstraintProgram;

use crate::context::GpuContext;
use crate::jit_source::{
    KERNEL_NAME, KernelShape, cache_dir, cache_read, cache_write, kernel_sources,
};

/// `auto` compiles programs up to this many instructions (NVRTC takes ~15–30 s per thousand
/// instructions of straight-line code, docs/PERF.md).
pub const AUTO_MAX_INSTRUCTIONS: usize = 1024;

/// When constraint programs are compiled to kernels of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitMode {
    /// Never: the interpreter v2 runs every program.
    Interpreter,
    /// Small programs (and cached ones) in the background; the interpreter until ready.
    Auto { max_instructions: usize },
    /// Every program, and compositions wait for the compiler.
    Wait,
}

impl JitMode {
    /// `RSTARK_CONSTRAINT_KERNEL` (`auto`, `jit`, `interpreter`) and `RSTARK_JIT_MAX_INSTRUCTIONS`.
    pub fn from_env() -> Self {
        let max_instructions = std::env::var("RSTARK_JIT_MAX_INSTRUCTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(AUTO_MAX_INSTRUCTIONS);
        match std::env::var("RSTARK_CONSTRAINT_KERNEL").as_deref() {
            Ok("interpreter") => JitMode::Interpreter,
            Ok("jit") => JitMode::Wait,
            _ => JitMode::Auto { max_instructions },
        }
    }
}

/// Where a program's compiled kernel stands.
#[derive(Clone, Debug, PartialEq)]
pub enum JitStatus {
    /// Not compiled (mode or size): the interpreter runs it.
    Off,
    Compiling,
    /// Loaded, as `slices` kernels; `seconds` from the start of the compile until it was joined
    /// (an upper bound of the compile time; 0 when every slice came from the disk cache),
    /// `from_disk`: every slice came from the disk cache.
    Ready {
        seconds: f64,
        from_disk: bool,
        slices: usize,
    },
    /// The compiler or the loader failed: the interpreter runs it.
    Failed(String),
}

/// The cubins of a program's slices, in launch order.
type Cubins = Result<Vec<Vec<u8>>, String>;

enum State {
    Off,
    Compiling {
        started: Instant,
        thread: JoinHandle<Cubins>,
    },
    Loaded {
        _modules: Vec<Arc<CudaModule>>,
        funcs: Arc<[CudaFunction]>,
        seconds: f64,
        from_disk: bool,
    },
    Failed(String),
}

/// One program's compiled kernels (held by `DeviceConstraintProgram`).
pub struct JitKernel {
    state: Mutex<State>,
}

impl JitKernel {
    /// No compiled kernel.
    pub fn off() -> Self {
        Self {
            state: Mutex::new(State::Off),
        }
    }

    /// Starts compiling `program`, cut and built as `shape` says, for `ctx`'s device as `mode`
    /// says: loaded at once when every slice is in the disk cache, else the missing slices
    /// compiled on host threads.
    pub fn start(
        ctx: &GpuContext,
        program: &ConstraintProgram,
        mode: JitMode,
        shape: KernelShape,
    ) -> Self {
        if mode == JitMode::Interpreter {
            return Self::off();
        }
        let arch = match ctx.compute_capability() {
            Ok((major, minor)) => format!("sm_{major}{minor}"),
            Err(e) => return Self::failed(format!("compute capability: {e}")),
        };
        let sources = match kernel_sources(program, shape) {
            Ok(s) => s,
            Err(e) => return Self::failed(format!("source: {e}")),
        };
        let dir = cache_dir();
        let cached: Vec<Option<Vec<u8>>> = sources
            .iter()
            .map(|src| dir.as_deref().and_then(|d| cache_read(d, src, &arch)))
            .collect();
        if cached.iter().all(Option::is_some) {
            let cubins = cached.into_iter().flatten().collect();
            return Self {
                state: Mutex::new(load(ctx, cubins, 0.0, true)),
            };
        }
        if let JitMode::Auto { max_instructions } = mode
            && program.num_instructions() > max_instructions
        {
            return Self::off();
        }
        let started = Instant::now();
        let thread = std::thread::Builder::new()
            .name("rstark-nvrtc".into())
            .spawn(move || compile_slices(sources, cached, &arch, dir));
        match thread {
            Ok(thread) => Self {
                state: Mutex::new(State::Compiling { started, thread }),
            },
            Err(e) => Self::failed(format!("starting the compiler thread: {e}")),
        }
    }

    fn failed(why: String) -> Self {
        tracing::warn!("constraint kernel not compiled, the interpreter runs it: {why}");
        Self {
            state: Mutex::new(State::Failed(why)),
        }
    }

    /// The compiled kernels (one per slice, in launch order) if they are ready; with `wait`,
    /// after the compiler finishes.
    pub fn functions(&self, ctx: &GpuContext, wait: bool) -> Option<Arc<[CudaFunction]>> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let State::Compiling { thread, .. } = &*st
            && (wait || thread.is_finished())
        {
            let State::Compiling { started, thread } = std::mem::replace(&mut *st, State::Off)
            else {
                unreachable!()
            };
            let joined = thread.join();
            // from the start to the compiler's end (or now, when the kernel was not needed before)
            let seconds = started.elapsed().as_secs_f64();
            *st = match joined {
                Ok(Ok(cubins)) => load(ctx, cubins, seconds, false),
                Ok(Err(e)) => State::Failed(e),
                Err(_) => State::Failed("the compiler thread panicked".into()),
            };
            if let State::Failed(e) = &*st {
                tracing::warn!("constraint kernel not compiled, the interpreter runs it: {e}");
            }
        }
        match &*st {
            State::Loaded { funcs, .. } => Some(funcs.clone()),
            _ => None,
        }
    }

    pub fn status(&self) -> JitStatus {
        match &*self.state.lock().unwrap_or_else(|e| e.into_inner()) {
            State::Off => JitStatus::Off,
            State::Compiling { .. } => JitStatus::Compiling,
            State::Loaded {
                seconds,
                from_disk,
                funcs,
                ..
            } => JitStatus::Ready {
                seconds: *seconds,
                from_disk: *from_disk,
                slices: funcs.len(),
            },
            State::Failed(e) => JitStatus::Failed(e.clone()),
        }
    }
}

/// Compiles the slices not `cached`, on as many threads as the host has cores (NVRTC compiles
/// distinct programs concurrently), caching each on disk; the cubins in launch order.
fn compile_slices(
    sources: Vec<String>,
    cached: Vec<Option<Vec<u8>>>,
    arch: &str,
    dir: Option<PathBuf>,
) -> Cubins {
    let missing: Vec<usize> = (0..sources.len())
        .filter(|&i| cached[i].is_none())
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(missing.len())
        .max(1);
    let next = AtomicUsize::new(0);
    // each slice's cubin or compile error, once its worker is done with it
    type Slot = Mutex<Option<Result<Vec<u8>, String>>>;
    let compiled: Vec<Slot> = (0..sources.len()).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = missing.get(k) else { break };
                    let r = nvrtc_cubin(&sources[i], arch);
                    if let (Ok(cubin), Some(d)) = (&r, dir.as_deref())
                        && let Err(e) = cache_write(d, &sources[i], arch, cubin)
                    {
                        tracing::warn!("constraint kernel not cached in {}: {e}", d.display());
                    }
                    let failed = r.is_err();
                    *compiled[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    if failed {
                        // the rest would be wasted: the interpreter runs the program
                        next.store(missing.len(), Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    let mut cubins = Vec::with_capacity(sources.len());
    for (i, c) in cached.into_iter().enumerate() {
        match c {
            Some(cubin) => cubins.push(cubin),
            None => match compiled[i].lock().unwrap_or_else(|e| e.into_inner()).take() {
                Some(Ok(cubin)) => cubins.push(cubin),
                Some(Err(e)) => {
                    return Err(format!("slice {} of {}: {e}", i + 1, sources.len()));
                }
                None => return Err(format!("slice {} of {} not compiled", i + 1, sources.len())),
            },
        }
    }
    Ok(cubins)
}

/// A compiler thread never outlives its program: libnvrtc still compiling while the process exits
/// crashes it (its static destructors run under the thread), so dropping a program (its backend)
/// waits for the compiler.
impl Drop for JitKernel {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let State::Compiling { thread, .. } = std::mem::replace(st, State::Off) {
            let _ = thread.join();
        }
    }
}

/// Loads the slices' cubins into the device's context.
fn load(ctx: &GpuContext, cubins: Vec<Vec<u8>>, seconds: f64, from_disk: bool) -> State {
    let n = cubins.len();
    let mut modules = Vec::with_capacity(n);
    let mut funcs = Vec::with_capacity(n);
    for (i, cubin) in cubins.into_iter().enumerate() {
        let module = match ctx.cuda_context().load_module(Ptx::from_binary(cubin)) {
            Ok(m) => m,
            Err(e) => {
                return State::Failed(format!(
                    "loading the compiled kernel (slice {} of {n}): {e}",
                    i + 1
                ));
            }
        };
        match module.load_function(KERNEL_NAME) {
            Ok(f) => funcs.push(f),
            Err(e) => {
                return State::Failed(format!("loading {KERNEL_NAME} (slice {}): {e}", i + 1));
            }
        }
        modules.push(module);
    }
    tracing::info!(
        "constraint kernel compiled for its program ready: {n} slice(s), {seconds:.2} s{}",
        if from_disk { ", disk cache" } else { "" }
    );
    State::Loaded {
        _modules: modules,
        funcs: funcs.into(),
        seconds,
        from_disk,
    }
}

/// `source` compiled by NVRTC to a cubin for `arch`; an error names what failed (no libnvrtc,
/// the compiler's log).
fn nvrtc_cubin(source: &str, arch: &str) -> Result<Vec<u8>, String> {
    use cudarc::nvrtc::{result, sys};
    // SAFETY: only tries to open the library.
    if !unsafe { sys::is_culib_present() } {
        return Err(
            "libnvrtc was not found on the library path (CUDA toolkit or the \
                    nvidia-cuda-nvrtc package; LD_LIBRARY_PATH)"
                .into(),
        );
    }
    let src = std::ffi::CString::new(source).map_err(|e| format!("source: {e}"))?;
    // cudarc panics on a missing symbol: keep that inside this thread's result.
    std::panic::catch_unwind(|| {
        let prog = result::create_program(&src, None).map_err(|e| format!("nvrtc: {e:?}"))?;
        let opts = [format!("--gpu-architecture={arch}"), "-std=c++17".into()];
        // SAFETY: `prog` was created above and is destroyed once, below.
        let out = unsafe {
            match result::compile_program(prog, &opts) {
                Ok(()) => {
                    let mut size = 0usize;
                    match sys::nvrtcGetCUBINSize(prog, &mut size).result() {
                        Ok(()) => {
                            let mut cubin = vec![0u8; size];
                            sys::nvrtcGetCUBIN(prog, cubin.as_mut_ptr().cast())
                                .result()
                                .map(|()| cubin)
                                .map_err(|e| format!("nvrtcGetCUBIN: {e:?}"))
                        }
                        Err(e) => Err(format!("nvrtcGetCUBINSize: {e:?}")),
                    }
                }
                Err(e) => {
                    let log = result::get_program_log(prog)
                        .map(|l| {
                            let bytes: Vec<u8> = l.iter().map(|&c| c as u8).collect();
                            String::from_utf8_lossy(&bytes).into_owned()
                        })
                        .unwrap_or_default();
                    Err(format!("nvrtc: {e:?}: {}", log.trim_end_matches('\0')))
                }
            }
        };
        // SAFETY: created above, not destroyed before.
        let _ = unsafe { result::destroy_program(prog) };
        out
    })
    .unwrap_or_else(|_| Err("libnvrtc lacks a function rstark needs".into()))
}
