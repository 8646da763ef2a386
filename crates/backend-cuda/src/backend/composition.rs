//! The composition round on the device, and the commitments every round shares.
//!
//! The quotient values come from the compiled constraint program run by `kernels/constraints.cu`
//! (`crate::constraints`; compiled and uploaded once per table and backend,
//! `crate::program_cache`) over the quotient domain's rows: the resident LDEs' prefix when the
//! quotient factor D is at most the blowup, an extension with blowup D computed from the
//! coefficients when it fits, and otherwise blocks of rows recomputed from the coefficients
//! (streamed, docs/GPU.md). If a table's constraints do not compile, an interim host path
//! downloads the quotient-domain rows and runs `rstark_backend_cpu::quotient_values` (its bytes
//! are counted under the phase "composition (host fallback)"). The quotient is then split into
//! its D parts on the device (docs/GPU.md, "Quotient split"): a transpose, one inverse NTT of
//! 2^{n+d} points over its 3 columns, and one kernel that unshifts the coset and scatters the
//! coefficients into the parts' columns, which are committed like any matrix. Nothing but the
//! root crosses PCIe after the constraint kernel.

use cudarc::driver::PushKernelArg;
use rstark_backend_cpu::{QuotientRows, quotient_values};
use rstark_field::{EF, F, Field, GENERATOR, PrimeCharacteristicRing, PrimeField64, flatten_ext};
use rstark_poly::RowMajor;
use rstark_protocol::CompositionInputs;

use crate::constraints::{FixedCoefs, QuotientDomain};
use crate::context::grid_1d;
use crate::error::{CudaError, Result};
use crate::matrix::{DeviceMatrix, to_field};
use crate::memory::DeviceBuf;
use crate::merkle::DeviceMerkleTree;
use crate::plan::MAX_LOG_N;
use crate::residency::{self, MatrixShape, Residency};
use crate::stream::DeviceCoefs;

use super::CudaBackend;
use super::committed::CudaCommitted;
use super::main_aux::MainRows;

fn shape(msg: impl Into<String>) -> CudaError {
    CudaError::Shape(msg.into())
}

/// Where the composition reads the quotient domain's rows.
enum QuotientRowsOn<'a> {
    /// Row-major matrices whose first 2^{n+d} rows are the domain (resident LDEs, or
    /// extensions with blowup D): main, aux, preprocessed.
    Matrices(
        &'a DeviceMatrix,
        Option<&'a DeviceMatrix>,
        Option<&'a DeviceMatrix>,
    ),
    /// Blocks of 2^k rows recomputed from the coefficients.
    Blocks(u32),
}

/// A table's extensions with blowup D: main, aux, preprocessed.
type Extensions = (DeviceMatrix, Option<DeviceMatrix>, Option<DeviceMatrix>);

impl CudaBackend {
    pub(crate) fn composition_dev(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
    ) -> std::result::Result<CudaCommitted, rstark_protocol::BackendError> {
        let n = inp.log_height;
        let d = inp.log_quotient_degree;
        let b = inp.log_blowup;
        if inp.main.log_height() != n
            || inp.main.log_blowup != b
            || [inp.aux, inp.preprocessed]
                .into_iter()
                .flatten()
                .any(|a| a.log_height() != n || a.log_blowup != b)
        {
            return Err(rstark_protocol::BackendError::BadInput(
                "main/aux/preprocessed height or blowup mismatch".into(),
            ));
        }
        // The periodic columns on the quotient domain (a small host table).
        let periodic = inp
            .periodic
            .map(|p| p.on_quotient_domain(n, d))
            .transpose()
            .map_err(|e| rstark_protocol::BackendError::Poly(e.to_string()))?;
        let quotient = {
            // Extensions with blowup D (D > B, when they fit), kept for this block only.
            let exts = self.phase("composition (quotient extension)", || {
                self.quotient_extensions(inp)
            })?;
            let rest_resident = [inp.aux, inp.preprocessed]
                .into_iter()
                .flatten()
                .all(|a| a.lde.is_some());
            let rows_on = match (&exts, inp.main.lde.as_ref()) {
                (Some((m, a, p)), _) => QuotientRowsOn::Matrices(m, a.as_ref(), p.as_ref()),
                (None, Some(main)) if d <= b && rest_resident => QuotientRowsOn::Matrices(
                    main,
                    inp.aux.and_then(|a| a.lde.as_ref()),
                    inp.preprocessed.and_then(|p| p.lde.as_ref()),
                ),
                _ => QuotientRowsOn::Blocks(self.composition_block_log(inp)),
            };
            let on_device = self.phase("composition (constraint kernel)", || {
                self.quotient_on_device(inp, &rows_on, periodic.as_ref())
            })?;
            match on_device {
                Some(q) => q,
                None => {
                    let q = self.phase_host("composition (host fallback)", || {
                        self.quotient_on_host(inp, &rows_on)
                    })?;
                    self.phase("composition (host fallback)", || {
                        DeviceMatrix::upload(
                            &self.ctx,
                            &RowMajor::new(flatten_ext(&q), 3).map_err(|e| shape(e.to_string()))?,
                        )
                    })?
                }
            }
        };
        let residency = self.planned(inp.table, 2);
        self.phase("composition (split + parts LDE + commit)", || {
            self.commit_quotient_parts(&quotient, n, d, b, residency)
        })
    }

    /// When D exceeds the blowup and the tables' matrices are resident: their extensions with
    /// blowup D, if they fit in what the budget leaves (else the rows are recomputed in blocks).
    fn quotient_extensions(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
    ) -> Result<Option<Extensions>> {
        let (d, b) = (inp.log_quotient_degree, inp.log_blowup);
        let resident = inp.main.lde.is_some()
            && [inp.aux, inp.preprocessed]
                .into_iter()
                .flatten()
                .all(|a| a.lde.is_some());
        if d <= b || !resident {
            return Ok(None);
        }
        let width = inp.main.width()
            + inp.aux.map_or(0, |a| a.width())
            + inp.preprocessed.map_or(0, |p| p.width());
        let rows = 1u64 << (inp.log_height + d);
        // the extensions, and what the constraint kernel needs beside them
        let need = rows * width as u64 * 8
            + residency::CONSTRAINT_COLUMNS_BYTES.min(rows.min(1 << 21) * width as u64 * 8)
            + residency::CONSTRAINT_SCRATCH_BYTES
            + 3 * rows * 8 * 3;
        if need + residency::SLACK_BYTES > self.available() {
            return Ok(None);
        }
        let main = self.ctx.extend(&inp.main.coefs, d as u32)?;
        let aux = match inp.aux {
            Some(a) => Some(self.ctx.extend(&a.coefs, d as u32)?),
            None => None,
        };
        let prep = match inp.preprocessed {
            Some(p) => Some(self.ctx.extend(&p.coefs, d as u32)?),
            None => None,
        };
        Ok(Some((main, aux, prep)))
    }

    /// Rows of the composition's recomputed blocks: as many as the budget leaves room for.
    fn composition_block_log(&self, inp: &CompositionInputs<'_, CudaCommitted>) -> u32 {
        let row_bytes = (inp.main.width()
            + inp.aux.map_or(0, |a| a.width())
            + inp.preprocessed.map_or(0, |p| p.width())) as u64
            * 8;
        let q_rows = 1u64 << (inp.log_height + inp.log_quotient_degree);
        let fixed =
            3 * q_rows * 8 * 3 + residency::CONSTRAINT_SCRATCH_BYTES + residency::SLACK_BYTES;
        residency::block_log(
            inp.log_height as u32,
            row_bytes,
            self.available().saturating_sub(fixed),
        )
    }

    /// The quotient's D parts as their coefficient matrix (N rows, 3D columns, part i in columns
    /// 3i..3i+2: `rstark_backend_cpu::split_quotient`'s layout), from its values on the quotient
    /// domain (2^{n+d} × 3, bit-reversed rows, as the constraint kernel writes them).
    pub fn split_quotient(
        &self,
        quotient: &DeviceMatrix,
        log_height: usize,
        log_quotient_degree: usize,
    ) -> Result<DeviceMatrix> {
        let log_q = log_height + log_quotient_degree;
        let inv = F::from_u64(1u64 << log_q).inverse();
        let coef = self.part_coefficients(quotient, log_height, log_quotient_degree, inv)?;
        Ok(DeviceMatrix::from_columns(
            coef,
            1 << log_height,
            3 << log_quotient_degree,
        ))
    }

    /// Splits the quotient (as [`split_quotient`](Self::split_quotient) takes it) into its parts
    /// and commits them (their LDE kept or not, as `residency` says): the composition's
    /// committed matrix.
    pub fn commit_quotient_parts(
        &self,
        quotient: &DeviceMatrix,
        log_height: usize,
        log_quotient_degree: usize,
        log_blowup: usize,
        residency: Option<Residency>,
    ) -> Result<CudaCommitted> {
        // N·coefficients, as the LDE's forward pass expects them
        let inv_d = F::from_u64(1u64 << log_quotient_degree).inverse();
        let coef = self.part_coefficients(quotient, log_height, log_quotient_degree, inv_d)?;
        let coefs = DeviceCoefs::from_parts(coef, log_height as u32, 3 << log_quotient_degree);
        self.commit_coefs(coefs, log_blowup, residency)
    }

    /// The parts' coefficients times `factor`, column-major (3D columns of N words).
    fn part_coefficients(
        &self,
        quotient: &DeviceMatrix,
        log_n: usize,
        log_d: usize,
        factor: F,
    ) -> Result<DeviceBuf<u64>> {
        let log_q = log_n + log_d;
        if log_d > 4 || log_q > MAX_LOG_N as usize {
            return Err(shape(format!(
                "quotient of 2^{log_n} x 2^{log_d} points: at most 16 parts and 2^{MAX_LOG_N} points"
            )));
        }
        let q = 1usize << log_q;
        if quotient.rows() != q || quotient.width() != 3 {
            return Err(shape(format!(
                "quotient of {} x {} for 2^{log_q} extension values",
                quotient.rows(),
                quotient.width()
            )));
        }
        let ctx = &self.ctx;
        let mut cols = ctx.alloc_words(3 * q, "quotient (column-major)")?;
        let (q64, w3) = (q as u64, 3u32);
        let mut b = ctx.func(&self.pk.rows_to_cols);
        b.arg(quotient.words()).arg(&q64).arg(&w3).arg(&mut cols);
        ctx.launch(b, grid_1d(3 * q64, 256), "pv_rows_to_cols")?;
        ctx.inverse_ntt_columns(&mut cols, log_q as u32, 3)?;
        let mut parts = ctx.alloc_words(3 * q, "quotient parts (coefficients)")?;
        let (log_n32, log_d32) = (log_n as u32, log_d as u32);
        let g_inv = GENERATOR.inverse().as_canonical_u64();
        let factor = factor.as_canonical_u64();
        let mut b = ctx.func(&self.pk.split_parts);
        b.arg(&cols)
            .arg(&log_n32)
            .arg(&log_d32)
            .arg(&g_inv)
            .arg(&factor)
            .arg(&mut parts);
        ctx.launch(b, grid_1d(q64, 256), "pv_split_parts")?;
        Ok(parts)
    }

    /// Q on the quotient domain from the compiled constraint program; `None` when the table's
    /// constraints do not compile to a program matching the prover's constraint count.
    fn quotient_on_device(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
        rows_on: &QuotientRowsOn<'_>,
        periodic: Option<&RowMajor>,
    ) -> Result<Option<DeviceMatrix>> {
        let Some(dev) = self.constraint_program(inp)? else {
            return Ok(None);
        };
        let program = dev.program();
        if program.num_constraints != inp.alpha_pows.len()
            || program.aux_ext_width != inp.aux.map_or(0, |a| a.width() / 3)
            || program.preprocessed_width != inp.preprocessed.map_or(0, |p| p.width())
            || program.num_periodic != periodic.map_or(0, |p| p.width)
        {
            return Ok(None);
        }
        let Ok(challenges) = program.challenge_values(
            inp.alpha_pows,
            inp.logup.alpha,
            &inp.logup.beta_pows,
            inp.claimed_sum,
        ) else {
            return Ok(None);
        };
        let q = match *rows_on {
            QuotientRowsOn::Matrices(main, aux, preprocessed) => {
                let domain = QuotientDomain {
                    main,
                    aux,
                    preprocessed,
                    periodic,
                    log_height: inp.log_height,
                    log_quotient_degree: inp.log_quotient_degree,
                };
                self.constraints.quotient_values(
                    &self.ctx,
                    &dev,
                    &domain,
                    inp.public_values,
                    &challenges,
                )?
            }
            QuotientRowsOn::Blocks(log_block) => self.constraints.quotient_values_blocks(
                &self.ctx,
                &dev,
                &inp.main.coefs,
                inp.aux.map(|a| &a.coefs),
                &FixedCoefs {
                    preprocessed: inp.preprocessed.map(|p| &p.coefs),
                    periodic,
                },
                inp.log_quotient_degree,
                log_block,
                inp.public_values,
                &challenges,
            )?,
        };
        Ok(Some(q))
    }

    /// Interim path: the quotient-domain rows come to the host and the CPU evaluates them.
    fn quotient_on_host(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
        rows_on: &QuotientRowsOn<'_>,
    ) -> std::result::Result<Vec<EF>, rstark_protocol::BackendError> {
        let q = 1usize << (inp.log_height + inp.log_quotient_degree);
        let d = inp.log_quotient_degree as u32;
        let rows = |m: &DeviceMatrix| -> Result<Vec<F>> {
            let mut v = m.download_words(&self.ctx).and_then(to_field)?;
            v.truncate(q * m.width());
            Ok(v)
        };
        // The domain's rows of a matrix: from the rows the kernel would read, else extended.
        let values = |c: &CudaCommitted, on: Option<&DeviceMatrix>| -> Result<Vec<F>> {
            match on {
                Some(m) => rows(m),
                None => rows(&self.ctx.extend(&c.coefs, d)?),
            }
        };
        let (main_on, aux_on, prep_on) = match *rows_on {
            QuotientRowsOn::Matrices(m, a, p) => (Some(m), a, p),
            QuotientRowsOn::Blocks(_) => (None, None, None),
        };
        let main = values(inp.main, main_on).map_err(super::dev_err)?;
        let aux = inp
            .aux
            .map(|a| values(a, aux_on))
            .transpose()
            .map_err(super::dev_err)?;
        let prep = inp
            .preprocessed
            .map(|p| values(p, prep_on))
            .transpose()
            .map_err(super::dev_err)?;
        quotient_values(
            inp,
            &QuotientRows {
                main: &main,
                main_width: inp.main.width(),
                aux: aux.as_deref(),
                aux_width: inp.aux.map_or(0, |a| a.width()),
                preprocessed: prep.as_deref(),
                preprocessed_width: inp.preprocessed.map_or(0, |p| p.width()),
            },
        )
    }

    /// Uploads natural-order values on H and commits them: whole (resident), or in blocks of
    /// rows into the coefficients when the budget cannot hold the LDE (streamed).
    pub(crate) fn commit_rows(
        &self,
        trace: &RowMajor,
        log_blowup: usize,
        residency: Option<Residency>,
    ) -> Result<CudaCommitted> {
        if trace.width == 0 || !trace.values.len().is_multiple_of(trace.width) {
            return Err(shape("a matrix of width 0, or ragged rows"));
        }
        self.commit_main_rows(&MainRows::Host(trace), log_blowup, residency, None, false)?
            .unchecked()
    }

    /// Commits a natural-order trace already in device memory (e.g. generated there); the
    /// trace is freed once its coefficients exist.
    pub(crate) fn commit_device_trace(
        &self,
        dev: DeviceMatrix,
        log_blowup: usize,
        residency: Option<Residency>,
    ) -> Result<CudaCommitted> {
        let shape = MatrixShape {
            log_height: dev.rows().trailing_zeros(),
            width: dev.width() as u64,
            log_blowup: log_blowup as u32,
        };
        if dev.rows().is_power_of_two() && self.choose(shape, residency) == Residency::Resident {
            let (coefs, lde, _) = self
                .ctx
                .coefficients_and_lde(dev, log_blowup as u32, false)?;
            return self.commit_resident(coefs, lde, log_blowup);
        }
        let coefs = self.ctx.coefficients(&dev)?;
        drop(dev);
        self.commit_coefs(coefs, log_blowup, residency)
    }

    /// A resident commitment: the LDE kept, its tree built.
    pub(crate) fn commit_resident(
        &self,
        coefs: DeviceCoefs,
        lde: DeviceMatrix,
        log_blowup: usize,
    ) -> Result<CudaCommitted> {
        let tree = DeviceMerkleTree::commit(&self.ctx, &lde)?;
        Ok(CudaCommitted {
            coefs,
            lde: Some(lde),
            tree,
            log_blowup,
            pending_trace: Default::default(),
        })
    }

    /// Extends and commits a matrix given by its coefficients: the whole LDE kept (resident),
    /// or its tree built from column chunks (streamed); `None`: whichever the budget allows.
    pub(crate) fn commit_coefs(
        &self,
        coefs: DeviceCoefs,
        log_blowup: usize,
        residency: Option<Residency>,
    ) -> Result<CudaCommitted> {
        let shape = coefs.shape(log_blowup as u32);
        match self.choose(shape, residency) {
            Residency::Resident => {
                let lde = self.ctx.extend(&coefs, log_blowup as u32)?;
                self.commit_resident(coefs, lde, log_blowup)
            }
            Residency::Streamed => {
                let cols = shape.chunk_cols(self.chunk_room(shape)) as usize;
                let tree = self.ctx.streamed_tree(&coefs, log_blowup as u32, cols)?;
                Ok(CudaCommitted {
                    coefs,
                    lde: None,
                    tree,
                    log_blowup,
                    pending_trace: Default::default(),
                })
            }
        }
    }

    /// Bytes a streamed commitment of `shape` may use for its LDE chunk: what the budget leaves
    /// after the leaf sponges and the tree.
    pub(crate) fn chunk_room(&self, shape: MatrixShape) -> u64 {
        let leaves = shape.lde_rows() / 2;
        self.available()
            .saturating_sub(leaves * 25 * 8 + shape.tree_bytes() + residency::SLACK_BYTES)
    }

    /// The planned residency, or (unplanned) resident when its LDE and commitment fit in what
    /// the budget leaves with room for the rest of the round.
    pub(crate) fn choose(&self, shape: MatrixShape, planned: Option<Residency>) -> Residency {
        if let Some(r) = planned {
            return r;
        }
        let need = shape.kept_bytes(Residency::Resident)
            + shape.commit_bytes(
                Residency::Resident,
                shape.width.min(residency::MAX_CHUNK_COLS),
            );
        if need + residency::SLACK_BYTES <= self.available() {
            Residency::Resident
        } else {
            Residency::Streamed
        }
    }
}
