//! Row-major trace matrices and their coset low-degree extensions (docs/PROTOCOL.md §2).
//!
//! The prover's wide LDEs run our cache-tiled radix-2 network (tiled_lde.rs), whose coset
//! blocks come out in bit-reversed row order — exactly the layout PROTOCOL.md §2 pins; the rest,
//! and the oracle [`lde`], run Plonky3's parallel radix-2 DIT (`p3-dft`), whose coset LDE stores
//! its output rows in that order too.

mod barycentric;
mod bitrev;
mod error;
pub mod golden;
mod lanes;
mod lde;
mod matrix;
mod tiled_lde;
mod wide;

pub use barycentric::{
    eval_columns_at, eval_lde_columns_at, eval_lde_columns_at_points, try_eval_columns_at,
};
pub use bitrev::{bit_reverse, bit_reverse_rows};
pub use error::PolyError;
pub use lde::{
    MAX_LOG_BLOWUP, coefficients, interpolate, lde, lde_from_coefficients, lde_owned, lde_point,
    lde_with_blocks, lde_with_blocks_owned, try_coefficients, try_lde_from_coefficients,
};
pub use matrix::RowMajor;
pub use wide::{ExtCoeffs, dot_ext_base, ext_to_u64s};
