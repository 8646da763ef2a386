//! The `Table` trait: everything rstark needs from one table's AIR.

use p3_air::{Air, BaseAir, SymbolicAirBuilder};
use rstark_field::F;

use crate::Interactions;
use crate::folder::{PackedRowFolder, PointFolder, RowFolder};

/// A table's AIR as rstark uses it: the p3 AIR evaluated by every builder rstark runs, plus its
/// bus interactions.
///
/// Never implemented by hand: the blanket impl covers every AIR written generically
/// (`impl<AB: AirBuilder> Air<AB> for MyAir`) that also implements [`Interactions`].
pub trait Table:
    BaseAir<F>
    + Interactions
    + Air<SymbolicAirBuilder<F>>
    + for<'a> Air<RowFolder<'a>>
    + for<'a> Air<PackedRowFolder<'a>>
    + for<'a> Air<PointFolder<'a>>
    + Send
    + Sync
{
}

impl<T> Table for T where
    T: BaseAir<F>
        + Interactions
        + Air<SymbolicAirBuilder<F>>
        + for<'a> Air<RowFolder<'a>>
        + for<'a> Air<PackedRowFolder<'a>>
        + for<'a> Air<PointFolder<'a>>
        + Send
        + Sync
{
}
