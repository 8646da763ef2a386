//! Tiny AIRs used by rstark's own tests and docs: Fibonacci, and a two-table LogUp pair.
//! (The product workloads live in `rstark-workloads`.)

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use rstark_field::F;

use crate::{Interaction, Interactions, LinearCombination};

/// Fibonacci: columns (a, b); public values (a_0, b_0, b_{N−1}).
/// Rows: a' = b, b' = a + b.
#[derive(Clone, Copy, Debug, Default)]
pub struct FibonacciAir;

impl<T> BaseAir<T> for FibonacciAir {
    fn width(&self) -> usize {
        2
    }
    fn num_public_values(&self) -> usize {
        3
    }
}

impl<AB: AirBuilder> Air<AB> for FibonacciAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (a, b) = (main.current_slice()[0], main.current_slice()[1]);
        let (na, nb) = (main.next_slice()[0], main.next_slice()[1]);
        let pv = builder.public_values();
        let (a0, b0, out): (AB::Expr, AB::Expr, AB::Expr) =
            (pv[0].into(), pv[1].into(), pv[2].into());
        builder.when_first_row().assert_eq(a, a0);
        builder.when_first_row().assert_eq(b, b0);
        builder.when_transition().assert_eq(na, b);
        builder.when_transition().assert_eq(nb, a + b);
        builder.when_last_row().assert_eq(b, out);
    }
}

impl Interactions for FibonacciAir {}

/// Row-major Fibonacci trace of `n` rows and its public values.
pub fn fibonacci_trace(n: usize, a0: u64, b0: u64) -> (Vec<F>, Vec<F>) {
    let mut values = Vec::with_capacity(2 * n);
    let (mut a, mut b) = (F::from_u64(a0), F::from_u64(b0));
    for _ in 0..n {
        values.push(a);
        values.push(b);
        (a, b) = (b, a + b);
    }
    let last = values[2 * n - 1];
    (values, vec![F::from_u64(a0), F::from_u64(b0), last])
}

/// Bus of the range-check pair.
pub const RANGE_BUS: u32 = 7;

/// A table of the values 0 … N−1 (column 0, a counter) with, in column 1, how many times each
/// value is looked up. Receives (value) on [`RANGE_BUS`] with that multiplicity.
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeTableAir;

impl<T> BaseAir<T> for RangeTableAir {
    fn width(&self) -> usize {
        2
    }
}

impl<AB: AirBuilder> Air<AB> for RangeTableAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let v = main.current_slice()[0];
        let nv = main.next_slice()[0];
        builder.when_first_row().assert_zero(v);
        builder.when_transition().assert_eq(nv, v + AB::Expr::ONE);
    }
}

impl Interactions for RangeTableAir {
    fn interactions(&self) -> Vec<Interaction> {
        vec![Interaction::receive(
            RANGE_BUS,
            vec![LinearCombination::column(0)],
            LinearCombination::column(1),
        )]
    }
}

/// A table of values (column 0), each sent once on [`RANGE_BUS`]; column 1 = column 0 squared
/// (a degree-2 constraint, so the table has constraints of its own).
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeUserAir;

impl<T> BaseAir<T> for RangeUserAir {
    fn width(&self) -> usize {
        2
    }
}

impl<AB: AirBuilder> Air<AB> for RangeUserAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let v = main.current_slice()[0];
        let sq = main.current_slice()[1];
        builder.assert_eq(sq, v * v);
    }
}

impl Interactions for RangeUserAir {
    fn interactions(&self) -> Vec<Interaction> {
        vec![Interaction::send(
            RANGE_BUS,
            vec![LinearCombination::column(0)],
            LinearCombination::constant(F::ONE),
        )]
    }
}

/// Traces of the pair: a range table of `range` rows and a user table of `users` rows holding
/// `(7·i + 3) mod range`. Returns (range table, user table), both row-major of width 2.
pub fn range_pair_traces(range: usize, users: usize) -> (Vec<F>, Vec<F>) {
    let mut counts = vec![0u64; range];
    let mut user = Vec::with_capacity(2 * users);
    for i in 0..users {
        let v = ((7 * i + 3) % range) as u64;
        counts[v as usize] += 1;
        user.push(F::from_u64(v));
        user.push(F::from_u64(v * v));
    }
    let mut table = Vec::with_capacity(2 * range);
    for (v, &c) in counts.iter().enumerate() {
        table.push(F::from_u64(v as u64));
        table.push(F::from_u64(c));
    }
    (table, user)
}

/// x' = x^k + c (degree k): exercises quotient factors above the blowup. Width 1, public
/// value: x_0.
#[derive(Clone, Copy, Debug)]
pub struct PowerMapAir {
    pub exponent: u64,
}

impl<T> BaseAir<T> for PowerMapAir {
    fn width(&self) -> usize {
        1
    }
    fn num_public_values(&self) -> usize {
        1
    }
}

impl<AB: AirBuilder> Air<AB> for PowerMapAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let x: AB::Expr = main.current_slice()[0].into();
        let nx = main.next_slice()[0];
        let x0: AB::Expr = builder.public_values()[0].into();
        builder.when_first_row().assert_eq(x.clone(), x0);
        let mut p = x.clone();
        for _ in 1..self.exponent {
            p *= x.clone();
        }
        builder.when_transition().assert_eq(nx, p + AB::Expr::ONE);
    }
}

impl Interactions for PowerMapAir {}

/// Trace of [`PowerMapAir`]: `n` rows from `x0`.
pub fn power_map_trace(exponent: u64, n: usize, x0: u64) -> (Vec<F>, Vec<F>) {
    let mut values = Vec::with_capacity(n);
    let mut x = F::from_u64(x0);
    for _ in 0..n {
        values.push(x);
        x = x.exp_u64(exponent) + F::ONE;
    }
    (values, vec![F::from_u64(x0)])
}
