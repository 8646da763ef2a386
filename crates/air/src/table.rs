//! The `Table` trait: everything rstark needs from one table's AIR, and [`AirTable`], which makes
//! a table of any p3 AIR (someone else's type included) in one line.

use std::borrow::Cow;

use p3_air::{Air, AirBuilder, BaseAir, BoundaryPublic, SymbolicAirBuilder};
use p3_matrix::dense::RowMajorMatrix;
use rstark_field::F;

use crate::folder::{PackedRowFolder, PointFolder, RowFolder};
use crate::{Interaction, Interactions};

/// A table's AIR as rstark uses it: the p3 AIR evaluated by every builder rstark runs, plus its
/// bus interactions.
///
/// Never implemented by hand: the blanket impl covers every AIR written generically
/// (`impl<AB: AirBuilder> Air<AB> for MyAir`) that also implements [`Interactions`], and
/// [`AirTable`] wraps an AIR that does not (a type from another crate, such as
/// `p3_keccak_air::KeccakAir`).
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

/// Any p3 AIR as a [`Table`], with the bus interactions declared beside it (none by default):
///
/// ```
/// use std::sync::Arc;
/// use rstark_air::{AirTable, Interaction, LinearCombination, Table};
///
/// // A published AIR, unchanged:
/// let keccak: Arc<dyn Table> = Arc::new(AirTable::new(p3_keccak_air::KeccakAir {}));
/// // The same with an interaction: every row sends column 0 on bus 3.
/// let sending = AirTable::new(p3_keccak_air::KeccakAir {}).with_interactions(vec![
///     Interaction::send(3, vec![LinearCombination::column(0)], LinearCombination::column(1)),
/// ]);
/// # let _: Arc<dyn Table> = Arc::new(sending);
/// ```
///
/// Every method of the AIR's `BaseAir` (width, preprocessed trace, periodic columns, public
/// values, …) and its `eval` are forwarded unchanged.
#[derive(Clone, Debug)]
pub struct AirTable<A> {
    pub air: A,
    pub interactions: Vec<Interaction>,
}

impl<A> AirTable<A> {
    /// The AIR with no interactions.
    pub fn new(air: A) -> Self {
        Self {
            air,
            interactions: Vec::new(),
        }
    }

    /// The AIR with these interactions (docs/PROTOCOL.md §5.3).
    pub fn with_interactions(mut self, interactions: Vec<Interaction>) -> Self {
        self.interactions = interactions;
        self
    }
}

impl<A> Interactions for AirTable<A> {
    fn interactions(&self) -> Vec<Interaction> {
        self.interactions.clone()
    }
}

impl<T, A: BaseAir<T>> BaseAir<T> for AirTable<A> {
    fn width(&self) -> usize {
        self.air.width()
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<T>> {
        self.air.preprocessed_trace()
    }
    fn preprocessed_width(&self) -> usize {
        self.air.preprocessed_width()
    }
    fn num_periodic_columns(&self) -> usize {
        self.air.num_periodic_columns()
    }
    fn periodic_columns(&self) -> Cow<'_, [Vec<T>]>
    where
        T: Clone,
    {
        self.air.periodic_columns()
    }
    fn periodic_values(&self, row_index: usize) -> Vec<T>
    where
        T: Clone,
    {
        self.air.periodic_values(row_index)
    }
    fn periodic_columns_matrix(&self) -> Option<RowMajorMatrix<T>>
    where
        T: Clone + Send + Sync,
    {
        self.air.periodic_columns_matrix()
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        self.air.main_next_row_columns()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        self.air.preprocessed_next_row_columns()
    }
    fn num_constraints(&self) -> Option<usize> {
        self.air.num_constraints()
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        self.air.max_constraint_degree()
    }
    fn num_public_values(&self) -> usize {
        self.air.num_public_values()
    }
    fn public_boundary_io(&self) -> &[BoundaryPublic] {
        self.air.public_boundary_io()
    }
    fn assumes_boolean_trace(&self) -> bool {
        self.air.assumes_boolean_trace()
    }
}

impl<AB: AirBuilder, A: Air<AB>> Air<AB> for AirTable<A> {
    #[inline]
    fn eval(&self, builder: &mut AB) {
        self.air.eval(builder)
    }
}
