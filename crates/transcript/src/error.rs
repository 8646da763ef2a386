use thiserror::Error;

/// Why a transcript check failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TranscriptError {
    #[error("proof-of-work nonce {nonce} gives {got} leading zero bits, {required} required")]
    InsufficientWork { nonce: u64, required: u32, got: u32 },
    #[error("proof-of-work of {bits} bits is impossible (at most 256)")]
    PowBitsTooLarge { bits: u32 },
    #[error("index range {n} is not a power of two in 1..=2^32")]
    BadIndexRange { n: usize },
}
