//! The batched coset LDE on the device (docs/PROTOCOL.md §2, docs/GPU.md "LDE pipeline").
//!
//! trace (row-major, N × W) --transpose--> column-major --bit-reverse--> inverse NTT (DIT, gives
//! N·coefficients in natural order) --coset_expand--> B blocks per column, block a scaled by
//! N^-1·s_a^k --forward NTT (DIF, bit-reversed out)--> column-major LDE: block a, position v is
//! the value at g·w_{n+b}^{bitrev(a·N + v)}, i.e. LDE row a·N + v. Then either a transpose to
//! row-major, or the leaf hashing that reads the column-major LDE and writes the row-major one.

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use crate::context::GpuContext;
use crate::error::{CudaError, Result};
use crate::matrix::DeviceMatrix;
use crate::merkle::{DeviceMerkleTree, check_leaves};
use crate::plan::{self, MAX_LOG_N, NttPass};

const MAX_GRID_Y: usize = 65_535;

impl GpuContext {
    /// `lde(trace, 2^log_blowup)`: the bit-reversed coset LDE as a row-major device matrix.
    pub fn lde(&self, trace: &DeviceMatrix, log_blowup: u32) -> Result<DeviceMatrix> {
        let (col, rows) = self.lde_colmajor(trace, log_blowup)?;
        let w = trace.width();
        let mut out = self.alloc_words(rows * w, "the LDE (row-major)")?;
        self.transpose(&col, &mut out, w as u64, rows as u64)?;
        Ok(DeviceMatrix::from_parts(out, rows, w))
    }

    /// LDE and its Merkle commitment in one pass over the LDE: the leaf kernel reads the
    /// column-major result and writes the row-major matrix as it hashes.
    pub fn lde_commit(
        &self,
        trace: &DeviceMatrix,
        log_blowup: u32,
    ) -> Result<(DeviceMatrix, DeviceMerkleTree)> {
        let (col, rows) = self.lde_colmajor(trace, log_blowup)?;
        let w = trace.width();
        let num_leaves = check_leaves(rows)?;
        let mut out = self.alloc_words(rows * w, "the LDE (row-major)")?;
        let mut nodes = self.alloc_words(2 * num_leaves * 4, "Merkle nodes")?;
        let (r, wd) = (rows as u64, w as u32);
        let mut b = self.func(&self.k.hash_leaves_colmajor);
        b.arg(&col).arg(&r).arg(&wd).arg(&mut nodes).arg(&mut out);
        self.launch(
            b,
            crate::context::grid_1d(num_leaves as u64, 128),
            "hash_leaves_colmajor",
        )?;
        drop(col);
        let tree = DeviceMerkleTree::finish(self, nodes, num_leaves)?;
        Ok((DeviceMatrix::from_parts(out, rows, w), tree))
    }

    /// The LDE in column-major order (W columns of N·B words) and its row count N·B.
    fn lde_colmajor(
        &self,
        trace: &DeviceMatrix,
        log_blowup: u32,
    ) -> Result<(CudaSlice<u64>, usize)> {
        let (n_rows, w) = (trace.rows(), trace.width());
        if !n_rows.is_power_of_two() {
            return Err(CudaError::Shape(format!(
                "LDE of {n_rows} rows: not a power of two"
            )));
        }
        let log_n = n_rows.trailing_zeros();
        if log_blowup > 4 || log_n + log_blowup > MAX_LOG_N {
            return Err(CudaError::Shape(format!(
                "LDE of 2^{log_n} rows with blowup 2^{log_blowup}: blowup must be 1..16 and the \
                 result at most 2^{MAX_LOG_N} rows"
            )));
        }
        if w == 0 || (w << log_blowup) > MAX_GRID_Y {
            return Err(CudaError::Shape(format!(
                "LDE of width {w} with blowup 2^{log_blowup}: width x blowup must be 1..={MAX_GRID_Y}"
            )));
        }
        let n = n_rows as u64;
        let total = n_rows * w;

        // row-major -> column-major -> bit-reversed rows
        let mut tmp = self.alloc_words(total, "LDE scratch")?;
        self.transpose(&trace.buf, &mut tmp, n, w as u64)?;
        let mut coef = self.alloc_words(total, "LDE coefficients")?;
        if log_n >= 10 {
            let cfg = LaunchConfig {
                grid_dim: (1 << (log_n - 10), w as u32, 1),
                block_dim: (32, 8, 1),
                shared_mem_bytes: 0,
            };
            let mut b = self.func(&self.k.bitrev_columns_tiled);
            b.arg(&tmp).arg(&mut coef).arg(&log_n);
            self.launch(b, cfg, "bitrev_columns_tiled")?;
        } else {
            let t = total as u64;
            let mut b = self.func(&self.k.bitrev_columns_small);
            b.arg(&tmp).arg(&mut coef).arg(&log_n).arg(&t);
            self.launch(b, crate::context::grid_1d(t, 256), "bitrev_columns_small")?;
        }
        drop(tmp);

        // inverse NTT: N * coefficients, natural order
        self.ntt(&mut coef, log_n, w, false)?;

        // B scaled copies of each column, each transformed forward; the first pass does the scaling.
        let (lo, hi, log_lo) = self.coset_tables(log_n, log_blowup)?;
        let rows = n_rows << log_blowup;
        let mut ext = self.alloc_words(rows * w, "the LDE (column-major)")?;
        let tw = self.twiddles(log_n, false)?;
        let mut passes = plan::ntt_plan(log_n, true);
        if passes.is_empty() {
            passes.push(NttPass { log_s: 0, k: 0 }); // N = 1: the pass only scales
        }
        let first = passes[0];
        let mut b = self.func(&self.k.ntt_pass_expand);
        b.arg(&coef)
            .arg(&mut ext)
            .arg(tw.as_ref())
            .arg(&log_n)
            .arg(&first.log_s)
            .arg(&first.k)
            .arg(&log_blowup)
            .arg(lo.as_ref())
            .arg(hi.as_ref())
            .arg(&log_lo);
        self.launch(b, ntt_cfg(log_n, first, w << log_blowup), "ntt_pass_expand")?;
        drop(coef);
        self.ntt_passes(&mut ext, log_n, w << log_blowup, true, &passes[1..])?;
        Ok((ext, rows))
    }

    /// `batch` transforms of size 2^log_n, stored one after another. DIF (forward, natural in,
    /// bit-reversed out) or DIT (inverse, bit-reversed in, natural out, not scaled by N^-1).
    fn ntt(&self, data: &mut CudaSlice<u64>, log_n: u32, batch: usize, dif: bool) -> Result<()> {
        self.ntt_passes(data, log_n, batch, dif, &plan::ntt_plan(log_n, dif))
    }

    fn ntt_passes(
        &self,
        data: &mut CudaSlice<u64>,
        log_n: u32,
        batch: usize,
        dif: bool,
        passes: &[NttPass],
    ) -> Result<()> {
        if passes.is_empty() {
            return Ok(());
        }
        let tw = self.twiddles(log_n, !dif)?;
        let dif_flag = dif as u32;
        for &pass in passes {
            let mut b = self.func(&self.k.ntt_pass);
            b.arg(&mut *data)
                .arg(tw.as_ref())
                .arg(&log_n)
                .arg(&pass.log_s)
                .arg(&pass.k)
                .arg(&dif_flag);
            self.launch(b, ntt_cfg(log_n, pass, batch), "ntt_pass")?;
        }
        Ok(())
    }

    /// dst (cols × rows, column-major) = transpose of src (rows × cols, row-major).
    pub(crate) fn transpose(
        &self,
        src: &CudaSlice<u64>,
        dst: &mut CudaSlice<u64>,
        rows: u64,
        cols: u64,
    ) -> Result<()> {
        let tiles = rows.div_ceil(32) * cols.div_ceil(32);
        if tiles > i32::MAX as u64 {
            return Err(CudaError::Shape(format!(
                "transpose of {rows} x {cols} is too large"
            )));
        }
        let cfg = LaunchConfig {
            grid_dim: (tiles as u32, 1, 1),
            block_dim: (32, 8, 1),
            shared_mem_bytes: 0,
        };
        let mut b = self.func(&self.k.transpose_u64);
        b.arg(src).arg(dst).arg(&rows).arg(&cols);
        self.launch(b, cfg, "transpose_u64")
    }
}

/// Grid of one NTT pass: tiles of the column along x, the batch along y.
fn ntt_cfg(log_n: u32, pass: NttPass, batch: usize) -> LaunchConfig {
    let tiles = (1u64 << log_n) / pass.tile_words();
    LaunchConfig {
        grid_dim: (tiles as u32, batch as u32, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: (pass.tile_words() * 8) as u32,
    }
}
