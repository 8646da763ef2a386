use thiserror::Error;

/// Why a commitment, opening or verification failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MerkleError {
    #[error("matrix has {rows} rows; a commitment needs a power of two ≥ 2 (two rows per leaf)")]
    BadRowCount { rows: usize },
    #[error("matrix is malformed: {len} values do not split into rows of width {width}")]
    MalformedMatrix { len: usize, width: usize },
    #[error("matrix was not the one committed: {rows} rows for a tree of {num_leaves} leaves")]
    MatrixTreeMismatch { rows: usize, num_leaves: usize },
    #[error("number of leaves {num_leaves} is not a power of two ≥ 1")]
    BadLeafCount { num_leaves: usize },
    #[error("leaf index {index} out of range for {num_leaves} leaves")]
    LeafOutOfRange { index: usize, num_leaves: usize },
    #[error("authentication path has {got} digests, expected {expected}")]
    PathLength { expected: usize, got: usize },
    #[error("the two opened rows differ in width ({row0} vs {row1})")]
    RowWidthMismatch { row0: usize, row1: usize },
    #[error("opening of leaf {index} does not hash to the root")]
    RootMismatch { index: usize },
    #[error("batch hash: {bytes} message bytes are not {messages} messages of {len} bytes")]
    BatchLength {
        bytes: usize,
        messages: usize,
        len: usize,
    },
}
