//! Periodic columns (p3-air's `BaseAir::periodic_columns`, docs/PROTOCOL.md §5.4a).
//!
//! A periodic column of period p (a power of two dividing the trace height N) lists p values;
//! row i of the trace reads value i mod p. As a polynomial it is f(X^{N/p}), f of degree < p
//! interpolating the values on ⟨ω_p⟩. Neither side commits it: prover and verifier compute it
//! from the AIR, and the statement binds its values (§5.2).
//!
//! Columns of different periods are stored as one matrix of the largest period P, shorter
//! columns repeated: a column of period p repeated to P is the same polynomial f(X^{N/p}), so
//! every evaluation below works on the P × C matrix alone.

use rstark_field::{EF, F, GENERATOR, PrimeCharacteristicRing};
use rstark_poly::{RowMajor, bit_reverse_rows, try_coefficients, try_eval_columns_at};

/// A table's periodic columns as one matrix: `period` rows (the largest period P), one column
/// per periodic column, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodicColumns {
    pub period: usize,
    pub values: RowMajor,
}

/// Why an AIR's periodic columns cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodicError {
    #[error("periodic column {column} has period {period}: not a power of two ≥ 1")]
    Period { column: usize, period: usize },
    #[error("periodic column {column} has period {period}, above the trace height {height}")]
    AboveHeight {
        column: usize,
        period: usize,
        height: usize,
    },
    #[error("the AIR declares {declared} periodic columns but gives {given}")]
    Count { declared: usize, given: usize },
}

impl PeriodicColumns {
    /// The columns as an AIR gives them (`periodic_columns()`, `declared` =
    /// `num_periodic_columns()`), checked against a trace of 2^log_height rows; `None` without
    /// periodic columns.
    pub fn new(
        columns: &[Vec<F>],
        declared: usize,
        log_height: usize,
    ) -> Result<Option<Self>, PeriodicError> {
        if columns.len() != declared {
            return Err(PeriodicError::Count {
                declared,
                given: columns.len(),
            });
        }
        if columns.is_empty() {
            return Ok(None);
        }
        let height = 1usize << log_height;
        for (column, c) in columns.iter().enumerate() {
            let period = c.len();
            if !period.is_power_of_two() {
                return Err(PeriodicError::Period { column, period });
            }
            if period > height {
                return Err(PeriodicError::AboveHeight {
                    column,
                    period,
                    height,
                });
            }
        }
        let period = columns.iter().map(Vec::len).max().unwrap_or(1);
        let values = (0..period)
            .flat_map(|r| columns.iter().map(move |c| c[r % c.len()]))
            .collect();
        Ok(Some(Self {
            period,
            values: RowMajor {
                values,
                width: columns.len(),
            },
        }))
    }

    pub fn num_columns(&self) -> usize {
        self.values.width
    }

    pub fn log_period(&self) -> usize {
        self.period.trailing_zeros() as usize
    }

    /// The values at trace row `i`.
    pub fn row(&self, i: usize) -> &[F] {
        self.values.row(i % self.period)
    }

    /// The columns' values on the quotient domain g·⟨ω_{n+d}⟩ of a table of 2^n rows, as a
    /// matrix of P·2^d rows in natural order: the point g·ω_{n+d}^k (bit-reversed quotient row
    /// j, k = bitrev(j)) reads row k mod P·2^d. Row i is f(g^{N/P}·ω_{log P + d}^i), since
    /// (g·ω_{n+d}^k)^{N/P} = g^{N/P}·ω_{log P + d}^k.
    pub fn on_quotient_domain(
        &self,
        log_height: usize,
        log_quotient_degree: usize,
    ) -> Result<RowMajor, rstark_poly::PolyError> {
        let log_p = self.log_period();
        let coeffs = try_coefficients(&self.values)?;
        let shift = GENERATOR.exp_power_of_2(log_height - log_p.min(log_height));
        let ext =
            rstark_poly::try_lde_from_coefficients(&coeffs, log_p + log_quotient_degree, shift)?;
        Ok(RowMajor {
            values: bit_reverse_rows(&ext.values, ext.width),
            width: ext.width,
        })
    }

    /// The columns' polynomials at `z` for a table of 2^n rows: f(z^{N/P}).
    pub fn eval_at(&self, z: EF, log_height: usize) -> Result<Vec<EF>, rstark_poly::PolyError> {
        let y = z.exp_power_of_2(log_height - self.log_period().min(log_height));
        try_eval_columns_at(&self.values, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::ef_from_base;
    use rstark_poly::{bit_reverse, eval_columns_at, lde};

    /// The periodic columns written out as full trace columns (row i = value i mod period).
    fn full_trace(columns: &[Vec<F>], log_height: usize) -> RowMajor {
        let values = (0..1usize << log_height)
            .flat_map(|r| columns.iter().map(move |c| c[r % c.len()]))
            .collect();
        RowMajor {
            values,
            width: columns.len(),
        }
    }

    #[test]
    fn periodic_columns_are_their_full_trace_columns() {
        let columns = vec![
            vec![F::from_u64(3), F::from_u64(5)],
            rstark_poly::golden::elements(8, 11),
            vec![F::from_u64(7)],
        ];
        for log_n in [3, 5] {
            let p = PeriodicColumns::new(&columns, 3, log_n).unwrap().unwrap();
            assert_eq!(p.period, 8);
            let full = full_trace(&columns, log_n);
            for r in 0..1usize << log_n {
                assert_eq!(p.row(r), full.row(r));
            }
            for log_d in [0, 1, 2] {
                // The LDE of the full columns with blowup 2^d, bit-reversed: row j is the point
                // of natural index bitrev(j).
                let ext = lde(&full, log_d).unwrap();
                let table = p.on_quotient_domain(log_n, log_d).unwrap();
                let rows = table.height();
                for j in 0..ext.height() {
                    let k = bit_reverse(j, log_n + log_d);
                    assert_eq!(table.row(k % rows), ext.row(j), "n {log_n} d {log_d} j {j}");
                }
            }
            let z = ef_from_base([F::from_u64(9), F::from_u64(4), F::from_u64(1)]);
            assert_eq!(p.eval_at(z, log_n).unwrap(), eval_columns_at(&full, z));
        }
    }

    #[test]
    fn bad_periods_are_refused() {
        let three = vec![vec![F::ONE; 3]];
        assert_eq!(
            PeriodicColumns::new(&three, 1, 4),
            Err(PeriodicError::Period {
                column: 0,
                period: 3
            })
        );
        let long = vec![vec![F::ONE; 32]];
        assert!(matches!(
            PeriodicColumns::new(&long, 1, 4),
            Err(PeriodicError::AboveHeight { .. })
        ));
        assert!(matches!(
            PeriodicColumns::new(&long, 2, 8),
            Err(PeriodicError::Count { .. })
        ));
        assert_eq!(PeriodicColumns::new(&[], 0, 4), Ok(None));
        let empty = vec![Vec::new()];
        assert!(PeriodicColumns::new(&empty, 1, 4).is_err());
    }
}
