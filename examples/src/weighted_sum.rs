//! A user AIR with preprocessed columns, periodic columns and a LogUp bus (docs/GUIDE.md,
//! "Your own AIR").
//!
//! `WeightedSumAir` absorbs one byte per row into a running state:
//!
//! ```text
//! s_0 = seed,     s_{i+1} = c_i · s_i + w_{i+1} · b_{i+1},     digest = s_{N−1}
//! ```
//!
//! where the weights `w_i` are a fixed table (a **preprocessed** column: committed once at setup,
//! the same for every proof), the round constants `c_i` repeat every 8 rows (a **periodic**
//! column: never committed, both sides compute it) and every byte `b_i` is range-checked by a
//! lookup into `ByteTableAir` over a **LogUp bus** (the sum table sends, the byte table
//! receives with the multiplicity it counts).

use std::borrow::Cow;

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use rstark_air::{Interaction, Interactions, LinearCombination};
use rstark_field::F;

/// The bus the bytes travel on.
pub const BYTE_BUS: u32 = 1;

/// Round constants: one period of the periodic column.
pub const ROUND_CONSTANTS: [u64; 8] = [3, 5, 7, 11, 13, 17, 19, 23];

/// The weight of row i (the preprocessed column): `i² + 1`.
pub fn weight(i: usize) -> F {
    F::from_u64((i * i + 1) as u64)
}

/// Columns: `b` (the byte absorbed on this row), `s` (the state after it).
/// Public values: the seed `s_0` and the digest `s_{N−1}`.
#[derive(Clone, Copy, Debug)]
pub struct WeightedSumAir {
    /// log2 of the number of rows (the preprocessed column has this many).
    pub log_rows: usize,
}

impl BaseAir<F> for WeightedSumAir {
    fn width(&self) -> usize {
        2
    }

    fn num_public_values(&self) -> usize {
        2
    }

    fn preprocessed_width(&self) -> usize {
        1
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        let weights = (0..1usize << self.log_rows).map(weight).collect();
        Some(RowMajorMatrix::new(weights, 1))
    }

    fn num_periodic_columns(&self) -> usize {
        1
    }

    fn periodic_columns(&self) -> Cow<'_, [Vec<F>]> {
        Cow::Owned(vec![ROUND_CONSTANTS.map(F::from_u64).to_vec()])
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for WeightedSumAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (b, s) = (main.current_slice()[0], main.current_slice()[1]);
        let (b_next, s_next) = (main.next_slice()[0], main.next_slice()[1]);
        let w = builder.preprocessed().current_slice()[0];
        let w_next = builder.preprocessed().next_slice()[0];
        let c: AB::Expr = builder.periodic_values()[0].into();
        let pv = builder.public_values();
        let (seed, digest): (AB::Expr, AB::Expr) = (pv[0].into(), pv[1].into());

        builder.when_first_row().assert_eq(s, seed + w * b);
        builder
            .when_transition()
            .assert_eq(s_next, c * s + w_next * b_next);
        builder.when_last_row().assert_eq(s, digest);
    }
}

impl Interactions for WeightedSumAir {
    /// Every row sends its byte once.
    fn interactions(&self) -> Vec<Interaction> {
        vec![Interaction::send(
            BYTE_BUS,
            vec![LinearCombination::column(0)],
            LinearCombination::constant(F::ONE),
        )]
    }
}

/// The bytes 0..=255 (column `v`, a counter) and how many times each is looked up (column `m`).
#[derive(Clone, Copy, Debug)]
pub struct ByteTableAir;

impl BaseAir<F> for ByteTableAir {
    fn width(&self) -> usize {
        2
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for ByteTableAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (v, v_next) = (main.current_slice()[0], main.next_slice()[0]);
        builder.when_first_row().assert_zero(v);
        builder
            .when_transition()
            .assert_eq(v_next, v + AB::Expr::ONE);
    }
}

impl Interactions for ByteTableAir {
    /// Receives each byte with its multiplicity.
    fn interactions(&self) -> Vec<Interaction> {
        vec![Interaction::receive(
            BYTE_BUS,
            vec![LinearCombination::column(0)],
            LinearCombination::column(1),
        )]
    }
}

/// The traces of both tables for `bytes` (their number, 2^log_rows, is the sum table's height)
/// and the sum table's public values `[seed, digest]`: (sum trace, publics, byte table trace),
/// row-major.
pub fn traces(bytes: &[u8], seed: u64) -> (Vec<F>, Vec<F>, Vec<F>) {
    let mut sum = Vec::with_capacity(2 * bytes.len());
    let mut counts = [0u64; 256];
    let mut s = F::from_u64(seed);
    for (i, &b) in bytes.iter().enumerate() {
        let b_f = F::from_u8(b);
        s = if i == 0 {
            s + weight(0) * b_f
        } else {
            F::from_u64(ROUND_CONSTANTS[(i - 1) % 8]) * s + weight(i) * b_f
        };
        sum.extend_from_slice(&[b_f, s]);
        counts[b as usize] += 1;
    }
    let table = (0..256u64)
        .flat_map(|v| [F::from_u64(v), F::from_u64(counts[v as usize])])
        .collect();
    (sum, vec![F::from_u64(seed), s], table)
}
