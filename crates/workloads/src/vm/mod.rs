//! A small register VM proven with three tables of different heights linked by LogUp:
//!
//! - `cpu` (one row per step): executes the built-in [`program`], sends each memory access
//!   `(addr, value, timestamp, is_write)` on [`BUS_MEMORY`];
//! - `memory` (one row per access, sorted by address then timestamp): receives them and checks
//!   read-after-write consistency, sending 16-bit limbs of its ordering gaps on [`BUS_RANGE`];
//! - `range` (2^16 rows): receives the limbs, with multiplicities.
//!
//! The workload's size is the number of CPU steps (rounded up to a power of two).

pub mod cpu;
pub mod exec;
pub mod memory;
pub mod program;
pub mod range;

pub use cpu::CpuAir;
pub use memory::MemoryAir;
pub use range::RangeAir;

/// Bus of memory accesses: CPU → memory table.
pub const BUS_MEMORY: u32 = 0;
/// Bus of 16-bit range checks: memory table → range table.
pub const BUS_RANGE: u32 = 1;
