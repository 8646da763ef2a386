use rstark_field::F;
use rstark_poly::RowMajor;

use crate::tree::checked_rows;
use crate::{Digest, MerkleError, MerkleTree, hash_leaf, hash_node};

/// One opened leaf: its two rows and its authentication path (PROTOCOL.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafOpening {
    pub leaf_index: usize,
    pub row0: Vec<F>,
    pub row1: Vec<F>,
    pub path: Vec<Digest>,
}

/// Opens leaf `leaf` of `tree`, which must be the commitment of `matrix`.
pub fn open(matrix: &RowMajor, tree: &MerkleTree, leaf: usize) -> Result<LeafOpening, MerkleError> {
    let rows = checked_rows(matrix)?;
    if rows != 2 * tree.num_leaves() {
        return Err(MerkleError::MatrixTreeMismatch {
            rows,
            num_leaves: tree.num_leaves(),
        });
    }
    let path = tree.path(leaf)?;
    Ok(LeafOpening {
        leaf_index: leaf,
        row0: matrix.row(2 * leaf).to_vec(),
        row1: matrix.row(2 * leaf + 1).to_vec(),
        path,
    })
}

/// Opens many leaves: each distinct leaf once, in increasing leaf order, whatever the order and
/// repetitions of `leaves`. Any out-of-range index is an error.
pub fn open_batch(
    matrix: &RowMajor,
    tree: &MerkleTree,
    leaves: &[usize],
) -> Result<Vec<LeafOpening>, MerkleError> {
    let mut distinct = leaves.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
        .into_iter()
        .map(|leaf| open(matrix, tree, leaf))
        .collect()
}

/// Checks an opening against a root of a tree with `num_leaves` leaves. Never panics.
pub fn verify_opening(
    root: &Digest,
    num_leaves: usize,
    opening: &LeafOpening,
) -> Result<(), MerkleError> {
    if !num_leaves.is_power_of_two() {
        return Err(MerkleError::BadLeafCount { num_leaves });
    }
    let index = opening.leaf_index;
    if index >= num_leaves {
        return Err(MerkleError::LeafOutOfRange { index, num_leaves });
    }
    let depth = num_leaves.trailing_zeros() as usize;
    if opening.path.len() != depth {
        return Err(MerkleError::PathLength {
            expected: depth,
            got: opening.path.len(),
        });
    }
    if opening.row0.len() != opening.row1.len() {
        return Err(MerkleError::RowWidthMismatch {
            row0: opening.row0.len(),
            row1: opening.row1.len(),
        });
    }
    let mut acc = hash_leaf(&opening.row0, &opening.row1);
    let mut i = index;
    for sibling in &opening.path {
        acc = if i & 1 == 1 {
            hash_node(sibling, &acc)
        } else {
            hash_node(&acc, sibling)
        };
        i >>= 1;
    }
    if &acc == root {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch { index })
    }
}
