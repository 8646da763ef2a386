//! AIRs for rstark: tables written against Plonky3's `p3-air` traits, plus the LogUp bus
//! interactions a table declares next to its AIR.
//!
//! A table's constraints are written once as `impl<AB: AirBuilder> Air<AB> for MyAir`; rstark runs
//! that same code with several builders (symbolic, for degrees and GPU compilation; a row checker
//! for witness checks; folders for the prover and the verifier).

pub mod interaction;

pub use interaction::{Interaction, Interactions, LinearCombination};
