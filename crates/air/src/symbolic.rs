//! Constraint count and degree, read from p3's symbolic builder.

use p3_air::{Air, AirLayout, BaseAir, SymbolicAirBuilder};
use rstark_field::F;

use crate::Table;

/// What the symbolic evaluation of a table's AIR tells the prover and verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConstraintInfo {
    /// Number of `assert_zero` calls the AIR makes (its own constraints, LogUp excluded).
    pub num_constraints: usize,
    /// Largest constraint degree (selectors `is_first_row`/`is_last_row` count 1,
    /// `is_transition` counts 0, as in p3).
    pub max_degree: usize,
}

/// Evaluates `air` symbolically. `num_public_values` is the number of public values the table
/// is proved with (the builder must offer at least as many as the AIR reads).
pub fn constraint_info(air: &dyn Table, num_public_values: usize) -> ConstraintInfo {
    let constraints = symbolic_constraints(air, num_public_values);
    ConstraintInfo {
        num_constraints: constraints.len(),
        max_degree: constraints
            .iter()
            .map(|c| c.degree_multiple())
            .max()
            .unwrap_or(0),
    }
}

/// The AIR's constraints as p3 symbolic expressions, in assertion order (the input of a GPU
/// constraint compiler). LogUp constraints are not included (see [`crate::logup`]).
pub fn symbolic_constraints(
    air: &dyn Table,
    num_public_values: usize,
) -> Vec<p3_air::SymbolicExpression<F>> {
    let layout = AirLayout {
        preprocessed_width: 0,
        main_width: BaseAir::<F>::width(air),
        num_public_values: num_public_values.max(BaseAir::<F>::num_public_values(air)),
        ..Default::default()
    };
    let mut builder = SymbolicAirBuilder::<F>::new(layout);
    Air::<SymbolicAirBuilder<F>>::eval(air, &mut builder);
    builder.base_constraints()
}
