use rstark_protocol::{KeyError, ParamsError, ProofFormatError, ShapeError};

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifierError {
    #[error("invalid parameters: {0}")]
    Params(#[from] ParamsError),
    #[error("malformed proof: {0}")]
    Format(#[from] ProofFormatError),
    #[error(transparent)]
    Shape(#[from] ShapeError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the proof has {got} tables, the statement {expected}")]
    TableCount { expected: usize, got: usize },
    #[error("table `{table}`: height 2^{log_height} is not allowed")]
    BadHeight { table: String, log_height: u8 },
    #[error("table `{table}`: the proof has 2^{got} rows, the statement requires 2^{expected}")]
    HeightMismatch {
        table: String,
        expected: u8,
        got: u8,
    },
    #[error("table `{table}`: auxiliary commitment present/absent contrary to its interactions")]
    AuxPresence { table: String },
    #[error("table `{table}`: periodic columns cannot be evaluated at the out-of-domain point")]
    PeriodicAtPoint { table: String },
    #[error("table `{table}`: wrong number of out-of-domain values for {what}")]
    OodShape { table: String, what: &'static str },
    #[error("table `{table}`: constraints at the out-of-domain point do not match the composition")]
    OodMismatch { table: String },
    #[error("the LogUp bus does not balance")]
    BusUnbalanced,
    #[error("wrong number of FRI layer roots ({got}, expected {expected})")]
    FriRootCount { expected: usize, got: usize },
    #[error("final polynomial has {got} coefficients, expected {expected}")]
    FinalPolyLength { expected: usize, got: usize },
    #[error("proof of work is invalid")]
    ProofOfWork,
    #[error("proof has {got} queries, expected {expected}")]
    QueryCount { expected: usize, got: usize },
    #[error("query {query}: malformed ({what})")]
    QueryShape { query: usize, what: &'static str },
    #[error("query {query}: {what} opening does not verify: {reason}")]
    MerklePath {
        query: usize,
        what: &'static str,
        reason: String,
    },
    #[error("query {query}: FRI layer {layer} is inconsistent with the folding")]
    FriFold { query: usize, layer: usize },
    #[error("query {query}: final polynomial does not match the last FRI layer")]
    FinalPoly { query: usize },
}
