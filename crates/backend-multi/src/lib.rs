//! Several devices prove one statement (docs/GPU.md, "Several GPUs").
//!
//! [`MultiBackend`] is a [`Backend`](rstark_protocol::Backend) over several member backends
//! ([`Member`]: one per GPU, or several contexts of one GPU standing in for several; CPU
//! backends in tests). The protocol stays in `rstark-prover`, written once:
//!
//! - at `begin_proof` every table is placed on a member by its cost (measured on an earlier
//!   proof of its shape, else modelled: [`cost`]) and the member's memory (its own plan within
//!   its budget: [`placement`]); each member begins its share of the proof;
//! - every call about a table goes to its member, which commits its main, aux and composition
//!   matrices, evaluates them out of domain, forms its DEEP codeword and opens its rows — all
//!   in the member's memory; the prover runs each member's tables in their own lane (thread);
//! - FRI runs on the member holding the first tallest table: each other codeword is copied to
//!   it (a peer copy on GPUs) when the fold reaches its size — the only data that moves
//!   ([`Moves`], predicted by [`Placement::moved_bytes`]).
//!
//! Proofs are byte-identical to one backend's whatever the placement (tests/cpu_multi.rs;
//! tests/gpu_multi.rs on a GPU).

mod backend;
pub mod cost;
#[cfg(feature = "cuda")]
mod cuda;
mod member;
pub mod placement;

pub use backend::{Moves, MultiBackend, MultiCodeword, MultiCommitted};
pub use cost::{CostOrigin, CostSource};
#[cfg(feature = "cuda")]
pub use cuda::{MultiCudaBackend, open_devices};
pub use member::Member;
pub use placement::{PlaceError, Placement};
