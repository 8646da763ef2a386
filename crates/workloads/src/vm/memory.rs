//! The memory table: every memory access of the CPU, sorted by (address, timestamp).
//!
//! It receives the accesses from the CPU on the memory bus (multiplicity `is_real`) and checks
//! read-after-write consistency itself: between consecutive rows of one address the timestamp
//! strictly grows and a read returns the previous value; the first access of an address that is a
//! read returns 0 (memory starts zeroed). Ordering is enforced by range-checking, on every row,
//! `next.ts − ts − 1` (same address) or `next.addr − addr − 1` (next address) as two 16-bit limbs
//! sent to the range table. Padding rows (`is_real = 0`) only come after all real rows.

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use rstark_air::{Interaction, Interactions, LinearCombination};
use rstark_field::F;

use super::range::LIMB_BITS;
use super::{BUS_MEMORY, BUS_RANGE};

/// Column indices of the memory table.
pub mod col {
    pub const ADDR: usize = 0;
    pub const TS: usize = 1;
    pub const VAL: usize = 2;
    pub const IS_WRITE: usize = 3;
    /// 1 for an access received from the CPU, 0 for padding.
    pub const IS_REAL: usize = 4;
    /// 1 when the next row has the same address.
    pub const SAME: usize = 5;
    /// The ordering difference to the next row, `LO + 2^16 · HI`.
    pub const LO: usize = 6;
    pub const HI: usize = 7;
    pub const WIDTH: usize = 8;
}

/// The memory AIR of the VM.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryAir;

impl<T> BaseAir<T> for MemoryAir {
    fn width(&self) -> usize {
        col::WIDTH
    }
}

impl<AB: AirBuilder> Air<AB> for MemoryAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (local, next) = (main.current_slice(), main.next_slice());
        let [addr, ts, val, is_write, is_real, same, lo, hi] = std::array::from_fn(|i| local[i]);
        let one = || AB::Expr::ONE;

        builder.assert_bool(is_write);
        builder.assert_bool(is_real);
        builder.assert_bool(same);

        let mut t = builder.when_transition();
        // Real rows first, then padding.
        t.assert_zero((one() - is_real) * next[col::IS_REAL]);
        // `same` really means the same address (a wrong 0 would make the difference −1, out of range).
        t.assert_zero(same * (next[col::ADDR] - addr));
        let ts_gap = next[col::TS] - ts - one();
        let addr_gap = next[col::ADDR] - addr - one();
        let gap = same * ts_gap + (one() - same) * addr_gap;
        t.assert_eq(lo + hi * AB::F::from_u64(1 << LIMB_BITS), gap);
        // A read returns the previous value of its address, or 0 on its first access.
        let next_is_read = one() - next[col::IS_WRITE];
        t.assert_zero(same * next_is_read.clone() * (next[col::VAL] - val));
        t.assert_zero((one() - same) * next_is_read * next[col::VAL]);

        builder
            .when_first_row()
            .assert_zero((one() - is_write) * val);
    }
}

impl Interactions for MemoryAir {
    fn interactions(&self) -> Vec<Interaction> {
        let c = LinearCombination::column;
        vec![
            Interaction::receive(
                BUS_MEMORY,
                vec![c(col::ADDR), c(col::VAL), c(col::TS), c(col::IS_WRITE)],
                c(col::IS_REAL),
            ),
            Interaction::send(
                BUS_RANGE,
                vec![c(col::LO)],
                LinearCombination::constant(F::ONE),
            ),
            Interaction::send(
                BUS_RANGE,
                vec![c(col::HI)],
                LinearCombination::constant(F::ONE),
            ),
        ]
    }
}
