//! The DEEP codeword of one table on the device (docs/PROTOCOL.md §5.6). DEEP is linear in the
//! columns, so it is formed on the coefficients: A = Σ_{k<S} δ^k f_k and C = Σ_{k≥S} δ^k f_k (one
//! pass over each matrix's N×W coefficients, not its N·B×W LDE), A and C are extended to the LDE
//! domain (6 base columns), and a per-row kernel divides by x − z and x − zω. Nothing crosses
//! PCIe but the δ powers (24 B/column) and six constants.

use cudarc::driver::PushKernelArg;
use rstark_field::{EF, GENERATOR, PrimeField64, ef_to_base, omega};
use rstark_protocol::DeepInputs;

use crate::error::{CudaError, Result};
use crate::matrix::DeviceMatrix;
use crate::stream::grid_stride;

use super::CudaBackend;
use super::codeword::CudaCodeword;
use super::committed::CudaCommitted;

/// Most column groups of one DEEP combination (the grid's y limit).
const MAX_GROUPS: usize = 65_535;

fn ef_words(v: &[EF]) -> Vec<u64> {
    v.iter()
        .flat_map(|&e| ef_to_base(e).map(|x| x.as_canonical_u64()))
        .collect()
}

impl CudaBackend {
    pub(crate) fn deep_cw(&self, inp: &DeepInputs<'_, CudaCommitted>) -> Result<CudaCodeword> {
        let ctx = &self.ctx;
        let log_n = inp.log_height as u32;
        let log_b = inp.log_blowup as u32;
        let log_size = inp.log_height + inp.log_blowup;
        let (n, size) = (1usize << log_n, 1usize << log_size);
        if inp.matrices.is_empty() {
            return Err(CudaError::Shape("DEEP over no matrices".into()));
        }
        if inp
            .matrices
            .iter()
            .any(|m| m.log_height() != inp.log_height || m.log_blowup != inp.log_blowup)
        {
            return Err(CudaError::Shape("DEEP: matrix heights differ".into()));
        }
        let c = inp.coeffs;
        let total: usize = inp.matrices.iter().map(|m| m.width()).sum();
        if total != c.pows.len() {
            return Err(CudaError::Shape("DEEP: column count mismatch".into()));
        }
        let pows = ctx.upload(&ef_words(&c.pows), "DEEP coefficients")?;
        let consts = ctx.upload(
            &ef_words(&[inp.z, inp.z_next, c.shift_coeff, c.v_z, c.v_zw, inp.scale]),
            "DEEP constants",
        )?;
        // A and C's coefficients (times N, as the LDE's forward pass takes them).
        let mut ac = ctx.alloc_words(6 * n, "DEEP A and C coefficients")?;
        let (n64, n_shifted) = (n as u64, c.n_shifted as u32);
        let mut off = 0u32;
        for (i, m) in inp.matrices.iter().enumerate() {
            let w = u32::try_from(m.width())
                .map_err(|_| CudaError::Shape("DEEP: too many columns".into()))?;
            // Column groups so that about 2^21 threads run (one thread per row and group).
            let groups = ((1usize << 21) / n).clamp(1, m.width()).min(MAX_GROUPS);
            let cpg = w.div_ceil(groups as u32);
            let groups = w.div_ceil(cpg);
            let mut cfg = grid_stride(n64, 256);
            cfg.grid_dim.1 = groups;
            let direct = groups == 1 && i == 0;
            let mut parts = if direct {
                None
            } else {
                Some(ctx.alloc_words(6 * n * groups as usize, "DEEP column-group sums")?)
            };
            let mut l = ctx.func(&self.pk.deep_combine);
            l.arg(&m.coefs.buf)
                .arg(&n64)
                .arg(&w)
                .arg(&pows)
                .arg(&off)
                .arg(&n_shifted)
                .arg(&cpg);
            match parts.as_mut() {
                Some(p) => l.arg(p),
                None => l.arg(&mut ac),
            };
            ctx.launch(l, cfg, "pv_deep_combine")?;
            if let Some(p) = parts {
                let (len, accumulate) = (6 * n64, (i > 0) as u32);
                let mut l = ctx.func(&self.pk.deep_sum);
                l.arg(&p)
                    .arg(&groups)
                    .arg(&len)
                    .arg(&accumulate)
                    .arg(&mut ac);
                ctx.launch(l, grid_stride(len, 256), "pv_deep_sum")?;
            }
            off += w;
        }
        let mut ext = ctx.alloc_words(6 * size, "DEEP A and C on the LDE domain")?;
        ctx.forward_columns(&ac, 0, 6, log_n, log_b, &mut ext)?;
        drop(ac);
        let mut out = ctx.alloc_words(3 * size, "DEEP codeword")?;
        let (size64, log_size32) = (size as u64, log_size as u32);
        let (g, om) = (
            GENERATOR.as_canonical_u64(),
            omega(log_size).as_canonical_u64(),
        );
        let mut l = ctx.func(&self.pk.deep_finish);
        l.arg(&ext)
            .arg(&size64)
            .arg(&log_size32)
            .arg(&g)
            .arg(&om)
            .arg(&consts)
            .arg(&mut out);
        ctx.launch(l, grid_stride(size64, 256), "pv_deep_finish")?;
        Ok(CudaCodeword {
            values: DeviceMatrix::from_parts(out, size, 3),
            log_size,
            shift: GENERATOR,
            tree: None,
        })
    }
}
