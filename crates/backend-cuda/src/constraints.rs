//! The composition polynomial on the GPU: a table's constraints compiled by rstark-constraints,
//! interpreted by `kernels/constraints.cu` on every quotient-domain row of the main/aux LDEs
//! already on the device. Gives exactly `rstark_backend_cpu::quotient_values`.
//!
//! Two kernels give the same values ([`ConstraintVariant`]): v1 keeps every register in a global
//! scratch and reads main rows row-major; v2 (the default) keeps the hottest registers in shared
//! memory and reads current-row main operands from a column-major copy of each chunk of rows
//! (docs/GPU.md, "Constraint kernel v2"). A table with preprocessed or periodic columns runs the
//! `*_fixed` twin of either kernel, which also reads those (operand source `FIXED`); the plain
//! kernels' code is unchanged by them.

use std::sync::{Arc, Mutex};

use cudarc::driver::{
    CudaFunction, CudaModule, CudaSlice, DeviceRepr, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::Ptx;
use p3_field::PrimeField64;
use rstark_constraints::{ConstraintProgram, QuotientFrame};
use rstark_field::{EF, F, ef_to_base};
use rstark_poly::RowMajor;

use crate::context::GpuContext;
use crate::error::{CudaError, DriverContext, Result};
use crate::jit::{JitKernel, JitMode, JitStatus};
use crate::jit_source::{KernelShape, has_fixed};
use crate::kernels::{ARCHS, FATBIN};
use crate::matrix::DeviceMatrix;
use crate::memory::DeviceBuf;
use crate::stream::DeviceCoefs;

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
    /// The kernels of tables with preprocessed or periodic columns.
    func_fixed: CudaFunction,
    func_v2_fixed: CudaFunction,
    rows_to_cols: CudaFunction,
    max_threads: usize,
    columns_bytes: usize,
    variant: Mutex<ConstraintVariant>,
    /// When programs get kernels of their own (src/jit.rs); v2's launches use one when ready.
    jit_mode: Mutex<JitMode>,
}

/// A validated program on the device: as compiled (kernel v1) and with results forwarded
/// (kernel v2, [`ConstraintProgram::forward_results`]).
pub struct DeviceConstraintProgram {
    code: DeviceBuf<u32>,
    code_fwd: DeviceBuf<u32>,
    constants: DeviceBuf<u64>,
    program: ConstraintProgram,
    /// Register counts of the forwarded program.
    fwd_regs: (u32, u32),
    /// The program's own compiled kernel (run in v2's place once ready).
    jit: JitKernel,
}

impl DeviceConstraintProgram {
    /// Validates `program` (the kernel trusts its indices) and uploads code and constants; no
    /// compiled kernel (the interpreters run it).
    pub fn upload(ctx: &GpuContext, program: &ConstraintProgram) -> Result<Self> {
        Self::upload_with(ctx, program, JitMode::Interpreter)
    }

    /// As [`upload`](Self::upload), and starts compiling the program's own kernel as `mode` says
    /// (its shape from the environment: `KernelShape::from_env`, src/jit.rs).
    pub fn upload_with(
        ctx: &GpuContext,
        program: &ConstraintProgram,
        mode: JitMode,
    ) -> Result<Self> {
        Self::upload_shaped(ctx, program, mode, KernelShape::from_env())
    }

    /// As [`upload_with`](Self::upload_with), its kernel cut and built as `kernel_shape` says.
    pub fn upload_shaped(
        ctx: &GpuContext,
        program: &ConstraintProgram,
        mode: JitMode,
        kernel_shape: KernelShape,
    ) -> Result<Self> {
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
            jit: JitKernel::start(ctx, program, mode, kernel_shape),
        })
    }

    pub fn program(&self) -> &ConstraintProgram {
        &self.program
    }

    /// Where the program's compiled kernel stands.
    pub fn jit_status(&self) -> JitStatus {
        self.jit.status()
    }

    /// Waits for the program's compiled kernel (if one is being compiled) and says where it stands.
    pub fn wait_for_jit(&self, ctx: &GpuContext) -> JitStatus {
        self.jit.functions(ctx, true);
        self.jit.status()
    }

    /// The program as compiled (kernel v1 and the witness check run it).
    pub(crate) fn code(&self) -> &DeviceBuf<u32> {
        &self.code
    }

    pub(crate) fn constants(&self) -> &DeviceBuf<u64> {
        &self.constants
    }
}

/// The main and aux matrices on the quotient domain: their first 2^{n+d} rows are the
/// bit-reversed quotient coset g·⟨ω_{n+d}⟩ (an LDE with blowup ≥ 2^d, or an extension with
/// blowup exactly 2^d).
pub struct QuotientDomain<'a> {
    pub main: &'a DeviceMatrix,
    pub aux: Option<&'a DeviceMatrix>,
    /// The preprocessed columns on the same domain (tables that have them).
    pub preprocessed: Option<&'a DeviceMatrix>,
    /// The periodic columns on the quotient domain (host values,
    /// `rstark_protocol::PeriodicColumns::on_quotient_domain`), for tables that have them.
    pub periodic: Option<&'a RowMajor>,
    pub log_height: usize,
    pub log_quotient_degree: usize,
}

/// A table's fixed columns for [`ConstraintKernel::quotient_values_blocks`]: the preprocessed
/// columns' coefficients (their blocks are recomputed like main's) and the periodic table.
#[derive(Clone, Copy, Default)]
pub struct FixedCoefs<'a> {
    pub preprocessed: Option<&'a DeviceCoefs>,
    pub periodic: Option<&'a RowMajor>,
}

/// Where kernel v2 reads a matrix's rows (kernels/constraints.cu `CpSrc`): element (row j,
/// column c) at base[(j − first)·row_stride + c·col_stride].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct CpSrc {
    base: u64,
    first: u64,
    row_stride: u64,
    col_stride: u64,
}

// SAFETY: four u64 fields, `repr(C)`: the kernel's `struct CpSrc` byte for byte.
unsafe impl DeviceRepr for CpSrc {}

/// A table's fixed columns as the `*_fixed` kernels read them (kernels/constraints.cu
/// `CpFixed`): preprocessed current and next rows, and the periodic table (row k & per_mask of
/// `per` for the point of natural index k, n_per words per row).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct CpFixed {
    prep_cur: CpSrc,
    prep_next: CpSrc,
    per: u64,
    n_per: u64,
    per_mask: u64,
}

// SAFETY: two CpSrc and three u64 fields, `repr(C)`: the kernel's `struct CpFixed` byte for byte.
unsafe impl DeviceRepr for CpFixed {}

/// A table's periodic table on the device for one quotient evaluation.
struct DevicePeriodic {
    buf: DeviceBuf<u64>,
    n_per: u64,
    mask: u64,
}

impl DevicePeriodic {
    /// Uploads `table` (what the program reads: `num_periodic` columns, a power-of-two number
    /// of rows dividing the quotient domain's 2^log_q), `None` for a program without periodic
    /// columns.
    fn upload(
        ctx: &GpuContext,
        p: &ConstraintProgram,
        table: Option<&RowMajor>,
        log_q: u32,
    ) -> Result<Option<Self>> {
        match (p.num_periodic, table) {
            (0, _) => Ok(None),
            (c, Some(t))
                if t.width == c
                    && t.values.len().is_multiple_of(c)
                    && t.height().is_power_of_two()
                    && t.height() <= 1usize << log_q =>
            {
                let words: Vec<u64> = t.values.iter().map(|v| v.as_canonical_u64()).collect();
                Ok(Some(Self {
                    buf: ctx.upload(&words, "periodic columns (quotient domain)")?,
                    n_per: c as u64,
                    mask: t.height() as u64 - 1,
                }))
            }
            (c, t) => Err(shape(format!(
                "periodic table {:?} for a program with {c} periodic columns on 2^{log_q} rows",
                t.map(|t| (t.height(), t.width))
            ))),
        }
    }

    /// The kernel's `CpFixed` with preprocessed rows from `prep_cur` / `prep_next`.
    fn fixed(ctx: &GpuContext, per: Option<&Self>, prep_cur: CpSrc, prep_next: CpSrc) -> CpFixed {
        CpFixed {
            prep_cur,
            prep_next,
            per: per.map_or(0, |p| ctx.device_address(&p.buf)),
            n_per: per.map_or(0, |p| p.n_per),
            per_mask: per.map_or(0, |p| p.mask),
        }
    }
}

impl CpSrc {
    /// A whole row-major matrix of `width` columns.
    fn row_major(ctx: &GpuContext, buf: &CudaSlice<u64>, width: usize) -> Self {
        Self {
            base: ctx.device_address(buf),
            first: 0,
            row_stride: width as u64,
            col_stride: 1,
        }
    }

    /// A whole device matrix, in its layout.
    fn of(ctx: &GpuContext, m: &DeviceMatrix) -> Self {
        let (row_stride, col_stride) = m.strides();
        Self {
            base: ctx.device_address(m.words()),
            first: 0,
            row_stride,
            col_stride,
        }
    }

    /// Rows first .. first + rows, column-major (rows words per column).
    fn col_major(ctx: &GpuContext, buf: &CudaSlice<u64>, first: usize, rows: usize) -> Self {
        Self {
            base: ctx.device_address(buf),
            first: first as u64,
            row_stride: 1,
            col_stride: rows as u64,
        }
    }
}

/// What every v2 launch of one quotient evaluation shares.
struct V2Launch<'a> {
    program: &'a DeviceConstraintProgram,
    n_instr: u32,
    chal: DeviceBuf<u64>,
    pubs: DeviceBuf<u64>,
    frame: DeviceBuf<u64>,
    log_q: u32,
    log_d: u32,
    kb: u32,
    ke: u32,
    nb_g: u32,
    shared_words: u32,
    scratch: DeviceBuf<u64>,
    n_threads: usize,
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
            func_fixed: load("constraints_quotient_fixed")?,
            func_v2_fixed: load("constraints_quotient_v2_fixed")?,
            rows_to_cols: load("cp_rows_to_cols")?,
            _module: module,
            max_threads: usize::MAX,
            columns_bytes: COLUMNS_BYTES,
            variant: Mutex::new(DEFAULT_CONSTRAINT_VARIANT),
            jit_mode: Mutex::new(JitMode::from_env()),
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

    /// When programs uploaded from now on get kernels of their own (default: `JitMode::from_env`).
    pub fn set_jit_mode(&self, mode: JitMode) {
        *self.jit_mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    pub fn jit_mode(&self) -> JitMode {
        *self.jit_mode.lock().unwrap_or_else(|e| e.into_inner())
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
        let q = 1usize << (domain.log_height + domain.log_quotient_degree);
        let main = domain.main;
        if main.width() != p.main_width || main.rows() < q {
            return Err(shape(format!(
                "main matrix {}x{} for a program of width {} on {q} quotient rows",
                main.rows(),
                main.width(),
                p.main_width
            )));
        }
        let aux = match (p.aux_ext_width, domain.aux) {
            (0, _) => None,
            (k, Some(a)) if a.width() == 3 * k && a.rows() >= q => Some(a),
            (k, a) => {
                return Err(shape(format!(
                    "aux matrix {:?} for a program with {k} extension columns on {q} quotient rows",
                    a.map(|a| (a.rows(), a.width()))
                )));
            }
        };
        let inputs = upload_inputs(
            ctx,
            p,
            domain.log_height,
            domain.log_quotient_degree,
            public_values,
            challenges,
        )?;
        // Fixed columns: the preprocessed rows read in place, the periodic table.
        let prep_rows = match (p.preprocessed_width, domain.preprocessed) {
            (0, _) => CpSrc::row_major(ctx, main.words(), 0), // never read
            (w, Some(m)) if m.width() == w && m.rows() >= q => CpSrc::of(ctx, m),
            (w, m) => {
                return Err(shape(format!(
                    "preprocessed matrix {:?} for a program with {w} preprocessed columns on {q} rows",
                    m.map(|m| (m.rows(), m.width()))
                )));
            }
        };
        let per = DevicePeriodic::upload(ctx, p, domain.periodic, inputs.log_q)?;
        let fixed =
            has_fixed(p).then(|| DevicePeriodic::fixed(ctx, per.as_ref(), prep_rows, prep_rows));
        let mut out = ctx.alloc_words(3 * q, "quotient values")?;
        let main_w = main.width() as u32;
        let (slots, columns) = match self.variant() {
            ConstraintVariant::Global => {
                // v1 reads rows in place: row-major copies of column-major matrices
                let row_major =
                    |m: &DeviceMatrix| m.is_col_major().then(|| ctx.row_major_copy(m)).transpose();
                let main_copy = row_major(main)?;
                let aux_copy = match aux {
                    Some(a) => row_major(a)?,
                    None => None,
                };
                let main = main_copy.as_ref().unwrap_or(main);
                let aux = aux_copy.as_ref().or(aux);
                let dummy = ctx.alloc_words(1, "empty aux")?;
                let (aux_buf, aux_w) =
                    aux.map_or((&*dummy, 0u32), |a| (a.words(), a.width() as u32));
                let (nb, ne) = (p.num_base_regs, p.num_ext_regs);
                let regs = nb as usize + 3 * ne as usize;
                let n_threads = thread_count(q, regs, THREADS).min(self.max_threads);
                let mut scratch =
                    ctx.alloc_words(regs.max(1) * n_threads, "constraint registers")?;
                let n_threads64 = n_threads as u64;
                let n_instr = (p.code.len() / rstark_constraints::INSTR_WORDS) as u32;
                let mut b = ctx.func(if fixed.is_some() {
                    &self.func_fixed
                } else {
                    &self.func
                });
                b.arg(&program.code)
                    .arg(&n_instr)
                    .arg(&program.constants)
                    .arg(&inputs.chal)
                    .arg(&inputs.pubs)
                    .arg(main.words())
                    .arg(&main_w)
                    .arg(aux_buf)
                    .arg(&aux_w);
                if let Some(f) = &fixed {
                    b.arg(f);
                }
                b.arg(&inputs.frame)
                    .arg(&inputs.log_q)
                    .arg(&inputs.log_d)
                    .arg(&mut scratch)
                    .arg(&nb)
                    .arg(&n_threads64)
                    .arg(&mut out);
                let cfg = LaunchConfig {
                    grid_dim: ((n_threads as u32).div_ceil(THREADS), 1, 1),
                    block_dim: (THREADS, 1, 1),
                    shared_mem_bytes: 0,
                };
                let name = if fixed.is_some() {
                    "constraints_quotient_fixed"
                } else {
                    "constraints_quotient"
                };
                ctx.launch(b, cfg, name)?;
                return Ok(DeviceMatrix::from_parts(out, q, 3));
            }
            ConstraintVariant::Shared { slots, columns } => (slots.min(MAX_SLOTS), columns),
        };
        // Rows per launch: all, or (column-major copy of a row-major main) a power of two whose
        // copy fits its budget.
        let columns = columns && !main.is_col_major();
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
        let v2 = self.v2_launch(ctx, program, inputs, slots, chunk)?;
        let main_rows = CpSrc::of(ctx, main);
        let aux_rows = aux.map_or(CpSrc::row_major(ctx, main.words(), 0), |a| {
            CpSrc::of(ctx, a)
        }); // never read without aux
        for row0 in (0..q).step_by(chunk) {
            let main_cur = match cols.as_mut() {
                Some(cols) => {
                    self.rows_to_cols(ctx, main, row0, chunk, cols)?;
                    CpSrc::col_major(ctx, cols, row0, chunk)
                }
                None => main_rows,
            };
            self.launch_v2(
                ctx,
                &v2,
                [main_cur, main_rows, aux_rows, aux_rows],
                fixed.as_ref(),
                row0,
                chunk,
                &mut out,
            )?;
        }
        Ok(DeviceMatrix::from_parts(out, q, 3))
    }

    /// As [`quotient_values`](Self::quotient_values) for matrices held as coefficients: the
    /// quotient domain's rows are recomputed in blocks of 2^log_block rows (at most N), each
    /// launch reading a block's current rows and the block holding their next rows (column-major).
    /// The blocks are visited along the cycles of "next" (a block's next rows are the rows of the
    /// block whose coset is shifted by ω_n), so each is computed about once.
    #[allow(clippy::too_many_arguments)]
    pub fn quotient_values_blocks(
        &self,
        ctx: &GpuContext,
        program: &DeviceConstraintProgram,
        main: &DeviceCoefs,
        aux: Option<&DeviceCoefs>,
        fixed: &FixedCoefs<'_>,
        log_quotient_degree: usize,
        log_block: u32,
        public_values: &[F],
        challenges: &[EF],
    ) -> Result<DeviceMatrix> {
        let p = &program.program;
        let log_n = main.log_n();
        let (log_d, k) = (log_quotient_degree as u32, log_block);
        let prep = fixed.preprocessed;
        if main.width() != p.main_width
            || aux.map_or(0, |a| a.width()) != 3 * p.aux_ext_width
            || aux.is_some_and(|a| a.log_n() != log_n)
            || prep.map_or(0, |m| m.width()) != p.preprocessed_width
            || prep.is_some_and(|m| m.log_n() != log_n)
            || k > log_n
        {
            return Err(shape(format!(
                "blocks of 2^{k} rows of a 2^{log_n} x {} matrix (aux {:?}) for a program of \
                 width {} with {} extension columns",
                main.width(),
                aux.map(|a| a.width()),
                p.main_width,
                p.aux_ext_width
            )));
        }
        let inputs = upload_inputs(
            ctx,
            p,
            log_n as usize,
            log_quotient_degree,
            public_values,
            challenges,
        )?;
        let log_q = log_n + log_d;
        let q = 1usize << log_q;
        let block = 1usize << k;
        let slots = match self.variant() {
            ConstraintVariant::Shared { slots, .. } => slots.min(MAX_SLOTS),
            ConstraintVariant::Global => match DEFAULT_CONSTRAINT_VARIANT {
                ConstraintVariant::Shared { slots, .. } => slots,
                ConstraintVariant::Global => 0,
            },
        };
        let per = DevicePeriodic::upload(ctx, p, fixed.periodic, log_q)?;
        let mut out = ctx.alloc_words(3 * q, "quotient values")?;
        let v2 = self.v2_launch(ctx, program, inputs, slots, block)?;
        let (mw, aw) = (main.width(), aux.map_or(0, |a| a.width()));
        let pw = prep.map_or(0, |m| m.width());
        // [main, aux, preprocessed] of the current block and of the block holding its next rows
        let alloc = |w: usize, what| ctx.alloc_words(w.max(1) * block, what);
        let mut cur = [
            alloc(mw, "current main rows (recomputed block)")?,
            alloc(aw, "current aux rows (recomputed block)")?,
            alloc(pw, "current preprocessed rows (recomputed block)")?,
        ];
        let mut next = [
            alloc(mw, "next main rows (recomputed block)")?,
            alloc(aw, "next aux rows (recomputed block)")?,
            alloc(pw, "next preprocessed rows (recomputed block)")?,
        ];
        // the block with coset exponent e (block index bitrev(e)); returns its index
        let fill = |bufs: &mut [DeviceBuf<u64>; 3], e: u64| -> Result<u64> {
            let m = crate::plan::bitrev(e, log_q - k);
            ctx.lde_block_into(main, log_q, k, m, 0, mw, &mut bufs[0])?;
            if let Some(a) = aux {
                ctx.lde_block_into(a, log_q, k, m, 0, aw, &mut bufs[1])?;
            }
            if let Some(pm) = prep {
                ctx.lde_block_into(pm, log_q, k, m, 0, pw, &mut bufs[2])?;
            }
            Ok(m)
        };
        let srcs = |bufs: &[DeviceBuf<u64>; 3], m: u64| -> [CpSrc; 3] {
            let first = m as usize * block;
            [0, 1, 2].map(|i| CpSrc::col_major(ctx, &bufs[i], first, block))
        };
        let blocks = 1u64 << (log_q - k);
        let step = 1u64 << log_d; // multiplying by ω_n adds D to the coset exponent
        for r in 0..step.min(blocks) {
            let mut e = r;
            let mut m = fill(&mut cur, e)?;
            loop {
                let e_next = (e + step) % blocks;
                let m_next = if e_next == e {
                    m
                } else {
                    fill(&mut next, e_next)?
                };
                let [mc, ac, pc] = srcs(&cur, m);
                let [mn, an, pn] = if e_next == e {
                    [mc, ac, pc]
                } else {
                    srcs(&next, m_next)
                };
                let fx = has_fixed(p).then(|| DevicePeriodic::fixed(ctx, per.as_ref(), pc, pn));
                self.launch_v2(
                    ctx,
                    &v2,
                    [mc, mn, ac, an],
                    fx.as_ref(),
                    m as usize * block,
                    block,
                    &mut out,
                )?;
                if e_next == r {
                    break;
                }
                std::mem::swap(&mut cur, &mut next);
                (e, m) = (e_next, m_next);
            }
        }
        Ok(DeviceMatrix::from_parts(out, q, 3))
    }

    /// Rows row0 .. row0 + rows of the row-major `m` into the column-major `cols`.
    fn rows_to_cols(
        &self,
        ctx: &GpuContext,
        m: &DeviceMatrix,
        row0: usize,
        rows: usize,
        cols: &mut CudaSlice<u64>,
    ) -> Result<()> {
        let w = m.width() as u32;
        let (row0_64, rows64) = (row0 as u64, rows as u64);
        let mut t = ctx.func(&self.rows_to_cols);
        t.arg(m.words())
            .arg(&w)
            .arg(&row0_64)
            .arg(&rows64)
            .arg(cols);
        // 32 × 32 tiles; the kernel strides over row tiles in y (at most 65535 blocks there).
        let cfg = LaunchConfig {
            grid_dim: (w.div_ceil(32), rows64.div_ceil(32).min(65_535) as u32, 1),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(t, cfg, "cp_rows_to_cols")
    }

    /// Shared state of v2's launches over `rows_per_launch` rows: the register split between
    /// shared memory (the `slots` hottest words) and the global scratch.
    fn v2_launch<'a>(
        &self,
        ctx: &GpuContext,
        program: &'a DeviceConstraintProgram,
        inputs: KernelInputs,
        slots: u32,
        rows_per_launch: usize,
    ) -> Result<V2Launch<'a>> {
        // v2 runs the forwarded program: registers below kb / ke in shared memory (numbered
        // hottest first).
        let (nb, ne) = program.fwd_regs;
        let kb = nb.min(slots);
        let ke = ne.min((slots - kb) / 3);
        let nb_g = nb - kb;
        let global_regs = nb_g as usize + 3 * (ne - ke) as usize;
        let n_threads =
            thread_count(rows_per_launch, global_regs, THREADS_V2).min(self.max_threads);
        let scratch = ctx.alloc_words(global_regs.max(1) * n_threads, "constraint registers")?;
        Ok(V2Launch {
            program,
            n_instr: (program.program.code.len() / rstark_constraints::INSTR_WORDS) as u32,
            chal: inputs.chal,
            pubs: inputs.pubs,
            frame: inputs.frame,
            log_q: inputs.log_q,
            log_d: inputs.log_d,
            kb,
            ke,
            nb_g,
            shared_words: kb + 3 * ke,
            scratch,
            n_threads,
        })
    }

    /// One v2 launch over quotient rows row0 .. row0 + rows; `srcs`: main current, main next,
    /// aux current, aux next; `fixed`: the fixed columns (then the `_fixed` kernel runs).
    #[allow(clippy::too_many_arguments)]
    fn launch_v2(
        &self,
        ctx: &GpuContext,
        v: &V2Launch<'_>,
        srcs: [CpSrc; 4],
        fixed: Option<&CpFixed>,
        row0: usize,
        rows: usize,
        out: &mut CudaSlice<u64>,
    ) -> Result<()> {
        let n_threads = v.n_threads.min(rows).max(1);
        let (row0_64, rows64, n_threads64) = (row0 as u64, rows as u64, n_threads as u64);
        let [mc, mn, ac, an] = srcs;
        // The program's own kernels (one per slice, run in order over the same rows) take v2's
        // (or v2_fixed's) arguments and ignore the interpreter's; they need no shared memory.
        let jit = v
            .program
            .jit
            .functions(ctx, self.jit_mode() == JitMode::Wait);
        let interpreter = if fixed.is_some() {
            &self.func_v2_fixed
        } else {
            &self.func_v2
        };
        let funcs: &[CudaFunction] = match &jit {
            Some(f) => f,
            None => std::slice::from_ref(interpreter),
        };
        for func in funcs {
            let mut b = ctx.func(func);
            b.arg(&v.program.code_fwd)
                .arg(&v.n_instr)
                .arg(&v.program.constants)
                .arg(&v.chal)
                .arg(&v.pubs)
                .arg(&mc)
                .arg(&mn)
                .arg(&ac)
                .arg(&an);
            if let Some(f) = fixed {
                b.arg(f);
            }
            b.arg(&v.frame)
                .arg(&v.log_q)
                .arg(&v.log_d)
                .arg(&row0_64)
                .arg(&rows64)
                .arg(&v.kb)
                .arg(&v.ke)
                .arg(&v.scratch)
                .arg(&v.nb_g)
                .arg(&n_threads64)
                .arg(&mut *out);
            let cfg = LaunchConfig {
                grid_dim: ((n_threads as u32).div_ceil(THREADS_V2), 1, 1),
                block_dim: (THREADS_V2, 1, 1),
                shared_mem_bytes: if jit.is_some() {
                    0
                } else {
                    v.shared_words * THREADS_V2 * 8
                },
            };
            let name = match (jit.is_some(), fixed.is_some()) {
                (true, _) => crate::jit_source::KERNEL_NAME,
                (false, true) => "constraints_quotient_v2_fixed",
                (false, false) => "constraints_quotient_v2",
            };
            ctx.launch(b, cfg, name)?;
        }
        Ok(())
    }
}

/// The per-evaluation inputs every kernel version reads, on the device.
struct KernelInputs {
    chal: DeviceBuf<u64>,
    pubs: DeviceBuf<u64>,
    frame: DeviceBuf<u64>,
    log_q: u32,
    log_d: u32,
}

/// Checks the public values and challenges against the program and uploads them with the
/// quotient frame.
fn upload_inputs(
    ctx: &GpuContext,
    p: &ConstraintProgram,
    log_height: usize,
    log_quotient_degree: usize,
    public_values: &[F],
    challenges: &[EF],
) -> Result<KernelInputs> {
    let frame =
        QuotientFrame::new(log_height, log_quotient_degree).map_err(|e| shape(e.to_string()))?;
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
    Ok(KernelInputs {
        chal: ctx.upload(&chal, "constraint challenges")?,
        pubs: ctx.upload(&pubs, "public values")?,
        frame: ctx.upload(&frame.to_words(), "quotient frame")?,
        log_q: frame.log_size() as u32,
        log_d: frame.log_quotient_degree as u32,
    })
}

/// Threads of the launch: one per row, fewer when the register scratch would exceed its budget.
pub(crate) fn thread_count(rows: usize, regs: usize, block: u32) -> usize {
    let cap = (SCRATCH_BYTES / (8 * regs.max(1))).max(1 << 14);
    let cap = cap.min(1 << 24) / block as usize * block as usize;
    rows.min(cap).max(1)
}
