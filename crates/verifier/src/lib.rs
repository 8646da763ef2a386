//! The rstark verifier (docs/PROTOCOL.md §5). Any malformed, truncated or inconsistent proof is a
//! typed [`VerifierError`]; the verifier never panics on proof bytes.

mod error;
mod verify;

pub use error::VerifierError;
pub use verify::{VerifierTable, verify, verify_bytes, verify_bytes_with_key, verify_with_key};
