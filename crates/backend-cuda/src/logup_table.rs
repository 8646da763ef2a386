//! What the device LogUp kernels (`kernels/logup.cu`) read, built on the host: the interactions
//! of one table as a flat table of affine forms, and the levels of the running-sum scan.
//! Host-only (compiled with or without `cuda`), so tests/kernels_on_host.rs drives the kernels'
//! source with exactly what the backend uploads.

use std::collections::BTreeMap;

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use rstark_air::Interaction;
use rstark_air::logup::LogupChallenges;
use rstark_field::{EF, F, ef_to_base};

/// Header words per interaction: `[d0, d1, d2, m, den_off, den_len, mul_off, mul_len]`.
pub const HEADER_WORDS: usize = 8;
/// Words per term: `[column, c0, c1, c2]`.
pub const TERM_WORDS: usize = 4;

/// Interaction k as two affine forms of the current row's main columns: α − fp_k (extension
/// coefficients: the β powers folded into each column's coefficient) and m_k (base). Headers of
/// the K interactions first, then their terms (word offsets from the table's start). Columns at
/// or past `main_width` read zero on the host (`rstark_air::logup::MainValue`), so their terms
/// are left out; equal columns are merged (field arithmetic is exact: the values are the host's).
pub fn interaction_table(
    interactions: &[Interaction],
    challenges: &LogupChallenges,
    main_width: usize,
) -> Vec<u64> {
    let k = interactions.len();
    let mut headers = Vec::with_capacity(k * HEADER_WORDS);
    let mut terms = Vec::new();
    let words = |e: EF| ef_to_base(e).map(|v| v.as_canonical_u64());
    for it in interactions {
        // α − (bus + Σ_j β^{j+1} (c_j + Σ a_{j,col} x_col))
        let mut constant = challenges.alpha - EF::from(F::from_u32(it.bus));
        let mut den: BTreeMap<usize, EF> = BTreeMap::new();
        for (v, &b) in it.values.iter().zip(&challenges.beta_pows) {
            constant -= b * v.constant;
            for &(col, a) in v.terms.iter().filter(|(c, _)| *c < main_width) {
                *den.entry(col).or_insert(EF::ZERO) -= b * a;
            }
        }
        let mut mul: BTreeMap<usize, F> = BTreeMap::new();
        for &(col, a) in it
            .multiplicity
            .terms
            .iter()
            .filter(|(c, _)| *c < main_width)
        {
            *mul.entry(col).or_insert(F::ZERO) += a;
        }
        let base = k * HEADER_WORDS;
        let den_off = base + terms.len();
        for (&col, &c) in &den {
            terms.push(col as u64);
            terms.extend(words(c));
        }
        let mul_off = base + terms.len();
        for (&col, &c) in &mul {
            terms.extend([col as u64, c.as_canonical_u64(), 0, 0]);
        }
        headers.extend(words(constant));
        headers.extend([
            it.multiplicity.constant.as_canonical_u64(),
            den_off as u64,
            den.len() as u64,
            mul_off as u64,
            mul.len() as u64,
        ]);
    }
    headers.extend(terms);
    headers
}

/// The running sum's scan over N rows: per-chunk sums of `chunk_rows` rows, an exclusive scan of
/// those in groups of `group` chunks, and one of the group totals (one thread per column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanLevels {
    pub chunk_rows: usize,
    pub group: usize,
}

impl ScanLevels {
    /// At most 2^16 chunks (of at least 16 rows) in groups of 256: at most 256 group totals for
    /// the last, sequential scan up to 2^32 rows.
    pub fn for_rows(n: usize) -> Self {
        Self {
            chunk_rows: (n >> 16).max(16),
            group: 256,
        }
    }

    pub fn chunks(&self, n: usize) -> usize {
        n.div_ceil(self.chunk_rows.max(1))
    }

    pub fn groups(&self, n: usize) -> usize {
        self.chunks(n).div_ceil(self.group.max(1))
    }
}

#[cfg(test)]
mod tests {
    use rstark_air::logup::fingerprint;
    use rstark_air::{Interactions, LinearCombination};
    use rstark_field::ef_from_base;

    use super::*;

    fn eval(table: &[u64], j: usize, row: &[F]) -> (EF, F) {
        let h = &table[j * HEADER_WORDS..(j + 1) * HEADER_WORDS];
        let f = |w: u64| F::new(w);
        let mut d = ef_from_base([f(h[0]), f(h[1]), f(h[2])]);
        for t in table[h[4] as usize..]
            .chunks(TERM_WORDS)
            .take(h[5] as usize)
        {
            d += ef_from_base([f(t[1]), f(t[2]), f(t[3])]) * row[t[0] as usize];
        }
        let mut m = f(h[3]);
        for t in table[h[6] as usize..]
            .chunks(TERM_WORDS)
            .take(h[7] as usize)
        {
            m += f(t[1]) * row[t[0] as usize];
        }
        (d, m)
    }

    #[test]
    fn the_affine_forms_give_the_hosts_denominators_and_multiplicities() {
        let mut tables: Vec<Vec<Interaction>> = ["vm"]
            .iter()
            .flat_map(|w| rstark_workloads::build(w, 64).unwrap().tables)
            .map(|t| t.air.interactions())
            .collect();
        // repeated columns, a constant value, a column past the width
        let col = LinearCombination::column;
        let mut lc = col(1);
        lc.terms.push((1, F::new(5)));
        lc.terms.push((0, F::new(7)));
        lc.terms.push((9, F::new(3)));
        tables.push(vec![
            Interaction::send(3, vec![lc.clone(), col(0)], col(1)),
            Interaction::receive(4, vec![LinearCombination::constant(F::new(11))], lc),
        ]);
        for (i, inters) in tables.iter().enumerate() {
            let width = 2 + inters
                .iter()
                .flat_map(|it| it.values.iter().chain([&it.multiplicity]))
                .filter_map(|lc| lc.max_column())
                .filter(|&c| c < 8)
                .max()
                .unwrap_or(0);
            let ch = LogupChallenges::new(
                ef_from_base([F::new(3), F::new(5), F::new(8)]),
                ef_from_base([F::new(13), F::new(2), F::new(1)]),
                &[inters],
            );
            let table = interaction_table(inters, &ch, width);
            for r in 0..4u64 {
                let row: Vec<F> = (0..width as u64)
                    .map(|c| F::new(r * 1000 + c * c + 1))
                    .collect();
                for (j, it) in inters.iter().enumerate() {
                    let (d, m) = eval(&table, j, &row);
                    assert_eq!(
                        d,
                        ch.alpha - fingerprint(it, &ch, &row),
                        "table {i} interaction {j}"
                    );
                    let want = it
                        .multiplicity
                        .terms
                        .iter()
                        .fold(it.multiplicity.constant, |acc, &(c, a)| {
                            acc + a * row.get(c).copied().unwrap_or(F::ZERO)
                        });
                    assert_eq!(m, want, "table {i} interaction {j}");
                }
            }
        }
    }

    #[test]
    fn scan_levels_bound_the_last_scan() {
        for log_n in 0..=32 {
            let n = 1usize << log_n;
            let l = ScanLevels::for_rows(n);
            assert!(l.chunks(n) <= 1 << 16 && l.groups(n) <= 256, "2^{log_n}");
            assert!(l.chunks(n) * l.chunk_rows >= n);
        }
    }
}
