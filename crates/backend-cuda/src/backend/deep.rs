//! The DEEP codeword of one table on the device (docs/PROTOCOL.md §5.6): a warp per LDE row
//! reads the row of each committed matrix (coalesced), forms A and C, and divides by x − z and
//! x − zω with per-row extension inverses. Nothing crosses PCIe but the δ powers (24 B/column).

use cudarc::driver::{LaunchConfig, PushKernelArg};
use rstark_field::{EF, GENERATOR, PrimeField64, ef_to_base, omega};
use rstark_protocol::DeepInputs;

use crate::error::{CudaError, Result};
use crate::matrix::DeviceMatrix;

use super::CudaBackend;
use super::codeword::CudaCodeword;
use super::committed::CudaCommitted;

fn ef_words(v: &[EF]) -> Vec<u64> {
    v.iter()
        .flat_map(|&e| ef_to_base(e).map(|x| x.as_canonical_u64()))
        .collect()
}

impl CudaBackend {
    pub(crate) fn deep_cw(&self, inp: &DeepInputs<'_, CudaCommitted>) -> Result<CudaCodeword> {
        let ctx = &self.ctx;
        let log_size = inp.log_height + inp.log_blowup;
        let size = 1usize << log_size;
        if inp.matrices.is_empty() || inp.matrices.len() > 3 {
            return Err(CudaError::Shape(format!(
                "DEEP over {} matrices (1 to 3 supported)",
                inp.matrices.len()
            )));
        }
        if inp.matrices.iter().any(|m| m.lde.rows() != size) {
            return Err(CudaError::Shape("DEEP: matrix heights differ".into()));
        }
        let c = inp.coeffs;
        let total: usize = inp.matrices.iter().map(|m| m.lde.width()).sum();
        if total != c.pows.len() {
            return Err(CudaError::Shape("DEEP: column count mismatch".into()));
        }
        let pows = ctx.upload(&ef_words(&c.pows), "DEEP coefficients")?;
        let consts = ctx.upload(
            &ef_words(&[inp.z, inp.z_next, c.shift_coeff, c.v_z, c.v_zw, inp.scale]),
            "DEEP constants",
        )?;
        let mut out = ctx.alloc_words(3 * size, "DEEP codeword")?;
        let m: Vec<&DeviceMatrix> = inp.matrices.iter().map(|m| &m.lde).collect();
        let pick = |i: usize| m.get(i).copied().unwrap_or(m[0]);
        let width = |i: usize| m.get(i).map_or(0u32, |m| m.width() as u32);
        let (w0, w1, w2) = (width(0), width(1), width(2));
        let n_shifted = c.n_shifted as u32;
        let (size64, log_size32) = (size as u64, log_size as u32);
        let (g, om) = (
            GENERATOR.as_canonical_u64(),
            omega(log_size).as_canonical_u64(),
        );
        let mut b = ctx.func(&self.pk.deep);
        b.arg(pick(0).words())
            .arg(&w0)
            .arg(pick(1).words())
            .arg(&w1)
            .arg(pick(2).words())
            .arg(&w2)
            .arg(&pows)
            .arg(&n_shifted)
            .arg(&size64)
            .arg(&log_size32)
            .arg(&g)
            .arg(&om)
            .arg(&consts)
            .arg(&mut out);
        // 8 warps (rows) per block.
        let cfg = LaunchConfig {
            grid_dim: (size.div_ceil(8) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(b, cfg, "pv_deep")?;
        Ok(CudaCodeword {
            values: DeviceMatrix::from_parts(out, size, 3),
            log_size,
            shift: GENERATOR,
            tree: None,
        })
    }
}
