//! A committed matrix on the device: its coefficients, its Merkle tree and, when resident, its
//! LDE (crate::residency says which). Out-of-domain values come from the coefficients.

use std::sync::Mutex;

use cudarc::driver::PushKernelArg;
use rstark_field::{
    EF, F, Field, PrimeCharacteristicRing, PrimeField64, ef_to_base, unflatten_ext,
};

use crate::context::grid_1d;
use crate::error::{CudaError, Result};
use crate::matrix::{DeviceMatrix, to_field};
use crate::memory::DeviceBuf;
use crate::merkle::DeviceMerkleTree;
use crate::residency::Residency;
use crate::stream::{DeviceCoefs, grid_stride};

use super::CudaBackend;

/// A committed matrix: N rows × W columns extended to N·B rows (bit-reversed coset order).
pub struct CudaCommitted {
    /// The columns' polynomials (always kept: out-of-domain values and DEEP read them, and a
    /// streamed matrix recomputes its LDE from them).
    pub coefs: DeviceCoefs,
    /// The LDE (column-major), when resident.
    pub lde: Option<DeviceMatrix>,
    pub tree: DeviceMerkleTree,
    pub log_blowup: usize,
    /// A resident main trace with LogUp interactions: its values on the trace domain, kept from
    /// `commit_main` until `commit_aux` builds the aux trace from them (and drops them); a
    /// streamed one recomputes them from the coefficients (backend/main_aux.rs).
    pub(crate) pending_trace: Mutex<Option<DeviceMatrix>>,
}

impl CudaCommitted {
    /// log2 of the polynomials' degree bound N.
    pub fn log_height(&self) -> usize {
        self.coefs.log_n() as usize
    }

    pub fn width(&self) -> usize {
        self.coefs.width()
    }

    /// Rows of the LDE (N·B).
    pub fn lde_rows(&self) -> usize {
        self.coefs.rows() << self.log_blowup
    }

    pub fn residency(&self) -> Residency {
        match self.lde {
            Some(_) => Residency::Resident,
            None => Residency::Streamed,
        }
    }
}

impl CudaBackend {
    /// Every column's polynomial at `z` (Σ_j c_j z^j over the coefficients); only W extension
    /// values come back.
    pub(crate) fn ood_values(&self, m: &CudaCommitted, z: EF) -> Result<Vec<EF>> {
        self.ood_sums(m, &[z])
    }

    /// Every column's polynomial at `a` and at `b` from one read of the coefficients (the
    /// values [`ood_values`](Self::ood_values) gives at each, bit for bit): one kernel sums
    /// both points' products, one copy brings the 2W values back.
    pub(crate) fn ood_values_pair(
        &self,
        m: &CudaCommitted,
        a: EF,
        b: EF,
    ) -> Result<(Vec<EF>, Vec<EF>)> {
        let mut sums = self.ood_sums(m, &[a, b])?;
        let at_b = sums.split_off(m.coefs.width());
        Ok((sums, at_b))
    }

    /// The columns' values at one point (`pv_ood_coef_partial`, a block per column and chunk)
    /// or two (`pv_ood2_coef_partial`, a block per OOD2_COLS columns and chunk): W values per
    /// point, point after point.
    fn ood_sums(&self, m: &CudaCommitted, points: &[EF]) -> Result<Vec<EF>> {
        let ctx = &self.ctx;
        let c = &m.coefs;
        let (n, w) = (c.rows(), c.width());
        let powers = points
            .iter()
            .map(|&z| self.ext_powers(z, n))
            .collect::<Result<Vec<_>>>()?;
        let chunks = ood_chunks(n);
        let (kernel, name, groups) = match powers.len() {
            1 => (&self.pk.ood_coef_partial, "pv_ood_coef_partial", w),
            2 => (
                &self.pk.ood2_coef_partial,
                "pv_ood2_coef_partial",
                w.div_ceil(OOD2_COLS),
            ),
            k => {
                return Err(CudaError::Shape(format!(
                    "out-of-domain values at {k} points"
                )));
            }
        };
        let blocks = u32::try_from(groups * chunks)
            .map_err(|_| CudaError::Shape(format!("out-of-domain values of {w} columns")))?;
        let cols = w * powers.len();
        let mut partial = ctx.alloc_words(3 * chunks * cols, "OOD partial sums")?;
        let (n64, w64, chunks64) = (n as u64, w as u64, chunks as u64);
        let mut l = ctx.func(kernel);
        l.arg(&c.buf).arg(&n64).arg(&w64);
        for p in &powers {
            l.arg(p);
        }
        l.arg(&chunks64).arg(&mut partial);
        let cfg = cudarc::driver::LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(l, cfg, name)?;
        drop(powers);
        self.ood_reduce(&partial, chunks, cols, n)
    }

    /// z^0 .. z^{n-1} on the device (3 words each).
    fn ext_powers(&self, z: EF, n: usize) -> Result<DeviceBuf<u64>> {
        let ctx = &self.ctx;
        let [z0, z1, z2] = ef_to_base(z).map(|v| v.as_canonical_u64());
        let mut zp = ctx.alloc_words(3 * n, "powers of the point")?;
        let n64 = n as u64;
        let mut l = ctx.func(&ctx.k.st_ext_powers);
        l.arg(&z0).arg(&z1).arg(&z2).arg(&n64).arg(&mut zp);
        ctx.launch(l, grid_stride(n64, 256), "st_ext_powers")?;
        Ok(zp)
    }

    /// The per-chunk sums of `cols` columns added up on the device and brought back, divided
    /// by N = `n` (the coefficients are N times the polynomials'): `cols` values.
    fn ood_reduce(
        &self,
        partial: &DeviceBuf<u64>,
        chunks: usize,
        cols: usize,
        n: usize,
    ) -> Result<Vec<EF>> {
        let ctx = &self.ctx;
        let mut sums = ctx.alloc_words(3 * cols, "OOD sums")?;
        let c32 = u32::try_from(cols).map_err(|_| CudaError::Shape("too many columns".into()))?;
        let chunks64 = chunks as u64;
        let mut l = ctx.func(&self.pk.ood_reduce);
        l.arg(partial).arg(&chunks64).arg(&c32).arg(&mut sums);
        ctx.launch(l, grid_1d(cols as u64, 128), "pv_ood_reduce")?;
        let sums = to_field(ctx.download(&sums, "OOD values")?)?;
        let sums = unflatten_ext(&sums).ok_or_else(|| CudaError::Shape("OOD sums".into()))?;
        let n_inv = F::from_u64(n as u64).inverse();
        Ok(sums.into_iter().map(|s| s * n_inv).collect())
    }
}

/// Chunks of at least 2^14 rows (64 a thread: each block's closing reduction is then small
/// next to its sums), at most 1024 of them (powers of two: they tile N).
fn ood_chunks(n: usize) -> usize {
    (n >> 14).clamp(1, 1024)
}

/// Columns per block of `pv_ood2_coef_partial` (its PV_OOD2_COLS).
const OOD2_COLS: usize = 2;
