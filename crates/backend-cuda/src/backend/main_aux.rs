//! Rounds 1 and 2 on the device.
//!
//! `commit_main`: a main trace's rows are written into device memory (uploaded from the host or
//! generated there, [`MainRows`]) whole (resident) or in blocks of rows (streamed, straight into
//! the coefficients), and when asked the witness is checked on each block before it is used
//! (`crate::witness`: the AIR's constraints without LogUp, compiled once per table; the
//! smallest failing row is named on the host from that row and the next, as
//! `rstark_air::first_failing_constraint` reports it). No host copy of a trace is made for the
//! check: a generated (Keccak) trace never exists on the host.
//!
//! `commit_aux`: the LogUp auxiliary trace is built on the device (`crate::logup`) from the main
//! trace's values on H: a resident main keeps them (`CudaCommitted::pending_trace`, taken and
//! dropped here), a streamed one recomputes them from its coefficients in blocks. The aux trace
//! is then committed like any trace.

use cudarc::driver::CudaSlice;
use rstark_air::logup::LogupChallenges;
use rstark_air::{Interaction, Table, failing_constraint_at, first_failing_constraint};
use rstark_field::{F, PrimeCharacteristicRing};
use rstark_poly::RowMajor;
use rstark_protocol::{AuxCommitted, BackendError, KeccakTrace, MainSource, MainTrace};

use crate::constraints::DeviceConstraintProgram;
use crate::error::{CudaError, Result};
use crate::logup::{AuxBuilder, AuxOutcome, BlockLayout, DeviceInteractions, RowOrder};
use crate::matrix::{DeviceMatrix, to_field};
use crate::program_cache::CompileInputs;
use crate::residency::{self, MatrixShape, Residency};
use crate::tracegen::{DeviceKeccakInputs, KECCAK_TRACE_WIDTH};
use crate::witness::WitnessCheck;

use super::CudaBackend;
use super::committed::CudaCommitted;

type BResult<T> = std::result::Result<T, BackendError>;

/// Where a main trace's rows come from: any rows of it can be written into device memory.
pub(crate) enum MainRows<'a> {
    /// Natural-order values on the host (uploaded).
    Host(&'a RowMajor),
    /// A Keccak-f trace generated on the device from its inputs.
    Keccak(DeviceKeccakInputs),
}

impl MainRows<'_> {
    fn rows(&self) -> usize {
        match self {
            Self::Host(m) => m.values.len().checked_div(m.width).unwrap_or(0),
            Self::Keccak(k) => k.rows(),
        }
    }

    fn width(&self) -> usize {
        match self {
            Self::Host(m) => m.width,
            Self::Keccak(_) => KECCAK_TRACE_WIDTH,
        }
    }

    /// Rows r0 .. r0 + count, row-major into `out`.
    fn write(
        &self,
        b: &CudaBackend,
        r0: usize,
        count: usize,
        out: &mut CudaSlice<u64>,
    ) -> Result<()> {
        let w = self.width();
        if r0 + count > self.rows() || out.len() < count * w {
            return Err(CudaError::Shape(format!(
                "trace rows {r0}..{} of {} into {} words",
                r0 + count,
                self.rows(),
                out.len()
            )));
        }
        match self {
            Self::Host(m) => b
                .ctx
                .upload_field_into(&m.values[r0 * w..(r0 + count) * w], out),
            Self::Keccak(k) => b.ctx.keccak_trace_rows(k, r0, count, out),
        }
    }

    /// Rows `rows`, to the host.
    fn fetch(&self, b: &CudaBackend, rows: &[usize]) -> Result<Vec<Vec<F>>> {
        let w = self.width();
        let mut buf = b.ctx.alloc_words(w, "a trace row")?;
        rows.iter()
            .map(|&r| {
                self.write(b, r, 1, &mut buf)?;
                to_field(b.ctx.download(&buf, "a trace row")?)
            })
            .collect()
    }
}

/// The witness check of one main trace while it is committed.
pub(crate) struct Check<'a> {
    /// The table's index in the proof.
    pub table: usize,
    pub air: &'a dyn Table,
    pub public_values: &'a [F],
}

/// A committed main trace, or the first constraint its witness fails.
pub(crate) enum MainCommit {
    Committed(Box<CudaCommitted>),
    Failed { row: usize, constraint: usize },
}

impl MainCommit {
    /// The commitment of a trace committed without a check.
    pub(crate) fn unchecked(self) -> Result<CudaCommitted> {
        match self {
            Self::Committed(c) => Ok(*c),
            Self::Failed { row, .. } => Err(CudaError::WitnessCheck(format!(
                "row {row} reported failing where no check was asked"
            ))),
        }
    }
}

impl CudaBackend {
    /// [`rstark_protocol::Backend::commit_main`].
    pub(crate) fn commit_main_dev(
        &self,
        t: &MainTrace<'_>,
        log_blowup: usize,
    ) -> BResult<CudaCommitted> {
        let residency = self.planned(t.table, 0);
        // A resident trace is kept for commit_aux when the table has interactions.
        let keep = !t.air.interactions().is_empty();
        let check = t.check_witness.then_some(Check {
            table: t.table,
            air: t.air,
            public_values: t.public_values,
        });
        let generated;
        let (phase, rows) = match t.source {
            MainSource::Host(m) => ("trace upload + LDE + commit", MainRows::Host(m)),
            MainSource::Generated(g) => match g.as_any().downcast_ref::<KeccakTrace>() {
                Some(k) => (
                    "trace generation + LDE + commit",
                    MainRows::Keccak(self.phase("trace generation + LDE + commit", || {
                        self.ctx.keccak_inputs(&k.inputs)
                    })?),
                ),
                // a generator this backend does not run: its host values
                None => {
                    generated = g.generate();
                    ("trace upload + LDE + commit", MainRows::Host(&generated))
                }
            },
        };
        let committed = self.phase(phase, || {
            self.commit_main_rows(&rows, log_blowup, residency, check.as_ref(), keep)
        })?;
        match committed {
            MainCommit::Committed(c) => Ok(*c),
            MainCommit::Failed { row, constraint } => {
                Err(BackendError::WitnessFailed { row, constraint })
            }
        }
    }

    /// Commits the main trace `src`: whole on the device (resident; kept for the aux trace with
    /// `keep`), or in blocks of rows put straight into the coefficients (streamed). With
    /// `check`, every block is checked before it is used, and the first failure stops the
    /// commitment. `residency`: the plan's, or `None` (the budget left decides).
    pub(crate) fn commit_main_rows(
        &self,
        src: &MainRows<'_>,
        log_blowup: usize,
        residency: Option<Residency>,
        check: Option<&Check<'_>>,
        keep: bool,
    ) -> Result<MainCommit> {
        let (n, w) = (src.rows(), src.width());
        if w == 0 || !n.is_power_of_two() {
            return Err(CudaError::Shape(format!(
                "a trace of {n} rows and {w} columns"
            )));
        }
        let log_n = n.trailing_zeros();
        let shape = MatrixShape {
            log_height: log_n,
            width: w as u64,
            log_blowup: log_blowup as u32,
        };
        let program = match check {
            Some(c) => match self.witness_program(c, w)? {
                Some(p) => Some(p),
                None => {
                    // constraints the compiler does not take: checked on the host
                    if let Some(f) = self.host_check(src, c)? {
                        return Ok(f);
                    }
                    None
                }
            },
            None => None,
        };
        let checker = match (&program, check) {
            (Some(p), Some(c)) => Some(WitnessCheck::new(
                &self.ctx,
                p,
                c.public_values,
                log_n as usize,
            )?),
            _ => None,
        };
        let failed = |row: usize| -> Result<MainCommit> {
            let c = check.ok_or_else(|| CudaError::Shape("a failure without a check".into()))?;
            let pair = src.fetch(self, &[row, (row + 1) % n])?;
            match failing_constraint_at(c.air, &pair[0], &pair[1], c.public_values, row, n) {
                Some(constraint) => Ok(MainCommit::Failed { row, constraint }),
                None => Err(CudaError::WitnessCheck(format!(
                    "the device flagged row {row}, where the host finds every constraint holding"
                ))),
            }
        };
        if self.choose(shape, residency) == Residency::Resident {
            // A generated Keccak trace that nothing else reads (no device check, not kept):
            // generated straight into the transform's input layout, never row-major.
            if let (MainRows::Keccak(k), None, false) = (src, &checker, keep) {
                let vals = self.ctx.keccak_trace_bitrev_cols(k)?;
                let (coefs, lde) =
                    self.ctx
                        .coefficients_and_lde_of_bitrev(vals, log_n, w, log_blowup as u32)?;
                let committed = self.commit_resident(coefs, lde, log_blowup)?;
                return Ok(MainCommit::Committed(Box::new(committed)));
            }
            let mut buf = self.ctx.alloc_words(n * w, "the main trace")?;
            src.write(self, 0, n, &mut buf)?;
            if let Some(ch) = &checker
                && let Some(row) = ch.check_rows(&self.ctx, &buf, n, 0, (&buf, 0))?
            {
                return failed(row);
            }
            let dev = DeviceMatrix::from_parts(buf, n, w);
            let (coefs, lde, pending) =
                self.ctx
                    .coefficients_and_lde(dev, log_blowup as u32, keep)?;
            let committed = self.commit_resident(coefs, lde, log_blowup)?;
            *committed
                .pending_trace
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = pending;
            return Ok(MainCommit::Committed(Box::new(committed)));
        }
        let mut b = self.ctx.coef_builder(log_n, w)?;
        // blocks as large as half of what the budget leaves (the rest: the LDE chunks after)
        let room = self.available().saturating_sub(residency::SLACK_BYTES) / 2;
        let block = residency::trace_block_rows(n, w, room);
        let mut buf = self.ctx.alloc_words(block * w, "a block of trace rows")?;
        let mut tail = match checker {
            Some(_) => Some(self.ctx.alloc_words(w, "the row after a block")?),
            None => None,
        };
        for r0 in (0..n).step_by(block) {
            src.write(self, r0, block, &mut buf)?;
            if let (Some(ch), Some(tail)) = (&checker, tail.as_mut()) {
                src.write(self, (r0 + block) % n, 1, tail)?;
                if let Some(row) = ch.check_rows(&self.ctx, &buf, block, r0, (tail, 0))? {
                    return failed(row);
                }
            }
            self.ctx.coef_add_rows(&mut b, &buf, r0, block)?;
        }
        drop((buf, tail));
        let coefs = self.ctx.coef_finish(b)?;
        let committed = self.commit_coefs(coefs, log_blowup, Some(Residency::Streamed))?;
        Ok(MainCommit::Committed(Box::new(committed)))
    }

    /// The table's AIR constraints compiled for the witness check (cached), or `None` where they
    /// do not compile for a trace of width `w` or read columns besides the main trace (the
    /// prover checks tables with preprocessed or periodic columns on the host).
    fn witness_program(
        &self,
        c: &Check<'_>,
        w: usize,
    ) -> Result<Option<std::sync::Arc<DeviceConstraintProgram>>> {
        // from the constraints the prover evaluated for the shape, when it handed them over
        let inputs = match self
            .pending
            .constraints(c.table, c.air, c.public_values.len())
        {
            Some(k) => CompileInputs::from_symbolic(c.air, k),
            None => CompileInputs::of(c.air, c.public_values.len()),
        };
        let lookup = self.programs.lookup(inputs.air_only());
        let p = self
            .programs
            .finish(lookup, |p| DeviceConstraintProgram::upload(&self.ctx, &p))?;
        Ok(p.filter(|p| {
            let p = p.program();
            p.main_width == w && p.preprocessed_width == 0 && p.num_periodic == 0
        }))
    }

    /// The host's check, on the trace's host values (a device trace comes back first): for
    /// tables whose constraints do not compile.
    fn host_check(&self, src: &MainRows<'_>, c: &Check<'_>) -> Result<Option<MainCommit>> {
        let (n, w) = (src.rows(), src.width());
        let fetched;
        let values = match src {
            MainRows::Host(m) => &m.values,
            MainRows::Keccak(_) => {
                let mut buf = self.ctx.alloc_words(n * w, "the main trace")?;
                src.write(self, 0, n, &mut buf)?;
                fetched = to_field(self.ctx.download(&buf, "the main trace")?)?;
                &fetched
            }
        };
        Ok(
            first_failing_constraint(c.air, values, w, c.public_values).map(|f| {
                MainCommit::Failed {
                    row: f.row,
                    constraint: f.constraint,
                }
            }),
        )
    }

    /// [`rstark_protocol::Backend::commit_aux`].
    pub(crate) fn commit_aux_dev(
        &self,
        table: usize,
        main: &CudaCommitted,
        interactions: &[Interaction],
        challenges: &LogupChallenges,
        log_blowup: usize,
    ) -> BResult<AuxCommitted<CudaCommitted>> {
        let outcome = self.phase("LogUp aux trace", || {
            self.aux_trace(main, interactions, challenges)
        })?;
        let aux = match outcome {
            AuxOutcome::Built(aux) => aux,
            AuxOutcome::ZeroDenominator { row, interaction } => {
                return Err(BackendError::LogupZeroDenominator { row, interaction });
            }
        };
        let residency = self.planned(table, 1);
        let committed = self.phase("aux LDE + commit", || {
            self.commit_device_trace(aux.matrix, log_blowup, residency)
        })?;
        Ok(AuxCommitted {
            committed,
            claimed_sum: aux.claimed_sum,
            interaction_sums: aux.interaction_sums,
        })
    }

    /// The aux trace of `main`: from its kept values on H (then dropped), else from blocks of
    /// them recomputed from its coefficients.
    fn aux_trace(
        &self,
        main: &CudaCommitted,
        interactions: &[Interaction],
        challenges: &LogupChallenges,
    ) -> Result<AuxOutcome> {
        let (log_n, w) = (main.log_height(), main.width());
        let inter = DeviceInteractions::new(&self.ctx, interactions, challenges, w)?;
        let mut aux = AuxBuilder::new(&self.ctx, log_n, inter.len())?;
        let pending = main
            .pending_trace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match pending {
            Some(trace) => {
                let n = trace.rows();
                aux.add_rows(
                    &self.ctx,
                    &inter,
                    trace.words(),
                    n,
                    BlockLayout::RowMajor,
                    RowOrder::Natural { first: 0 },
                )?;
                // the main trace is not read any more
                drop(trace);
            }
            None => {
                // block m of the bit-reversed H: natural rows bitrev_{n−k}(m) + bitrev_k(i)·2^{n−k}
                let k = residency::block_log(log_n as u32, w as u64 * 8, self.available())
                    .min(log_n as u32);
                let rows = 1usize << k;
                let mut buf = self.ctx.alloc_words(rows * w, "a block of main rows")?;
                let shift = log_n as u32 - k;
                for m in 0..1u64 << shift {
                    self.ctx.coset_block_into(
                        &main.coefs,
                        F::ONE,
                        log_n as u32,
                        k,
                        m,
                        0,
                        w,
                        &mut buf,
                    )?;
                    let first = crate::plan::bitrev(m, shift) as usize;
                    aux.add_rows(
                        &self.ctx,
                        &inter,
                        &buf,
                        rows,
                        BlockLayout::ColumnMajor,
                        RowOrder::BitReversed { first, shift },
                    )?;
                }
            }
        }
        aux.finish(&self.ctx)
    }
}
