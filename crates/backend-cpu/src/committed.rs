//! The CPU handle of a committed matrix.

use rayon::prelude::*;
use rstark_field::{EF, PrimeCharacteristicRing};
use rstark_merkle::MerkleTree;
use rstark_poly::{RowMajor, eval_lde_columns_at, lde};
use rstark_protocol::BackendError;

use crate::util::merkle_err;

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

    /// The committed columns' polynomials at `point`: Horner on the coefficients when kept
    /// (composition parts), else barycentric on the LDE's first N rows (the coset g·H).
    pub fn evaluate_at(&self, point: EF) -> Result<Vec<EF>, BackendError> {
        match &self.coefficients {
            Some(c) => Ok(horner_columns(c, point)),
            None => eval_lde_columns_at(&self.lde, self.log_blowup, point)
                .map_err(|e| BackendError::Poly(e.to_string())),
        }
    }
}

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
