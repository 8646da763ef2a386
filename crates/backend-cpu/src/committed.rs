//! The CPU handle of a committed matrix.

use rayon::prelude::*;
use rstark_field::{EF, PrimeCharacteristicRing};
use rstark_merkle::MerkleTree;
use rstark_poly::{RowMajor, eval_columns_at, lde};
use rstark_protocol::BackendError;

use crate::util::merkle_err;

/// How the columns' polynomials are kept for out-of-domain evaluation.
#[derive(Clone, Debug)]
pub enum PolySource {
    /// Natural-order evaluations on H (a trace): barycentric evaluation.
    Trace(RowMajor),
    /// Coefficients, row k = x^k (composition parts): Horner.
    Coefficients(RowMajor),
}

/// An LDE matrix (bit-reversed coset rows), its Merkle tree, and its polynomials.
#[derive(Clone, Debug)]
pub struct CpuCommitted {
    pub lde: RowMajor,
    pub tree: MerkleTree,
    pub source: PolySource,
}

impl CpuCommitted {
    pub fn from_trace(trace: &RowMajor, log_blowup: usize) -> Result<Self, BackendError> {
        let lde = lde(trace, log_blowup).map_err(|e| BackendError::Poly(e.to_string()))?;
        let tree = MerkleTree::commit(&lde).map_err(merkle_err)?;
        Ok(Self {
            lde,
            tree,
            source: PolySource::Trace(trace.clone()),
        })
    }

    pub fn evaluate_at(&self, point: EF) -> Vec<EF> {
        match &self.source {
            PolySource::Trace(t) => eval_columns_at(t, point),
            PolySource::Coefficients(c) => {
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
        }
    }
}
