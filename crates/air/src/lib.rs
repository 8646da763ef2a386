//! AIRs for rstark: tables written against Plonky3's `p3-air` traits, plus the LogUp bus
//! interactions a table declares next to its AIR.
//!
//! A table's constraints are written once as `impl<AB: AirBuilder> Air<AB> for MyAir`; rstark runs
//! that same code with several builders:
//! - p3's `SymbolicAirBuilder`, for the number of constraints and their degree ([`symbolic`]);
//! - [`RowFolder`] (base-field rows): the witness checker;
//! - [`PackedRowFolder`] (SIMD lanes of base-field rows): the CPU prover's composition evaluator;
//! - [`PointFolder`] (extension-field values at the out-of-domain point): the verifier.
//!
//! LogUp constraints are not written by the user: rstark adds them from the declared
//! [`Interactions`] ([`logup`]).

pub mod checker;
pub mod examples;
pub mod folder;
pub mod interaction;
pub mod logup;
pub mod symbolic;
pub mod table;

pub use checker::{WitnessFailure, first_failing_constraint};
pub use folder::{PackedF, PackedRowFolder, PointFolder, RowFolder, Selectors};
pub use interaction::{Interaction, Interactions, LinearCombination};
pub use symbolic::{ConstraintInfo, constraint_info, symbolic_constraints};
pub use table::Table;

/// Re-exports so that AIR authors need only this crate.
pub use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
