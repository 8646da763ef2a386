//! AIRs for rstark: tables written against Plonky3's `p3-air` traits, plus the LogUp bus
//! interactions a table declares next to its AIR.
//!
//! A table's constraints are written once as `impl<AB: AirBuilder> Air<AB> for MyAir`; rstark runs
//! that same code with several builders:
//! - p3's `SymbolicAirBuilder`, for the number of constraints and their degree ([`symbolic`];
//!   made once per AIR object and reused by later proofs: [`SymbolicCache`]);
//! - [`RowFolder`] (base-field rows): the witness checker;
//! - [`PackedRowFolder`] (SIMD lanes of base-field rows): the CPU prover's composition evaluator;
//! - [`PointFolder`] (extension-field values at the out-of-domain point): the verifier.
//!
//! LogUp constraints are not written by the user: rstark adds them from the declared
//! [`Interactions`] ([`logup`]).
//!
//! ```
//! use rstark_air::{Air, AirBuilder, BaseAir, Interaction, Interactions, LinearCombination, WindowAccess};
//! use rstark_field::PrimeCharacteristicRing;
//!
//! /// Column 0 counts 0, 1, 2, …; each value is received on bus 1 with multiplicity column 1.
//! struct Counter;
//!
//! impl<T> BaseAir<T> for Counter {
//!     fn width(&self) -> usize { 2 }
//! }
//!
//! impl<AB: AirBuilder> Air<AB> for Counter {
//!     fn eval(&self, builder: &mut AB) {
//!         let main = builder.main();
//!         let (v, next) = (main.current_slice()[0], main.next_slice()[0]);
//!         builder.when_first_row().assert_zero(v);
//!         builder.when_transition().assert_eq(next, v + AB::Expr::ONE);
//!     }
//! }
//!
//! impl Interactions for Counter {
//!     fn interactions(&self) -> Vec<Interaction> {
//!         vec![Interaction::receive(1, vec![LinearCombination::column(0)], LinearCombination::column(1))]
//!     }
//! }
//!
//! // Every such AIR is a `Table`.
//! let _table: &dyn rstark_air::Table = &Counter;
//! ```

pub mod checker;
pub mod examples;
pub mod fold;
pub mod folder;
pub mod interaction;
pub mod logup;
pub mod symbolic;
pub mod symbolic_cache;
pub mod table;

pub use checker::{
    FixedColumns, FixedRow, WitnessFailure, failing_constraint_at, failing_constraint_at_with,
    first_failing_constraint, first_failing_constraint_with,
};
pub use fold::FoldCoeffs;
pub use folder::{PackedF, PackedRowFolder, PointFolder, RowFolder, Selectors};
pub use interaction::{Interaction, Interactions, LinearCombination};
pub use symbolic::{ConstraintInfo, SymbolicConstraints, constraint_info, symbolic_constraints};
pub use symbolic_cache::{SymbolicCache, SymbolicCacheStats};
pub use table::{AirTable, Table};

/// Re-exports so that AIR authors need only this crate.
pub use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
