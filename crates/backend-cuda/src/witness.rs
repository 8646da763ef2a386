//! The witness check on the device (`kernels/witness.cu`): a table's AIR constraints, compiled
//! without LogUp (`ProgramCache::get_or_build_air_only`), evaluated on the rows of the trace
//! domain with the host check's 0/1 selectors, each row folded with the powers of a random
//! extension element r (drawn from the OS per check, never from the transcript). A row whose sum
//! is non-zero fails some constraint; one whose constraints all hold sums to zero. A failing row
//! sums to zero only if r is a root of that row's non-zero polynomial Σ_i C_i X^i: probability
//! at most M/p^3 for M constraints. The smallest failing row comes back; the caller names its
//! smallest failing constraint on the host (`rstark_air::failing_constraint_at` on that row and
//! the next), so the report equals `rstark_air::first_failing_constraint`'s.
//!
//! Rows come in blocks (the whole trace at once, or blocks recomputed one after another): a
//! block is R natural rows [first, first + R) row-major, plus the row after its last.

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use p3_field::{PrimeCharacteristicRing, PrimeField64};
use rstark_field::{EF, F, ef_from_base, ef_to_base};

use crate::constraints::{DeviceConstraintProgram, thread_count};
use crate::context::GpuContext;
use crate::error::{CudaError, Result};
use crate::memory::DeviceBuf;

const THREADS: u32 = 256;

fn shape(msg: impl Into<String>) -> CudaError {
    CudaError::Shape(msg.into())
}

/// One check of one trace: the program, r's powers and the public values on the device.
pub struct WitnessCheck<'a> {
    program: &'a DeviceConstraintProgram,
    chal: DeviceBuf<u64>,
    pubs: DeviceBuf<u64>,
    log_height: usize,
}

/// A random extension element from the OS.
pub fn random_challenge() -> Result<EF> {
    let mut v = [F::ZERO; 3];
    for x in &mut v {
        let w = getrandom::u64().map_err(|e| shape(format!("no OS randomness: {e}")))?;
        *x = F::from_u64(w);
    }
    Ok(ef_from_base(v))
}

impl<'a> WitnessCheck<'a> {
    /// A check of `program` (AIR constraints only) on a trace of 2^log_height rows with
    /// `public_values`, with a fresh random r.
    pub fn new(
        ctx: &GpuContext,
        program: &'a DeviceConstraintProgram,
        public_values: &[F],
        log_height: usize,
    ) -> Result<Self> {
        Self::with_challenge(ctx, program, public_values, log_height, random_challenge()?)
    }

    /// As [`new`](Self::new) with a given r (tests).
    pub fn with_challenge(
        ctx: &GpuContext,
        program: &'a DeviceConstraintProgram,
        public_values: &[F],
        log_height: usize,
        r: EF,
    ) -> Result<Self> {
        let p = program.program();
        if p.aux_ext_width != 0
            || p.num_constraints != p.num_air_constraints
            || p.preprocessed_width != 0
            || p.num_periodic != 0
        {
            return Err(shape(
                "the witness check runs a program of main columns only (no LogUp constraints, \
                 no preprocessed or periodic columns)",
            ));
        }
        if public_values.len() < p.num_public_values {
            return Err(shape(format!(
                "{} public values, the program reads {}",
                public_values.len(),
                p.num_public_values
            )));
        }
        if log_height > crate::plan::MAX_LOG_N as usize {
            return Err(shape(format!("a trace of 2^{log_height} rows")));
        }
        let mut pows = Vec::with_capacity(p.num_constraints);
        let mut x = EF::ONE;
        for _ in 0..p.num_constraints {
            pows.push(x);
            x *= r;
        }
        let chal = p
            .challenge_values(&pows, EF::ZERO, &[], EF::ZERO)
            .map_err(|e| shape(e.to_string()))?;
        let chal: Vec<u64> = chal
            .iter()
            .flat_map(|&c| ef_to_base(c).map(|v| v.as_canonical_u64()))
            .collect();
        let mut pubs: Vec<u64> = public_values.iter().map(|v| v.as_canonical_u64()).collect();
        pubs.push(0);
        Ok(Self {
            program,
            chal: ctx.upload(&chal, "witness check challenges")?,
            pubs: ctx.upload(&pubs, "public values")?,
            log_height,
        })
    }

    /// The smallest failing row among natural rows [first_row, first_row + n_rows): `rows` holds
    /// them row-major (`n_rows` × the program's main width words, from word 0), `tail` = (buffer,
    /// word offset) the row after the last of them (row (first_row + n_rows) mod N; for the whole
    /// trace, row 0: `(rows, 0)`).
    pub fn check_rows(
        &self,
        ctx: &GpuContext,
        rows: &CudaSlice<u64>,
        n_rows: usize,
        first_row: usize,
        tail: (&CudaSlice<u64>, usize),
    ) -> Result<Option<usize>> {
        let p = self.program.program();
        let w = p.main_width;
        let n = 1usize << self.log_height;
        if n_rows == 0 {
            return Ok(None);
        }
        if w == 0
            || first_row.checked_add(n_rows).is_none_or(|end| end > n)
            || rows.len() < n_rows * w
            || tail.1.checked_add(w).is_none_or(|end| end > tail.0.len())
        {
            return Err(shape(format!(
                "witness check of rows [{first_row}, +{n_rows}) of 2^{} ({} words, tail at {} of \
                 {}) for a width of {w}",
                self.log_height,
                rows.len(),
                tail.1,
                tail.0.len()
            )));
        }
        let (nb, ne) = (p.num_base_regs, p.num_ext_regs);
        let regs = nb as usize + 3 * ne as usize;
        let n_threads = thread_count(n_rows, regs, THREADS);
        let mut scratch = ctx.alloc_words(regs.max(1) * n_threads, "witness check registers")?;
        let mut fail = ctx.upload(&[u64::MAX], "witness check result")?;
        let n_instr = p.num_instructions() as u32;
        let (w32, n_rows64, tail_off) = (w as u32, n_rows as u64, tail.1 as u64);
        let (first64, log_n32, n_threads64) =
            (first_row as u64, self.log_height as u32, n_threads as u64);
        let mut b = ctx.func(&ctx.k.witness_check);
        b.arg(self.program.code())
            .arg(&n_instr)
            .arg(self.program.constants())
            .arg(&self.chal)
            .arg(&self.pubs)
            .arg(rows)
            .arg(&w32)
            .arg(&n_rows64)
            .arg(tail.0)
            .arg(&tail_off)
            .arg(&first64)
            .arg(&log_n32)
            .arg(&mut scratch)
            .arg(&nb)
            .arg(&n_threads64)
            .arg(&mut fail);
        let cfg = LaunchConfig {
            grid_dim: ((n_threads as u32).div_ceil(THREADS), 1, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(b, cfg, "witness_check")?;
        let row = ctx.download(&fail, "witness check result")?[0];
        Ok((row != u64::MAX).then_some(row as usize))
    }
}
