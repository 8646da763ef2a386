//! The rstark prover: the protocol of docs/PROTOCOL.md §5, written once and driven through a
//! [`Backend`](rstark_protocol::Backend).
//!
//! ```
//! use std::sync::Arc;
//! use rstark_air::examples::{FibonacciAir, fibonacci_trace};
//! use rstark_backend_cpu::CpuBackend;
//! use rstark_poly::RowMajor;
//! use rstark_protocol::presets;
//! use rstark_prover::{TableInput, prove};
//! use rstark_verifier::{VerifierTable, verify};
//!
//! let (values, publics) = fibonacci_trace(64, 1, 1);
//! let trace = RowMajor::new(values, 2).unwrap();
//! let tables = vec![TableInput::new("fib", Arc::new(FibonacciAir), trace, publics.clone())];
//! let params = presets::FAST_TEST; // tests only: use presets::DEFAULT for real proofs
//! let proof = prove(&CpuBackend, &params, &tables).unwrap();
//! let bytes = proof.to_bytes();
//!
//! let statement = vec![VerifierTable::new("fib", Arc::new(FibonacciAir), publics)];
//! rstark_verifier::verify_bytes(&params, &statement, &bytes).unwrap();
//! # verify(&params, &statement, &proof).unwrap();
//! ```

mod error;
mod fri;
pub mod golden;
mod key;
mod lanes;
mod prove;
mod report;

pub use error::{ProverError, UnbalancedBuses};
pub use key::{PreprocessedData, ProvingKey, setup};
pub use prove::{
    PhaseCallback, ProveOptions, TableInput, prove, prove_owned, prove_with_key,
    prove_with_key_and_options, prove_with_options,
};
pub use report::ProveReport;
/// Where the prover keeps each AIR's symbolic evaluation across proofs (`ProveOptions`).
pub use rstark_air::{SymbolicCache, SymbolicCacheStats};
