//! Errors of compilation and interpretation.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// The AIR uses something the program format does not express.
    #[error("cannot compile the constraints: {0}")]
    Unsupported(String),
    /// Inputs (rows, challenges, public values) do not match the program.
    #[error("bad constraint-evaluation input: {0}")]
    Input(String),
    /// A program that no compiler output looks like (bad opcode, operand or register).
    #[error("malformed constraint program: {0}")]
    Malformed(String),
}
