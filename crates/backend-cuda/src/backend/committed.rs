//! A committed matrix on the device: the LDE, its tree, and the trace it came from (kept for the
//! quotient-domain extension when the quotient degree exceeds the blowup). Out-of-domain values
//! are computed on the device by the same barycentric formula as the CPU backend.

use cudarc::driver::PushKernelArg;
use rstark_field::{
    EF, F, Field, GENERATOR, PrimeCharacteristicRing, PrimeField64, ef_to_base, omega,
    unflatten_ext,
};

use crate::context::grid_1d;
use crate::error::{CudaError, Result};
use crate::matrix::{DeviceMatrix, to_field};
use crate::merkle::DeviceMerkleTree;

use super::CudaBackend;

/// A device-resident LDE matrix (bit-reversed coset rows) and its Merkle tree.
pub struct CudaCommitted {
    pub lde: DeviceMatrix,
    pub tree: DeviceMerkleTree,
    pub log_blowup: usize,
    /// Values on H (natural order) of the committed columns, kept for traces (the quotient
    /// extension reads them); `None` for the composition parts, committed from coefficients.
    pub trace: Option<DeviceMatrix>,
}

impl CudaCommitted {
    /// log2 of the polynomials' degree bound N.
    pub fn log_height(&self) -> usize {
        (self.lde.rows() >> self.log_blowup).trailing_zeros() as usize
    }
}

/// Rows per chunk of the first summation pass (≤ 1024 chunks).
fn rows_per_chunk(n: usize) -> usize {
    (n / 1024).max(64)
}

impl CudaBackend {
    /// p(z) = (z^N − g^N)/(N·g^N) · Σ_j v_j · x_j/(z − x_j) over the first N LDE rows
    /// (the coset g·H, bit-reversed); only W extension values come back.
    pub(crate) fn ood_values(&self, m: &CudaCommitted, z: EF) -> Result<Vec<EF>> {
        let ctx = &self.ctx;
        let log_n = m.log_height();
        let n = 1usize << log_n;
        let w = m.lde.width();
        let [z0, z1, z2] = ef_to_base(z).map(|v| v.as_canonical_u64());
        let (g, om) = (
            GENERATOR.as_canonical_u64(),
            omega(log_n).as_canonical_u64(),
        );
        let mut weights = ctx.alloc_words(3 * n, "barycentric weights")?;
        let (n64, log_n32) = (n as u64, log_n as u32);
        let mut b = ctx.func(&self.pk.ood_weights);
        b.arg(&n64)
            .arg(&log_n32)
            .arg(&g)
            .arg(&om)
            .arg(&z0)
            .arg(&z1)
            .arg(&z2)
            .arg(&mut weights);
        ctx.launch(b, grid_1d(n64, 256), "pv_ood_weights")?;

        let rpc = rows_per_chunk(n);
        let chunks = n.div_ceil(rpc);
        let mut partial = ctx.alloc_words(3 * chunks * w, "OOD partial sums")?;
        let (w32, rpc64) = (w as u32, rpc as u64);
        let mut b = ctx.func(&self.pk.ood_partial);
        b.arg(m.lde.words())
            .arg(&n64)
            .arg(&w32)
            .arg(&weights)
            .arg(&rpc64)
            .arg(&mut partial);
        let mut cfg = grid_1d(w as u64, 128);
        cfg.grid_dim.1 = chunks as u32;
        ctx.launch(b, cfg, "pv_ood_partial")?;

        let mut sums = ctx.alloc_words(3 * w, "OOD sums")?;
        let chunks64 = chunks as u64;
        let mut b = ctx.func(&self.pk.ood_reduce);
        b.arg(&partial).arg(&chunks64).arg(&w32).arg(&mut sums);
        ctx.launch(b, grid_1d(w as u64, 128), "pv_ood_reduce")?;
        let sums = to_field(ctx.download(&sums, "OOD values")?)?;
        let sums = unflatten_ext(&sums).ok_or_else(|| CudaError::Shape("OOD sums".into()))?;

        let g_n = GENERATOR.exp_power_of_2(log_n);
        let scale =
            (z.exp_power_of_2(log_n) - EF::from(g_n)) * (F::from_u64(n as u64) * g_n).inverse();
        Ok(sums.into_iter().map(|s| s * scale).collect())
    }
}
