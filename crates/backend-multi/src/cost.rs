//! What a table costs to prove: measured on an earlier proof of the same shape, else modelled
//! from its shape.

use std::collections::HashMap;

use rstark_protocol::PlannedTable;

/// Seconds per committed word (LDE and Merkle tree) and per constraint evaluated on a quotient
/// row, and per table, on an H100-class GPU: Keccak-f at 2^17 rows (docs/PERF.md) commits its
/// 2^18 × 2633 LDE words in ~52 ms (LDE 39, tree 12.5) and evaluates 3182 constraints on 2^18
/// quotient rows in ~42 ms; a table costs a few launches and copies whatever its size.
const SECONDS_PER_WORD: f64 = 7.7e-11;
const SECONDS_PER_CONSTRAINT_ROW: f64 = 5.0e-11;
const SECONDS_PER_TABLE: f64 = 1.0e-3;

/// The modelled seconds of one table's rounds (commitments, composition; DEEP and the
/// out-of-domain values read only the coefficients and are folded into the per-word figure).
pub fn modelled_seconds(t: &PlannedTable, log_blowup: usize) -> f64 {
    let lde_rows = (1u64 << (t.log_height + log_blowup)) as f64;
    let quotient_rows = (1u64 << (t.log_height + t.log_quotient_degree)) as f64;
    let committed = (t.main_width + t.aux_width + (3 << t.log_quotient_degree)) as f64;
    lde_rows * committed * SECONDS_PER_WORD
        + quotient_rows * t.num_constraints as f64 * SECONDS_PER_CONSTRAINT_ROW
        + SECONDS_PER_TABLE
}

/// Where a table's cost came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostOrigin {
    /// Timed on an earlier proof (the sum of its calls' wall times on its device).
    Measured,
    /// [`modelled_seconds`].
    Modelled,
}

/// Which costs placement uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CostSource {
    /// A table's measured seconds when a proof of its shape was timed before, else modelled.
    #[default]
    MeasuredElseModelled,
    /// Always the model (placements then depend on the shapes only: tests use it).
    Modelled,
}

/// A table's shape as far as its cost goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    name: String,
    log_height: usize,
    main_width: usize,
    aux_width: usize,
    num_constraints: usize,
}

impl Key {
    fn of(t: &PlannedTable) -> Self {
        Self {
            name: t.name.clone(),
            log_height: t.log_height,
            main_width: t.main_width,
            aux_width: t.aux_width,
            num_constraints: t.num_constraints,
        }
    }
}

/// Measured seconds by table shape (the latest proof that had the shape).
#[derive(Clone, Debug, Default)]
pub struct CostBook {
    seconds: HashMap<Key, f64>,
}

impl CostBook {
    /// Each table's cost and where it came from.
    pub fn costs(
        &self,
        tables: &[PlannedTable],
        log_blowup: usize,
        source: CostSource,
    ) -> Vec<(f64, CostOrigin)> {
        tables
            .iter()
            .map(|t| match (source, self.seconds.get(&Key::of(t))) {
                (CostSource::MeasuredElseModelled, Some(&s)) => (s, CostOrigin::Measured),
                _ => (modelled_seconds(t, log_blowup), CostOrigin::Modelled),
            })
            .collect()
    }

    /// Records a proof's measured seconds per table.
    pub fn record(&mut self, tables: &[PlannedTable], seconds: &[f64]) {
        for (t, &s) in tables.iter().zip(seconds) {
            if s > 0.0 {
                self.seconds.insert(Key::of(t), s);
            }
        }
    }
}

/// A table of `main_width` columns and as many constraints, quotient degree 2 (unit tests).
#[cfg(test)]
pub(crate) fn test_table(name: &str, log_height: usize, main_width: usize) -> PlannedTable {
    PlannedTable {
        name: name.into(),
        log_height,
        main_width,
        preprocessed_width: 0,
        aux_width: 0,
        log_quotient_degree: 1,
        num_constraints: main_width,
    }
}

#[cfg(test)]
mod tests {
    use super::test_table as table;
    use super::*;

    #[test]
    fn the_model_grows_with_height_and_width() {
        let small = modelled_seconds(&table("a", 10, 4), 1);
        assert!(modelled_seconds(&table("a", 11, 4), 1) > small);
        assert!(modelled_seconds(&table("a", 10, 8), 1) > small);
        // Keccak-f at 2^17 rows: ~0.1 s (docs/PERF.md measures ~0.11 s of commit + composition)
        let mut keccak = table("keccak", 17, 2633);
        keccak.num_constraints = 3182;
        let s = modelled_seconds(&keccak, 1);
        assert!((0.07..0.15).contains(&s), "{s}");
    }

    #[test]
    fn measured_costs_replace_the_model_for_their_shape_only() {
        let tables = [table("a", 10, 4), table("b", 12, 4)];
        let mut book = CostBook::default();
        book.record(&tables[..1], &[2.5]);
        let c = book.costs(&tables, 1, CostSource::MeasuredElseModelled);
        assert_eq!(c[0], (2.5, CostOrigin::Measured));
        assert_eq!(c[1].1, CostOrigin::Modelled);
        let m = book.costs(&tables, 1, CostSource::Modelled);
        assert_eq!(m[0].1, CostOrigin::Modelled);
        // another height is another shape
        let taller = [table("a", 11, 4)];
        assert_eq!(
            book.costs(&taller, 1, CostSource::MeasuredElseModelled)[0].1,
            CostOrigin::Modelled
        );
    }
}
