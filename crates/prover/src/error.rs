use rstark_protocol::{BackendError, KeyError, ParamsError, ShapeError};
use rstark_transcript::TranscriptError;

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
    #[error(transparent)]
    Key(#[from] KeyError),
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
    #[error("{0}")]
    BusUnbalanced(UnbalancedBuses),
    #[error("backend error: {0}")]
    Backend(#[from] BackendError),
    /// The host's proof-of-work search refused the bits (more than 256).
    #[error("proof of work: {0}")]
    Pow(TranscriptError),
    /// The nonce the backend's proof-of-work search returned (`Backend::grind`) fails the
    /// host's check; no proof is made with it.
    #[error(
        "backend `{backend}` returned proof-of-work nonce {nonce}, which fails the check: {source}"
    )]
    BadPowNonce {
        backend: &'static str,
        nonce: u64,
        source: TranscriptError,
    },
}

/// The buses whose sends and receives do not cancel (with the sampled LogUp challenges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbalancedBuses {
    pub buses: Vec<u32>,
}

impl std::fmt::Display for UnbalancedBuses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the LogUp bus does not balance: sends and receives differ on bus(es) {:?}",
            self.buses
        )
    }
}
