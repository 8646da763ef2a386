//! The rstark prover: the protocol of docs/PROTOCOL.md §5, written once and driven through a
//! [`Backend`](rstark_protocol::Backend).
//!
//! ```ignore
//! let tables = vec![TableInput::new("fib", Arc::new(FibAir), trace, publics)];
//! let proof = rstark_prover::prove(&CpuBackend::new(), &presets::DEFAULT, &tables)?;
//! ```

mod error;
pub mod golden;
mod prove;
mod report;

pub use error::ProverError;
pub use prove::{PhaseCallback, ProveOptions, TableInput, prove, prove_with_options};
pub use report::ProveReport;
