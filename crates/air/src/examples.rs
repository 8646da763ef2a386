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

/// A range table whose values are preprocessed, with periodic columns: the test AIR of the
/// preprocessed/periodic machinery (docs/PROTOCOL.md §5.2a, §5.4a).
///
/// Preprocessed columns (committed at setup): `r = i` and `k = i² + 1` on row i.
/// Periodic columns: `c0` of period 4 (1, 0, 0, 0) and `c1` of period 2 (3, 5).
/// Main columns: `v` (a copy of `r`, which the bus reads), `m` (how many times v is looked up),
/// `x`, `y`. Public value: x_0. Constraints:
/// 1. `v = r`;
/// 2. first row: `x = x_0`;
/// 3. transition: `x' = x + k·c1 + r'` (reads the next preprocessed row);
/// 4. `y = c0·x²` (degree 3: a quotient factor of 2).
///
/// Receives (v) on [`RANGE_BUS`] with multiplicity m: pairs with [`RangeUserAir`].
#[derive(Clone, Copy, Debug)]
pub struct PreprocessedRangeAir {
    pub log_height: usize,
}

impl BaseAir<F> for PreprocessedRangeAir {
    fn width(&self) -> usize {
        4
    }
    fn num_public_values(&self) -> usize {
        1
    }
    fn preprocessed_width(&self) -> usize {
        2
    }
    fn preprocessed_trace(&self) -> Option<p3_matrix::dense::RowMajorMatrix<F>> {
        let values = (0..1u64 << self.log_height)
            .flat_map(|i| [F::from_u64(i), F::from_u64(i * i + 1)])
            .collect();
        Some(p3_matrix::dense::RowMajorMatrix::new(values, 2))
    }
    fn num_periodic_columns(&self) -> usize {
        2
    }
    fn periodic_columns(&self) -> std::borrow::Cow<'_, [Vec<F>]> {
        std::borrow::Cow::Owned(vec![
            [1u64, 0, 0, 0].map(F::from_u64).to_vec(),
            [3u64, 5].map(F::from_u64).to_vec(),
        ])
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for PreprocessedRangeAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (v, x, y) = (
            main.current_slice()[0],
            main.current_slice()[2],
            main.current_slice()[3],
        );
        let nx = main.next_slice()[2];
        let prep = builder.preprocessed().clone();
        let (r, k, nr) = (
            prep.current_slice()[0],
            prep.current_slice()[1],
            prep.next_slice()[0],
        );
        let (c0, c1): (AB::Expr, AB::Expr) = (
            builder.periodic_values()[0].into(),
            builder.periodic_values()[1].into(),
        );
        let x0: AB::Expr = builder.public_values()[0].into();
        builder.assert_eq(v, r);
        builder.when_first_row().assert_eq(x, x0);
        builder
            .when_transition()
            .assert_eq(nx, c1 * k + x + nr.into());
        builder.assert_eq(y, c0 * x * x);
    }
}

impl Interactions for PreprocessedRangeAir {
    fn interactions(&self) -> Vec<Interaction> {
        RangeTableAir.interactions()
    }
}

/// Traces of [`PreprocessedRangeAir`] (2^log_height rows, public value `x0`) and of a
/// [`RangeUserAir`] table of `users` rows looking values up in it. Returns (range main trace,
/// its public values, user trace), row-major.
pub fn preprocessed_range_traces(
    log_height: usize,
    users: usize,
    x0: u64,
) -> (Vec<F>, Vec<F>, Vec<F>) {
    let n = 1usize << log_height;
    let (pair, user) = range_pair_traces(n, users);
    let air = PreprocessedRangeAir { log_height };
    let prep = BaseAir::<F>::preprocessed_trace(&air).map_or_else(Vec::new, |m| m.values);
    let periodic = BaseAir::<F>::periodic_columns(&air);
    let mut main = Vec::with_capacity(4 * n);
    let mut x = F::from_u64(x0);
    for i in 0..n {
        let (c0, c1) = (periodic[0][i % 4], periodic[1][i % 2]);
        main.extend_from_slice(&[pair[2 * i], pair[2 * i + 1], x, c0 * x * x]);
        let next_r = prep[2 * ((i + 1) % n)];
        x = x + prep[2 * i + 1] * c1 + next_r;
    }
    (main, vec![F::from_u64(x0)], user)
}
