//! The composition polynomial on the GPU: a table's constraints compiled by rstark-constraints,
//! interpreted by `kernels/constraints.cu` on every quotient-domain row of the main/aux LDEs
//! already on the device. Gives exactly `rstark_backend_cpu::quotient_values`.

use std::sync::Arc;

use cudarc::driver::{CudaFunction, CudaModule, CudaSlice, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;
use p3_field::PrimeField64;
use rstark_constraints::{ConstraintProgram, QuotientFrame};
use rstark_field::{EF, F, ef_to_base};

use crate::context::GpuContext;
use crate::error::{CudaError, DriverContext, Result};
use crate::kernels::{ARCHS, FATBIN};
use crate::matrix::DeviceMatrix;

const THREADS: u32 = 256;
/// Register scratch budget: the grid shrinks (each thread then takes several rows) so that
/// (base + 3·ext registers) × threads × 8 bytes stays near this.
const SCRATCH_BYTES: usize = 256 << 20;

fn shape(msg: impl Into<String>) -> CudaError {
    CudaError::Shape(msg.into())
}

/// The constraint kernel, loaded from the embedded fatbin.
pub struct ConstraintKernel {
    _module: Arc<CudaModule>,
    func: CudaFunction,
    max_threads: usize,
}

/// A validated program on the device.
pub struct DeviceConstraintProgram {
    code: CudaSlice<u32>,
    constants: CudaSlice<u64>,
    program: ConstraintProgram,
}

impl DeviceConstraintProgram {
    /// Validates `program` (the kernel trusts its indices) and uploads code and constants.
    pub fn upload(ctx: &GpuContext, program: &ConstraintProgram) -> Result<Self> {
        program
            .validate()
            .map_err(|e| shape(format!("constraint program: {e}")))?;
        let mut code = program.code.clone();
        if code.is_empty() {
            code.resize(rstark_constraints::INSTR_WORDS, 0);
        }
        let mut constants = program.constants.clone();
        constants.push(0);
        Ok(Self {
            code: ctx.upload(&code, "constraint program")?,
            constants: ctx.upload(&constants, "constraint constants")?,
            program: program.clone(),
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
        let func = module
            .load_function("constraints_quotient")
            .ctx("loading kernel constraints_quotient")?;
        Ok(Self {
            _module: module,
            func,
            max_threads: usize::MAX,
        })
    }

    /// Caps the launch's threads (tests use it so that each thread takes several rows).
    pub fn set_max_threads(&mut self, n: usize) {
        self.max_threads = n.max(1);
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

        let regs = p.num_base_regs as usize + 3 * p.num_ext_regs as usize;
        let n_threads = thread_count(q, regs).min(self.max_threads);
        let mut scratch = ctx.alloc_words(regs.max(1) * n_threads, "constraint registers")?;
        let mut out = ctx.alloc_words(3 * q, "quotient values")?;

        let n_instr = (p.code.len() / rstark_constraints::INSTR_WORDS) as u32;
        let main_w = main.width() as u32;
        let (log_q32, log_d32) = (log_q as u32, frame.log_quotient_degree as u32);
        let nb = p.num_base_regs;
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
        Ok(DeviceMatrix::from_parts(out, q, 3))
    }
}

/// Threads of the launch: one per row, fewer when the register scratch would exceed its budget.
fn thread_count(rows: usize, regs: usize) -> usize {
    let cap = (SCRATCH_BYTES / (8 * regs.max(1))).max(1 << 14);
    let cap = cap.min(1 << 24) / THREADS as usize * THREADS as usize;
    rows.min(cap).max(1)
}
