//! `CudaBackend`: [`rstark_protocol::Backend`] on one GPU. Every round's data — trace LDEs and
//! trees, composition parts, DEEP and FRI codewords and their trees — stays in device memory;
//! roots, opened rows and paths, out-of-domain values and the final codeword come back. Proofs
//! are byte-identical to `rstark_backend_cpu::CpuBackend`'s (tests/gpu_backend.rs).
//!
//! Host<->device bytes are counted per prover phase ([`CudaBackend::transfers_by_phase`]).
//! The proof of work is searched on the device too (backend/grind.rs).

mod codeword;
mod committed;
mod composition;
mod deep;
mod grind;
mod kernels;
mod main_aux;
mod peer;
mod programs;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rstark_air::{SymbolicConstraints, Table};
use rstark_field::EF;
use rstark_merkle::Digest;
use rstark_poly::RowMajor;
use rstark_protocol::{
    AuxCommitted, Backend, BackendError, CompositionInputs, DeepInputs, KeccakTrace, MainTrace,
    MerkleOpening, ProofPlan, QueryOpenings, TraceGenerator,
};

use crate::budget::VramBudget;
use crate::constraints::{ConstraintKernel, ConstraintVariant, DeviceConstraintProgram};
use crate::context::{GpuContext, TransferStats};
use crate::error::{CudaError, Result};
use crate::program_cache::{CacheStats, ProgramCache};
use crate::residency::{self, MemoryPlan, Residency};

use main_aux::MainRows;

pub use codeword::CudaCodeword;
pub use committed::CudaCommitted;

/// The CUDA backend: one device context, the constraint and prover-round kernels, the compiled
/// constraint programs already on the device (by table), and the per-phase transfer counts.
pub struct CudaBackend {
    pub(crate) ctx: GpuContext,
    pub(crate) constraints: ConstraintKernel,
    pub(crate) pk: kernels::ProverKernels,
    pub(crate) programs: Arc<ProgramCache<DeviceConstraintProgram>>,
    /// Program lookups started for the current proof (`Backend::constraints_known`).
    pending: programs::PendingPrograms,
    /// Where the current proof's matrices live (`Backend::begin_proof`).
    plan: Mutex<Option<MemoryPlan>>,
    /// Tests and benchmarks: every matrix held this way, whatever the plan says.
    forced: Mutex<Option<Residency>>,
    env_budget: Option<VramBudget>,
    phases: Mutex<Vec<(&'static str, TransferStats)>>,
    /// Bytes `begin_proof` leaves out of the memory plan ([`CudaBackend::set_proof_reserve`]).
    proof_reserve: AtomicU64,
    /// Whether `begin_proof` grows the memory pool to the plan's peak first
    /// ([`CudaBackend::set_pool_reserve`]).
    pool_reserve: AtomicBool,
}

/// Set to 0, a new backend does not grow its memory pool to each proof's peak first
/// ([`CudaBackend::set_pool_reserve`]).
pub const POOL_RESERVE_ENV: &str = "RSTARK_POOL_RESERVE";

/// The environment variable a new backend takes its VRAM budget from.
pub const VRAM_BUDGET_ENV: &str = "RSTARK_VRAM_BUDGET";

pub(crate) fn dev_err(e: CudaError) -> BackendError {
    BackendError::Device(e.to_string())
}

impl CudaBackend {
    /// Opens device `ordinal` and loads the kernels; an error (never a panic) without a GPU.
    /// The budget comes from `RSTARK_VRAM_BUDGET` when set (e.g. "24GiB"; see
    /// [`env_budget`](Self::env_budget)), else 90% of the free device memory.
    pub fn new(ordinal: usize) -> Result<Self> {
        Self::with_context(GpuContext::new(ordinal)?)
    }

    /// Like [`new`](Self::new), on a context of its own on device `ordinal`
    /// ([`GpuContext::new_own_context`]): several backends on one GPU standing in for several.
    pub fn new_own_context(ordinal: usize) -> Result<Self> {
        Self::with_context(GpuContext::new_own_context(ordinal)?)
    }

    /// A backend on an opened context (kernels loaded, budget as [`new`](Self::new) says).
    pub fn with_context(ctx: GpuContext) -> Result<Self> {
        let constraints = ConstraintKernel::load(&ctx)?;
        let pk = kernels::ProverKernels::load(&ctx)?;
        let env_budget = match std::env::var(VRAM_BUDGET_ENV) {
            Ok(v) => {
                let bytes = residency::parse_bytes(&v)
                    .map_err(|e| CudaError::Config(format!("{VRAM_BUDGET_ENV}: {e}")))?;
                Some(ctx.set_vram_budget(bytes)?)
            }
            Err(_) => None,
        };
        Ok(Self {
            ctx,
            constraints,
            pk,
            programs: Arc::new(ProgramCache::new()),
            pending: programs::PendingPrograms::default(),
            plan: Mutex::new(None),
            forced: Mutex::new(None),
            env_budget,
            phases: Mutex::new(Vec::new()),
            proof_reserve: AtomicU64::new(0),
            pool_reserve: AtomicBool::new(
                std::env::var(POOL_RESERVE_ENV).map_or(true, |v| v != "0"),
            ),
        })
    }

    /// Leaves `bytes` of the budget out of the next proofs' memory plans (`begin_proof`), for
    /// a caller that puts its own buffers on the device during the proof (a scheduler over
    /// several devices copies DEEP codewords in at the FRI join). Default 0.
    pub fn set_proof_reserve(&self, bytes: u64) {
        self.proof_reserve.store(bytes, Ordering::Relaxed);
    }

    /// Whether each proof first makes the memory pool hold its modelled peak (and a quarter
    /// more) in one piece ([`GpuContext::reserve_pool`]); on by default, off with
    /// `RSTARK_POOL_RESERVE=0`. Proofs are the same bytes either way.
    pub fn set_pool_reserve(&self, on: bool) {
        self.pool_reserve.store(on, Ordering::Relaxed);
    }

    /// The budget `RSTARK_VRAM_BUDGET` set at creation (lowered to what the device can give:
    /// [`VramBudget::clamped`] says so), if it was set.
    pub fn env_budget(&self) -> Option<VramBudget> {
        self.env_budget
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Holds every committed matrix as `r` (resident: LDE kept; streamed: recomputed when
    /// needed) whatever the memory plan says, or follows the plan again with `None`. Proofs
    /// are the same bytes either way; tests and benchmarks compare the two.
    pub fn force_residency(&self, r: Option<Residency>) {
        *self.forced.lock().unwrap_or_else(|e| e.into_inner()) = r;
    }

    /// The memory plan of the proof under way (or the last one begun).
    pub fn memory_plan(&self) -> Option<MemoryPlan> {
        self.plan.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets the device-memory budget ([`GpuContext::set_vram_budget`]): clamped to what the
    /// device can give, and the result says so.
    pub fn set_vram_budget(&self, bytes: u64) -> Result<VramBudget> {
        self.ctx.set_vram_budget(bytes)
    }

    pub fn vram_budget(&self) -> u64 {
        self.ctx.vram_budget()
    }

    /// Device bytes held by the backend's live buffers (cached tables and programs included).
    pub fn mem_in_use(&self) -> u64 {
        self.ctx.mem_in_use()
    }

    /// The most device bytes in use at once since the last [`reset_mem_peak`](Self::reset_mem_peak).
    pub fn mem_peak(&self) -> u64 {
        self.ctx.mem_peak()
    }

    pub fn reset_mem_peak(&self) {
        self.ctx.reset_mem_peak()
    }

    /// Device bytes the memory pool holds (in use and kept for reuse).
    pub fn pool_reserved(&self) -> Result<u64> {
        self.ctx.pool_reserved()
    }

    /// Device bytes the budget still allows.
    pub(crate) fn available(&self) -> u64 {
        self.ctx.vram_budget().saturating_sub(self.ctx.mem_in_use())
    }

    /// How matrix `kind` (0 main, 1 aux, 2 composition) of table `table` is held: forced, else
    /// planned; `None` without a plan (then the budget left decides).
    pub(crate) fn planned(&self, table: usize, kind: usize) -> Option<Residency> {
        if let Some(r) = *self.forced.lock().unwrap_or_else(|e| e.into_inner()) {
            return Some(r);
        }
        let plan = self.plan.lock().unwrap_or_else(|e| e.into_inner());
        plan.as_ref()
            .and_then(|p| p.tables.get(table))
            .map(|t| [t.main, t.aux, t.comp][kind.min(2)])
    }

    /// The main trace of a `KeccakTrace` generator: generated on the device whole (resident),
    /// or in blocks of rows that go straight into the coefficients (streamed).
    fn commit_keccak(
        &self,
        k: &KeccakTrace,
        log_blowup: usize,
        residency: Option<Residency>,
    ) -> Result<CudaCommitted> {
        let inputs = self.ctx.keccak_inputs(&k.inputs)?;
        self.commit_main_rows(
            &MainRows::Keccak(inputs),
            log_blowup,
            residency,
            None,
            false,
        )?
        .unchecked()
    }

    /// Which constraint kernel the composition round runs
    /// ([`crate::constraints::DEFAULT_CONSTRAINT_VARIANT`] unless set); every variant gives the
    /// same proof, the benchmark compares their speed.
    pub fn set_constraint_variant(&self, v: ConstraintVariant) {
        self.constraints.set_variant(v);
    }

    pub fn constraint_variant(&self) -> ConstraintVariant {
        self.constraints.variant()
    }

    /// When constraint programs compiled from now on get kernels of their own (src/jit.rs;
    /// default `JitMode::from_env()`); a program already compiled keeps its kernel.
    pub fn set_constraint_jit_mode(&self, mode: crate::jit::JitMode) {
        self.constraints.set_jit_mode(mode);
    }

    /// Every cached program's instruction count and where its compiled kernel stands.
    pub fn constraint_kernels(&self) -> Vec<(usize, crate::jit::JitStatus)> {
        self.programs
            .values()
            .iter()
            .map(|p| (p.program().num_instructions(), p.jit_status()))
            .collect()
    }

    /// Hits and misses of the constraint-program cache: a table is compiled (and its program
    /// uploaded) once per backend, on its first composition round.
    pub fn constraint_cache_stats(&self) -> CacheStats {
        self.programs.stats()
    }

    /// Host<->device traffic since the last [`reset_transfers`](Self::reset_transfers), per
    /// phase, in first-use order.
    pub fn transfers_by_phase(&self) -> Vec<(&'static str, TransferStats)> {
        self.phases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The sum over phases.
    pub fn total_transfers(&self) -> TransferStats {
        self.transfers_by_phase()
            .iter()
            .fold(TransferStats::default(), |a, (_, t)| add(a, *t))
    }

    pub fn reset_transfers(&self) {
        self.phases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Runs `f`, charging the bytes it moves to `name`.
    fn phase_host<T>(
        &self,
        name: &'static str,
        f: impl FnOnce() -> std::result::Result<T, BackendError>,
    ) -> std::result::Result<T, BackendError> {
        let _op = rstark_timeline::spans::op(name);
        let before = self.ctx.transfers();
        let r = f();
        let after = self.ctx.transfers();
        let delta = TransferStats {
            h2d_bytes: after.h2d_bytes - before.h2d_bytes,
            d2h_bytes: after.d2h_bytes - before.d2h_bytes,
            h2d_copies: after.h2d_copies - before.h2d_copies,
            d2h_copies: after.d2h_copies - before.d2h_copies,
        };
        let mut p = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        match p.iter_mut().find(|(n, _)| *n == name) {
            Some((_, t)) => *t = add(*t, delta),
            None => p.push((name, delta)),
        }
        r
    }

    fn phase<T>(
        &self,
        name: &'static str,
        f: impl FnOnce() -> Result<T>,
    ) -> std::result::Result<T, BackendError> {
        self.phase_host(name, || f().map_err(dev_err))
    }
}

fn add(a: TransferStats, b: TransferStats) -> TransferStats {
    TransferStats {
        h2d_bytes: a.h2d_bytes + b.h2d_bytes,
        d2h_bytes: a.d2h_bytes + b.d2h_bytes,
        h2d_copies: a.h2d_copies + b.h2d_copies,
        d2h_copies: a.d2h_copies + b.d2h_copies,
    }
}

impl Backend for CudaBackend {
    type Committed = CudaCommitted;
    type Codeword = CudaCodeword;

    fn name(&self) -> &'static str {
        "cuda"
    }

    /// Plans where the proof's matrices live within the VRAM budget (crate::residency), and
    /// refuses a proof that cannot fit before any work.
    fn begin_proof(&self, plan: &ProofPlan) -> std::result::Result<(), BackendError> {
        let reserve = self.proof_reserve.load(Ordering::Relaxed);
        let budget = self.available().saturating_sub(reserve);
        let p = residency::plan(plan, budget).map_err(|e| BackendError::Device(e.to_string()))?;
        if self.pool_reserve.load(Ordering::Relaxed) {
            // the modelled peak and a quarter more, in one piece of the pool (within the budget)
            let room = budget.saturating_sub(residency::SLACK_BYTES);
            let want = p.peak.saturating_add(p.peak / 4).min(room);
            self.ctx.reserve_pool(want).map_err(dev_err)?;
        }
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
        self.pending.clear();
        Ok(())
    }

    /// Starts the table's constraint-program lookup (and compilation on a miss) on a host
    /// thread, to run while the main traces are committed (backend/programs.rs).
    fn constraints_known(&self, table: usize, air: &dyn Table, constraints: &SymbolicConstraints) {
        self.pending.start(&self.programs, table, air, constraints);
    }

    fn end_proof(&self) {
        // Keep the plan for reports (memory_plan); it is replaced by the next begin_proof.
        // A lookup the proof did not use (it failed before its composition) is dropped.
        self.pending.clear();
    }

    /// The trace to device memory (uploaded or generated there), checked there when asked,
    /// then committed (backend/main_aux.rs).
    fn checks_witness(&self) -> bool {
        true
    }

    fn commit_main(
        &self,
        t: &MainTrace<'_>,
        log_blowup: usize,
    ) -> std::result::Result<CudaCommitted, BackendError> {
        self.commit_main_dev(t, log_blowup)
    }

    /// LogUp auxiliary traces are built on the device from the main trace (backend/main_aux.rs).
    fn builds_aux(&self) -> bool {
        true
    }

    fn commit_aux(
        &self,
        table: usize,
        main: &CudaCommitted,
        interactions: &[rstark_air::Interaction],
        logup: &rstark_air::logup::LogupChallenges,
        log_blowup: usize,
    ) -> std::result::Result<AuxCommitted<CudaCommitted>, BackendError> {
        self.commit_aux_dev(table, main, interactions, logup, log_blowup)
    }

    fn commit_trace(
        &self,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> std::result::Result<CudaCommitted, BackendError> {
        let residency = *self.forced.lock().unwrap_or_else(|e| e.into_inner());
        self.phase("trace upload + LDE + commit", || {
            self.commit_rows(trace, log_blowup, residency)
        })
    }

    /// A table's preprocessed columns at setup: committed like a trace (the LDE kept when the
    /// budget allows, else streamed), outside any proof's memory plan. The handle lives in the
    /// proving key, so its coefficients, tree and LDE stay in device memory for every proof made
    /// with the key.
    fn commit_preprocessed(
        &self,
        _table: usize,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> std::result::Result<CudaCommitted, BackendError> {
        let residency = *self.forced.lock().unwrap_or_else(|e| e.into_inner());
        self.phase("preprocessed upload + LDE + commit", || {
            self.commit_rows(trace, log_blowup, residency)
        })
    }

    /// Keccak traces ([`KeccakTrace`]) are generated on the device from their inputs.
    fn generates(&self, generator: &dyn TraceGenerator) -> bool {
        generator.as_any().is::<KeccakTrace>()
    }

    fn commit_generated(
        &self,
        generator: &dyn TraceGenerator,
        log_blowup: usize,
    ) -> std::result::Result<CudaCommitted, BackendError> {
        let residency = *self.forced.lock().unwrap_or_else(|e| e.into_inner());
        match generator.as_any().downcast_ref::<KeccakTrace>() {
            Some(k) => self.phase("trace generation + LDE + commit", || {
                self.commit_keccak(k, log_blowup, residency)
            }),
            None => self.commit_trace(&generator.generate(), log_blowup),
        }
    }

    fn root(&self, m: &CudaCommitted) -> Digest {
        m.tree.root()
    }

    fn open(
        &self,
        m: &CudaCommitted,
        leaf: usize,
    ) -> std::result::Result<MerkleOpening, BackendError> {
        self.phase("openings", || {
            codeword::open_committed(self, m, &[leaf])?
                .pop()
                .ok_or_else(|| CudaError::Shape("empty opening".into()))
        })
    }

    fn open_many(
        &self,
        m: &CudaCommitted,
        leaves: &[usize],
    ) -> std::result::Result<Vec<MerkleOpening>, BackendError> {
        self.phase("openings", || codeword::open_committed(self, m, leaves))
    }

    /// All of them in one device gather and one copy back (streamed matrices apart).
    fn open_queries(
        &self,
        matrices: &[(&CudaCommitted, &[usize])],
        layers: &[(&CudaCodeword, &[usize])],
    ) -> std::result::Result<QueryOpenings, BackendError> {
        self.phase("openings", || self.open_queries_dev(matrices, layers))
    }

    fn evaluate_at(
        &self,
        m: &CudaCommitted,
        point: EF,
    ) -> std::result::Result<Vec<EF>, BackendError> {
        self.phase("out-of-domain values", || self.ood_values(m, point))
    }

    /// Both points in one pass over the coefficients (`pv_ood2_coef_partial`).
    fn evaluate_at_pair(
        &self,
        m: &CudaCommitted,
        a: EF,
        b: EF,
    ) -> std::result::Result<(Vec<EF>, Vec<EF>), BackendError> {
        self.phase("out-of-domain values", || self.ood_values_pair(m, a, b))
    }

    fn composition(
        &self,
        inputs: &CompositionInputs<'_, CudaCommitted>,
    ) -> std::result::Result<CudaCommitted, BackendError> {
        self.composition_dev(inputs)
    }

    fn deep(
        &self,
        inputs: &DeepInputs<'_, CudaCommitted>,
    ) -> std::result::Result<CudaCodeword, BackendError> {
        self.phase("DEEP", || self.deep_cw(inputs))
    }

    fn add_codeword(
        &self,
        acc: &mut CudaCodeword,
        other: &CudaCodeword,
    ) -> std::result::Result<(), BackendError> {
        self.add_cw(acc, other).map_err(dev_err)
    }

    fn fold(&self, cw: &CudaCodeword, beta: EF) -> std::result::Result<CudaCodeword, BackendError> {
        self.fold_cw(cw, beta).map_err(dev_err)
    }

    fn commit_codeword(&self, cw: &mut CudaCodeword) -> std::result::Result<Digest, BackendError> {
        self.phase("FRI commit", || self.commit_cw(cw))
    }

    fn open_codeword(
        &self,
        cw: &CudaCodeword,
        leaf: usize,
    ) -> std::result::Result<MerkleOpening, BackendError> {
        self.phase("openings", || self.open_cw(cw, leaf))
    }

    fn open_codeword_many(
        &self,
        cw: &CudaCodeword,
        leaves: &[usize],
    ) -> std::result::Result<Vec<MerkleOpening>, BackendError> {
        self.phase("openings", || self.open_cw_many(cw, leaves))
    }

    fn final_poly(
        &self,
        cw: &CudaCodeword,
        len: usize,
    ) -> std::result::Result<Vec<EF>, BackendError> {
        self.phase_host("FRI final codeword", || self.final_poly_cw(cw, len))
    }

    /// Searched on the device (backend/grind.rs): the least nonce, as the host finds it; only
    /// 8 bytes per check come back.
    fn grind(&self, state: &[u8; 32], bits: u32) -> std::result::Result<Option<u64>, BackendError> {
        if bits > 256 {
            return Err(BackendError::BadInput(format!(
                "proof of work of {bits} bits is impossible (at most 256)"
            )));
        }
        match self.phase("proof of work", || self.grind_dev(state, bits))? {
            Some(nonce) => Ok(Some(nonce)),
            None => Err(BackendError::Device(format!(
                "no nonce below 2^64 - 1 gives {bits} leading zero bits"
            ))),
        }
    }
}
