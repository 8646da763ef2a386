use thiserror::Error;

/// Why a polynomial operation refused its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolyError {
    #[error("matrix width must be at least 1")]
    ZeroWidth,
    #[error("matrix of {len} values does not split into rows of width {width}")]
    RaggedMatrix { len: usize, width: usize },
    #[error("matrix height {height} is not a power of two (≥ 1)")]
    HeightNotPowerOfTwo { height: usize },
    #[error("log_blowup {log_blowup} is outside 0..={max}")]
    BadBlowup { log_blowup: usize, max: usize },
    #[error("LDE of 2^{log_size} rows exceeds the two-adicity 2^32")]
    DomainTooLarge { log_size: usize },
    #[error("LDE height {height} is smaller than the blowup 2^{log_blowup}")]
    LdeTooShort { height: usize, log_blowup: usize },
    #[error("{rows} coefficient rows do not fit a domain of 2^{log_size} points")]
    TooManyCoefficients { rows: usize, log_size: usize },
}
