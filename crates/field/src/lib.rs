//! Goldilocks and its cubic extension, with rstark's canonical byte forms (docs/PROTOCOL.md §1).
//! Skeleton: the Foundation issue fills this in.

pub use p3_goldilocks::Goldilocks as F;
pub type EF = p3_field::extension::CubicTrinomialExtensionField<F>;
