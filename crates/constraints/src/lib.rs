//! Constraint compilation: one table's full constraint set — the AIR's own constraints from
//! p3's symbolic builder plus rstark's LogUp constraints — as a flat register program that a GPU
//! kernel (rstark-backend-cuda, `kernels/constraints.cu`) or the CPU interpreter here runs once
//! per quotient-domain row. Both produce exactly what `rstark_backend_cpu::quotient_values`
//! does. The format is in [`program`] and docs/ARCHITECTURE.md ("Constraint compilation").
//!
//! ```
//! use rstark_air::examples::FibonacciAir;
//! let program = rstark_constraints::compile_table(&FibonacciAir, 3).unwrap();
//! assert_eq!(program.num_constraints, 5);
//! ```

mod codegen;
mod compile;
mod dag;
mod error;
mod forward;
mod interp;
pub mod program;
mod slice;

pub use codegen::{CODEGEN_VERSION, cuda_eval_source};
pub use compile::{Widths, compile, compile_air, compile_table, compile_with};
pub use error::ConstraintError;
pub use interp::{
    FRAME_WORDS, MAX_PARTS, QuotientFrame, QuotientInputs, Registers, RowInputs, quotient_values,
};
pub use program::{ConstraintProgram, INSTR_WORDS, ProgramStats};
pub use slice::{max_live_words, rematerialize, split_program, uses_selectors};
