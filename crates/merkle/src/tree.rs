use rayon::prelude::*;
use rstark_field::F;
use rstark_poly::RowMajor;

use crate::Digest;
use crate::MerkleError;
use crate::lanes::{hash_leaves, hash_nodes};

/// Layers with fewer nodes than this are hashed on one thread (rayon overhead dominates).
const PAR_LAYER_MIN: usize = 1 << 10;

/// Leaves per rayon task (a multiple of every lane width).
const LEAF_CHUNK: usize = 64;

/// Parents per rayon task in a node layer.
const NODE_CHUNK: usize = 256;

/// A full Merkle tree: all 2L nodes in heap order (PROTOCOL.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    nodes: Vec<Digest>,
    num_leaves: usize,
}

impl MerkleTree {
    /// Commits to a matrix of R rows (R a power of two ≥ 2): L = R/2 leaves of two rows each.
    pub fn commit(matrix: &RowMajor) -> Result<Self, MerkleError> {
        let rows = checked_rows(matrix)?;
        if rows < 2 || !rows.is_power_of_two() {
            return Err(MerkleError::BadRowCount { rows });
        }
        let width = matrix.width;
        let num_leaves = rows / 2;
        let mut nodes = vec![[0u8; 32]; 2 * num_leaves];
        // Leaves: chunks of LEAF_CHUNK leaves per task, each hashed L at a time (lanes.rs).
        nodes[num_leaves..]
            .par_chunks_mut(LEAF_CHUNK)
            .zip(matrix.values.par_chunks(LEAF_CHUNK * 2 * width))
            .for_each(|(out, values)| hash_leaves(values, width, out));
        Ok(Self::from_nodes(nodes))
    }

    /// The tree over leaf digests computed elsewhere, e.g. by [`hash_row_pairs`] on blocks of
    /// a matrix as it is produced: equal to [`MerkleTree::commit`] of the rows they hash. The
    /// number of leaves must be a power of two ≥ 1.
    pub fn from_leaves(leaves: &[Digest]) -> Result<Self, MerkleError> {
        let num_leaves = leaves.len();
        if !num_leaves.is_power_of_two() {
            return Err(MerkleError::BadRowCount {
                rows: 2 * num_leaves,
            });
        }
        let mut nodes = vec![[0u8; 32]; 2 * num_leaves];
        nodes[num_leaves..].copy_from_slice(leaves);
        Ok(Self::from_nodes(nodes))
    }

    /// Fills the internal nodes of a heap whose leaves (the upper half) are set.
    fn from_nodes(mut nodes: Vec<Digest>) -> Self {
        let num_leaves = nodes.len() / 2;
        // Layer [k, 2k) is built from layer [2k, 4k).
        let mut k = num_leaves / 2;
        while k >= 1 {
            let (upper, lower) = nodes.split_at_mut(2 * k);
            let parents = &mut upper[k..];
            let children = &lower[..2 * k];
            if k >= PAR_LAYER_MIN {
                parents
                    .par_chunks_mut(NODE_CHUNK)
                    .zip(children.par_chunks(2 * NODE_CHUNK))
                    .for_each(|(p, c)| hash_nodes(c, p));
            } else {
                hash_nodes(children, parents);
            }
            k /= 2;
        }
        Self { nodes, num_leaves }
    }

    /// The root (`nodes[1]`; the only leaf when L = 1).
    pub fn root(&self) -> Digest {
        self.nodes[1]
    }

    pub fn num_leaves(&self) -> usize {
        self.num_leaves
    }

    /// All 2L nodes in heap order; `nodes()[0]` is unused (all zero).
    pub fn nodes(&self) -> &[Digest] {
        &self.nodes
    }

    /// The log2(L) sibling digests of leaf `leaf`, from the leaf level up.
    pub fn path(&self, leaf: usize) -> Result<Vec<Digest>, MerkleError> {
        if leaf >= self.num_leaves {
            return Err(MerkleError::LeafOutOfRange {
                index: leaf,
                num_leaves: self.num_leaves,
            });
        }
        let mut path = Vec::with_capacity(self.num_leaves.trailing_zeros() as usize);
        let mut i = self.num_leaves + leaf;
        while i > 1 {
            path.push(self.nodes[i ^ 1]);
            i >>= 1;
        }
        Ok(path)
    }

    /// Drops every node but the root.
    pub fn into_root_only(self) -> RootOnlyTree {
        RootOnlyTree {
            root: self.root(),
            num_leaves: self.num_leaves,
        }
    }
}

/// Leaf digests of consecutive row pairs of a row-major block of `width` columns, on the calling
/// thread: `out[i]` = [`crate::hash_leaf`] of rows 2i and 2i+1. `rows` must hold exactly
/// `2·width·out.len()` elements.
pub fn hash_row_pairs(rows: &[F], width: usize, out: &mut [Digest]) -> Result<(), MerkleError> {
    if width == 0 || rows.len() != 2 * width * out.len() {
        return Err(MerkleError::MalformedMatrix {
            len: rows.len(),
            width,
        });
    }
    hash_leaves(rows, width, out);
    Ok(())
}

/// A commitment reduced to its root: by construction it cannot produce an authentication path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootOnlyTree {
    root: Digest,
    num_leaves: usize,
}

impl RootOnlyTree {
    /// Commits to `matrix` and keeps only the root.
    pub fn commit(matrix: &RowMajor) -> Result<Self, MerkleError> {
        Ok(MerkleTree::commit(matrix)?.into_root_only())
    }

    /// A root received from elsewhere (e.g. a GPU backend or a proof).
    pub fn from_root(root: Digest, num_leaves: usize) -> Self {
        Self { root, num_leaves }
    }

    pub fn root(&self) -> Digest {
        self.root
    }

    pub fn num_leaves(&self) -> usize {
        self.num_leaves
    }
}

impl From<MerkleTree> for RootOnlyTree {
    fn from(tree: MerkleTree) -> Self {
        tree.into_root_only()
    }
}

/// The row count of a matrix whose public fields may be inconsistent.
pub(crate) fn checked_rows(matrix: &RowMajor) -> Result<usize, MerkleError> {
    if matrix.width == 0 || !matrix.values.len().is_multiple_of(matrix.width) {
        return Err(MerkleError::MalformedMatrix {
            len: matrix.values.len(),
            width: matrix.width,
        });
    }
    Ok(matrix.values.len() / matrix.width)
}
