//! The range table: the values 0..2^16 in order, each with the number of times it is looked up.

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use rstark_air::{Interaction, Interactions, LinearCombination};

use super::BUS_RANGE;

/// Bits of one range-checked limb.
pub const LIMB_BITS: usize = 16;
/// Rows of the range table.
pub const RANGE_ROWS: usize = 1 << LIMB_BITS;

/// Column indices of the range table.
pub mod col {
    pub const VALUE: usize = 0;
    pub const MULT: usize = 1;
    pub const WIDTH: usize = 2;
}

/// The range-check AIR: `value` runs 0, 1, …, 2^16 − 1 (the last-row constraint pins the height).
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeAir;

impl<T> BaseAir<T> for RangeAir {
    fn width(&self) -> usize {
        col::WIDTH
    }
}

impl<AB: AirBuilder> Air<AB> for RangeAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (local, next) = (main.current_slice(), main.next_slice());
        let value = local[col::VALUE];
        builder.when_first_row().assert_zero(value);
        builder
            .when_transition()
            .assert_eq(next[col::VALUE], value + AB::Expr::ONE);
        builder
            .when_last_row()
            .assert_eq(value, AB::F::from_u64(RANGE_ROWS as u64 - 1));
    }
}

impl Interactions for RangeAir {
    fn interactions(&self) -> Vec<Interaction> {
        vec![Interaction::receive(
            BUS_RANGE,
            vec![LinearCombination::column(col::VALUE)],
            LinearCombination::column(col::MULT),
        )]
    }
}
