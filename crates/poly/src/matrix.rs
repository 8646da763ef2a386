use rstark_field::F;

use crate::PolyError;

/// A row-major matrix of base-field elements: element (r, c) at `values[r * width + c]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMajor {
    pub values: Vec<F>,
    pub width: usize,
}

impl RowMajor {
    /// Checks that `values` splits into whole rows of `width ≥ 1` elements.
    /// (Power-of-two heights are checked where they matter, e.g. by [`crate::lde`].)
    pub fn new(values: Vec<F>, width: usize) -> Result<Self, PolyError> {
        if width == 0 {
            return Err(PolyError::ZeroWidth);
        }
        if !values.len().is_multiple_of(width) {
            return Err(PolyError::RaggedMatrix {
                len: values.len(),
                width,
            });
        }
        Ok(Self { values, width })
    }

    /// Number of rows (0 for a malformed zero-width matrix).
    #[inline]
    pub fn height(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    /// Row `i`. Panics if `i >= height()` like slice indexing.
    #[inline]
    pub fn row(&self, i: usize) -> &[F] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// Iterator over the rows.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, F> {
        self.values.chunks_exact(self.width.max(1))
    }

    /// Checks the fields (they are public) and that the height is a power of two; returns log2.
    pub(crate) fn log_height(&self) -> Result<usize, PolyError> {
        if self.width == 0 {
            return Err(PolyError::ZeroWidth);
        }
        if !self.values.len().is_multiple_of(self.width) {
            return Err(PolyError::RaggedMatrix {
                len: self.values.len(),
                width: self.width,
            });
        }
        let h = self.height();
        if !h.is_power_of_two() {
            return Err(PolyError::HeightNotPowerOfTwo { height: h });
        }
        Ok(h.trailing_zeros() as usize)
    }
}
