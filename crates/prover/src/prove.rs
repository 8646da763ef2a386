//! The proving rounds, in transcript order (docs/PROTOCOL.md §5).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rstark_air::logup::{LogupChallenges, build_aux_trace};
use rstark_air::{
    BaseAir, FixedColumns, Interaction, SymbolicCache, SymbolicConstraints, Table,
    first_failing_constraint_with,
};
use rstark_field::{EF, F, PrimeCharacteristicRing, flatten_ext, omega};
use rstark_poly::RowMajor;
use rstark_protocol::deep::DeepCoeffs;
use rstark_protocol::proof::AuxCommitment;
use rstark_protocol::{
    Backend, BackendError, CompositionInputs, DeepInputs, KeyError, MainSource, MainTrace,
    OodValues, PlannedTable, PreprocessedKey, Proof, ProofPlan, QueryProof, StarkParams,
    TableProof, TableQuery, TableShape, TraceGenerator, TraceSource, absorb_instance,
    air_digest_with, derive_shape_with,
};
use rstark_timeline::spans::{self, phase};
use tracing::info_span;

use crate::key::{PreprocessedData, ProvingKey};
use crate::lanes::Lanes;
use crate::{ProveReport, ProverError, fri};

/// One table to prove: its AIR, its main trace (natural order, power-of-two height: host values
/// or a generator, see [`TraceSource`]) and the public values its AIR reads.
#[derive(Clone)]
pub struct TableInput {
    pub name: String,
    pub air: Arc<dyn Table>,
    pub trace: TraceSource,
    pub public_values: Vec<F>,
}

impl TableInput {
    pub fn new(
        name: impl Into<String>,
        air: Arc<dyn Table>,
        trace: impl Into<TraceSource>,
        public_values: Vec<F>,
    ) -> Self {
        Self {
            name: name.into(),
            air,
            trace: trace.into(),
            public_values,
        }
    }
}

/// Called after each prover phase with its name and wall time (e.g. to drive a progress bar).
pub type PhaseCallback = Arc<dyn Fn(&'static str, std::time::Duration) + Send + Sync>;

/// Prover switches.
#[derive(Clone)]
pub struct ProveOptions {
    /// Check every constraint on the trace before proving (default: on in debug builds).
    pub check_witness: bool,
    /// Progress callback, called after each phase.
    pub on_phase: Option<PhaseCallback>,
    /// Where each table's symbolic evaluation is kept for the next proofs with the same AIR
    /// object (`Arc` in [`TableInput::air`]) and number of public values: only the first
    /// evaluates it (see [`SymbolicCache`] for the design). Default: the process-wide
    /// [`SymbolicCache::shared`]; `None` evaluates every AIR in every proof. The proof is the
    /// same either way.
    pub symbolic_cache: Option<Arc<SymbolicCache>>,
}

impl Default for ProveOptions {
    fn default() -> Self {
        Self {
            check_witness: cfg!(debug_assertions),
            on_phase: None,
            symbolic_cache: Some(Arc::clone(SymbolicCache::shared())),
        }
    }
}

impl std::fmt::Debug for ProveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProveOptions")
            .field("check_witness", &self.check_witness)
            .field("on_phase", &self.on_phase.is_some())
            .field("symbolic_cache", &self.symbolic_cache)
            .finish()
    }
}

/// `SymbolicConstraints::of(air, num_public_values)`, from `cache` when there is one.
fn evaluate(
    cache: Option<&SymbolicCache>,
    air: &Arc<dyn Table>,
    num_public_values: usize,
) -> SymbolicConstraints {
    match cache {
        Some(c) => c.get(air, num_public_values),
        None => SymbolicConstraints::of(air.as_ref(), num_public_values),
    }
}

/// Proves `tables` with default options. A table with preprocessed columns needs a key:
/// [`prove_with_key`].
pub fn prove<B: Backend>(
    backend: &B,
    params: &StarkParams,
    tables: &[TableInput],
) -> Result<Proof, ProverError> {
    prove_with_options(backend, params, tables, &ProveOptions::default()).map(|(p, _)| p)
}

/// Proves `tables` with the proving key [`crate::setup`] made for them (with `backend`), with
/// default options.
pub fn prove_with_key<B: Backend>(
    backend: &B,
    params: &StarkParams,
    key: &ProvingKey<B::Committed>,
    tables: &[TableInput],
) -> Result<Proof, ProverError> {
    prove_with_key_and_options(backend, params, key, tables, &ProveOptions::default())
        .map(|(p, _)| p)
}

/// [`prove_with_key`] with options, reporting per-phase timings.
pub fn prove_with_key_and_options<B: Backend>(
    backend: &B,
    params: &StarkParams,
    key: &ProvingKey<B::Committed>,
    tables: &[TableInput],
    options: &ProveOptions,
) -> Result<(Proof, ProveReport), ProverError> {
    prove_inner(
        backend,
        params,
        Some(key),
        tables,
        borrowed(tables),
        options,
    )
}

struct Prepared<'k, C> {
    shape: TableShape,
    interactions: Vec<Interaction>,
    /// The table's preprocessed columns from the key.
    preprocessed: Option<&'k PreprocessedData<C>>,
    /// The periodic columns as the AIR gives them (the witness check reads them by row).
    periodic: Vec<Vec<F>>,
    /// The AIR's constraints as evaluated for the shape (handed to the backend).
    constraints: SymbolicConstraints,
}

impl<C> Prepared<'_, C> {
    fn has_fixed_columns(&self) -> bool {
        self.shape.has_fixed_columns()
    }
}

/// A table's main trace as the rounds hold it: host values, borrowed from the caller or owned
/// (then freed as soon as nothing reads them), or a generator.
enum HeldTrace<'a> {
    Host(Cow<'a, RowMajor>),
    Generated(Arc<dyn TraceGenerator>),
}

impl HeldTrace<'_> {
    fn height(&self) -> usize {
        match self {
            Self::Host(m) => m.values.len().checked_div(m.width).unwrap_or(0),
            Self::Generated(g) => g.height(),
        }
    }

    fn width(&self) -> usize {
        match self {
            Self::Host(m) => m.width,
            Self::Generated(g) => g.width(),
        }
    }

    fn generator(&self) -> Option<&dyn TraceGenerator> {
        match self {
            Self::Host(_) => None,
            Self::Generated(g) => Some(g.as_ref()),
        }
    }
}

/// The callers' traces, borrowed.
fn borrowed(tables: &[TableInput]) -> Vec<HeldTrace<'_>> {
    tables
        .iter()
        .map(|t| match &t.trace {
            TraceSource::Host(m) => HeldTrace::Host(Cow::Borrowed(m)),
            TraceSource::Generated(g) => HeldTrace::Generated(g.clone()),
        })
        .collect()
}

/// A table's entry in the proving key: its preprocessed commitment and data, if it has any.
type KeyEntry<'k, C> = Option<(&'k PreprocessedKey, &'k PreprocessedData<C>)>;

/// The key's entries for the statement `tables` (checked against it), one per table; all `None`
/// without a key. The AIR digests the check compares come from `cache`'s evaluations.
fn key_entries<'k, C>(
    params: &StarkParams,
    key: Option<&'k ProvingKey<C>>,
    tables: &[TableInput],
    cache: Option<&SymbolicCache>,
) -> Result<Vec<KeyEntry<'k, C>>, ProverError> {
    let Some(key) = key else {
        return Ok(vec![None; tables.len()]);
    };
    let statement: Vec<(&str, &dyn Table)> = tables
        .iter()
        .map(|t| (t.name.as_str(), t.air.as_ref()))
        .collect();
    // The digest reads the evaluation with the public-value count the AIR declares (the same
    // as the proof's evaluation whenever it declares one).
    key.vk
        .check_with(params.log_blowup as usize, &statement, |i| {
            let air = &tables[i].air;
            let declared = BaseAir::<F>::num_public_values(air.as_ref());
            air_digest_with(air.as_ref(), &evaluate(cache, air, declared).info())
        })?;
    if key.tables.len() != tables.len() {
        return Err(KeyError::TableCount {
            key: key.tables.len(),
            statement: tables.len(),
        }
        .into());
    }
    key.vk
        .tables
        .iter()
        .zip(&key.tables)
        .zip(tables)
        .map(|((k, data), t)| match (&k.preprocessed, data) {
            (Some(p), Some(d)) => Ok(Some((p, d))),
            (None, None) => Ok(None),
            _ => Err(KeyError::OtherAir {
                table: t.name.clone(),
            }
            .into()),
        })
        .collect()
}

fn prepare<'k, C>(
    params: &StarkParams,
    t: &TableInput,
    trace: &HeldTrace<'_>,
    key: KeyEntry<'k, C>,
    cache: Option<&SymbolicCache>,
) -> Result<Prepared<'k, C>, ProverError> {
    let bad = |reason: String| ProverError::TraceShape {
        table: t.name.clone(),
        reason,
    };
    let (height, width) = (trace.height(), trace.width());
    let ragged = match trace {
        HeldTrace::Host(m) => m.values.len() != height * width,
        HeldTrace::Generated(_) => false,
    };
    if width == 0 || ragged {
        return Err(bad("malformed matrix".into()));
    }
    if !height.is_power_of_two() || height < 2 {
        return Err(bad(format!("height {height} is not a power of two ≥ 2")));
    }
    let log_height = height.trailing_zeros() as usize;
    if log_height < params.log_final_poly_len as usize {
        return Err(bad(format!(
            "height {height} is below the final polynomial length {}",
            params.final_poly_len()
        )));
    }
    // The shape is derived for this height and key; only the symbolic evaluation is reused.
    let (shape, constraints) = derive_shape_with(
        &t.name,
        t.air.as_ref(),
        t.public_values.len(),
        log_height,
        key.map(|(k, _)| k),
        || evaluate(cache, &t.air, t.public_values.len()),
    )?;
    if shape.main_width != width {
        return Err(bad(format!(
            "trace width {width} but the AIR has width {}",
            shape.main_width
        )));
    }
    check_log_height(log_height).map_err(bad)?;
    if log_height + (params.log_blowup as usize).max(shape.log_quotient_degree) > 30 {
        return Err(bad(format!("height 2^{log_height} is too large")));
    }
    let periodic = match shape.periodic {
        Some(_) => BaseAir::<F>::periodic_columns(t.air.as_ref()).into_owned(),
        None => Vec::new(),
    };
    Ok(Prepared {
        interactions: t.air.interactions(),
        shape,
        preprocessed: key.map(|(_, d)| d),
        periodic,
        constraints,
    })
}

/// The verifier accepts at most 2^MAX_LOG_HEIGHT rows; a taller proof could never verify.
fn check_log_height(log_height: usize) -> Result<(), String> {
    if log_height > rstark_protocol::MAX_LOG_HEIGHT {
        return Err(format!(
            "height 2^{log_height} is above the largest supported 2^{}",
            rstark_protocol::MAX_LOG_HEIGHT
        ));
    }
    Ok(())
}

/// A table's host trace if the protocol reads it (witness check, LogUp) or `backend` cannot
/// generate it itself; a generated one must have the shape its generator announced.
fn host_trace<'a, B: Backend>(
    backend: &B,
    t: &TableInput,
    trace: HeldTrace<'a>,
    p: &Prepared<'_, B::Committed>,
    check_witness: bool,
) -> Result<Option<Cow<'a, RowMajor>>, ProverError> {
    let g = match trace {
        HeldTrace::Host(m) => return Ok(Some(m)),
        HeldTrace::Generated(g) => g,
    };
    if !needs_host_values(backend, Some(g.as_ref()), p, check_witness) {
        return Ok(None);
    }
    let _t = spans::table(&t.name, g.height());
    let m = g.generate();
    if m.width != g.width() || m.values.len() != g.width() * g.height() {
        return Err(ProverError::TraceShape {
            table: t.name.clone(),
            reason: format!(
                "the generator announced {}x{} but produced {} values of width {}",
                g.height(),
                g.width(),
                m.values.len(),
                m.width
            ),
        });
    }
    Ok(Some(Cow::Owned(m)))
}

/// Whether the prover reads a table's host values: the host witness check (unless the backend
/// checks the witness itself), host-built LogUp (unless the backend builds it), or a trace the
/// backend does not generate itself (`generator`: the table's, if its trace is one).
fn needs_host_values<B: Backend>(
    backend: &B,
    generator: Option<&dyn TraceGenerator>,
    p: &Prepared<'_, B::Committed>,
    check_witness: bool,
) -> bool {
    (check_witness && !backend_checks_witness(backend, p))
        || host_builds_aux(backend, p)
        || !generator.is_some_and(|g| backend.generates(g))
}

/// Whether the LogUp round reads the table's host values (it has interactions and the backend
/// does not build its auxiliary trace itself).
fn host_builds_aux<B: Backend>(backend: &B, p: &Prepared<'_, B::Committed>) -> bool {
    !p.interactions.is_empty() && !backend.builds_aux()
}

/// Whether `backend` checks `p`'s witness while committing it (tables with preprocessed or
/// periodic columns are checked on the host: the backend's check sees the main trace only).
fn backend_checks_witness<B: Backend>(backend: &B, p: &Prepared<'_, B::Committed>) -> bool {
    backend.checks_witness() && !p.has_fixed_columns()
}

/// The host values [`host_trace`] kept; it keeps them wherever the protocol reads them.
fn host_values<'a>(
    t: &TableInput,
    host: &'a Option<Cow<'_, RowMajor>>,
) -> Result<&'a RowMajor, ProverError> {
    host.as_deref().ok_or_else(|| ProverError::TraceShape {
        table: t.name.clone(),
        reason: "internal: the host trace was not generated".into(),
    })
}

/// The proof's shape for [`Backend::begin_proof`].
fn proof_plan<C>(
    params: &StarkParams,
    tables: &[TableInput],
    prepared: &[Prepared<'_, C>],
) -> ProofPlan {
    ProofPlan {
        tables: tables
            .iter()
            .zip(prepared)
            .map(|(t, p)| PlannedTable {
                name: t.name.clone(),
                log_height: p.shape.log_height,
                main_width: p.shape.main_width,
                preprocessed_width: p.shape.preprocessed_width,
                aux_width: p.shape.aux_width(),
                log_quotient_degree: p.shape.log_quotient_degree,
                num_constraints: p.shape.total_constraints(),
            })
            .collect(),
        log_blowup: params.log_blowup as usize,
        num_queries: params.num_queries as usize,
        log_final_poly_len: params.log_final_poly_len as usize,
    }
}

/// Calls [`Backend::end_proof`] when dropped (the proof is made, or failed on any path).
struct EndProof<'a, B: Backend>(&'a B);

impl<B: Backend> Drop for EndProof<'_, B> {
    fn drop(&mut self) {
        self.0.end_proof();
    }
}

fn powers(x: EF, n: usize) -> Vec<EF> {
    let mut out = Vec::with_capacity(n);
    let mut p = EF::ONE;
    for _ in 0..n {
        out.push(p);
        p *= x;
    }
    out
}

/// Proves `tables` and reports per-phase timings. A table with preprocessed columns needs a
/// key: [`prove_with_key_and_options`]. The caller keeps its traces; see [`prove_owned`] for a
/// prover that frees each host trace as soon as it is committed.
pub fn prove_with_options<B: Backend>(
    backend: &B,
    params: &StarkParams,
    tables: &[TableInput],
    options: &ProveOptions,
) -> Result<(Proof, ProveReport), ProverError> {
    prove_inner(backend, params, None, tables, borrowed(tables), options)
}

/// [`prove_with_options`], taking the tables: each table's host trace is freed as soon as
/// nothing reads it any more (after its commitment, or after its LogUp auxiliary trace where
/// the host builds it), so a proof's host memory does not hold every trace to the end. The proof
/// is the same.
pub fn prove_owned<B: Backend>(
    backend: &B,
    params: &StarkParams,
    tables: Vec<TableInput>,
    options: &ProveOptions,
) -> Result<(Proof, ProveReport), ProverError> {
    let (metas, traces): (Vec<TableInput>, Vec<HeldTrace<'_>>) = tables
        .into_iter()
        .map(|t| {
            let width = t.trace.width();
            let held = match t.trace {
                TraceSource::Host(m) => HeldTrace::Host(Cow::Owned(m)),
                TraceSource::Generated(g) => HeldTrace::Generated(g),
            };
            // the rounds read the trace from `traces` only: an empty stand-in here
            let meta = TableInput {
                trace: TraceSource::Host(RowMajor {
                    values: Vec::new(),
                    width,
                }),
                ..t
            };
            (meta, held)
        })
        .unzip();
    prove_inner(backend, params, None, &metas, traces, options)
}

/// The rounds. `traces[i]` is table i's main trace (`tables[i].trace` is not read).
fn prove_inner<B: Backend>(
    backend: &B,
    params: &StarkParams,
    key: Option<&ProvingKey<B::Committed>>,
    tables: &[TableInput],
    traces: Vec<HeldTrace<'_>>,
    options: &ProveOptions,
) -> Result<(Proof, ProveReport), ProverError> {
    let start = Instant::now();
    let _prove = info_span!("prove", backend = backend.name(), tables = tables.len()).entered();
    let mut report = ProveReport {
        backend: backend.name(),
        conjectured_security_bits: params.conjectured_security_bits(),
        on_phase: options.on_phase.clone(),
        ..Default::default()
    };
    params.validate()?;
    if tables.is_empty() {
        return Err(ProverError::NoTables);
    }
    if tables.len() > 64 {
        return Err(ProverError::TooManyTables(tables.len()));
    }
    if traces.len() != tables.len() {
        return Err(ProverError::TraceShape {
            table: String::new(),
            reason: "internal: a trace per table".into(),
        });
    }
    let log_blowup = params.log_blowup as usize;
    // Shapes from the AIRs (a symbolic evaluation of every constraint, made by the first proof
    // with each AIR object and kept in the cache), and the backend's plan.
    let ph = phase("prepare tables");
    let cache = options.symbolic_cache.as_deref();
    let prepared = tables
        .iter()
        .zip(&traces)
        .zip(key_entries(params, key, tables, cache)?)
        .map(|((t, trace), k)| {
            let _t = spans::table(&t.name, trace.height());
            prepare(params, t, trace, k, cache)
        })
        .collect::<Result<Vec<_>, _>>()?;
    backend.begin_proof(&proof_plan(params, tables, &prepared))?;
    for (i, (t, p)) in tables.iter().zip(&prepared).enumerate() {
        backend.constraints_known(i, t.air.as_ref(), &p.constraints);
    }
    report.end(ph);
    // Whatever happens from here on, the backend hears that the proof is over.
    let _end = EndProof(backend);
    // Where each round's per-table calls run (one thread per lane; in order without lanes).
    let lanes = Lanes::of(backend, tables.len())?;

    // Host values of the main traces, where the protocol reads them (witness check, LogUp) or
    // the backend does not generate the trace itself; `None`: the backend generates it.
    let generators: Vec<Option<Arc<dyn TraceGenerator>>> = traces
        .iter()
        .map(|h| match h {
            HeldTrace::Generated(g) => Some(g.clone()),
            HeldTrace::Host(_) => None,
        })
        .collect();
    let generator = |i: usize| generators[i].as_deref();
    let generation = traces
        .iter()
        .zip(&prepared)
        .any(|(h, p)| {
            h.generator()
                .is_some_and(|g| needs_host_values(backend, Some(g), p, options.check_witness))
        })
        .then(|| phase("trace generation"));
    let mut hosts = tables
        .iter()
        .zip(traces)
        .zip(&prepared)
        .map(|((t, h), p)| host_trace(backend, t, h, p, options.check_witness))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(ph) = generation {
        report.end(ph);
    }

    // Witness check on the host, unless the backend checks it while committing.
    let backend_checks: Vec<bool> = prepared
        .iter()
        .map(|p| options.check_witness && backend_checks_witness(backend, p))
        .collect();
    if options.check_witness && backend_checks.iter().any(|c| !c) {
        let ph = phase("witness check");
        for (((t, p), host), _) in tables
            .iter()
            .zip(&prepared)
            .zip(&hosts)
            .zip(&backend_checks)
            .filter(|(_, c)| !**c)
        {
            let host = host_values(t, host)?;
            let _t = spans::table(&t.name, host.height());
            let fixed = FixedColumns {
                preprocessed: p.preprocessed.map_or(&[], |d| &d.trace.values),
                preprocessed_width: p.shape.preprocessed_width,
                periodic: &p.periodic,
            };
            if let Some(f) = first_failing_constraint_with(
                t.air.as_ref(),
                &host.values,
                host.width,
                &t.public_values,
                &fixed,
            ) {
                return Err(ProverError::ConstraintFailed {
                    table: t.name.clone(),
                    row: f.row,
                    constraint: f.constraint,
                });
            }
        }
        report.end(ph);
        // A trace the backend generates itself was on the host for the check only: free it
        // (LogUp keeps the ones it reads), and let the backend generate its own below.
        for (i, p) in prepared.iter().enumerate() {
            if !needs_host_values(backend, generator(i), p, false) {
                hosts[i] = None;
            }
        }
    }

    let shapes: Vec<TableShape> = prepared.iter().map(|p| p.shape.clone()).collect();
    let publics: Vec<&[F]> = tables.iter().map(|t| t.public_values.as_slice()).collect();
    let mut transcript = absorb_instance(params, &shapes, &publics);

    // Round 1: main traces.
    let ph = phase("commit main traces");
    // Each table's host trace, freed by the lane that last reads it.
    let hosts: Vec<Mutex<Option<Cow<'_, RowMajor>>>> = hosts.into_iter().map(Mutex::new).collect();
    let host_of = |i: usize| hosts[i].lock().unwrap_or_else(|e| e.into_inner());
    let mains = lanes.run(tables.len(), ph.name(), |i| {
        let (t, p) = (&tables[i], &prepared[i]);
        let _t = spans::table(&t.name, 1 << p.shape.log_height);
        let mut host = host_of(i);
        // A trace the prover owns and nothing reads after its commitment goes to the backend by
        // value (the CPU backend grows its buffer into the LDE: no copy, no free of 1× the
        // trace on this thread).
        if backend.takes_owned_traces()
            && !backend_checks[i]
            && !host_builds_aux(backend, p)
            && matches!(*host, Some(Cow::Owned(_)))
            && let Some(Cow::Owned(m)) = host.take()
        {
            return backend
                .commit_trace_owned(m, log_blowup)
                .map_err(ProverError::Backend);
        }
        let source = match (host.as_deref(), generator(i)) {
            (Some(m), _) => MainSource::Host(m),
            (None, Some(g)) => MainSource::Generated(g),
            (None, None) => {
                return Err(ProverError::TraceShape {
                    table: t.name.clone(),
                    reason: "internal: the host trace was freed before its commitment".into(),
                });
            }
        };
        let main = MainTrace {
            table: i,
            air: t.air.as_ref(),
            public_values: &t.public_values,
            source,
            check_witness: backend_checks[i],
        };
        let committed = backend
            .commit_main(&main, log_blowup)
            .map_err(|e| match e {
                BackendError::WitnessFailed { row, constraint } => ProverError::ConstraintFailed {
                    table: t.name.clone(),
                    row,
                    constraint,
                },
                e => ProverError::Backend(e),
            })?;
        // Host values the LogUp round does not read are not needed any more (freed here when
        // the prover owns them).
        if !host_builds_aux(backend, p) {
            *host = None;
        }
        Ok(committed)
    })?;
    for m in &mains {
        transcript.absorb_digest(&backend.root(m));
    }
    report.end(ph);

    // Round 2: LogUp challenges, auxiliary traces and claimed sums.
    let ph = phase("LogUp aux traces");
    let logup_alpha = transcript.sample_ext();
    let logup_beta = transcript.sample_ext();
    let all_interactions: Vec<&[Interaction]> =
        prepared.iter().map(|p| p.interactions.as_slice()).collect();
    let logup = LogupChallenges::new(logup_alpha, logup_beta, &all_interactions);
    // Each table's committed aux trace, claimed sum and per-interaction sums (lanes), then the
    // transcript in proof order.
    let built = lanes.run(tables.len(), ph.name(), |i| {
        let (t, p) = (&tables[i], &prepared[i]);
        if p.interactions.is_empty() {
            return Ok(None);
        }
        let _t = spans::table(&t.name, 1 << p.shape.log_height);
        if backend.builds_aux() {
            let aux = backend
                .commit_aux(i, &mains[i], &p.interactions, &logup, log_blowup)
                .map_err(|e| match e {
                    BackendError::LogupZeroDenominator { row, interaction } => ProverError::Logup {
                        table: t.name.clone(),
                        source: rstark_air::logup::LogupError::ZeroDenominator { row, interaction },
                    },
                    e => ProverError::Backend(e),
                })?;
            return Ok(Some((aux.committed, aux.claimed_sum, aux.interaction_sums)));
        }
        let mut held = host_of(i);
        let host = host_values(t, &held)?;
        let (aux, claimed) = build_aux_trace(&p.interactions, &logup, &host.values, host.width)
            .map_err(|source| ProverError::Logup {
                table: t.name.clone(),
                source,
            })?;
        // The main trace's host values are not read after this (freed if owned).
        *held = None;
        drop(held);
        let k = p.interactions.len();
        let sums = (0..k)
            .map(|j| aux.iter().skip(j).step_by(k + 1).copied().sum())
            .collect();
        let aux = RowMajor {
            values: flatten_ext(&aux),
            width: p.shape.aux_width(),
        };
        let committed = backend.commit_aux_trace(i, &aux, log_blowup)?;
        Ok(Some((committed, claimed, sums)))
    })?;
    let mut auxes: Vec<Option<(B::Committed, EF)>> = Vec::with_capacity(tables.len());
    // Σ over rows of h_k, per bus, to name the buses that do not balance.
    let mut bus_sums: std::collections::BTreeMap<u32, EF> = Default::default();
    for (p, aux) in prepared.iter().zip(built) {
        let Some((committed, claimed, sums)) = aux else {
            auxes.push(None);
            continue;
        };
        for (inter, s) in p.interactions.iter().zip(&sums) {
            *bus_sums.entry(inter.bus).or_insert(EF::ZERO) += *s;
        }
        transcript.absorb_digest(&backend.root(&committed));
        transcript.absorb_ext(&[claimed]);
        auxes.push(Some((committed, claimed)));
    }
    let total: EF = auxes.iter().flatten().map(|(_, c)| *c).sum();
    if total != EF::ZERO {
        let buses = bus_sums
            .into_iter()
            .filter(|(_, s)| *s != EF::ZERO)
            .map(|(b, _)| b)
            .collect();
        return Err(ProverError::BusUnbalanced(crate::UnbalancedBuses { buses }));
    }
    report.end(ph);

    // Round 3: composition polynomials.
    let ph = phase("composition");
    let comp_alpha = transcript.sample_ext();
    let comps = lanes.run(tables.len(), ph.name(), |i| {
        let (t, p, main, aux) = (&tables[i], &prepared[i], &mains[i], &auxes[i]);
        let _t = spans::table(&t.name, 1 << p.shape.log_height);
        let alpha_pows = powers(comp_alpha, p.shape.total_constraints());
        let inputs = CompositionInputs {
            table: i,
            air: t.air.as_ref(),
            main,
            aux: aux.as_ref().map(|(a, _)| a),
            preprocessed: p.preprocessed.map(|d| &d.committed),
            periodic: p.shape.periodic.as_ref(),
            log_height: p.shape.log_height,
            log_blowup,
            log_quotient_degree: p.shape.log_quotient_degree,
            public_values: &t.public_values,
            alpha_pows: &alpha_pows,
            num_air_constraints: p.shape.num_constraints,
            interactions: &p.interactions,
            logup: &logup,
            claimed_sum: aux.as_ref().map(|(_, c)| *c).unwrap_or(EF::ZERO),
        };
        Ok(backend.composition(&inputs)?)
    })?;
    for comp in &comps {
        transcript.absorb_digest(&backend.root(comp));
    }
    report.end(ph);

    // Round 4: out-of-domain evaluations.
    let ph = phase("out-of-domain evaluations");
    let z = rstark_protocol::domain::sample_ood_point(&mut transcript);
    let oods = lanes.run(tables.len(), ph.name(), |i| {
        let p = &prepared[i];
        let _t = spans::table(&p.shape.name, 1 << p.shape.log_height);
        let z_next = z * omega(p.shape.log_height);
        let (main_z, main_zw) = backend.evaluate_at_pair(&mains[i], z, z_next)?;
        let mut ood = OodValues {
            main_z,
            main_zw,
            comp_z: backend.evaluate_at(&comps[i], z)?,
            ..Default::default()
        };
        if let Some((aux, _)) = &auxes[i] {
            (ood.aux_z, ood.aux_zw) = backend.evaluate_at_pair(aux, z, z_next)?;
        }
        if let Some(d) = p.preprocessed {
            (ood.prep_z, ood.prep_zw) = backend.evaluate_at_pair(&d.committed, z, z_next)?;
        }
        Ok(ood)
    })?;
    for (p, ood) in prepared.iter().zip(&oods) {
        for v in ood.transcript_lists(p.preprocessed.is_some()) {
            transcript.absorb_ext(v);
        }
    }
    report.end(ph);

    // Round 5: DEEP codewords.
    let ph = phase("DEEP quotients");
    let delta = transcript.sample_ext();
    let gamma = transcript.sample_ext();
    // Table t's codeword is scaled by γ^t.
    let scales = powers(gamma, tables.len());
    let deeps = lanes.run(tables.len(), ph.name(), |i| {
        let p = &prepared[i];
        let _t = spans::table(&p.shape.name, 1 << p.shape.log_height);
        let coeffs = DeepCoeffs::from_ood(delta, &oods[i]);
        let mut matrices: Vec<&B::Committed> =
            p.preprocessed.map(|d| &d.committed).into_iter().collect();
        matrices.push(&mains[i]);
        if let Some((aux, _)) = &auxes[i] {
            matrices.push(aux);
        }
        matrices.push(&comps[i]);
        let inputs = DeepInputs {
            table: i,
            matrices,
            log_height: p.shape.log_height,
            log_blowup,
            z,
            z_next: z * omega(p.shape.log_height),
            coeffs: &coeffs,
            scale: scales[i],
        };
        Ok(backend.deep(&inputs)?)
    })?;
    report.end(ph);

    // Round 6: FRI commit phase.
    let ph = phase("FRI folding");
    let lde_logs: Vec<usize> = prepared
        .iter()
        .map(|p| p.shape.log_height + log_blowup)
        .collect();
    let log_max = lde_logs.iter().copied().max().unwrap_or(0);
    let deeps: Vec<(usize, B::Codeword)> = lde_logs.iter().copied().zip(deeps).collect();
    let fri = fri::commit_phase(backend, &mut transcript, params, deeps)?;
    report.end(ph);

    // Grinding.
    let ph = phase("proof of work");
    let pow_bits = u32::from(params.pow_bits);
    // The backend may search (a GPU); its nonce is checked on the host before it is absorbed.
    let pow_nonce = match backend.grind(&transcript.state(), pow_bits)? {
        Some(nonce) => {
            transcript
                .verify_pow(pow_bits, nonce)
                .map_err(|source| ProverError::BadPowNonce {
                    backend: backend.name(),
                    nonce,
                    source,
                })?;
            nonce
        }
        None => transcript.try_grind(pow_bits).map_err(ProverError::Pow)?,
    };
    report.end(ph);

    // Queries.
    let ph = phase("query openings");
    let indices = transcript.sample_indices(params.num_queries as usize, 1 << (log_max - 1));
    // Every matrix and FRI layer is opened at all Q leaves in one backend call (one device
    // gather and one copy for the whole phase).
    let leaves_at = |shift: usize| -> Vec<usize> { indices.iter().map(|&l| l >> shift).collect() };
    let table_leaves: Vec<Vec<usize>> = lde_logs.iter().map(|&l| leaves_at(log_max - l)).collect();
    let layer_leaves: Vec<Vec<usize>> = (0..fri.layers.len()).map(|s| leaves_at(s + 1)).collect();
    let mut matrices: Vec<(&B::Committed, &[usize])> = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        let leaves = table_leaves[i].as_slice();
        matrices.extend(p.preprocessed.map(|d| (&d.committed, leaves)));
        matrices.push((&mains[i], leaves));
        matrices.extend(auxes[i].as_ref().map(|(a, _)| (a, leaves)));
        matrices.push((&comps[i], leaves));
    }
    let layers: Vec<(&B::Codeword, &[usize])> = fri
        .layers
        .iter()
        .zip(&layer_leaves)
        .map(|(cw, l)| (cw, l.as_slice()))
        .collect();
    let missing = || BackendError::BadInput("backend returned too few openings".into());
    let opened = backend.open_queries(&matrices, &layers)?;
    if opened.matrices.len() != matrices.len() || opened.layers.len() != layers.len() {
        return Err(missing().into());
    }
    let mut opened_matrices = opened.matrices.into_iter().map(Vec::into_iter);
    let mut table_openings = Vec::with_capacity(tables.len());
    for (i, p) in prepared.iter().enumerate() {
        let mut next = || opened_matrices.next().into_iter().flatten();
        let prep = p.preprocessed.map(|_| next());
        let main = next();
        let aux = auxes[i].as_ref().map(|_| next());
        let comp = next();
        table_openings.push((prep, main, aux, comp));
    }
    let mut layer_openings: Vec<_> = opened.layers.into_iter().map(Vec::into_iter).collect();
    let mut queries = Vec::with_capacity(indices.len());
    for _ in &indices {
        let mut qt = Vec::with_capacity(tables.len());
        for (prep, main, aux, comp) in table_openings.iter_mut() {
            qt.push(TableQuery {
                preprocessed: match prep {
                    Some(p) => Some(p.next().ok_or_else(missing)?),
                    None => None,
                },
                main: main.next().ok_or_else(missing)?,
                aux: match aux {
                    Some(a) => Some(a.next().ok_or_else(missing)?),
                    None => None,
                },
                comp: comp.next().ok_or_else(missing)?,
            });
        }
        let layers = layer_openings
            .iter_mut()
            .map(|l| l.next().ok_or_else(missing))
            .collect::<Result<Vec<_>, _>>()?;
        queries.push(QueryProof { tables: qt, layers });
    }
    report.end(ph);

    let proof = Proof {
        tables: prepared
            .iter()
            .enumerate()
            .map(|(i, p)| TableProof {
                log_height: p.shape.log_height as u8,
                main_root: backend.root(&mains[i]),
                aux: auxes[i].as_ref().map(|(a, c)| AuxCommitment {
                    root: backend.root(a),
                    claimed_sum: *c,
                }),
                comp_root: backend.root(&comps[i]),
                ood: oods[i].clone(),
            })
            .collect(),
        fri_roots: fri.roots,
        final_poly: fri.final_poly,
        pow_nonce,
        queries,
    };
    // The round data (gigabytes of LDE for a large trace): a backend may free it in the
    // background (the CPU backend does), which this span shows.
    let free = info_span!("free round data").entered();
    drop((matrices, layers));
    drop((fri.layers, comps, auxes, mains));
    drop(free);
    report.total = start.elapsed();
    report.proof_bytes = proof.size_bytes();
    Ok((proof, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_above_the_verifier_limit_are_refused() {
        assert!(check_log_height(rstark_protocol::MAX_LOG_HEIGHT).is_ok());
        assert!(check_log_height(rstark_protocol::MAX_LOG_HEIGHT + 1).is_err());
    }
}
