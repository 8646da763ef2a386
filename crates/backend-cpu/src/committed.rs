//! The CPU handle of a committed matrix.

use rayon::prelude::*;
use std::sync::Mutex;

use rstark_field::{EF, F, PrimeCharacteristicRing};
use rstark_merkle::{Digest, MerkleTree, hash_row_pairs};
use rstark_poly::{
    PolyError, RowMajor, eval_lde_columns_at, eval_lde_columns_at_points, lde_with_blocks,
    lde_with_blocks_owned,
};
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

/// Buffers of at least this many bytes are freed on a background thread: unmapping an LDE of
/// gigabytes takes the kernel ~50 ms per GB, which the proof need not wait for.
const BACKGROUND_FREE_BYTES: usize = 64 << 20;

impl Drop for CpuCommitted {
    fn drop(&mut self) {
        if self.lde.values.len() * size_of::<F>() >= BACKGROUND_FREE_BYTES {
            crate::util::free_in_background(std::mem::take(&mut self.lde.values));
        }
    }
}

impl CpuCommitted {
    /// LDE and Merkle tree of a trace. The leaves are hashed from each block of LDE rows as the
    /// DFT finishes it (still in cache), not in a second pass over the whole LDE.
    pub fn from_trace(trace: &RowMajor, log_blowup: usize) -> Result<Self, BackendError> {
        Self::from_lde(trace.width, log_blowup, |hash_block| {
            lde_with_blocks(trace, log_blowup, hash_block)
        })
    }

    /// [`from_trace`](Self::from_trace) of a trace the caller no longer needs: its buffer grows
    /// into the LDE (no copy of the trace, no free of it).
    pub fn from_owned_trace(trace: RowMajor, log_blowup: usize) -> Result<Self, BackendError> {
        Self::from_lde(trace.width, log_blowup, move |hash_block| {
            lde_with_blocks_owned(trace, log_blowup, hash_block)
        })
    }

    /// The LDE `make_lde` returns (handing every block of rows to its argument) and the Merkle
    /// tree of its leaves.
    fn from_lde(
        width: usize,
        log_blowup: usize,
        make_lde: impl FnOnce(&(dyn Fn(usize, &[F]) + Sync)) -> Result<RowMajor, PolyError>,
    ) -> Result<Self, BackendError> {
        // (first leaf, digests) of each block; blocks arrive from several threads.
        let blocks: Mutex<Vec<(usize, Vec<Digest>)>> = Mutex::new(Vec::new());
        let hash_block = |first_row: usize, rows: &[F]| {
            let _s = tracing::info_span!("hash leaves", rows = rows.len() / width.max(1)).entered();
            let mut digests = vec![[0u8; 32]; rows.len() / (2 * width).max(1)];
            // A failure leaves the block out; the assembly below then reports it.
            if hash_row_pairs(rows, width, &mut digests).is_ok()
                && let Ok(mut b) = blocks.lock()
            {
                b.push((first_row / 2, digests));
            }
        };
        let lde = make_lde(&hash_block).map_err(|e| BackendError::Poly(e.to_string()))?;
        let tree = if lde.height() < 2 {
            // No leaf (one row): the same error as committing it directly.
            MerkleTree::commit(&lde).map_err(merkle_err)?
        } else {
            let blocks = blocks
                .into_inner()
                .map_err(|_| BackendError::Merkle("a leaf-hashing task panicked".into()))?;
            MerkleTree::from_leaves(&assemble_leaves(blocks, lde.height() / 2)?)
                .map_err(merkle_err)?
        };
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

    /// [`evaluate_at`](Self::evaluate_at) at K points, in one pass over the LDE's rows.
    pub fn evaluate_at_points<const K: usize>(
        &self,
        points: [EF; K],
    ) -> Result<[Vec<EF>; K], BackendError> {
        match &self.coefficients {
            Some(c) => Ok(points.map(|p| horner_columns(c, p))),
            None => eval_lde_columns_at_points(&self.lde, self.log_blowup, points)
                .map_err(|e| BackendError::Poly(e.to_string())),
        }
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

/// The leaf digests of all blocks in leaf order; an error unless they cover 0..num_leaves once.
fn assemble_leaves(
    mut blocks: Vec<(usize, Vec<Digest>)>,
    num_leaves: usize,
) -> Result<Vec<Digest>, BackendError> {
    blocks.sort_unstable_by_key(|(first, _)| *first);
    let mut leaves = Vec::with_capacity(num_leaves);
    for (first, digests) in blocks {
        if first != leaves.len() {
            break;
        }
        leaves.extend_from_slice(&digests);
    }
    if leaves.len() != num_leaves {
        return Err(BackendError::Merkle(format!(
            "LDE blocks hashed {} of {num_leaves} leaves",
            leaves.len()
        )));
    }
    Ok(leaves)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_from_lde_blocks_equals_commit_of_the_lde() {
        for (log_n, log_b, width) in [(1, 1, 2), (3, 2, 5), (2, 1, 9), (6, 1, 40), (9, 1, 17)] {
            let trace = rstark_poly::golden::matrix(log_n, width, 21 + log_n as u64);
            let c = CpuCommitted::from_trace(&trace, log_b).unwrap();
            let lde = rstark_poly::lde(&trace, log_b).unwrap();
            assert_eq!(c.lde, lde);
            assert_eq!(
                c.tree,
                MerkleTree::commit(&lde).unwrap(),
                "{log_n} {log_b} {width}"
            );
        }
        // The same commitment from a trace handed over by value (wide enough for the fused
        // parallel path, and narrow).
        for (log_n, log_b, width) in [(2, 1, 9), (7, 1, 40), (8, 2, 3)] {
            let trace = rstark_poly::golden::matrix(log_n, width, 5 + log_n as u64);
            let a = CpuCommitted::from_trace(&trace, log_b).unwrap();
            let b = CpuCommitted::from_owned_trace(trace, log_b).unwrap();
            assert_eq!((&a.lde, &a.tree), (&b.lde, &b.tree));
        }
        // One row: no leaf, the same error as committing it.
        let one = rstark_poly::golden::matrix(0, 12, 1);
        assert!(CpuCommitted::from_trace(&one, 0).is_err());
    }
}
