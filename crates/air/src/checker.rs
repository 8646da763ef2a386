//! Witness check: runs the AIR on every pair of consecutive trace rows with 0/1 selectors.

use p3_air::Air;
use p3_field::PrimeCharacteristicRing;
use rayon::prelude::*;
use rstark_field::F;

use crate::Table;
use crate::folder::{RowFolder, Selectors};

/// The first constraint a trace violates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WitnessFailure {
    pub row: usize,
    /// Index of the constraint in the order the AIR asserts it.
    pub constraint: usize,
}

/// Checks every constraint of `air` on the trace `values` (row-major, `width` columns, a
/// power-of-two number of rows; the row after the last is row 0). Returns the failure with the
/// smallest row (and, within it, the smallest constraint index), or `None`.
///
/// The caller validates the shape (`values.len() == width · height`, `width == air.width()`).
pub fn first_failing_constraint(
    air: &dyn Table,
    values: &[F],
    width: usize,
    public_values: &[F],
) -> Option<WitnessFailure> {
    if width == 0 || values.is_empty() {
        return None;
    }
    let height = values.len() / width;
    (0..height).into_par_iter().find_map_first(|row| {
        let next = (row + 1) % height;
        let selectors = Selectors {
            is_first_row: F::from_bool(row == 0),
            is_last_row: F::from_bool(row == height - 1),
            is_transition: F::from_bool(row != height - 1),
        };
        let mut folder = RowFolder::new(
            &values[row * width..(row + 1) * width],
            &values[next * width..(next + 1) * width],
            public_values,
            selectors,
            &[],
            true,
        );
        Air::<RowFolder<'_>>::eval(air, &mut folder);
        folder
            .first_failure
            .map(|constraint| WitnessFailure { row, constraint })
    })
}
