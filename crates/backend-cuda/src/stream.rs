//! Matrices held as coefficients (docs/GPU.md, "Streamed commitments"): every committed matrix
//! keeps its coefficients on the device ([`DeviceCoefs`]); out-of-domain values and DEEP read
//! them, and a matrix whose LDE is not kept ([`crate::residency::Residency::Streamed`]) has its
//! LDE recomputed from them when a round needs it:
//!
//! - the commitment: column chunks of the LDE (N·B rows × a few columns, `forward_columns`), whose
//!   rows the leaf sponges absorb chunk after chunk — the even rows of every chunk first, then the
//!   odd ones, as a row-pair leaf hashes row 2i before row 2i+1 (PROTOCOL.md §3) — so the tree is
//!   the one of the whole LDE;
//! - the composition: row blocks (2^k rows of the bit-reversed quotient domain, a coset of
//!   ⟨ω_k⟩), each the fold of the coefficients onto its coset and a transform of 2^k points;
//! - the openings: column chunks again, the opened rows gathered from each.
//!
//! A trace too large to hold with its coefficients arrives in blocks of rows
//! ([`CoefBuilder`]), which land at their bit-reversed places in the coefficient matrix before
//! its inverse transform, so the trace itself is never whole on the device.

use cudarc::driver::{CudaSlice, PushKernelArg};
use rstark_field::{F, Field, GENERATOR, PrimeCharacteristicRing, PrimeField64, omega};

use crate::context::GpuContext;
use crate::error::{CudaError, Result};
use crate::matrix::{DeviceMatrix, to_field};
use crate::memory::DeviceBuf;
use crate::merkle::{DeviceMerkleTree, check_leaves};
use crate::plan::MAX_LOG_N;
use crate::residency::MatrixShape;

/// Threads per block of the grid-stride kernels (kernels/stream.cu).
const THREADS: u32 = 256;
/// Most blocks a grid-stride launch asks for (enough to fill any GPU; the loop covers the rest).
const MAX_BLOCKS: u64 = 1 << 16;

/// A grid-stride launch over `n` items.
pub(crate) fn grid_stride(n: u64, threads: u32) -> cudarc::driver::LaunchConfig {
    cudarc::driver::LaunchConfig {
        grid_dim: (n.div_ceil(threads as u64).clamp(1, MAX_BLOCKS) as u32, 1, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A matrix's polynomials on the device: `width` columns of N = 2^log_n words, column-major,
/// natural order, each word N × the coefficient (what the inverse transform of the values on
/// the trace domain gives; `forward_columns` and every reader here divide by N).
pub struct DeviceCoefs {
    pub(crate) buf: DeviceBuf<u64>,
    log_n: u32,
    width: usize,
}

impl DeviceCoefs {
    pub(crate) fn from_parts(buf: DeviceBuf<u64>, log_n: u32, width: usize) -> Self {
        debug_assert!(buf.len() >= width << log_n);
        Self { buf, log_n, width }
    }

    pub fn log_n(&self) -> u32 {
        self.log_n
    }

    pub fn rows(&self) -> usize {
        1 << self.log_n
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Copy the words back (counted): column-major, N × the coefficients.
    pub fn download_words(&self, ctx: &GpuContext) -> Result<Vec<u64>> {
        let mut v = ctx.download(&self.buf, "coefficients")?;
        v.truncate(self.width << self.log_n);
        Ok(v)
    }

    pub fn shape(&self, log_blowup: u32) -> MatrixShape {
        MatrixShape {
            log_height: self.log_n,
            width: self.width as u64,
            log_blowup,
        }
    }
}

/// Builds a matrix's coefficients from blocks of its natural-order rows (any order, each row
/// once): each block is put at its bit-reversed places, then one inverse transform.
pub struct CoefBuilder {
    buf: DeviceBuf<u64>,
    log_n: u32,
    width: usize,
    rows_in: u64,
}

impl GpuContext {
    /// An empty builder for 2^log_n rows × `width` (allocates the coefficient matrix).
    pub(crate) fn coef_builder(&self, log_n: u32, width: usize) -> Result<CoefBuilder> {
        if log_n > MAX_LOG_N || width == 0 {
            return Err(CudaError::Shape(format!(
                "coefficients of 2^{log_n} rows x {width} columns"
            )));
        }
        Ok(CoefBuilder {
            buf: self.alloc_words(width << log_n, "coefficients")?,
            log_n,
            width,
            rows_in: 0,
        })
    }

    /// Puts `rows` natural-order rows starting at row `r0` (row-major in `block`) in place.
    pub(crate) fn coef_add_rows(
        &self,
        b: &mut CoefBuilder,
        block: &CudaSlice<u64>,
        r0: usize,
        rows: usize,
    ) -> Result<()> {
        let n = 1usize << b.log_n;
        if r0 + rows > n || block.len() < rows * b.width {
            return Err(CudaError::Shape(format!(
                "rows {r0}..{} of a {n}-row matrix from a block of {} words",
                r0 + rows,
                block.len()
            )));
        }
        let (rows64, w64, r064) = (rows as u64, b.width as u64, r0 as u64);
        let mut l = self.func(&self.k.st_rows_to_colmajor_bitrev);
        l.arg(block)
            .arg(&rows64)
            .arg(&w64)
            .arg(&r064)
            .arg(&b.log_n)
            .arg(&mut b.buf);
        self.launch(
            l,
            grid_stride(rows64 * w64, THREADS),
            "st_rows_to_colmajor_bitrev",
        )?;
        b.rows_in += rows64;
        Ok(())
    }

    /// The inverse transform, once every row is in.
    pub(crate) fn coef_finish(&self, mut b: CoefBuilder) -> Result<DeviceCoefs> {
        if b.rows_in != 1u64 << b.log_n {
            return Err(CudaError::Shape(format!(
                "{} of {} rows were put in the coefficient matrix",
                b.rows_in,
                1u64 << b.log_n
            )));
        }
        self.inverse_ntt_columns(&mut b.buf, b.log_n, b.width)?;
        Ok(DeviceCoefs::from_parts(b.buf, b.log_n, b.width))
    }

    /// The coefficients of a natural-order device matrix (the LDE's first steps).
    pub fn coefficients(&self, m: &DeviceMatrix) -> Result<DeviceCoefs> {
        let log_n = m.rows().trailing_zeros();
        let buf = self.lde_coefficients(m, 0, &mut None)?;
        Ok(DeviceCoefs::from_parts(buf, log_n, m.width()))
    }

    /// The whole (column-major) LDE with blowup 2^log_blowup.
    pub(crate) fn extend(&self, c: &DeviceCoefs, log_blowup: u32) -> Result<DeviceMatrix> {
        self.extend_coefficients(&c.buf, c.log_n, c.width, log_blowup)
    }

    /// The Merkle tree of the LDE (blowup 2^log_blowup) without holding it: column chunks of at
    /// most `max_cols` columns, computed twice (even rows, then odd rows, into the leaf sponges).
    pub(crate) fn streamed_tree(
        &self,
        c: &DeviceCoefs,
        log_blowup: u32,
        max_cols: usize,
    ) -> Result<DeviceMerkleTree> {
        let rows = c.rows() << log_blowup;
        let leaves = check_leaves(rows)?;
        let w = c.width;
        let cw = max_cols.clamp(1, w);
        let mut states = self.alloc_words(25 * leaves, "leaf sponges")?;
        self.fill_words(&mut states, 0)?;
        let mut ext = self.alloc_words(rows * cw, "the LDE (column chunk)")?;
        let (leaves64, rows64) = (leaves as u64, rows as u64);
        for parity in 0..2u32 {
            for c0 in (0..w).step_by(cw) {
                let cwi = cw.min(w - c0);
                self.forward_columns(&c.buf, c0, cwi, c.log_n, log_blowup, &mut ext)?;
                let (cw32, p0) = (cwi as u32, (parity as usize * w + c0) as u64);
                let mut l = self.func(&self.k.st_absorb);
                l.arg(&mut states)
                    .arg(&leaves64)
                    .arg(&ext)
                    .arg(&rows64)
                    .arg(&cw32)
                    .arg(&parity)
                    .arg(&p0);
                self.launch(l, grid_stride(leaves64, 128), "st_absorb")?;
            }
        }
        drop(ext);
        let mut nodes = self.alloc_words(2 * leaves * 4, "Merkle nodes")?;
        let total = 2 * w as u64;
        let mut l = self.func(&self.k.st_squeeze);
        l.arg(&states).arg(&leaves64).arg(&total).arg(&mut nodes);
        self.launch(l, grid_stride(leaves64, 128), "st_squeeze")?;
        drop(states);
        DeviceMerkleTree::finish(self, nodes, leaves)
    }

    /// Rows `rows` of the LDE (blowup 2^log_blowup) recomputed in column chunks of at most
    /// `max_cols` columns; only those rows come back.
    pub(crate) fn lde_rows(
        &self,
        c: &DeviceCoefs,
        log_blowup: u32,
        rows: &[usize],
        max_cols: usize,
    ) -> Result<Vec<Vec<F>>> {
        let lde_rows = c.rows() << log_blowup;
        if let Some(&bad) = rows.iter().find(|&&r| r >= lde_rows) {
            return Err(CudaError::RowOutOfRange {
                index: bad as u64,
                rows: lde_rows as u64,
            });
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let w = c.width;
        let cw = max_cols.clamp(1, w);
        let idx: Vec<u64> = rows.iter().map(|&r| r as u64).collect();
        let dev_idx = self.upload(&idx, "row indices")?;
        let mut out = self.alloc_words(rows.len() * w, "gathered rows")?;
        let mut ext = self.alloc_words(lde_rows * cw, "the LDE (column chunk)")?;
        let (nq, w64, lde64) = (rows.len() as u64, w as u64, lde_rows as u64);
        for c0 in (0..w).step_by(cw) {
            let cwi = cw.min(w - c0);
            self.forward_columns(&c.buf, c0, cwi, c.log_n, log_blowup, &mut ext)?;
            let (cw64, c064) = (cwi as u64, c0 as u64);
            let mut l = self.func(&self.k.st_gather_rows);
            l.arg(&ext)
                .arg(&lde64)
                .arg(&cw64)
                .arg(&dev_idx)
                .arg(&nq)
                .arg(&w64)
                .arg(&c064)
                .arg(&mut out);
            self.launch(l, grid_stride(nq * cw64, THREADS), "st_gather_rows")?;
        }
        drop(ext);
        let words = self.download(&out, "opened rows")?;
        let vals = to_field(words[..rows.len() * w].to_vec())?;
        Ok(vals.chunks(w).map(|r| r.to_vec()).collect())
    }

    /// Columns c0 .. c0+cw of block `m` (2^log_block rows) of the bit-reversed domain
    /// g·⟨ω_{log_domain}⟩, column-major into `out` (cw columns of 2^log_block words): the rows
    /// m·2^k .. (m+1)·2^k of the extension with blowup 2^(log_domain − log_n).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn lde_block_into(
        &self,
        c: &DeviceCoefs,
        log_domain: u32,
        log_block: u32,
        m: u64,
        c0: usize,
        cw: usize,
        out: &mut CudaSlice<u64>,
    ) -> Result<()> {
        self.coset_block_into(c, GENERATOR, log_domain, log_block, m, c0, cw, out)
    }

    /// As [`lde_block_into`](Self::lde_block_into) on the bit-reversed domain
    /// shift·⟨ω_{log_domain}⟩: with shift 1 and log_domain = log_n, block m holds the trace's
    /// natural rows bitrev_{n−k}(m) + bitrev_k(i)·2^{n−k} (the values on H, recomputed).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn coset_block_into(
        &self,
        c: &DeviceCoefs,
        shift: F,
        log_domain: u32,
        log_block: u32,
        m: u64,
        c0: usize,
        cw: usize,
        out: &mut CudaSlice<u64>,
    ) -> Result<()> {
        let block = 1usize << log_block;
        if log_block > c.log_n
            || log_domain < c.log_n
            || log_domain > MAX_LOG_N
            || m >= 1u64 << (log_domain - log_block)
            || c0 + cw > c.width
            || out.len() < cw * block
        {
            return Err(CudaError::Shape(format!(
                "block {m} of 2^{log_block} rows of a 2^{log_domain} domain, columns {c0}..{} of \
                 {} (2^{} rows)",
                c0 + cw,
                c.width,
                c.log_n
            )));
        }
        // s = shift·ω_L^{bitrev_{L−k}(m)}; rows m·2^k + i are at s·ω_k^{bitrev_k(i)}.
        let e = crate::plan::bitrev(m, log_domain - log_block);
        let s = shift * omega(log_domain as usize).exp_u64(e);
        let sigma = s.exp_power_of_2(log_block as usize).as_canonical_u64();
        let n_inv = F::from_u64(c.rows() as u64).inverse().as_canonical_u64();
        let mut tab = self.alloc_words(block, "block coset powers")?;
        let (s64, block64) = (s.as_canonical_u64(), block as u64);
        let mut l = self.func(&self.k.st_powers);
        l.arg(&s64).arg(&n_inv).arg(&block64).arg(&mut tab);
        self.launch(l, grid_stride(block64, THREADS), "st_powers")?;
        let (n64, c064, cw64) = (c.rows() as u64, c0 as u64, cw as u64);
        let mut l = self.func(&self.k.st_fold);
        l.arg(&c.buf)
            .arg(&n64)
            .arg(&c064)
            .arg(&cw64)
            .arg(&log_block)
            .arg(&tab)
            .arg(&sigma)
            .arg(&mut *out);
        self.launch(l, grid_stride(cw64 * block64, THREADS), "st_fold")?;
        let mut view = out.slice_mut(0..cw * block);
        self.ntt(&mut view, log_block, cw, true)
    }
}
