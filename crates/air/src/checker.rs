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
        failing_constraint_at(
            air,
            &values[row * width..(row + 1) * width],
            &values[next * width..(next + 1) * width],
            public_values,
            row,
            height,
        )
        .map(|constraint| WitnessFailure { row, constraint })
    })
}

/// The smallest index of a constraint of `air` that fails on row `row` of a trace of `height`
/// rows, whose values are `local` and the next row's `next` (row 0's after the last row); the
/// selectors are the trace domain's 0/1 ones. `None`: every constraint holds there. A device
/// check that found a failing row names its constraint with this (docs/GPU.md).
pub fn failing_constraint_at(
    air: &dyn Table,
    local: &[F],
    next: &[F],
    public_values: &[F],
    row: usize,
    height: usize,
) -> Option<usize> {
    let selectors = Selectors {
        is_first_row: F::from_bool(row == 0),
        is_last_row: F::from_bool(row + 1 == height),
        is_transition: F::from_bool(row + 1 != height),
    };
    let mut folder = RowFolder::new(local, next, public_values, selectors, &[], true);
    Air::<RowFolder<'_>>::eval(air, &mut folder);
    folder.first_failure
}
