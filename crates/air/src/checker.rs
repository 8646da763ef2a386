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
        let selectors = Selectors {
            is_first_row: F::from_bool(row == 0),
            is_last_row: F::from_bool(row == height - 1),
            is_transition: F::from_bool(row != height - 1),
        };
        let periodic: Vec<F> = fixed
            .periodic
            .iter()
            .map(|c| c.get(row % c.len().max(1)).copied().unwrap_or_default())
            .collect();
        let mut folder = RowFolder::new(
            &values[row * width..(row + 1) * width],
            &values[next * width..(next + 1) * width],
            public_values,
            selectors,
            &[],
            true,
        )
        .with_preprocessed(prep_row(row), prep_row(next))
        .with_periodic(&periodic);
        Air::<RowFolder<'_>>::eval(air, &mut folder);
        folder
            .first_failure
            .map(|constraint| WitnessFailure { row, constraint })
    })
}
