//! What the rstark prover and verifier share: parameters and presets, the proof and its byte
//! encoding, the instance binding of the transcript, domain arithmetic, and the [`Backend`] trait
//! through which the prover drives a CPU or GPU backend (docs/PROTOCOL.md §5+, docs/ARCHITECTURE.md).

pub mod backend;
pub mod codec;
pub mod deep;
pub mod domain;
pub mod instance;
pub mod key;
pub mod params;
pub mod periodic;
pub mod proof;
pub mod trace;

pub use backend::{
    AuxCommitted, Backend, BackendError, CompositionInputs, DeepInputs, MainSource, MainTrace,
    PlannedTable, ProofPlan, QueryOpenings,
};
pub use codec::ProofFormatError;
pub use instance::{
    ShapeError, TableShape, absorb_instance, derive_shape, derive_shape_and_constraints,
    derive_shape_with,
};
pub use key::{KeyError, PreprocessedKey, TableKey, VerifyingKey, air_digest, air_digest_with};
pub use params::{ParamsError, StarkParams, presets};
pub use periodic::{PeriodicColumns, PeriodicError};
pub use proof::{MerkleOpening, OodValues, Proof, QueryProof, TableProof, TableQuery};
pub use trace::{KeccakTrace, TraceGenerator, TraceSource};

/// Version of the proof format and protocol (docs/PROTOCOL.md §5).
pub const PROTOCOL_VERSION: u16 = 1;

/// Largest table height, as log2 (2^28 rows), that the prover proves and the verifier accepts
/// (docs/PROTOCOL.md §5.9).
pub const MAX_LOG_HEIGHT: usize = 28;

/// Label of the Fiat–Shamir transcript.
pub const TRANSCRIPT_LABEL: &[u8] = b"rstark-stark-v1";
