//! The composition round on the device. The quotient values come from the compiled constraint
//! program run by `kernels/constraints.cu` over the main/aux LDEs already resident there
//! (`crate::constraints`); the program is compiled and uploaded once per table and backend
//! (`crate::program_cache`). If a table's constraints do not compile, an interim host path
//! downloads the quotient-domain rows and runs `rstark_backend_cpu::quotient_values` (its bytes
//! are counted under the phase "composition (host fallback)"). The quotient is then split into
//! its D parts on the device (docs/GPU.md, "Quotient split"): a transpose, one inverse NTT of
//! 2^{n+d} points over its 3 columns, and one kernel that unshifts the coset and scatters the
//! coefficients into the parts' columns, which the LDE's forward pass extends and the tree
//! commits. Nothing but the root crosses PCIe after the constraint kernel.

use cudarc::driver::{CudaSlice, PushKernelArg};
use rstark_backend_cpu::{QuotientRows, quotient_values};
use rstark_field::{EF, F, Field, GENERATOR, PrimeCharacteristicRing, PrimeField64, flatten_ext};
use rstark_poly::RowMajor;
use rstark_protocol::CompositionInputs;

use crate::constraints::{DeviceConstraintProgram, QuotientDomain};
use crate::context::grid_1d;
use crate::error::{CudaError, Result};
use crate::matrix::{DeviceMatrix, to_field};
use crate::merkle::DeviceMerkleTree;
use crate::plan::MAX_LOG_N;
use crate::staging::{UploadMode, pipelines, staged};

use super::CudaBackend;
use super::committed::CudaCommitted;

fn shape(msg: impl Into<String>) -> CudaError {
    CudaError::Shape(msg.into())
}

impl CudaBackend {
    pub(crate) fn composition_dev(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
    ) -> std::result::Result<CudaCommitted, rstark_protocol::BackendError> {
        let n = inp.log_height;
        let d = inp.log_quotient_degree;
        let b = inp.log_blowup;
        if inp.main.lde.rows() != (1usize << (n + b)) {
            return Err(rstark_protocol::BackendError::BadInput(
                "main LDE height mismatch".into(),
            ));
        }
        // The rows on the quotient domain: the LDE prefix, or an extension with blowup 2^d.
        let ext = |m: &CudaCommitted| -> Result<Option<DeviceMatrix>> {
            if d <= b {
                Ok(None)
            } else {
                let trace = m
                    .trace
                    .as_ref()
                    .ok_or_else(|| shape("a committed matrix without its trace"))?;
                self.ctx.lde(trace, d as u32).map(Some)
            }
        };
        let main_ext = self.phase("composition (quotient extension)", || ext(inp.main))?;
        let aux_ext = match inp.aux {
            Some(a) => self.phase("composition (quotient extension)", || ext(a))?,
            None => None,
        };
        let main_q = main_ext.as_ref().unwrap_or(&inp.main.lde);
        let aux_q = inp.aux.map(|a| aux_ext.as_ref().unwrap_or(&a.lde));

        let on_device = self.phase("composition (constraint kernel)", || {
            self.quotient_on_device(inp, main_q, aux_q)
        })?;
        let quotient = match on_device {
            Some(q) => q,
            None => {
                let q = self.phase_host("composition (host fallback)", || {
                    self.quotient_on_host(inp, main_q, aux_q)
                })?;
                self.phase("composition (host fallback)", || {
                    DeviceMatrix::upload(
                        &self.ctx,
                        &RowMajor::new(flatten_ext(&q), 3).map_err(|e| shape(e.to_string()))?,
                    )
                })?
            }
        };
        self.phase("composition (split + parts LDE + commit)", || {
            self.commit_quotient_parts(&quotient, n, d, b)
        })
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
        self.ctx
            .colmajor_matrix(&coef, 1 << log_height, 3 << log_quotient_degree)
    }

    /// Splits the quotient (as [`split_quotient`](Self::split_quotient) takes it) into its parts,
    /// extends them to g·⟨ω_{n+b}⟩ and commits them: the composition's committed matrix.
    pub fn commit_quotient_parts(
        &self,
        quotient: &DeviceMatrix,
        log_height: usize,
        log_quotient_degree: usize,
        log_blowup: usize,
    ) -> Result<CudaCommitted> {
        // N·coefficients, as the LDE's forward pass expects them
        let inv_d = F::from_u64(1u64 << log_quotient_degree).inverse();
        let coef = self.part_coefficients(quotient, log_height, log_quotient_degree, inv_d)?;
        let (lde, tree) = self.ctx.extend_commit_coefficients(
            &coef,
            log_height as u32,
            3 << log_quotient_degree,
            log_blowup as u32,
        )?;
        Ok(CudaCommitted {
            lde,
            tree,
            log_blowup,
            trace: None,
        })
    }

    /// The parts' coefficients times `factor`, column-major (3D columns of N words).
    fn part_coefficients(
        &self,
        quotient: &DeviceMatrix,
        log_n: usize,
        log_d: usize,
        factor: F,
    ) -> Result<CudaSlice<u64>> {
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
        main_q: &DeviceMatrix,
        aux_q: Option<&DeviceMatrix>,
    ) -> Result<Option<DeviceMatrix>> {
        let Some(dev) = self
            .programs
            .get_or_build(inp.air, inp.public_values.len(), |p| {
                DeviceConstraintProgram::upload(&self.ctx, &p)
            })?
        else {
            return Ok(None);
        };
        let program = dev.program();
        if program.num_constraints != inp.alpha_pows.len()
            || program.aux_ext_width != aux_q.map_or(0, |a| a.width() / 3)
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
        let domain = QuotientDomain {
            main: main_q,
            aux: aux_q,
            log_height: inp.log_height,
            log_quotient_degree: inp.log_quotient_degree,
        };
        self.constraints
            .quotient_values(&self.ctx, &dev, &domain, inp.public_values, &challenges)
            .map(Some)
    }

    /// Interim path: the quotient-domain rows come to the host and the CPU evaluates them.
    fn quotient_on_host(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
        main_q: &DeviceMatrix,
        aux_q: Option<&DeviceMatrix>,
    ) -> std::result::Result<Vec<EF>, rstark_protocol::BackendError> {
        let q = 1usize << (inp.log_height + inp.log_quotient_degree);
        let rows =
            |m: &DeviceMatrix| -> std::result::Result<Vec<F>, rstark_protocol::BackendError> {
                let mut v = m
                    .download_words(&self.ctx)
                    .and_then(to_field)
                    .map_err(super::dev_err)?;
                v.truncate(q * m.width());
                Ok(v)
            };
        let main = rows(main_q)?;
        let aux = aux_q.map(rows).transpose()?;
        quotient_values(
            inp,
            &QuotientRows {
                main: &main,
                main_width: main_q.width(),
                aux: aux.as_deref(),
                aux_width: aux_q.map_or(0, |a| a.width()),
            },
        )
    }

    /// Uploads natural-order values on H, extends and commits them on the device, the upload
    /// as [`CudaBackend::upload_mode`] says for large matrices.
    pub(crate) fn commit_rows(&self, trace: &RowMajor, log_blowup: usize) -> Result<CudaCommitted> {
        if trace.width == 0 || !trace.values.len().is_multiple_of(trace.width) {
            return Err(shape("a matrix of width 0, or ragged rows"));
        }
        let (rows, w) = (trace.values.len() / trace.width, trace.width);
        let b = log_blowup as u32;
        let mode = if staged(trace.values.len()) {
            self.upload_mode()
        } else {
            UploadMode::Staged
        };
        let dev = match mode {
            UploadMode::Pipelined if pipelines(rows, w) => {
                let (dev, lde) = self.ctx.upload_lde(trace, b)?;
                return self.commit_lde(dev, lde, log_blowup);
            }
            UploadMode::Registered => DeviceMatrix::upload_registered(&self.ctx, trace)?,
            _ => DeviceMatrix::upload(&self.ctx, trace)?,
        };
        self.commit_device_trace(dev, log_blowup)
    }

    /// Commits a trace already in device memory (e.g. generated there).
    pub(crate) fn commit_device_trace(
        &self,
        dev: DeviceMatrix,
        log_blowup: usize,
    ) -> Result<CudaCommitted> {
        let lde = self.ctx.lde(&dev, log_blowup as u32)?;
        self.commit_lde(dev, lde, log_blowup)
    }

    /// The tree of a trace's LDE, and both kept on the device.
    fn commit_lde(
        &self,
        dev: DeviceMatrix,
        lde: DeviceMatrix,
        log_blowup: usize,
    ) -> Result<CudaCommitted> {
        let tree = DeviceMerkleTree::commit(&self.ctx, &lde)?;
        Ok(CudaCommitted {
            lde,
            tree,
            log_blowup,
            trace: Some(dev),
        })
    }
}
