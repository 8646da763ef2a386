//! rstark's CUDA backend: the trace LDE, Keccak-256 row-pair Merkle trees and the gathers for
//! openings run on the GPU and stay there; only roots, opened rows and paths come back.
//! Every kernel reproduces the CPU reference (rstark-poly, rstark-merkle) bit for bit.
//!
//! Without the `cuda` feature only [`plan`] (host-side tables and pass planning),
//! [`grid`] (launch geometry within the hardware limits), [`budget`] (device-memory accounting), [`residency`] (where a proof's
//! matrices live within the VRAM budget), [`program_cache`] (compiled constraint programs by
//! table), [`logup_table`] (what the device LogUp kernels read) and [`pow`] (the proof-of-work
//! search's launch schedule) are built.
//! With it, `build.rs` compiles `kernels/*.cu` into a fatbin embedded in the binary, and the
//! runtime below loads it through the CUDA driver (cudarc, loaded dynamically). See docs/GPU.md.

pub mod budget;
pub mod grid;
pub mod jit_source;
pub mod logup_table;
pub mod plan;
pub mod pow;
pub mod program_cache;
pub mod residency;

#[cfg(feature = "cuda")]
mod backend;
#[cfg(feature = "cuda")]
pub mod constraints;
#[cfg(feature = "cuda")]
mod context;
#[cfg(feature = "cuda")]
mod error;
#[cfg(feature = "cuda")]
pub mod jit;
#[cfg(feature = "cuda")]
mod kernels;
#[cfg(feature = "cuda")]
mod lde;
#[cfg(feature = "cuda")]
pub mod logup;
#[cfg(feature = "cuda")]
mod matrix;
#[cfg(feature = "cuda")]
mod memory;
#[cfg(feature = "cuda")]
mod merkle;
#[cfg(feature = "cuda")]
mod openings;
#[cfg(feature = "cuda")]
mod peer;
#[cfg(feature = "cuda")]
pub mod probe;
#[cfg(feature = "cuda")]
mod staging;
#[cfg(feature = "cuda")]
mod stream;
#[cfg(feature = "cuda")]
mod timeline;
#[cfg(feature = "cuda")]
mod tracegen;
#[cfg(feature = "cuda")]
pub mod witness;

#[cfg(feature = "cuda")]
pub use backend::{CudaBackend, CudaCodeword, CudaCommitted};
#[cfg(feature = "cuda")]
pub use context::{GpuContext, TransferStats};
#[cfg(feature = "cuda")]
pub use error::{CudaError, Result};
#[cfg(feature = "cuda")]
pub use matrix::DeviceMatrix;
#[cfg(feature = "cuda")]
pub use memory::DeviceBuf;
#[cfg(feature = "cuda")]
pub use merkle::DeviceMerkleTree;
#[cfg(feature = "cuda")]
pub use stream::DeviceCoefs;
#[cfg(feature = "cuda")]
pub use tracegen::KECCAK_TRACE_WIDTH;
