//! `MultiBackend`: [`Backend`] over several members (devices). Each table's matrices live on
//! the member that owns it ([`crate::placement`]); every call about a table goes there, with the
//! table's index in that member's share; the prover runs each member's tables in its own lane
//! ([`Backend::lanes`]). Codewords meet at the FRI join: `add_codeword` of another member's
//! codeword copies it to the accumulator's member first (counted in [`Moves`]).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rstark_air::logup::LogupChallenges;
use rstark_air::{Interaction, SymbolicConstraints, Table};
use rstark_field::EF;
use rstark_merkle::Digest;
use rstark_poly::RowMajor;
use rstark_protocol::{
    AuxCommitted, Backend, BackendError, CompositionInputs, DeepInputs, MainTrace, MerkleOpening,
    ProofPlan, QueryOpenings, TraceGenerator,
};
use rstark_timeline::Tags;

use crate::cost::{CostBook, CostSource};
use crate::member::Member;
use crate::placement::{self, Placement};

/// A committed matrix on one member.
pub struct MultiCommitted<C> {
    member: usize,
    /// The table it belongs to (proof index), for the cost book.
    table: usize,
    inner: C,
}

impl<C> MultiCommitted<C> {
    /// The member (device) that holds it.
    pub fn member(&self) -> usize {
        self.member
    }

    pub fn inner(&self) -> &C {
        &self.inner
    }
}

/// A FRI codeword on one member.
pub struct MultiCodeword<W> {
    member: usize,
    inner: W,
}

impl<W> MultiCodeword<W> {
    pub fn member(&self) -> usize {
        self.member
    }

    pub fn inner(&self) -> &W {
        &self.inner
    }
}

/// Codewords copied between members since the last [`MultiBackend::reset_moves`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Moves {
    pub bytes: u64,
    pub copies: u64,
    /// Wall time of the copies (queued and, where the member waits, done).
    pub seconds: f64,
    /// (from, to) → (bytes, copies).
    pub by_pair: BTreeMap<(usize, usize), (u64, u64)>,
}

/// The proof under way: its placement, its plan, and each table's measured seconds.
struct Proof {
    placement: Placement,
    plan: ProofPlan,
    seconds: Vec<f64>,
}

/// Several members proving one statement (docs/GPU.md, "Several GPUs").
pub struct MultiBackend<B: Member> {
    members: Vec<B>,
    labels: Vec<String>,
    proof: Mutex<Option<Proof>>,
    last: Mutex<Option<Placement>>,
    /// Table → member, where `commit_preprocessed` put its columns (the last setup's).
    pins: Mutex<BTreeMap<usize, usize>>,
    book: Mutex<CostBook>,
    source: Mutex<CostSource>,
    moves: Mutex<Moves>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn elsewhere(what: &str, on: usize, owner: usize) -> BackendError {
    BackendError::BadInput(format!(
        "{what} is on device {on} but its table runs on device {owner}"
    ))
}

impl<B: Member> MultiBackend<B> {
    /// Members in device order (at least one). Labels are "d: <member's label>".
    pub fn new(members: Vec<B>) -> Result<Self, BackendError> {
        if members.is_empty() {
            return Err(BackendError::BadInput(
                "a multi-device backend needs at least one device".into(),
            ));
        }
        let labels = members.iter().map(Member::label).collect();
        Ok(Self {
            members,
            labels,
            proof: Mutex::new(None),
            last: Mutex::new(None),
            pins: Mutex::new(BTreeMap::new()),
            book: Mutex::new(CostBook::default()),
            source: Mutex::new(CostSource::default()),
            moves: Mutex::new(Moves::default()),
        })
    }

    pub fn members(&self) -> &[B] {
        &self.members
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The placement of the proof under way, or of the last one.
    pub fn placement(&self) -> Option<Placement> {
        lock(&self.last).clone()
    }

    /// Which costs placement reads (default: measured where a shape was timed before).
    pub fn set_cost_source(&self, s: CostSource) {
        *lock(&self.source) = s;
    }

    /// Forgets measured costs.
    pub fn clear_costs(&self) {
        *lock(&self.book) = CostBook::default();
    }

    pub fn moves(&self) -> Moves {
        lock(&self.moves).clone()
    }

    pub fn reset_moves(&self) {
        *lock(&self.moves) = Moves::default();
    }

    /// The member and member-local index of table `table` of the proof under way.
    fn route(&self, table: usize) -> Result<(usize, usize), BackendError> {
        let p = lock(&self.proof);
        let p = p.as_ref().ok_or_else(|| {
            BackendError::BadInput("no proof begun on the multi-device backend".into())
        })?;
        match (p.placement.owner.get(table), p.placement.local.get(table)) {
            (Some(&m), Some(&l)) => Ok((m, l)),
            _ => Err(BackendError::BadInput(format!(
                "table {table} is not in the proof under way"
            ))),
        }
    }

    /// Runs `f`, adding its wall time to table `table`'s cost (when a proof is under way).
    fn timed<T>(&self, table: usize, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let s = start.elapsed().as_secs_f64();
        if let Some(p) = lock(&self.proof).as_mut()
            && let Some(t) = p.seconds.get_mut(table)
        {
            *t += s;
        }
        out
    }

    fn wrap(
        &self,
        member: usize,
        table: usize,
        inner: B::Committed,
    ) -> MultiCommitted<B::Committed> {
        MultiCommitted {
            member,
            table,
            inner,
        }
    }

    fn end_members(&self, members: impl Iterator<Item = usize>) {
        for m in members {
            self.members[m].end_proof();
            self.members[m].set_proof_reserve(0);
        }
    }
}

impl<B: Member> Backend for MultiBackend<B> {
    type Committed = MultiCommitted<B::Committed>;
    type Codeword = MultiCodeword<B::Codeword>;

    fn name(&self) -> &'static str {
        match self.members[0].name() {
            "cuda" => "cuda-multi",
            "cpu" => "cpu-multi",
            _ => "multi",
        }
    }

    /// Places the tables (costs, memory), then begins each member's share of the proof.
    fn begin_proof(&self, plan: &ProofPlan) -> Result<(), BackendError> {
        let costs = lock(&self.book).costs(&plan.tables, plan.log_blowup, *lock(&self.source));
        let pins: Vec<Option<usize>> = {
            let pins = lock(&self.pins);
            (0..plan.tables.len())
                .map(|t| pins.get(&t).copied())
                .collect()
        };
        let placement = placement::place(plan, &costs, &pins, &self.labels, |m, share, r| {
            self.members[m].fits(share, r)
        })
        .map_err(|e| BackendError::Device(e.to_string()))?;
        let mut begun = Vec::new();
        for (m, load) in placement.members.iter().enumerate() {
            if load.tables.is_empty() {
                continue;
            }
            let reserve = if m == placement.fri_member {
                placement.reserve
            } else {
                0
            };
            self.members[m].set_proof_reserve(reserve);
            if let Err(e) = self.members[m].begin_proof(&placement.share(plan, m)) {
                self.end_members(begun.into_iter().chain([m]));
                return Err(BackendError::Device(format!("{}: {e}", self.labels[m])));
            }
            begun.push(m);
        }
        *lock(&self.last) = Some(placement.clone());
        *lock(&self.proof) = Some(Proof {
            placement,
            plan: plan.clone(),
            seconds: vec![0.0; plan.tables.len()],
        });
        Ok(())
    }

    /// Ends each member's share and records the tables' measured costs.
    fn end_proof(&self) {
        let Some(p) = lock(&self.proof).take() else {
            return;
        };
        lock(&self.book).record(&p.plan.tables, &p.seconds);
        let begun = p
            .placement
            .members
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.tables.is_empty())
            .map(|(m, _)| m);
        self.end_members(begun);
    }

    fn constraints_known(&self, table: usize, air: &dyn Table, constraints: &SymbolicConstraints) {
        if let Ok((m, local)) = self.route(table) {
            self.members[m].constraints_known(local, air, constraints);
        }
    }

    /// One lane per member with tables.
    fn lanes(&self) -> Vec<Vec<usize>> {
        lock(&self.proof)
            .as_ref()
            .map(|p| {
                p.placement
                    .members
                    .iter()
                    .filter(|l| !l.tables.is_empty())
                    .map(|l| l.tables.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn checks_witness(&self) -> bool {
        self.members[0].checks_witness()
    }

    fn commit_main(
        &self,
        trace: &MainTrace<'_>,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        let (m, local) = self.route(trace.table)?;
        let on_member = MainTrace {
            table: local,
            ..*trace
        };
        let c = self.timed(trace.table, || {
            self.members[m].commit_main(&on_member, log_blowup)
        })?;
        Ok(self.wrap(m, trace.table, c))
    }

    fn builds_aux(&self) -> bool {
        self.members[0].builds_aux()
    }

    fn commit_aux(
        &self,
        table: usize,
        main: &Self::Committed,
        interactions: &[Interaction],
        logup: &LogupChallenges,
        log_blowup: usize,
    ) -> Result<AuxCommitted<Self::Committed>, BackendError> {
        let (m, local) = self.route(table)?;
        if main.member != m {
            return Err(elsewhere("the main trace", main.member, m));
        }
        let aux = self.timed(table, || {
            self.members[m].commit_aux(local, &main.inner, interactions, logup, log_blowup)
        })?;
        Ok(AuxCommitted {
            committed: self.wrap(m, table, aux.committed),
            claimed_sum: aux.claimed_sum,
            interaction_sums: aux.interaction_sums,
        })
    }

    fn commit_aux_trace(
        &self,
        table: usize,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        let (m, local) = self.route(table)?;
        let c = self.timed(table, || {
            self.members[m].commit_aux_trace(local, trace, log_blowup)
        })?;
        Ok(self.wrap(m, table, c))
    }

    /// At setup: the member that already holds this table's columns, else the one holding the
    /// fewest tables' columns; the table is pinned there for later proofs.
    fn commit_preprocessed(
        &self,
        table: usize,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        let m = {
            let mut pins = lock(&self.pins);
            let m = pins.get(&table).copied().unwrap_or_else(|| {
                (0..self.members.len())
                    .min_by_key(|&m| (pins.values().filter(|&&p| p == m).count(), m))
                    .unwrap_or(0)
            });
            pins.insert(table, m);
            m
        };
        let c = self.members[m].commit_preprocessed(table, trace, log_blowup)?;
        Ok(self.wrap(m, table, c))
    }

    /// Not table-bound (the prover commits every proof matrix with its table): device 0.
    fn commit_trace(
        &self,
        trace: &RowMajor,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        let c = self.members[0].commit_trace(trace, log_blowup)?;
        Ok(self.wrap(0, usize::MAX, c))
    }

    fn generates(&self, generator: &dyn TraceGenerator) -> bool {
        self.members[0].generates(generator)
    }

    /// Not table-bound: device 0 (the prover commits through `commit_main`).
    fn commit_generated(
        &self,
        generator: &dyn TraceGenerator,
        log_blowup: usize,
    ) -> Result<Self::Committed, BackendError> {
        let c = self.members[0].commit_generated(generator, log_blowup)?;
        Ok(self.wrap(0, usize::MAX, c))
    }

    fn root(&self, m: &Self::Committed) -> Digest {
        self.members[m.member].root(&m.inner)
    }

    fn open(&self, m: &Self::Committed, leaf: usize) -> Result<MerkleOpening, BackendError> {
        self.timed(m.table, || self.members[m.member].open(&m.inner, leaf))
    }

    fn open_many(
        &self,
        m: &Self::Committed,
        leaves: &[usize],
    ) -> Result<Vec<MerkleOpening>, BackendError> {
        self.timed(m.table, || {
            self.members[m.member].open_many(&m.inner, leaves)
        })
    }

    /// Each member opens its own matrices and layers (one call each, the members at the same
    /// time); the openings come back in the order asked.
    fn open_queries(
        &self,
        matrices: &[(&Self::Committed, &[usize])],
        layers: &[(&Self::Codeword, &[usize])],
    ) -> Result<QueryOpenings, BackendError> {
        // Per member: the indices of its matrices and of its layers.
        let mut mine: Vec<(Vec<usize>, Vec<usize>)> = (0..self.members.len())
            .map(|_| Default::default())
            .collect();
        for (k, (m, _)) in matrices.iter().enumerate() {
            mine[m.member].0.push(k);
        }
        for (k, (cw, _)) in layers.iter().enumerate() {
            mine[cw.member].1.push(k);
        }
        let open = |m: usize| {
            let (ms, ls) = &mine[m];
            let mats: Vec<(&B::Committed, &[usize])> = ms
                .iter()
                .map(|&k| (&matrices[k].0.inner, matrices[k].1))
                .collect();
            let lays: Vec<(&B::Codeword, &[usize])> = ls
                .iter()
                .map(|&k| (&layers[k].0.inner, layers[k].1))
                .collect();
            self.members[m].open_queries(&mats, &lays)
        };
        let busy: Vec<usize> = (0..self.members.len())
            .filter(|&m| !mine[m].0.is_empty() || !mine[m].1.is_empty())
            .collect();
        let results: Vec<(usize, Result<QueryOpenings, BackendError>)> = if busy.len() <= 1 {
            busy.iter().map(|&m| (m, open(m))).collect()
        } else {
            // One thread per member, in the caller's phase (device work is tagged with it).
            let tags = Tags::current();
            std::thread::scope(|s| {
                let handles: Vec<_> = busy
                    .iter()
                    .map(|&m| {
                        let (open, tags) = (&open, &tags);
                        let h = std::thread::Builder::new()
                            .name(format!("device {m} openings"))
                            .spawn_scoped(s, move || {
                                let _phase = tags
                                    .phase
                                    .as_deref()
                                    .map(|p| tracing::info_span!("phase", label = p).entered());
                                open(m)
                            });
                        (m, h)
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|(m, h)| match h {
                        Ok(h) => (
                            m,
                            h.join()
                                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                        ),
                        Err(e) => (
                            m,
                            Err(BackendError::Device(format!(
                                "cannot start a thread for device {m}'s openings: {e}"
                            ))),
                        ),
                    })
                    .collect()
            })
        };
        let mut out = QueryOpenings {
            matrices: matrices.iter().map(|_| Vec::new()).collect(),
            layers: layers.iter().map(|_| Vec::new()).collect(),
        };
        for (m, r) in results {
            let r = r?;
            let (ms, ls) = &mine[m];
            if r.matrices.len() != ms.len() || r.layers.len() != ls.len() {
                return Err(BackendError::BadInput(format!(
                    "{} returned too few openings",
                    self.labels[m]
                )));
            }
            for (&k, o) in ms.iter().zip(r.matrices) {
                out.matrices[k] = o;
            }
            for (&k, o) in ls.iter().zip(r.layers) {
                out.layers[k] = o;
            }
        }
        Ok(out)
    }

    fn evaluate_at(&self, m: &Self::Committed, point: EF) -> Result<Vec<EF>, BackendError> {
        self.timed(m.table, || {
            self.members[m.member].evaluate_at(&m.inner, point)
        })
    }

    fn evaluate_at_pair(
        &self,
        m: &Self::Committed,
        a: EF,
        b: EF,
    ) -> Result<(Vec<EF>, Vec<EF>), BackendError> {
        self.timed(m.table, || {
            self.members[m.member].evaluate_at_pair(&m.inner, a, b)
        })
    }

    fn composition(
        &self,
        i: &CompositionInputs<'_, Self::Committed>,
    ) -> Result<Self::Committed, BackendError> {
        let (m, local) = self.route(i.table)?;
        for (what, c) in [("the main trace", Some(i.main)), ("the aux trace", i.aux)]
            .into_iter()
            .chain([("the preprocessed columns", i.preprocessed)])
        {
            if let Some(c) = c
                && c.member != m
            {
                return Err(elsewhere(what, c.member, m));
            }
        }
        let on_member = i.delegated(local, |c| &c.inner);
        let c = self.timed(i.table, || self.members[m].composition(&on_member))?;
        Ok(self.wrap(m, i.table, c))
    }

    fn deep(&self, i: &DeepInputs<'_, Self::Committed>) -> Result<Self::Codeword, BackendError> {
        let (m, local) = self.route(i.table)?;
        if let Some(c) = i.matrices.iter().find(|c| c.member != m) {
            return Err(elsewhere("a committed matrix", c.member, m));
        }
        let on_member = i.delegated(local, |c| &c.inner);
        let inner = self.timed(i.table, || self.members[m].deep(&on_member))?;
        Ok(MultiCodeword { member: m, inner })
    }

    /// A codeword of another member is copied to `acc`'s first (the FRI join).
    fn add_codeword(
        &self,
        acc: &mut Self::Codeword,
        other: &Self::Codeword,
    ) -> Result<(), BackendError> {
        let to = &self.members[acc.member];
        if other.member == acc.member {
            return to.add_codeword(&mut acc.inner, &other.inner);
        }
        let start = Instant::now();
        let (copy, bytes) = to.import_codeword(&self.members[other.member], &other.inner)?;
        {
            let mut mv = lock(&self.moves);
            mv.bytes += bytes;
            mv.copies += 1;
            mv.seconds += start.elapsed().as_secs_f64();
            let pair = mv.by_pair.entry((other.member, acc.member)).or_default();
            pair.0 += bytes;
            pair.1 += 1;
        }
        to.add_codeword(&mut acc.inner, &copy)
    }

    fn fold(&self, cw: &Self::Codeword, beta: EF) -> Result<Self::Codeword, BackendError> {
        Ok(MultiCodeword {
            member: cw.member,
            inner: self.members[cw.member].fold(&cw.inner, beta)?,
        })
    }

    fn commit_codeword(&self, cw: &mut Self::Codeword) -> Result<Digest, BackendError> {
        self.members[cw.member].commit_codeword(&mut cw.inner)
    }

    fn open_codeword(
        &self,
        cw: &Self::Codeword,
        leaf: usize,
    ) -> Result<MerkleOpening, BackendError> {
        self.members[cw.member].open_codeword(&cw.inner, leaf)
    }

    fn open_codeword_many(
        &self,
        cw: &Self::Codeword,
        leaves: &[usize],
    ) -> Result<Vec<MerkleOpening>, BackendError> {
        self.members[cw.member].open_codeword_many(&cw.inner, leaves)
    }

    fn final_poly(&self, cw: &Self::Codeword, len: usize) -> Result<Vec<EF>, BackendError> {
        self.members[cw.member].final_poly(&cw.inner, len)
    }

    /// On the member that holds the FRI layers (member 0 when no proof is under way).
    fn grind(&self, state: &[u8; 32], bits: u32) -> Result<Option<u64>, BackendError> {
        let m = lock(&self.proof)
            .as_ref()
            .map_or(0, |p| p.placement.fri_member);
        self.members[m].grind(state, bits)
    }
}
