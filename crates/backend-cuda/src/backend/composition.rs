//! The composition round on the device. The quotient values come from the compiled constraint
//! program run by `kernels/constraints.cu` over the main/aux LDEs already resident there
//! (`crate::constraints`); if a table's constraints do not compile, an interim host path
//! downloads the quotient-domain rows and runs `rstark_backend_cpu::quotient_values` (its bytes
//! are counted under the phase "composition (host fallback)"). The quotient (2^{n+d} × 24 B)
//! then comes back, is split into D parts on the host (one small inverse DFT of width 3 and one
//! DFT of width 3D), and the parts' values on H go up again for the device LDE and commitment:
//! 48 B per quotient point in all, against the trace's upload of 8·W B per row.

use rstark_backend_cpu::{QuotientRows, quotient_values, split_quotient};
use rstark_constraints::compile_table;
use rstark_field::{EF, F, PrimeCharacteristicRing, unflatten_ext};
use rstark_poly::{RowMajor, bit_reverse_rows, lde_from_coefficients};
use rstark_protocol::CompositionInputs;

use crate::constraints::{DeviceConstraintProgram, QuotientDomain};
use crate::error::{CudaError, Result};
use crate::matrix::{DeviceMatrix, to_field};

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
                self.ctx.lde(&m.trace, d as u32).map(Some)
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
            Some(q) => {
                let q = self.phase("composition (quotient download)", || {
                    q.download_words(&self.ctx).and_then(to_field)
                })?;
                unflatten_ext(&q).ok_or_else(|| {
                    rstark_protocol::BackendError::Device("ragged quotient".into())
                })?
            }
            None => self.phase_host("composition (host fallback)", || {
                self.quotient_on_host(inp, main_q, aux_q)
            })?,
        };
        let parts = split_quotient(&quotient, n, d)?;
        // The parts' values on H (natural order): the device LDE extends them like a trace.
        let on_h = lde_from_coefficients(&parts, n, F::ONE);
        let on_h = RowMajor {
            values: bit_reverse_rows(&on_h.values, on_h.width),
            width: on_h.width,
        };
        self.phase("composition (parts upload + commit)", || {
            self.commit_rows(&on_h, b)
        })
    }

    /// Q on the quotient domain from the compiled constraint program; `None` when the table's
    /// constraints do not compile to a program matching the prover's constraint count.
    fn quotient_on_device(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
        main_q: &DeviceMatrix,
        aux_q: Option<&DeviceMatrix>,
    ) -> Result<Option<DeviceMatrix>> {
        let Ok(program) = compile_table(inp.air, inp.public_values.len()) else {
            return Ok(None);
        };
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
        let dev = DeviceConstraintProgram::upload(&self.ctx, &program)?;
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

    /// Uploads natural-order values on H, extends and commits them on the device.
    pub(crate) fn commit_rows(&self, trace: &RowMajor, log_blowup: usize) -> Result<CudaCommitted> {
        if trace.width == 0 {
            return Err(shape("a matrix of width 0"));
        }
        let dev = DeviceMatrix::upload(&self.ctx, trace)?;
        let (lde, tree) = self.ctx.lde_commit(&dev, log_blowup as u32)?;
        Ok(CudaCommitted {
            lde,
            tree,
            log_blowup,
            trace: dev,
        })
    }
}
