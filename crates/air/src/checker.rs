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

/// The columns a table reads besides its main trace: the preprocessed trace (row-major,
/// `preprocessed_width` columns, as many rows as the main trace) and the periodic columns (row
/// `i` of the trace reads entry `i mod period` of each).
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedColumns<'a> {
    pub preprocessed: &'a [F],
    pub preprocessed_width: usize,
    pub periodic: &'a [Vec<F>],
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
    first_failing_constraint_with(air, values, width, public_values, &FixedColumns::default())
}

/// [`first_failing_constraint`] for a table with preprocessed or periodic columns. The caller
/// validates their shapes too (preprocessed: `height × preprocessed_width` values; periodic:
/// non-empty columns).
pub fn first_failing_constraint_with(
    air: &dyn Table,
    values: &[F],
    width: usize,
    public_values: &[F],
    fixed: &FixedColumns<'_>,
) -> Option<WitnessFailure> {
    if width == 0 || values.is_empty() {
        return None;
    }
    let height = values.len() / width;
    let pw = fixed.preprocessed_width;
    let prep_row = |r: usize| -> &[F] {
        fixed
            .preprocessed
            .get(r * pw..(r + 1) * pw)
            .unwrap_or_default()
    };
    (0..height).into_par_iter().find_map_first(|row| {
        let next = (row + 1) % height;
        let periodic: Vec<F> = fixed
            .periodic
            .iter()
            .map(|c| c.get(row % c.len().max(1)).copied().unwrap_or_default())
            .collect();
        let fixed_row = FixedRow {
            preprocessed_local: prep_row(row),
            preprocessed_next: prep_row(next),
            periodic: &periodic,
        };
        failing_constraint_at_with(
            air,
            &values[row * width..(row + 1) * width],
            &values[next * width..(next + 1) * width],
            public_values,
            &fixed_row,
            row,
            height,
        )
        .map(|constraint| WitnessFailure { row, constraint })
    })
}

/// One row pair's columns besides the main trace (empty slices: the table has none).
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedRow<'a> {
    pub preprocessed_local: &'a [F],
    pub preprocessed_next: &'a [F],
    /// The periodic columns' values at the row.
    pub periodic: &'a [F],
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
    failing_constraint_at_with(
        air,
        local,
        next,
        public_values,
        &FixedRow::default(),
        row,
        height,
    )
}

/// [`failing_constraint_at`] for a table with preprocessed or periodic columns.
pub fn failing_constraint_at_with(
    air: &dyn Table,
    local: &[F],
    next: &[F],
    public_values: &[F],
    fixed: &FixedRow<'_>,
    row: usize,
    height: usize,
) -> Option<usize> {
    let selectors = Selectors {
        is_first_row: F::from_bool(row == 0),
        is_last_row: F::from_bool(row + 1 == height),
        is_transition: F::from_bool(row + 1 != height),
    };
    let mut folder = RowFolder::new(local, next, public_values, selectors, &[], true)
        .with_preprocessed(fixed.preprocessed_local, fixed.preprocessed_next)
        .with_periodic(fixed.periodic);
    Air::<RowFolder<'_>>::eval(air, &mut folder);
    folder.first_failure
}
