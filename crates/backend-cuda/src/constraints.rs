//! The composition polynomial on the GPU: a table's constraints compiled by rstark-constraints,
//! interpreted by `kernels/constraints.cu` on every quotient-domain row of the main/aux LDEs
//! already on the device. Gives exactly `rstark_backend_cpu::quotient_values`.
//!
//! Two kernels give the same values ([`ConstraintVariant`]): v1 keeps every register in a global
//! scratch and reads main rows row-major; v2 (the default) keeps the hottest registers in shared
//! memory and reads current-row main operands from a column-major copy of each chunk of rows
//! (docs/GPU.md, "Constraint kernel v2").

use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaFunction, CudaModule, CudaSlice, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;
use p3_field::PrimeField64;
use rstark_constraints::{ConstraintProgram, QuotientFrame};
use rstark_field::{EF, F, ef_to_base};

use crate::context::GpuContext;
use crate::error::{CudaError, DriverContext, Result};
use crate::grid;
use crate::kernels::{ARCHS, FATBIN};
use crate::matrix::DeviceMatrix;

const THREADS: u32 = 256;
/// v2's block size (its `__launch_bounds__(128, 8)`: 64 registers, 8 blocks per SM).
const THREADS_V2: u32 = 128;
/// v2: shared-memory words per thread at most (48 KB of dynamic shared memory per block, the
/// limit without an opt-in attribute).
const MAX_SLOTS: u32 = 48;
/// v2: the column-major copy of a chunk of main rows stays near this (chunks are powers of two).
const COLUMNS_BYTES: usize = 3 << 30;
/// Register scratch budget: the grid shrinks (each thread then takes several rows) so that
/// (base + 3·ext registers) × threads × 8 bytes stays near this.
const SCRATCH_BYTES: usize = 256 << 20;

fn shape(msg: impl Into<String>) -> CudaError {
    CudaError::Shape(msg.into())
}

/// Which kernel evaluates the program; every variant gives the same values (the parity tests
/// run each), they differ in speed (docs/PERF.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintVariant {
    /// v1: every register in the global scratch, main rows read row-major.
    Global,
    /// v2: registers of the program's `slots` hottest words per thread (base registers first,
    /// then extension registers, 3 words each; at most 48) in shared memory, the rest in the
    /// global scratch; with `columns`, current-row main operands from a column-major copy of each
    /// chunk of rows.
    Shared { slots: u32, columns: bool },
}

/// The variant a new kernel handle runs.
pub const DEFAULT_CONSTRAINT_VARIANT: ConstraintVariant = ConstraintVariant::Shared {
    slots: 24,
    columns: true,
};

/// The constraint kernels, loaded from the embedded fatbin.
pub struct ConstraintKernel {
    _module: Arc<CudaModule>,
    func: CudaFunction,
    func_v2: CudaFunction,
    rows_to_cols: CudaFunction,
    max_threads: usize,
    columns_bytes: usize,
    variant: Mutex<ConstraintVariant>,
}

/// A validated program on the device: as compiled (kernel v1) and with results forwarded
/// (kernel v2, [`ConstraintProgram::forward_results`]).
pub struct DeviceConstraintProgram {
    code: CudaSlice<u32>,
    code_fwd: CudaSlice<u32>,
    constants: CudaSlice<u64>,
    program: ConstraintProgram,
    /// Register counts of the forwarded program.
    fwd_regs: (u32, u32),
}

impl DeviceConstraintProgram {
    /// Validates `program` (the kernel trusts its indices) and uploads code and constants.
    pub fn upload(ctx: &GpuContext, program: &ConstraintProgram) -> Result<Self> {
        program
            .validate()
            .map_err(|e| shape(format!("constraint program: {e}")))?;
        let fwd = program.forward_results();
        fwd.validate()
            .map_err(|e| shape(format!("forwarded constraint program: {e}")))?;
        let padded = |p: &ConstraintProgram| {
            let mut code = p.code.clone();
            if code.is_empty() {
                code.resize(rstark_constraints::INSTR_WORDS, 0);
            }
            code
        };
        let mut constants = program.constants.clone();
        constants.push(0);
        Ok(Self {
            code: ctx.upload(&padded(program), "constraint program")?,
            code_fwd: ctx.upload(&padded(&fwd), "constraint program (forwarded)")?,
            constants: ctx.upload(&constants, "constraint constants")?,
            program: program.clone(),
            fwd_regs: (fwd.num_base_regs, fwd.num_ext_regs),
        })
    }

    pub fn program(&self) -> &ConstraintProgram {
        &self.program
    }
}

/// The main and aux matrices on the quotient domain: their first 2^{n+d} rows are the
/// bit-reversed quotient coset g·⟨ω_{n+d}⟩ (an LDE with blowup ≥ 2^d, or an extension with
/// blowup exactly 2^d).
pub struct QuotientDomain<'a> {
    pub main: &'a DeviceMatrix,
    pub aux: Option<&'a DeviceMatrix>,
    pub log_height: usize,
    pub log_quotient_degree: usize,
}

impl ConstraintKernel {
    pub fn load(ctx: &GpuContext) -> Result<Self> {
        let module = ctx
            .cuda_context()
            .load_module(Ptx::from_binary(FATBIN.to_vec()))
            .ctx(format!("loading the kernel fatbin ({ARCHS})"))?;
        let load = |name: &str| {
            module
                .load_function(name)
                .ctx(format!("loading kernel {name}"))
        };
        Ok(Self {
            func: load("constraints_quotient")?,
            func_v2: load("constraints_quotient_v2")?,
            rows_to_cols: load("cp_rows_to_cols")?,
            _module: module,
            max_threads: usize::MAX,
            columns_bytes: COLUMNS_BYTES,
            variant: Mutex::new(DEFAULT_CONSTRAINT_VARIANT),
        })
    }

    /// Caps the launch's threads (tests use it so that each thread takes several rows).
    pub fn set_max_threads(&mut self, n: usize) {
        self.max_threads = n.max(1);
    }

    /// Caps v2's column-major chunk (tests use it so that a launch covers part of the rows).
    pub fn set_columns_bytes(&mut self, bytes: usize) {
        self.columns_bytes = bytes.max(1);
    }

    /// Selects the kernel later calls run ([`DEFAULT_CONSTRAINT_VARIANT`] unless set).
    pub fn set_variant(&self, v: ConstraintVariant) {
        *self.variant.lock().unwrap_or_else(|e| e.into_inner()) = v;
    }

    pub fn variant(&self) -> ConstraintVariant {
        *self.variant.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Q(x_j) = Σ_i α^i C_i(x_j) / Z_H(x_j) on every row j of the quotient domain, as a
    /// 2^{n+d} × 3 device matrix (row j = the EF value's coefficients). `challenges` as
    /// [`ConstraintProgram::challenge_values`] lays them out.
    pub fn quotient_values(
        &self,
        ctx: &GpuContext,
        program: &DeviceConstraintProgram,
        domain: &QuotientDomain<'_>,
        public_values: &[F],
        challenges: &[EF],
    ) -> Result<DeviceMatrix> {
        let p = &program.program;
        let frame = QuotientFrame::new(domain.log_height, domain.log_quotient_degree)
            .map_err(|e| shape(e.to_string()))?;
        let log_q = frame.log_size();
        let q = 1usize << log_q;
        let main = domain.main;
        if main.width() != p.main_width || main.rows() < q {
            return Err(shape(format!(
                "main matrix {}x{} for a program of width {} on {q} quotient rows",
                main.rows(),
                main.width(),
                p.main_width
            )));
        }
        let dummy;
        let (aux_buf, aux_w) = match (p.aux_ext_width, domain.aux) {
            (0, _) => {
                dummy = ctx.alloc_words(1, "empty aux")?;
                (&dummy, 0u32)
            }
            (k, Some(a)) if a.width() == 3 * k && a.rows() >= q => (a.words(), a.width() as u32),
            (k, a) => {
                return Err(shape(format!(
                    "aux matrix {:?} for a program with {k} extension columns on {q} quotient rows",
                    a.map(|a| (a.rows(), a.width()))
                )));
            }
        };
        if public_values.len() < p.num_public_values {
            return Err(shape(format!(
                "{} public values, the program reads {}",
                public_values.len(),
                p.num_public_values
            )));
        }
        if challenges.len() < p.num_challenges() {
            return Err(shape(format!(
                "{} challenges, the program reads {}",
                challenges.len(),
                p.num_challenges()
            )));
        }
        let mut pubs: Vec<u64> = public_values.iter().map(|v| v.as_canonical_u64()).collect();
        pubs.push(0);
        let chal: Vec<u64> = challenges
            .iter()
            .flat_map(|&c| ef_to_base(c).map(|v| v.as_canonical_u64()))
            .collect();
        let frame_words = frame.to_words();
        let pubs = ctx.upload(&pubs, "public values")?;
        let chal = ctx.upload(&chal, "constraint challenges")?;
        let frame_dev = ctx.upload(&frame_words, "quotient frame")?;

        let mut out = ctx.alloc_words(3 * q, "quotient values")?;
        let n_instr = (p.code.len() / rstark_constraints::INSTR_WORDS) as u32;
        let main_w = main.width() as u32;
        let (log_q32, log_d32) = (log_q as u32, frame.log_quotient_degree as u32);
        let nb = p.num_base_regs;
        let ne = p.num_ext_regs;

        let (slots, columns) = match self.variant() {
            ConstraintVariant::Global => {
                let regs = nb as usize + 3 * ne as usize;
                let n_threads = thread_count(q, regs, THREADS).min(self.max_threads);
                let mut scratch =
                    ctx.alloc_words(regs.max(1) * n_threads, "constraint registers")?;
                let n_threads64 = n_threads as u64;
                let mut b = ctx.func(&self.func);
                b.arg(&program.code)
                    .arg(&n_instr)
                    .arg(&program.constants)
                    .arg(&chal)
                    .arg(&pubs)
                    .arg(main.words())
                    .arg(&main_w)
                    .arg(aux_buf)
                    .arg(&aux_w)
                    .arg(&frame_dev)
                    .arg(&log_q32)
                    .arg(&log_d32)
                    .arg(&mut scratch)
                    .arg(&nb)
                    .arg(&n_threads64)
                    .arg(&mut out);
                let cfg = LaunchConfig {
                    grid_dim: ((n_threads as u32).div_ceil(THREADS), 1, 1),
                    block_dim: (THREADS, 1, 1),
                    shared_mem_bytes: 0,
                };
                ctx.launch(b, cfg, "constraints_quotient")?;
                return Ok(DeviceMatrix::from_parts(out, q, 3));
            }
            ConstraintVariant::Shared { slots, columns } => (slots.min(MAX_SLOTS), columns),
        };

        // v2 runs the forwarded program: registers below kb / ke in shared memory (numbered
        // hottest first).
        let (nb, ne) = program.fwd_regs;
        let kb = nb.min(slots);
        let ke = ne.min((slots - kb) / 3);
        let shared_words = kb + 3 * ke;
        let nb_g = nb - kb;
        let global_regs = nb_g as usize + 3 * (ne - ke) as usize;
        // Rows per launch: all, or (column-major copy) a power of two whose copy fits its budget.
        let chunk = if columns && main_w > 0 {
            let fit = (self.columns_bytes / (8 * main.width())).max(1);
            q.min(1 << fit.ilog2()).min(1 << 21)
        } else {
            q
        };
        let mut cols = if columns && main_w > 0 {
            Some(ctx.alloc_words(chunk * main.width(), "main rows (column-major chunk)")?)
        } else {
            None
        };
        let n_threads = thread_count(chunk, global_regs, THREADS_V2).min(self.max_threads);
        let mut scratch =
            ctx.alloc_words(global_regs.max(1) * n_threads, "constraint registers")?;
        let n_threads64 = n_threads as u64;
        let chunk64 = chunk as u64;
        let null = 0u64;
        for row0 in (0..q).step_by(chunk) {
            let row0_64 = row0 as u64;
            if let Some(cols) = cols.as_mut() {
                let mut t = ctx.func(&self.rows_to_cols);
                t.arg(main.words())
                    .arg(&main_w)
                    .arg(&row0_64)
                    .arg(&chunk64)
                    .arg(cols);
                // row tiles along x, column tiles along y (looped in the kernel past 65535)
                let cfg = LaunchConfig {
                    grid_dim: (
                        grid::blocks_1d(chunk64, 32),
                        main_w.div_ceil(32).min(grid::MAX_GRID_YZ),
                        1,
                    ),
                    block_dim: (32, 8, 1),
                    shared_mem_bytes: 0,
                };
                ctx.launch(t, cfg, "cp_rows_to_cols")?;
            }
            let mut b = ctx.func(&self.func_v2);
            b.arg(&program.code_fwd)
                .arg(&n_instr)
                .arg(&program.constants)
                .arg(&chal)
                .arg(&pubs)
                .arg(main.words())
                .arg(&main_w);
            match cols.as_ref() {
                Some(c) => b.arg(c),
                None => b.arg(&null),
            };
            b.arg(aux_buf)
                .arg(&aux_w)
                .arg(&frame_dev)
                .arg(&log_q32)
                .arg(&log_d32)
                .arg(&row0_64)
                .arg(&chunk64)
                .arg(&kb)
                .arg(&ke)
                .arg(&mut scratch)
                .arg(&nb_g)
                .arg(&n_threads64)
                .arg(&mut out);
            let cfg = LaunchConfig {
                grid_dim: ((n_threads as u32).div_ceil(THREADS_V2), 1, 1),
                block_dim: (THREADS_V2, 1, 1),
                shared_mem_bytes: shared_words * THREADS_V2 * 8,
            };
            ctx.launch(b, cfg, "constraints_quotient_v2")?;
        }
        Ok(DeviceMatrix::from_parts(out, q, 3))
    }
}

/// Threads of the launch: one per row, fewer when the register scratch would exceed its budget.
fn thread_count(rows: usize, regs: usize, block: u32) -> usize {
    let cap = (SCRATCH_BYTES / (8 * regs.max(1))).max(1 << 14);
    let cap = cap.min(1 << 24) / block as usize * block as usize;
    rows.min(cap).max(1)
}
