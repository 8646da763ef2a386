//! Fibonacci: two columns (a, b), row i holds (F_i, F_{i+1}). The smallest table, for tests.
//!
//! Public values: `[a_0, b_0, b_last]`, the two starting values and the last row's `b`.

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use rstark_air::Interactions;
use rstark_field::F;

const A: usize = 0;
const B: usize = 1;
/// Columns of the Fibonacci table.
pub const FIB_WIDTH: usize = 2;

/// The Fibonacci AIR: `next.a = b`, `next.b = a + b`, boundary values from the public values.
#[derive(Clone, Copy, Debug, Default)]
pub struct FibAir;

impl<T> BaseAir<T> for FibAir {
    fn width(&self) -> usize {
        FIB_WIDTH
    }

    fn num_public_values(&self) -> usize {
        3
    }
}

impl<AB: AirBuilder> Air<AB> for FibAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (local, next) = (main.current_slice(), main.next_slice());
        let (a, b) = (local[A], local[B]);
        let (next_a, next_b) = (next[A], next[B]);
        let (a0, b0, b_last) = {
            let pv = builder.public_values();
            (pv[0], pv[1], pv[2])
        };

        builder.when_first_row().assert_eq(a, a0);
        builder.when_first_row().assert_eq(b, b0);
        builder.when_transition().assert_eq(next_a, b);
        builder.when_transition().assert_eq(next_b, a + b);
        builder.when_last_row().assert_eq(b, b_last);
    }
}

impl Interactions for FibAir {}

/// The trace (row-major values, width 2) of `rows` Fibonacci rows from (0, 1), and its public values.
pub fn fib_trace(rows: usize) -> (Vec<F>, Vec<F>) {
    let mut values = Vec::with_capacity(rows * FIB_WIDTH);
    let (mut a, mut b) = (F::ZERO, F::ONE);
    for _ in 0..rows {
        values.extend_from_slice(&[a, b]);
        (a, b) = (b, a + b);
    }
    let b_last = values[values.len() - 1];
    (values, vec![F::ZERO, F::ONE, b_last])
}
