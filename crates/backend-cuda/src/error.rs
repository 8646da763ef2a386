//! Typed errors: every driver failure says what was being done.

use cudarc::driver::DriverError;

use crate::budget::fmt_bytes;

pub type Result<T, E = CudaError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    #[error("no usable CUDA device: {0}")]
    NoDevice(String),
    #[error("CUDA driver error while {what}: {source}")]
    Driver {
        what: String,
        #[source]
        source: DriverError,
    },
    #[error(
        "kernel {kernel} cannot be launched with grid {grid:?}, block {block:?} and \
         {shared_bytes} bytes of dynamic shared memory: {reason}"
    )]
    LaunchLimits {
        kernel: String,
        grid: (u32, u32, u32),
        block: (u32, u32, u32),
        shared_bytes: u32,
        reason: String,
    },
    #[error(
        "device memory budget exceeded allocating {what}: {} requested, {} in use, budget {}",
        fmt_bytes(*requested),
        fmt_bytes(*in_use),
        fmt_bytes(*budget)
    )]
    OutOfBudget {
        what: String,
        requested: u64,
        in_use: u64,
        budget: u64,
    },
    #[error(
        "device memory short by {} allocating {what}: {} requested, {} free",
        fmt_bytes(requested.saturating_sub(*free)),
        fmt_bytes(*requested),
        fmt_bytes(*free)
    )]
    OutOfMemory {
        what: String,
        requested: u64,
        free: u64,
    },
    #[error("invalid matrix shape: {0}")]
    Shape(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("leaf index {index} is out of range for a tree of {num_leaves} leaves")]
    LeafOutOfRange { index: u64, num_leaves: u64 },
    #[error("row index {index} is out of range for a matrix of {rows} rows")]
    RowOutOfRange { index: u64, rows: u64 },
    #[error("the device returned a non-canonical field element {0:#x}")]
    NonCanonical(u64),
    #[error("the device witness check disagrees with the host: {0}")]
    WitnessCheck(String),
}

/// `.ctx("what was being done")` on driver results.
pub(crate) trait DriverContext<T> {
    fn ctx(self, what: impl Into<String>) -> Result<T>;
}

impl<T> DriverContext<T> for std::result::Result<T, DriverError> {
    fn ctx(self, what: impl Into<String>) -> Result<T> {
        self.map_err(|source| CudaError::Driver {
            what: what.into(),
            source,
        })
    }
}
