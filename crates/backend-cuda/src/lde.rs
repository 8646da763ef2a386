//! The batched coset LDE on the device (docs/PROTOCOL.md §2, docs/GPU.md "LDE pipeline").
//!
//! trace (row-major, N × W) --one pass--> column-major, rows bit-reversed --> inverse NTT (DIT, gives
//! N·coefficients in natural order) --> B blocks per column, block a scaled by N^-1·s_a^k (fused
//! into the first pass of) --forward NTT (DIF, bit-reversed out)--> the column-major LDE: block a,
//! position v is the value at g·w_{n+b}^{bitrev(a·N + v)}, i.e. LDE row a·N + v. It stays
//! column-major: the leaf hashing, the constraint kernels and the openings read it in place.

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaEvent, CudaSlice, CudaView, CudaViewMut, LaunchConfig, PushKernelArg};

use crate::context::GpuContext;
use crate::error::{CudaError, DriverContext, Result};
use crate::grid::{MAX_GRID_YZ, batches};
use crate::matrix::DeviceMatrix;
use crate::memory::DeviceBuf;
use crate::merkle::DeviceMerkleTree;
use crate::plan::{self, MAX_LOG_N, NttPass};
use crate::stream::DeviceCoefs;

/// Threads of a block of `ntt_inverse_expand` (NTT_THREADS in kernels/ntt.cuh).
const FUSED_THREADS: u32 = 256;

impl GpuContext {
    /// `lde(trace, 2^log_blowup)`: the bit-reversed coset LDE as a column-major device matrix.
    pub fn lde(&self, trace: &DeviceMatrix, log_blowup: u32) -> Result<DeviceMatrix> {
        self.lde_marked(trace, log_blowup, &mut None)
    }

    /// [`lde`](Self::lde), timing its phases with CUDA events: (phase, milliseconds).
    pub fn lde_phases(
        &self,
        trace: &DeviceMatrix,
        log_blowup: u32,
    ) -> Result<Vec<(&'static str, f64)>> {
        let mut marks = Some(Vec::new());
        self.mark(&mut marks, "start")?;
        let m = self.lde_marked(trace, log_blowup, &mut marks)?;
        self.synchronize()?;
        drop(m);
        let marks = marks.unwrap_or_default();
        marks
            .windows(2)
            .map(|w| {
                Ok((
                    w[1].0,
                    w[0].1.elapsed_ms(&w[1].1).ctx("reading an event")? as f64,
                ))
            })
            .collect()
    }

    fn mark(
        &self,
        marks: &mut Option<Vec<(&'static str, CudaEvent)>>,
        name: &'static str,
    ) -> Result<()> {
        if let Some(m) = marks {
            let e = self
                .cuda_context()
                .new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
                .ctx("creating an event")?;
            e.record(self.stream()).ctx("recording an event")?;
            m.push((name, e));
        }
        Ok(())
    }

    fn lde_marked(
        &self,
        trace: &DeviceMatrix,
        log_blowup: u32,
        marks: &mut Option<Vec<(&'static str, CudaEvent)>>,
    ) -> Result<DeviceMatrix> {
        let (log_n, w) = self.lde_input_shape(trace, log_blowup)?;
        let mut vals = self.bitrev_columns(trace, log_n, w)?;
        self.mark(marks, "transpose + bit-reverse")?;
        let top = self.inverse_but_top(&mut vals, log_n, w)?;
        self.mark(marks, "inverse NTT")?;
        let out = self.finish_and_extend(&mut vals, top, log_n, w, log_blowup)?;
        self.mark(marks, "forward NTT")?;
        Ok(out)
    }

    /// The coefficients (as [`lde_coefficients`](Self::lde_coefficients)) and the LDE of a
    /// natural-order device trace (the inverse transform's last pass fused with the forward
    /// one's first where the plans allow: `ntt_inverse_expand`). The trace comes back with
    /// `keep`; otherwise it is freed once transposed, before the LDE is allocated.
    pub fn coefficients_and_lde(
        &self,
        trace: DeviceMatrix,
        log_blowup: u32,
        keep: bool,
    ) -> Result<(DeviceCoefs, DeviceMatrix, Option<DeviceMatrix>)> {
        let (log_n, w) = self.lde_input_shape(&trace, log_blowup)?;
        let vals = self.bitrev_columns(&trace, log_n, w)?;
        let kept = keep.then_some(trace);
        let (coefs, lde) = self.coefficients_and_lde_of_bitrev(vals, log_n, w, log_blowup)?;
        Ok((coefs, lde, kept))
    }

    /// [`coefficients_and_lde`](Self::coefficients_and_lde) from the trace already in the
    /// transform's input layout: `vals` holds `w` columns of 2^log_n words, rows bit-reversed
    /// (e.g. a trace generated in that layout); its buffer becomes the coefficients'.
    pub(crate) fn coefficients_and_lde_of_bitrev(
        &self,
        mut vals: DeviceBuf<u64>,
        log_n: u32,
        w: usize,
        log_blowup: u32,
    ) -> Result<(DeviceCoefs, DeviceMatrix)> {
        check_lde_shape(log_n, w, log_blowup)?;
        if vals.len() < w << log_n {
            return Err(CudaError::Shape(format!(
                "{} words for {w} columns of 2^{log_n}",
                vals.len()
            )));
        }
        let top = self.inverse_but_top(&mut vals, log_n, w)?;
        let lde = self.finish_and_extend(&mut vals, top, log_n, w, log_blowup)?;
        Ok((DeviceCoefs::from_parts(vals, log_n, w), lde))
    }

    /// (log2 rows, width) of a trace the LDE takes: a power-of-two height within the limits.
    fn lde_input_shape(&self, trace: &DeviceMatrix, log_blowup: u32) -> Result<(u32, usize)> {
        let (n_rows, w) = (trace.rows(), trace.width());
        if !n_rows.is_power_of_two() {
            return Err(CudaError::Shape(format!(
                "LDE of {n_rows} rows: not a power of two"
            )));
        }
        let log_n = n_rows.trailing_zeros();
        check_lde_shape(log_n, w, log_blowup)?;
        Ok((log_n, w))
    }

    /// The inverse transform of `w` bit-reversed columns in place, but for its last pass where
    /// that pass fuses with the forward transform's first ([`plan::fused_top_pass`]): that pass
    /// is returned, and `vals` is one pass short of N·(coefficients).
    fn inverse_but_top(
        &self,
        vals: &mut DeviceBuf<u64>,
        log_n: u32,
        w: usize,
    ) -> Result<Option<NttPass>> {
        let inverse = self.ntt_plan(log_n, false);
        let top = plan::fused_top_pass(&inverse, &self.ntt_plan(log_n, true));
        let run = inverse.len() - usize::from(top.is_some());
        self.ntt_passes(&mut vals.as_view_mut(), log_n, w, false, &inverse[..run])?;
        Ok(top)
    }

    /// From [`inverse_but_top`](Self::inverse_but_top)'s result: the fused pass
    /// (finishing the coefficients in place and starting every coset block), then the forward
    /// transform's other passes; or, with no pass left, [`extend_coefficients`].
    fn finish_and_extend(
        &self,
        coef: &mut DeviceBuf<u64>,
        top: Option<NttPass>,
        log_n: u32,
        w: usize,
        log_blowup: u32,
    ) -> Result<DeviceMatrix> {
        let Some(top) = top else {
            return self.extend_coefficients(coef, log_n, w, log_blowup);
        };
        let n = 1usize << log_n;
        let rows = n << log_blowup;
        let mut out = self.alloc_words(rows * w, "the LDE (column-major)")?;
        let (lo, hi, log_lo) = self.coset_tables(log_n, log_blowup)?;
        let (inv_tw, fwd_tw) = (self.twiddles(log_n, true)?, self.twiddles(log_n, false)?);
        for (g0, gw) in batches(w, MAX_GRID_YZ as usize) {
            let mut c = coef.slice_mut(g0 * n..(g0 + gw) * n);
            let mut o = out.slice_mut((g0 * n) << log_blowup..((g0 + gw) * n) << log_blowup);
            let kernel = if top.k == 4 {
                &self.k.ntt_inverse_expand4
            } else {
                &self.k.ntt_inverse_expand
            };
            let mut b = self.func(kernel);
            b.arg(&mut c)
                .arg(&mut o)
                .arg(inv_tw.as_ref())
                .arg(fwd_tw.as_ref())
                .arg(&log_n)
                .arg(&top.k)
                .arg(&log_blowup)
                .arg(lo.as_ref())
                .arg(hi.as_ref())
                .arg(&log_lo);
            let cfg = LaunchConfig {
                grid_dim: ((1u32 << top.log_s) / FUSED_THREADS, gw as u32, 1),
                block_dim: (FUSED_THREADS, 1, 1),
                shared_mem_bytes: 0,
            };
            self.launch(b, cfg, "ntt_inverse_expand")?;
        }
        let forward = self.ntt_plan(log_n, true);
        let mut cols = out.slice_mut(..rows * w);
        self.ntt_passes(&mut cols, log_n, w << log_blowup, true, &forward[1..])?;
        Ok(DeviceMatrix::from_columns(out, rows, w))
    }

    /// The column-major LDE from N·(coefficients): `coef` holds W columns of N words, natural
    /// order, scaled by N (what the inverse NTT of the LDE's first half gives). The forward
    /// passes write the result in place: no scratch, and every launch spans all the columns.
    pub(crate) fn extend_coefficients(
        &self,
        coef: &CudaSlice<u64>,
        log_n: u32,
        w: usize,
        log_blowup: u32,
    ) -> Result<DeviceMatrix> {
        check_lde_shape(log_n, w, log_blowup)?;
        if coef.len() < w << log_n {
            return Err(CudaError::Shape(format!(
                "{} coefficient words for {w} columns of 2^{log_n}",
                coef.len()
            )));
        }
        let rows = 1usize << (log_n + log_blowup);
        let mut out = self.alloc_words(rows * w, "the LDE (column-major)")?;
        self.forward_columns(coef, 0, w, log_n, log_blowup, &mut out)?;
        Ok(DeviceMatrix::from_columns(out, rows, w))
    }

    /// `batch` columns of 2^log_n words, each bit-reversed in place of its values, to
    /// 2^log_n·(coefficients) in natural order (the DIT inverse NTT, not scaled).
    pub(crate) fn inverse_ntt_columns(
        &self,
        data: &mut CudaSlice<u64>,
        log_n: u32,
        batch: usize,
    ) -> Result<()> {
        if log_n > MAX_LOG_N || batch == 0 || data.len() < batch << log_n {
            return Err(CudaError::Shape(format!(
                "inverse NTT of {batch} columns of 2^{log_n} words in a buffer of {}",
                data.len()
            )));
        }
        self.ntt(&mut data.as_view_mut(), log_n, batch, false)
    }

    /// A row-major copy of the column-major `m` (for kernels that read rows in place).
    pub(crate) fn row_major_copy(&self, m: &DeviceMatrix) -> Result<DeviceMatrix> {
        let (rows, w) = (m.rows(), m.width());
        if !m.is_col_major() || !rows.is_power_of_two() || w == 0 {
            return Err(CudaError::Shape(format!(
                "a row-major copy of a {rows} x {w} matrix that is not a power-of-two column-major one"
            )));
        }
        let mut out = self.alloc_words(rows * w, "a row-major copy")?;
        // column chunks whose tiles of >= 1 whole row fit 4096 words of shared memory
        for c0 in (0..w).step_by(1024) {
            let cw = 1024.min(w - c0);
            let src = m.words().slice(c0 * rows..(c0 + cw) * rows);
            self.colmajor_into_rowmajor(&src, rows, cw, &mut out, w, c0)?;
        }
        Ok(DeviceMatrix::from_parts(out, rows, w))
    }

    /// LDE, then the Merkle commitment of the (column-major) result.
    pub fn lde_commit(
        &self,
        trace: &DeviceMatrix,
        log_blowup: u32,
    ) -> Result<(DeviceMatrix, DeviceMerkleTree)> {
        let m = self.lde(trace, log_blowup)?;
        let tree = DeviceMerkleTree::commit(self, &m)?;
        Ok((m, tree))
    }

    /// Checks the shape, then: trace -> column-major, bit-reversed -> inverse NTT, giving
    /// N·(coefficients) in natural order, W columns of N words.
    pub(crate) fn lde_coefficients(
        &self,
        trace: &DeviceMatrix,
        log_blowup: u32,
        marks: &mut Option<Vec<(&'static str, CudaEvent)>>,
    ) -> Result<DeviceBuf<u64>> {
        let (log_n, w) = self.lde_input_shape(trace, log_blowup)?;
        let mut coef = self.bitrev_columns(trace, log_n, w)?;
        self.mark(marks, "transpose + bit-reverse")?;

        // inverse NTT: N * coefficients, natural order
        self.ntt(&mut coef.as_view_mut(), log_n, w, false)?;
        self.mark(marks, "inverse NTT")?;
        Ok(coef)
    }

    /// A new buffer (the coefficients-to-be) holding `trace` column-major with bit-reversed
    /// rows, in one pass: the inverse transform's input.
    fn bitrev_columns(&self, trace: &DeviceMatrix, log_n: u32, w: usize) -> Result<DeviceBuf<u64>> {
        let mut vals = self.alloc_words(trace.rows() * w, "LDE coefficients")?;
        self.transpose_bitrev(&trace.buf, &mut vals.as_view_mut(), log_n, w)?;
        Ok(vals)
    }

    /// Row-major `src` (2^log_n × w) into column-major `dst` with bit-reversed rows.
    pub(crate) fn transpose_bitrev(
        &self,
        src: &CudaSlice<u64>,
        dst: &mut CudaViewMut<'_, u64>,
        log_n: u32,
        w: usize,
    ) -> Result<()> {
        let wd = w as u32;
        if log_n >= 10 {
            // groups of 4 columns along y, looped in the kernel past the grid's y limit
            let groups = w.div_ceil(4).min(MAX_GRID_YZ as usize) as u32;
            let cfg = LaunchConfig {
                grid_dim: (1 << (log_n - 10), groups, 1),
                block_dim: (32, 8, 1),
                shared_mem_bytes: 0,
            };
            let mut b = self.func(&self.k.trace_to_colmajor_bitrev);
            b.arg(src).arg(dst).arg(&log_n).arg(&wd);
            self.launch(b, cfg, "trace_to_colmajor_bitrev")
        } else {
            let total = (w as u64) << log_n;
            let mut b = self.func(&self.k.trace_to_colmajor_bitrev_small);
            b.arg(src).arg(dst).arg(&log_n).arg(&wd);
            self.launch(
                b,
                crate::context::grid_1d(total, 256),
                "trace_to_colmajor_bitrev_small",
            )
        }
    }

    /// Columns c0 .. c0+cw of the column-major LDE into `ext` (cw·B transforms of N words): B
    /// scaled copies of each coefficient column, each transformed forward; the first pass does
    /// the scaling.
    pub(crate) fn forward_columns(
        &self,
        coef: &CudaSlice<u64>,
        c0: usize,
        cw: usize,
        log_n: u32,
        log_blowup: u32,
        ext: &mut CudaSlice<u64>,
    ) -> Result<()> {
        let n = 1usize << log_n;
        let (lo, hi, log_lo) = self.coset_tables(log_n, log_blowup)?;
        let tw = self.twiddles(log_n, false)?;
        let mut passes = self.ntt_plan(log_n, true);
        if passes.is_empty() {
            // N = 1: the pass only scales
            passes.push(NttPass {
                log_s: 0,
                k: 0,
                log_c: 0,
            });
        }
        let first = passes[0];
        // one launch per group of columns whose B blocks fit the grid's y limit
        let per_launch = (MAX_GRID_YZ as usize >> log_blowup).max(1);
        for (g0, gw) in batches(cw, per_launch) {
            let src = coef.slice((c0 + g0) * n..(c0 + g0 + gw) * n);
            let mut out = ext.slice_mut((g0 * n) << log_blowup..((g0 + gw) * n) << log_blowup);
            let mut b = self.func(self.ntt_kernels(first.k).1);
            b.arg(&src)
                .arg(&mut out)
                .arg(tw.as_ref())
                .arg(&log_n)
                .arg(&first.log_s)
                .arg(&first.k)
                .arg(&first.log_c)
                .arg(&log_blowup)
                .arg(lo.as_ref())
                .arg(hi.as_ref())
                .arg(&log_lo);
            self.launch(
                b,
                ntt_cfg(log_n, first, gw << log_blowup),
                "ntt_pass_expand",
            )?;
        }
        let mut cols = ext.slice_mut(..(cw * n) << log_blowup);
        self.ntt_passes(&mut cols, log_n, cw << log_blowup, true, &passes[1..])
    }

    /// Column-major `src` (cw columns of `rows` words) into columns c0 .. c0+cw of the
    /// row-major `dst` of width `w`: whole rows per block, 2^k rows with 2^k·(cw + 1) <= 4096
    /// words of shared memory.
    fn colmajor_into_rowmajor(
        &self,
        src: &CudaView<'_, u64>,
        rows: usize,
        cw: usize,
        dst: &mut CudaSlice<u64>,
        w: usize,
        c0: usize,
    ) -> Result<()> {
        let tile_rows = 1usize << (4096 / (cw + 1)).min(rows).max(1).ilog2();
        let cfg = LaunchConfig {
            grid_dim: ((rows / tile_rows) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: (tile_rows * (cw + 1) * 8) as u32,
        };
        let (r, cw32, tr, w64, c064) = (
            rows as u64,
            cw as u32,
            tile_rows as u32,
            w as u64,
            c0 as u64,
        );
        let mut b = self.func(&self.k.colmajor_to_rowmajor);
        b.arg(src)
            .arg(dst)
            .arg(&r)
            .arg(&cw32)
            .arg(&tr)
            .arg(&w64)
            .arg(&c064);
        self.launch(b, cfg, "colmajor_to_rowmajor")
    }

    /// `batch` transforms of size 2^log_n, stored one after another. DIF (forward, natural in,
    /// bit-reversed out) or DIT (inverse, bit-reversed in, natural out, not scaled by N^-1).
    pub(crate) fn ntt(
        &self,
        data: &mut CudaViewMut<'_, u64>,
        log_n: u32,
        batch: usize,
        dif: bool,
    ) -> Result<()> {
        self.ntt_passes(data, log_n, batch, dif, &self.ntt_plan(log_n, dif))
    }

    fn ntt_passes(
        &self,
        data: &mut CudaViewMut<'_, u64>,
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
        let n = 1usize << log_n;
        for &pass in passes {
            // the batch runs along y: one launch per batch of at most the grid's y limit
            for (t0, tb) in batches(batch, MAX_GRID_YZ as usize) {
                let mut part = data.slice_mut(t0 * n..(t0 + tb) * n);
                let mut b = self.func(self.ntt_kernels(pass.k).0);
                b.arg(&mut part)
                    .arg(tw.as_ref())
                    .arg(&log_n)
                    .arg(&pass.log_s)
                    .arg(&pass.k)
                    .arg(&pass.log_c)
                    .arg(&dif_flag);
                self.launch(b, ntt_cfg(log_n, pass, tb), "ntt_pass")?;
            }
        }
        Ok(())
    }
}

/// The LDE's limits: blowup 1..16, at most 2^MAX_LOG_N rows, at least one column (any width:
/// launches split the columns to fit the grid).
fn check_lde_shape(log_n: u32, w: usize, log_blowup: u32) -> Result<()> {
    if log_blowup > 4 || log_n + log_blowup > MAX_LOG_N {
        return Err(CudaError::Shape(format!(
            "LDE of 2^{log_n} rows with blowup 2^{log_blowup}: blowup must be 1..16 and the \
             result at most 2^{MAX_LOG_N} rows"
        )));
    }
    if w == 0 || w > u32::MAX as usize {
        return Err(CudaError::Shape(format!(
            "LDE of width {w}: the width must be 1..2^32"
        )));
    }
    Ok(())
}

/// Grid of one NTT pass: tiles of the column along x (at most 2^MAX_LOG_N / 2^k), the batch
/// along y (callers split it at the grid's y limit).
fn ntt_cfg(log_n: u32, pass: NttPass, batch: usize) -> LaunchConfig {
    let tiles = (1u64 << log_n) / pass.tile_words();
    LaunchConfig {
        grid_dim: (
            u32::try_from(tiles).unwrap_or(u32::MAX),
            u32::try_from(batch).unwrap_or(u32::MAX),
            1,
        ),
        block_dim: (256, 1, 1),
        shared_mem_bytes: pass.shared_bytes(),
    }
}
