//! Keccak-256 Merkle commitments with row-pair leaves (docs/PROTOCOL.md §3).
//!
//! leaf_i = Keccak256(bytes(row 2i) ‖ bytes(row 2i+1)); node = Keccak256(left ‖ right); a flat
//! heap-ordered node array. Extension-field matrices are committed as their flattened base
//! matrices (width 3W), so nothing here knows about EF.

mod error;
mod hash;
mod keccak_f;
mod lanes;
mod opening;
mod tree;

pub use error::MerkleError;
pub use hash::{Digest, hash_leaf, hash_node, keccak256};
pub use lanes::{LaneWidth, keccak256_batch, lane_width, try_keccak256_batch};
pub use opening::{LeafOpening, open, open_batch, verify_opening};
pub use tree::{MerkleTree, RootOnlyTree, hash_row_pairs};

/// Rows hashed into one leaf.
pub const ROWS_PER_LEAF: usize = 2;
