//! Matrices of canonical Goldilocks words held on the device: row-major (traces, codewords,
//! quotient values) or column-major (LDEs: the NTT writes columns, and the Merkle leaves and the
//! constraint kernels read them coalesced, docs/GPU.md "LDE pipeline").

use cudarc::driver::{CudaSlice, PushKernelArg};
use rayon::prelude::*;
use rstark_field::F;
use rstark_poly::RowMajor;

use crate::context::{GpuContext, grid_1d};
use crate::error::{CudaError, Result};
use crate::memory::DeviceBuf;

/// N rows × W columns on the device: element (r, c) at word r·W + c (row-major, the host's
/// layout, docs/PROTOCOL.md §2) or at c·N + r (column-major).
pub struct DeviceMatrix {
    pub(crate) buf: DeviceBuf<u64>,
    rows: usize,
    width: usize,
    col_major: bool,
}

const P: u64 = 0xFFFF_FFFF_0000_0001;

/// From this many words on, [`to_field`] converts on the thread pool.
const PAR_WORDS: usize = 1 << 16;

impl DeviceMatrix {
    pub(crate) fn from_parts(buf: DeviceBuf<u64>, rows: usize, width: usize) -> Self {
        debug_assert!(buf.len() >= rows * width);
        Self {
            buf,
            rows,
            width,
            col_major: false,
        }
    }

    /// A column-major matrix: column c at words c·rows .. (c + 1)·rows.
    pub(crate) fn from_columns(buf: DeviceBuf<u64>, rows: usize, width: usize) -> Self {
        Self {
            col_major: true,
            ..Self::from_parts(buf, rows, width)
        }
    }

    /// Whether element (r, c) is at word c·rows + r (else r·width + c).
    pub fn is_col_major(&self) -> bool {
        self.col_major
    }

    /// (row stride, column stride) in words: element (r, c) at r·row_stride + c·col_stride.
    pub fn strides(&self) -> (u64, u64) {
        if self.col_major {
            (1, self.rows as u64)
        } else {
            (self.width as u64, 1)
        }
    }

    /// Upload a host matrix (counted as host->device traffic), through pinned staging buffers
    /// for large matrices.
    pub fn upload(ctx: &GpuContext, m: &RowMajor) -> Result<Self> {
        if m.width == 0 || !m.values.len().is_multiple_of(m.width) {
            return Err(CudaError::Shape(format!(
                "{} values cannot form rows of width {}",
                m.values.len(),
                m.width
            )));
        }
        let rows = m.values.len() / m.width;
        let mut buf = ctx.alloc_words(m.values.len(), "a matrix")?;
        ctx.upload_field_into(&m.values, &mut buf)?;
        Ok(Self::from_parts(buf, rows, m.width))
    }

    /// Upload canonical words (each < p) as a rows × width matrix.
    pub fn upload_words(
        ctx: &GpuContext,
        words: &[u64],
        rows: usize,
        width: usize,
    ) -> Result<Self> {
        if width == 0 || rows.checked_mul(width) != Some(words.len()) {
            return Err(CudaError::Shape(format!(
                "{} words cannot form {rows} rows of width {width}",
                words.len()
            )));
        }
        if let Some(&bad) = words.par_iter().find_any(|&&w| w >= P) {
            return Err(CudaError::NonCanonical(bad));
        }
        let buf = ctx.upload(words, "a matrix")?;
        Ok(Self::from_parts(buf, rows, width))
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// The device words, in the matrix's layout ([`strides`](Self::strides)).
    pub fn words(&self) -> &CudaSlice<u64> {
        &self.buf
    }

    /// Copy the whole matrix back (counted), in row-major order whatever the device layout.
    pub fn download_words(&self, ctx: &GpuContext) -> Result<Vec<u64>> {
        let mut v = ctx.download(&self.buf, "a matrix")?;
        v.truncate(self.rows * self.width);
        if !self.col_major {
            return Ok(v);
        }
        let (rows, w) = (self.rows, self.width);
        let mut out = vec![0u64; rows * w];
        out.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
            row.iter_mut()
                .enumerate()
                .for_each(|(c, x)| *x = v[c * rows + r])
        });
        Ok(out)
    }

    pub fn download(&self, ctx: &GpuContext) -> Result<RowMajor> {
        let values = to_field(self.download_words(ctx)?)?;
        RowMajor::new(values, self.width).map_err(|e| CudaError::Shape(e.to_string()))
    }

    /// Gather the given rows on the device and copy only them back: out[i] = row rows[i].
    pub fn gather_rows(&self, ctx: &GpuContext, rows: &[usize]) -> Result<Vec<Vec<F>>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let idx: Vec<u64> = rows
            .iter()
            .map(|&r| {
                if r < self.rows {
                    Ok(r as u64)
                } else {
                    Err(CudaError::RowOutOfRange {
                        index: r as u64,
                        rows: self.rows as u64,
                    })
                }
            })
            .collect::<Result<_>>()?;
        let dev_idx = ctx.upload(&idx, "row indices")?;
        let n = idx.len() as u64;
        let w = self.width as u32;
        let total = n * self.width as u64;
        let mut out = ctx.alloc_words(total as usize, "gathered rows")?;
        let mut bad = ctx.alloc_zeroed_u32(1, "gather flag")?;
        let rows_u64 = self.rows as u64;
        let (rs, cs) = self.strides();
        let mut b = ctx.func(&ctx.k.gather_rows);
        b.arg(&self.buf)
            .arg(&rows_u64)
            .arg(&w)
            .arg(&rs)
            .arg(&cs)
            .arg(&dev_idx)
            .arg(&n)
            .arg(&mut out)
            .arg(&mut bad);
        ctx.launch(b, grid_1d(total, 256), "gather_rows")?;
        if ctx.download(&bad, "gather flag")?[0] != 0 {
            return Err(CudaError::RowOutOfRange {
                index: u64::MAX,
                rows: rows_u64,
            });
        }
        let words = ctx.download(&out, "gathered rows")?;
        let vals = to_field(words[..total as usize].to_vec())?;
        Ok(vals.chunks(self.width).map(|c| c.to_vec()).collect())
    }
}

/// Whether every word is a canonical field element (else the first one that is not). Blocks of
/// 512 words are tested without an early exit, which the compiler vectorizes (2.5–3× faster
/// than a plain `find` on the openings' 4.7 MB); the first offender is searched only on failure.
pub(crate) fn check_canonical(words: &[u64]) -> Result<()> {
    let any_bad = |c: &[u64]| c.iter().fold(false, |bad, &w| bad | (w >= P));
    if !words.chunks(512).any(any_bad) {
        return Ok(());
    }
    match words.iter().find(|&&w| w >= P) {
        Some(&bad) => Err(CudaError::NonCanonical(bad)),
        None => Ok(()),
    }
}

/// Canonical words (checked with [`check_canonical`]) as field elements.
pub(crate) fn words_to_field(words: &[u64]) -> Vec<F> {
    words.iter().map(|&w| F::new(w)).collect()
}

/// Device words -> field elements, rejecting anything non-canonical.
pub(crate) fn to_field(words: Vec<u64>) -> Result<Vec<F>> {
    // the small ones (roots, OOD values, the final codeword) without waking the thread pool
    if words.len() < PAR_WORDS {
        check_canonical(&words)?;
        return Ok(words_to_field(&words));
    }
    if let Some(&bad) = words.par_iter().find_any(|&&w| w >= P) {
        return Err(CudaError::NonCanonical(bad));
    }
    Ok(words.into_par_iter().map(F::new).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_canonical_finds_the_first_offender_anywhere() {
        let good: Vec<u64> = (0..1500u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % P)
            .collect();
        assert!(check_canonical(&good).is_ok());
        assert!(check_canonical(&[]).is_ok());
        assert!(check_canonical(&[P - 1]).is_ok());
        for at in [0, 1, 511, 512, 1023, 1499] {
            for bad in [P, P + 5, u64::MAX] {
                let mut w = good.clone();
                w[at] = bad;
                w[1499.min(at + 3)] = u64::MAX; // a later offender is not the one reported
                let want = if at == 1499 { u64::MAX } else { bad };
                assert!(
                    matches!(check_canonical(&w), Err(CudaError::NonCanonical(v)) if v == want)
                );
            }
        }
    }
}
