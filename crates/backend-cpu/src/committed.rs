//! The CPU handle of a committed matrix.

use rayon::prelude::*;
use rstark_air::logup::batch_inverse;
use rstark_field::{EF, F, Field, GENERATOR, PrimeCharacteristicRing};
use rstark_merkle::MerkleTree;
use rstark_poly::{RowMajor, lde};
use rstark_protocol::BackendError;

use crate::util::{coset_points, merkle_err};

/// An LDE matrix (bit-reversed coset rows) and its Merkle tree. Composition parts also keep
/// their coefficients (for out-of-domain evaluation by Horner).
#[derive(Clone, Debug)]
pub struct CpuCommitted {
    pub lde: RowMajor,
    pub tree: MerkleTree,
    pub log_blowup: usize,
    /// Coefficients (row k = x^k) of the columns' polynomials, when kept.
    pub coefficients: Option<RowMajor>,
}

const CHUNK_ROWS: usize = 1 << 10;

impl CpuCommitted {
    pub fn from_trace(trace: &RowMajor, log_blowup: usize) -> Result<Self, BackendError> {
        let lde = lde(trace, log_blowup).map_err(|e| BackendError::Poly(e.to_string()))?;
        let tree = MerkleTree::commit(&lde).map_err(merkle_err)?;
        Ok(Self {
            lde,
            tree,
            log_blowup,
            coefficients: None,
        })
    }

    /// log2 of the polynomials' degree bound N (= LDE height / blowup).
    pub fn log_height(&self) -> usize {
        (self.lde.height() >> self.log_blowup).trailing_zeros() as usize
    }

    pub fn evaluate_at(&self, point: EF) -> Vec<EF> {
        match &self.coefficients {
            Some(c) => horner_columns(c, point),
            None => self.barycentric_on_coset(point),
        }
    }

    /// The first N LDE rows are the polynomials' values on the coset g·H (bit-reversed), so
    /// p(z) = (z^N − g^N)/(N·g^N) · Σ_j v_j · x_j/(z − x_j). `z` must lie outside g·H (the
    /// protocol's z is never in the base field).
    fn barycentric_on_coset(&self, z: EF) -> Vec<EF> {
        let log_n = self.log_height();
        let n = 1usize << log_n;
        let w = self.lde.width;
        let xs = coset_points(log_n, GENERATOR);
        let denoms: Vec<EF> = xs.iter().map(|&x| z - EF::from(x)).collect();
        let inv = batch_inverse(&denoms);
        let weights: Vec<EF> = inv.iter().zip(&xs).map(|(&i, &x)| i * x).collect();
        let rows = &self.lde.values[..n * w];
        let sums = rows
            .par_chunks(CHUNK_ROWS * w)
            .zip(weights.par_chunks(CHUNK_ROWS))
            .map(|(block, ws)| {
                let mut acc = vec![EF::ZERO; w];
                for (row, &wt) in block.chunks_exact(w).zip(ws) {
                    for (a, &v) in acc.iter_mut().zip(row) {
                        *a += wt * v;
                    }
                }
                acc
            })
            .reduce(
                || vec![EF::ZERO; w],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    a
                },
            );
        let g_n = GENERATOR.exp_power_of_2(log_n);
        let scale =
            (z.exp_power_of_2(log_n) - EF::from(g_n)) * (F::from_u64(n as u64) * g_n).inverse();
        sums.into_iter().map(|s| s * scale).collect()
    }
}

/// Each column's polynomial (row k = coefficient of x^k) at `point`.
fn horner_columns(c: &RowMajor, point: EF) -> Vec<EF> {
    let w = c.width;
    (0..w)
        .into_par_iter()
        .map(|col| {
            c.values
                .iter()
                .skip(col)
                .step_by(w)
                .rev()
                .fold(EF::ZERO, |acc, &v| acc * point + v)
        })
        .collect()
}
