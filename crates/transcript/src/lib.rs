//! Fiat–Shamir transcript on Keccak-256 (docs/PROTOCOL.md §4).
//!
//! The state is one 32-byte digest; every operation is one domain-separated Keccak call on it,
//! so a GPU or another language reproduces it from the spec alone.

mod error;
mod pow;
mod transcript;

pub use error::TranscriptError;
pub use pow::{leading_zero_bits, least_nonce};
pub use transcript::Transcript;

/// Prefix of the initial state: s₀ = Keccak256(DOMAIN ‖ label).
pub const DOMAIN: &[u8] = b"rstark-transcript-v1";
