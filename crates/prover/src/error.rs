use rstark_field::EF;
use rstark_protocol::{BackendError, ParamsError, ShapeError};

/// Why a proof could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    #[error("invalid parameters: {0}")]
    Params(#[from] ParamsError),
    #[error("no tables to prove")]
    NoTables,
    #[error("too many tables ({0}, at most 64)")]
    TooManyTables(usize),
    #[error(transparent)]
    Shape(#[from] ShapeError),
    #[error("table `{table}`: bad trace: {reason}")]
    TraceShape { table: String, reason: String },
    #[error("table `{table}`: constraint {constraint} fails at row {row}")]
    ConstraintFailed {
        table: String,
        row: usize,
        constraint: usize,
    },
    #[error("table `{table}`: {source}")]
    Logup {
        table: String,
        source: rstark_air::logup::LogupError,
    },
    #[error("the LogUp bus does not balance: the tables' claimed sums add up to {0:?}, not 0")]
    BusUnbalanced(EF),
    #[error("backend error: {0}")]
    Backend(#[from] BackendError),
}
