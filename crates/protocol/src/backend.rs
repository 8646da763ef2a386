//! The backend trait: what a prover backend supplies (docs/ARCHITECTURE.md).
//!
//! The protocol (transcript order, what is committed and opened) lives in `rstark-prover` and is
//! written once. A backend owns where the round data lives: its `Committed` handle holds an LDE
//! matrix and its Merkle tree (host memory on the CPU, device buffers on a GPU); its `Codeword`
//! holds a FRI layer. Only roots, opened rows and paths, out-of-domain values and the final
//! polynomial come back to the protocol.

use rstark_air::logup::LogupChallenges;
use rstark_air::{SymbolicConstraints, Table};
use rstark_field::{EF, F};
use rstark_merkle::Digest;
use rstark_poly::RowMajor;

use crate::periodic::PeriodicColumns;
use crate::proof::MerkleOpening;
use crate::trace::TraceGenerator;

/// One table's shape as the prover announces it before any expensive work
/// ([`Backend::begin_proof`]): enough for a backend to plan where each round's matrices live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTable {
    pub name: String,
    /// log2 of the trace height N.
    pub log_height: usize,
    pub main_width: usize,
    /// Preprocessed (base) columns, committed at setup (0 without).
    pub preprocessed_width: usize,
    /// Base columns of the LogUp auxiliary trace (3·(K + 1) for K interactions, 0 without).
    pub aux_width: usize,
    /// log2 of the quotient factor D (the composition has 3·D base columns).
    pub log_quotient_degree: usize,
    /// Constraints the composition evaluates per row (the AIR's and LogUp's): with the widths,
    /// what a scheduler's cost model reads.
    pub num_constraints: usize,
}

/// The whole proof's shape (tables in proof order and the parameters that size the rounds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    pub tables: Vec<PlannedTable>,
    pub log_blowup: usize,
    pub num_queries: usize,
    pub log_final_poly_len: usize,
}

/// Where a table's main trace comes from, as the prover hands it to [`Backend::commit_main`].
#[derive(Clone, Copy)]
pub enum MainSource<'a> {
    /// Natural-order values on the host.
    Host(&'a RowMajor),
    /// A generator the backend runs itself ([`Backend::generates`] said yes).
    Generated(&'a dyn TraceGenerator),
}

/// One table's main trace to commit (round 1).
#[derive(Clone, Copy)]
pub struct MainTrace<'a> {
    /// The table's index in the proof.
    pub table: usize,
    pub air: &'a dyn Table,
    pub public_values: &'a [F],
    pub source: MainSource<'a>,
    /// Check every AIR constraint on the trace while committing; asked only of backends whose
    /// [`Backend::checks_witness`] is true. A failing row is [`BackendError::WitnessFailed`].
    pub check_witness: bool,
}

/// A LogUp auxiliary trace a backend built and committed itself ([`Backend::commit_aux`]).
pub struct AuxCommitted<C> {
    pub committed: C,
    /// S(N − 1), the running sum's last value.
    pub claimed_sum: EF,
    /// Σ over all rows of each interaction's column h_k (the prover names unbalanced buses).
    pub interaction_sums: Vec<EF>,
}

/// What [`Backend::open_queries`] returns: one list of openings per matrix and per layer asked
/// for, in the order asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryOpenings {
    pub matrices: Vec<Vec<MerkleOpening>>,
    pub layers: Vec<Vec<MerkleOpening>>,
}

/// A backend failure (allocation, device fault, malformed input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("polynomial operation failed: {0}")]
    Poly(String),
    #[error("Merkle operation failed: {0}")]
    Merkle(String),
    #[error("bad backend input: {0}")]
    BadInput(String),
    #[error(
        "final FRI codeword is not of degree < {0}: the witness does not satisfy the constraints"
    )]
    NotLowDegree(usize),
    #[error("device error: {0}")]
    Device(String),
    /// The witness check during [`Backend::commit_main`] found a failing constraint (the
    /// smallest row, and within it the smallest constraint index, as the host check reports).
    #[error("constraint {constraint} fails at row {row}")]
    WitnessFailed { row: usize, constraint: usize },
    /// A LogUp denominator α − fingerprint is zero ([`Backend::commit_aux`]).
    #[error("LogUp denominator α − fingerprint is zero at row {row}, interaction {interaction}")]
    LogupZeroDenominator { row: usize, interaction: usize },
}

/// Everything needed to evaluate one table's composition (quotient) polynomial.
pub struct CompositionInputs<'a, M> {
    /// The table's index in the proof.
    pub table: usize,
    pub air: &'a dyn Table,
    pub main: &'a M,
    pub aux: Option<&'a M>,
    /// The preprocessed columns' committed LDE (from the proving key), if the AIR has any.
    pub preprocessed: Option<&'a M>,
    /// The periodic columns, if the AIR has any (their values on the quotient domain:
    /// [`PeriodicColumns::on_quotient_domain`]).
    pub periodic: Option<&'a PeriodicColumns>,
    pub log_height: usize,
    pub log_blowup: usize,
    pub log_quotient_degree: usize,
    pub public_values: &'a [F],
    /// α^0 … α^{M−1} for the M constraints (AIR's, then LogUp's).
    pub alpha_pows: &'a [EF],
    pub num_air_constraints: usize,
    pub interactions: &'a [rstark_air::Interaction],
    pub logup: &'a LogupChallenges,
    pub claimed_sum: EF,
}

impl<'a, M> CompositionInputs<'a, M> {
    /// The same inputs with table index `table` and each committed matrix replaced by `f` of
    /// it: what a backend that hands tables to other backends passes on.
    pub fn delegated<N>(
        &self,
        table: usize,
        f: impl Fn(&'a M) -> &'a N,
    ) -> CompositionInputs<'a, N> {
        CompositionInputs {
            table,
            air: self.air,
            main: f(self.main),
            aux: self.aux.map(&f),
            preprocessed: self.preprocessed.map(&f),
            periodic: self.periodic,
            log_height: self.log_height,
            log_blowup: self.log_blowup,
            log_quotient_degree: self.log_quotient_degree,
            public_values: self.public_values,
            alpha_pows: self.alpha_pows,
            num_air_constraints: self.num_air_constraints,
            interactions: self.interactions,
            logup: self.logup,
            claimed_sum: self.claimed_sum,
        }
    }
}

/// Everything needed to compute one table's DEEP codeword.
pub struct DeepInputs<'a, M> {
    /// The table's index in the proof.
    pub table: usize,
    /// The table's committed matrices in column order: preprocessed (if any), main, aux (if any),
    /// composition.
    pub matrices: Vec<&'a M>,
    pub log_height: usize,
    pub log_blowup: usize,
    pub z: EF,
    pub z_next: EF,
    pub coeffs: &'a crate::deep::DeepCoeffs,
    /// Multiplier of the whole codeword (γ^t for table t).
    pub scale: EF,
}

impl<'a, M> DeepInputs<'a, M> {
    /// The same inputs with table index `table` and each matrix replaced by `f` of it (see
    /// [`CompositionInputs::delegated`]).
    pub fn delegated<N>(&self, table: usize, f: impl Fn(&'a M) -> &'a N) -> DeepInputs<'a, N> {
        DeepInputs {
            table,
            matrices: self.matrices.iter().map(|&m| f(m)).collect(),
            log_height: self.log_height,
            log_blowup: self.log_blowup,
            z: self.z,
            z_next: self.z_next,
            coeffs: self.coeffs,
            scale: self.scale,
        }
    }
}

/// A prover backend.
pub trait Backend: Sync {
    /// A committed LDE matrix (with its tree and whatever the backend needs to evaluate it).
    type Committed: Send + Sync;
    /// A FRI codeword over a bit-reversed coset, possibly committed.
    type Codeword: Send + Sync;

    fn name(&self) -> &'static str;

    /// Called once before a proof's first commitment, with its shape: a backend that keeps
    /// round data in limited memory plans it here and refuses a proof it cannot hold before any
    /// expensive work. The prover calls [`end_proof`](Backend::end_proof) when the proof is done
    /// or has failed. Default: nothing to plan.
    fn begin_proof(&self, _plan: &ProofPlan) -> Result<(), BackendError> {
        Ok(())
    }

    /// The proof begun by [`begin_proof`](Backend::begin_proof) is over (made or failed).
    fn end_proof(&self) {}

    /// After [`begin_proof`](Backend::begin_proof), for each table of the proof: its AIR and
    /// its constraints as the prover evaluated them for the shape (exactly
    /// `rstark_air::symbolic_constraints(air, constraints.num_public_values())`). A backend that
    /// compiles constraints may start on them now, on a host thread, while the main traces are
    /// committed, instead of evaluating the AIR again at [`composition`](Backend::composition).
    /// Default: nothing.
    fn constraints_known(
        &self,
        _table: usize,
        _air: &dyn Table,
        _constraints: &SymbolicConstraints,
    ) {
    }

    /// Whether [`Backend::commit_main`] checks the witness itself when asked
    /// (`MainTrace::check_witness`); the prover then skips its host check and never builds a
    /// host copy of a generated trace for it. Default: no.
    fn checks_witness(&self) -> bool {
        false
    }

    /// Commits a table's main trace (round 1). Default: [`commit_trace`](Backend::commit_trace)
    /// of host values, [`commit_generated`](Backend::commit_generated) of a generator.
    fn commit_main(
        &self,
        trace: &MainTrace<'_>,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        match trace.source {
            MainSource::Host(m) => self.commit_trace(m, log_blowup),
            MainSource::Generated(g) => self.commit_generated(g, log_blowup),
        }
    }

    /// Tables whose per-table calls the prover may make at the same time, asked once per proof
    /// after [`begin_proof`](Backend::begin_proof): each list is a *lane* whose tables are
    /// worked on one after another, in proof order, on one thread; lanes run concurrently
    /// within a round (a backend spreading tables over several devices gives one lane per
    /// device). Every table must be in exactly one lane. The transcript is fed in proof order
    /// whatever the lanes, so the proof does not depend on them. Default: none (every call
    /// from the prover's thread, in proof order).
    fn lanes(&self) -> Vec<Vec<usize>> {
        Vec::new()
    }

    /// Whether [`Backend::commit_aux`] builds LogUp auxiliary traces from the committed main
    /// trace (then the prover needs no host values for LogUp). Default: no.
    fn builds_aux(&self) -> bool {
        false
    }

    /// Builds table `table`'s LogUp auxiliary trace (docs/PROTOCOL.md §5.3) from its committed
    /// main trace and commits it. Only called when [`builds_aux`](Backend::builds_aux) is true.
    fn commit_aux(
        &self,
        _table: usize,
        _main: &Self::Committed,
        _interactions: &[rstark_air::Interaction],
        _logup: &LogupChallenges,
        _log_blowup: usize,
    ) -> Result<AuxCommitted<Self::Committed>, BackendError> {
        Err(BackendError::BadInput(
            "this backend does not build LogUp auxiliary traces".into(),
        ))
    }

    /// Commits table `table`'s LogUp auxiliary trace built on the host (round 2, when
    /// [`builds_aux`](Backend::builds_aux) is false). Default:
    /// [`commit_trace`](Backend::commit_trace).
    fn commit_aux_trace(
        &self,
        _table: usize,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        self.commit_trace(trace, log_blowup)
    }

    /// Commits table `table`'s preprocessed columns (natural order) at setup, like a trace. The
    /// handle lives in the proving key and serves every proof made with it, so a device backend
    /// keeps it resident across proofs. Default: [`commit_trace`](Backend::commit_trace).
    fn commit_preprocessed(
        &self,
        _table: usize,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        self.commit_trace(trace, log_blowup)
    }

    /// LDE of a natural-order trace with blowup 2^log_blowup, then its Merkle commitment.
    fn commit_trace(
        &self,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError>;

    /// [`commit_trace`](Backend::commit_trace) of a trace the caller no longer needs: the
    /// backend may reuse its buffer (the CPU backend grows it into the LDE in place, with no copy
    /// of the trace and no separate free of it). Must commit exactly what `commit_trace` would.
    /// The prover hands a host trace over this way only when [`takes_owned_traces`] is true, the
    /// witness is not checked by the backend and nothing reads the trace after its commitment.
    /// Default: [`commit_trace`](Backend::commit_trace), then the trace is dropped.
    ///
    /// [`takes_owned_traces`]: Backend::takes_owned_traces
    fn commit_trace_owned(
        &self,
        trace: RowMajor,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        self.commit_trace(&trace, log_blowup)
    }

    /// Whether [`commit_trace_owned`](Backend::commit_trace_owned) gains anything from owning
    /// the trace (the prover then hands over traces it owns). Default: no.
    fn takes_owned_traces(&self) -> bool {
        false
    }

    /// Whether [`Backend::commit_generated`] runs `generator` itself (e.g. on the device, so its
    /// trace never crosses PCIe) rather than committing its host values. The prover then skips
    /// the host trace unless the protocol reads it. Default: no.
    fn generates(&self, _generator: &dyn TraceGenerator) -> bool {
        false
    }

    /// [`Backend::commit_trace`] of the trace `generator` produces. The default generates it on
    /// the host; a backend that [`generates`](Backend::generates) it must commit the same values.
    fn commit_generated(
        &self,
        generator: &dyn TraceGenerator,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        self.commit_trace(&generator.generate(), log_blowup)
    }

    fn root(&self, m: &Self::Committed) -> Digest;

    /// Opens leaf `leaf` (rows 2·leaf and 2·leaf + 1).
    fn open(&self, m: &Self::Committed, leaf: usize) -> Result<MerkleOpening, BackendError>;

    /// Opens every leaf of `leaves` (in that order, repeats allowed). The queries of a proof open
    /// each matrix at Q leaves at once, so a device backend gathers them in one pass and one copy
    /// instead of Q round trips. The default opens them one by one.
    fn open_many(
        &self,
        m: &Self::Committed,
        leaves: &[usize],
    ) -> Result<Vec<MerkleOpening>, BackendError> {
        leaves.iter().map(|&leaf| self.open(m, leaf)).collect()
    }

    /// Every opening of a proof's query phase in one call: each committed matrix of
    /// `matrices` at its leaves, and each FRI layer of `layers` at its leaves (in that order,
    /// repeats allowed), so that a device backend gathers them all into one buffer and copies
    /// them back at once. Default: [`open_many`](Backend::open_many) and
    /// [`open_codeword_many`](Backend::open_codeword_many) of each.
    fn open_queries(
        &self,
        matrices: &[(&Self::Committed, &[usize])],
        layers: &[(&Self::Codeword, &[usize])],
    ) -> Result<QueryOpenings, BackendError> {
        Ok(QueryOpenings {
            matrices: matrices
                .iter()
                .map(|(m, leaves)| self.open_many(m, leaves))
                .collect::<Result<_, _>>()?,
            layers: layers
                .iter()
                .map(|(cw, leaves)| self.open_codeword_many(cw, leaves))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Values of every base column's polynomial at `point`.
    fn evaluate_at(&self, m: &Self::Committed, point: EF) -> Result<Vec<EF>, BackendError>;

    /// [`evaluate_at`](Self::evaluate_at) at two points (the out-of-domain point and its next
    /// row's): the same values, which a backend may compute in one pass over the matrix.
    fn evaluate_at_pair(
        &self,
        m: &Self::Committed,
        a: EF,
        b: EF,
    ) -> Result<(Vec<EF>, Vec<EF>), BackendError> {
        Ok((self.evaluate_at(m, a)?, self.evaluate_at(m, b)?))
    }

    /// Evaluates the composition polynomial on the quotient domain, splits it into D parts of
    /// degree < N, extends them with the blowup and commits them (width 3·D).
    fn composition(
        &self,
        inputs: &CompositionInputs<'_, Self::Committed>,
    ) -> Result<Self::Committed, BackendError>;

    /// One table's DEEP codeword, times `inputs.scale`, over its LDE domain.
    fn deep(
        &self,
        inputs: &DeepInputs<'_, Self::Committed>,
    ) -> Result<Self::Codeword, BackendError>;

    /// `acc[i] += other[i]` (same size; `acc` keeps its domain).
    fn add_codeword(
        &self,
        acc: &mut Self::Codeword,
        other: &Self::Codeword,
    ) -> Result<(), BackendError>;

    /// Folds by 2 with challenge β: the next layer's codeword, over the squared domain.
    fn fold(&self, cw: &Self::Codeword, beta: EF) -> Result<Self::Codeword, BackendError>;

    /// Commits a codeword (width-3 base matrix, row-pair leaves) and returns the root.
    fn commit_codeword(&self, cw: &mut Self::Codeword) -> Result<Digest, BackendError>;

    /// Opens leaf `leaf` of a committed codeword.
    fn open_codeword(
        &self,
        cw: &Self::Codeword,
        leaf: usize,
    ) -> Result<MerkleOpening, BackendError>;

    /// Opens every leaf of `leaves` of a committed codeword (in that order, repeats allowed);
    /// see [`Backend::open_many`].
    fn open_codeword_many(
        &self,
        cw: &Self::Codeword,
        leaves: &[usize],
    ) -> Result<Vec<MerkleOpening>, BackendError> {
        leaves
            .iter()
            .map(|&leaf| self.open_codeword(cw, leaf))
            .collect()
    }

    /// Coefficients (lowest first) of the polynomial of degree < `len` the codeword evaluates;
    /// an error if its degree is larger.
    fn final_poly(&self, cw: &Self::Codeword, len: usize) -> Result<Vec<EF>, BackendError>;

    /// Proof of work (docs/PROTOCOL.md §4): the least nonce whose
    /// Keccak256(0x02 ‖ `state` ‖ le64(nonce)) has at least `bits` leading zero bits, `state`
    /// being the transcript's state (`Transcript::state`) — exactly
    /// `rstark_transcript::least_nonce(state, bits)`, so the proof's bytes do not depend on
    /// who searched. `Ok(None)`: the backend does not search, and the prover searches on the
    /// host (`Transcript::grind`). The prover checks a returned nonce on the host before
    /// absorbing it (a nonce with too few zero bits is `ProverError::BadPowNonce`, never in a
    /// proof). The prover asks only for `bits <= 32` (the parameters' limit); a backend refuses
    /// `bits > 256` with an error rather than searching forever. Default: `Ok(None)`.
    fn grind(&self, _state: &[u8; 32], _bits: u32) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}
