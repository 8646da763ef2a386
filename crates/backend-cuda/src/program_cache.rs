//! A cache of compiled constraint programs, keyed by everything the compiler reads.
//!
//! `rstark_constraints::compile_with` is a pure function of (the AIR's symbolic constraints, its
//! interactions, its widths: main, preprocessed, periodic, public values). The key is an exact,
//! injective byte encoding of those inputs — not a hash of them — so a hit returns the program that
//! compiling this table would give, and a wrong hit is impossible. Building the key still runs
//! the AIR's symbolic evaluation (~3-6 ms for Keccak-f) — unless the prover hands over the one
//! it made for the table's shape ([`CompileInputs::from_symbolic`]) — and walks it (~1-2 ms), but
//! skips lowering, scheduling and register allocation (~17 ms for Keccak-f). [`ProgramCache::lookup`]
//! (key, lookup, compiling on a miss: host work only) can run on another thread than
//! [`ProgramCache::finish`] (building the cached value, e.g. uploading the program). Host-only:
//! compiled with or without `cuda`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use p3_air::{BaseEntry, BaseLeaf, SymbolicExpr, SymbolicExpression};
use p3_field::PrimeField64;
use rstark_air::symbolic::AddrHasher;
use rstark_air::{Interaction, LinearCombination, SymbolicConstraints, Table};
use rstark_constraints::{ConstraintProgram, Widths, compile_with};
use rstark_field::F;

/// Entries kept before the cache is emptied (a bound for callers proving many distinct AIRs).
const MAX_ENTRIES: usize = 64;

/// Hits and misses since the cache was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

/// Compiled programs (or the device-side values built from them, `V`) by constraint key. A table
/// whose constraints do not compile is remembered as `None`, so it is not recompiled either.
pub struct ProgramCache<V> {
    entries: Mutex<HashMap<Key, Option<Arc<V>>>>,
    /// Node count of the last key built: the next walk's table is sized for it.
    nodes_hint: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<V> Default for ProgramCache<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            nodes_hint: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }
}

impl<V> ProgramCache<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The cached values (tables whose constraints compiled).
    pub fn values(&self) -> Vec<Arc<V>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.values().flatten().cloned().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached value for `air` proved with `num_public_values` public values; on a miss,
    /// compiles the table and hands the program to `build` (e.g. to upload it). `Ok(None)`: the
    /// constraints do not compile. An error from `build` is returned and nothing is cached.
    pub fn get_or_build<E>(
        &self,
        air: &dyn Table,
        num_public_values: usize,
        build: impl FnOnce(ConstraintProgram) -> Result<V, E>,
    ) -> Result<Option<Arc<V>>, E> {
        let lookup = self.lookup(CompileInputs::of(air, num_public_values));
        self.finish(lookup, build)
    }

    /// As [`get_or_build`](Self::get_or_build) for the table's AIR constraints alone (the
    /// program `rstark_constraints::compile_air` gives: no LogUp constraints), which the device
    /// witness check runs. Its key has no interactions, so it differs from the full program's
    /// exactly when the table has interactions (a table without them shares one entry: the
    /// compiler inputs, so the programs, are the same).
    pub fn get_or_build_air_only<E>(
        &self,
        air: &dyn Table,
        num_public_values: usize,
        build: impl FnOnce(ConstraintProgram) -> Result<V, E>,
    ) -> Result<Option<Arc<V>>, E> {
        let inputs = CompileInputs::of(air, num_public_values).air_only();
        let lookup = self.lookup(inputs);
        self.finish(lookup, build)
    }

    /// The host half of [`get_or_build`](Self::get_or_build): the key, the lookup, and on a miss
    /// the compilation. [`finish`](Self::finish) completes it (on any thread).
    pub fn lookup(&self, inputs: CompileInputs) -> Lookup<V> {
        let hint = self.nodes_hint.load(Ordering::Relaxed) as usize;
        let (key, nodes) = inputs.key(hint);
        self.nodes_hint.store(nodes, Ordering::Relaxed);
        let key = Key(key);
        let cached = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if let Some(v) = cached {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Lookup(LookupState::Hit(v));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // Compiled outside the lock: tables may be proved from several threads.
        let program = inputs.compile().ok();
        Lookup(LookupState::Miss { key, program })
    }

    /// The cached value a [`lookup`](Self::lookup) found, or the one `build` makes of the
    /// program it compiled (then cached). `Ok(None)`: the constraints do not compile. An error
    /// from `build` is returned and nothing is cached.
    pub fn finish<E>(
        &self,
        lookup: Lookup<V>,
        build: impl FnOnce(ConstraintProgram) -> Result<V, E>,
    ) -> Result<Option<Arc<V>>, E> {
        let (key, program) = match lookup.0 {
            LookupState::Hit(v) => return Ok(v),
            LookupState::Miss { key, program } => (key, program),
        };
        let value = match program {
            Some(p) => Some(Arc::new(build(p)?)),
            None => None,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, value.clone());
        Ok(value)
    }
}

/// A [`ProgramCache::lookup`] to [`finish`](ProgramCache::finish): a hit, or the key and the
/// compiled program (`None`: it does not compile) of a miss.
pub struct Lookup<V>(LookupState<V>);

enum LookupState<V> {
    Hit(Option<Arc<V>>),
    Miss {
        key: Key,
        program: Option<ConstraintProgram>,
    },
}

/// Exactly what `rstark_constraints::compile_table` passes to `compile_with`.
pub struct CompileInputs {
    constraints: SymbolicConstraints,
    interactions: Vec<Interaction>,
    widths: Widths,
}

impl CompileInputs {
    /// The inputs of `air` proved with `num_public_values` public values (evaluates the AIR).
    pub fn of(air: &dyn Table, num_public_values: usize) -> Self {
        Self::from_symbolic(air, SymbolicConstraints::of(air, num_public_values))
    }

    /// The inputs of `air` from its constraints as evaluated already (they must be
    /// `rstark_air::symbolic_constraints(air, constraints.num_public_values())`, as the prover's
    /// are: `Backend::constraints_known`).
    pub fn from_symbolic(air: &dyn Table, constraints: SymbolicConstraints) -> Self {
        let widths = Widths::of(air, constraints.num_public_values());
        Self {
            constraints,
            interactions: air.interactions(),
            widths,
        }
    }

    /// The same inputs without the interactions: the AIR's own constraints (what
    /// `rstark_constraints::compile_air` compiles).
    pub fn air_only(mut self) -> Self {
        self.interactions.clear();
        self
    }

    fn compile(&self) -> Result<ConstraintProgram, rstark_constraints::ConstraintError> {
        compile_with(self.constraints.exprs(), &self.interactions, &self.widths)
    }

    /// The injective encoding: widths, then the constraints' DAG (each distinct node once, in
    /// post-order, children by node number; every field of every node), the root numbers, then
    /// every interaction. Shared subtrees are found by address while the expressions are alive,
    /// so equal constraints with different sharing give different keys (a miss, never a wrong hit).
    /// The key and its node count; `nodes_hint` sizes the walk's tables.
    fn key(&self, nodes_hint: usize) -> (Vec<u8>, u64) {
        let mut k = KeyWriter {
            bytes: Vec::with_capacity(nodes_hint * 26 + 64),
            seen: HashMap::with_capacity_and_hasher(nodes_hint, Default::default()),
            count: 0,
        };
        k.word(self.widths.main as u64);
        k.word(self.widths.public_values as u64);
        k.word(self.widths.preprocessed as u64);
        k.word(self.widths.periodic as u64);
        k.word(self.constraints.exprs().len() as u64);
        let roots: Vec<u64> = self.constraints.exprs().iter().map(|c| k.node(c)).collect();
        k.tag(b'R');
        for r in roots {
            k.word(r);
        }
        k.word(self.interactions.len() as u64);
        for it in &self.interactions {
            k.word(it.bus as u64);
            k.word(it.values.len() as u64);
            for v in &it.values {
                k.combination(v);
            }
            k.combination(&it.multiplicity);
        }
        (k.bytes, k.count)
    }
}

/// A cache key. Equality is over all its bytes; the hash reads only the length and the two ends
/// (a key can be megabytes; equal keys still hash equally, and keys that share their ends only
/// cost a full comparison).
#[derive(PartialEq, Eq)]
struct Key(Vec<u8>);

impl std::hash::Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        const END: usize = 512;
        let b = &self.0;
        state.write_usize(b.len());
        state.write(&b[..b.len().min(END)]);
        state.write(&b[b.len().saturating_sub(END)..]);
    }
}

struct KeyWriter {
    bytes: Vec<u8>,
    /// Node numbers of the expressions already written, by address.
    seen: HashMap<*const SymbolicExpression<F>, u64, BuildHasherDefault<AddrHasher>>,
    count: u64,
}

impl KeyWriter {
    fn tag(&mut self, t: u8) {
        self.bytes.push(t);
    }

    fn word(&mut self, w: u64) {
        self.bytes.extend_from_slice(&w.to_le_bytes());
    }

    fn combination(&mut self, lc: &LinearCombination) {
        self.word(lc.terms.len() as u64);
        for &(col, coeff) in &lc.terms {
            self.word(col as u64);
            self.word(coeff.as_canonical_u64());
        }
        self.word(lc.constant.as_canonical_u64());
    }

    /// Writes `root`'s unseen nodes (children first, iteratively: constraint DAGs can be deep)
    /// and returns its node number.
    fn node(&mut self, root: &SymbolicExpression<F>) -> u64 {
        let mut stack = vec![(root, false)];
        while let Some((e, expanded)) = stack.pop() {
            if self.seen.contains_key(&addr(e)) {
                continue;
            }
            if !expanded {
                // revisit `e` once its children (pushed above it) are written
                stack.push((e, true));
                stack.extend(children(e).into_iter().flatten().map(|c| (c, false)));
                continue;
            }
            self.write_node(e);
            self.seen.insert(addr(e), self.count);
            self.count += 1;
        }
        self.seen[&addr(root)]
    }

    fn write_node(&mut self, e: &SymbolicExpression<F>) {
        let id = |w: &Self, c: &SymbolicExpression<F>| w.seen[&addr(c)];
        match e {
            SymbolicExpr::Leaf(leaf) => match leaf {
                BaseLeaf::Variable(v) => {
                    self.tag(b'V');
                    match v.entry {
                        BaseEntry::Preprocessed { offset } => {
                            self.tag(0);
                            self.word(offset as u64);
                        }
                        BaseEntry::Main { offset } => {
                            self.tag(1);
                            self.word(offset as u64);
                        }
                        BaseEntry::Periodic => self.tag(2),
                        BaseEntry::Public => self.tag(3),
                    }
                    self.word(v.index as u64);
                }
                BaseLeaf::IsFirstRow => self.tag(b'F'),
                BaseLeaf::IsLastRow => self.tag(b'L'),
                BaseLeaf::IsTransition => self.tag(b'T'),
                BaseLeaf::Constant(c) => {
                    self.tag(b'C');
                    self.word(c.as_canonical_u64());
                }
            },
            SymbolicExpr::Add {
                x,
                y,
                degree_multiple,
            } => self.binary(b'+', id(self, x), id(self, y), *degree_multiple),
            SymbolicExpr::Sub {
                x,
                y,
                degree_multiple,
            } => self.binary(b'-', id(self, x), id(self, y), *degree_multiple),
            SymbolicExpr::Mul {
                x,
                y,
                degree_multiple,
            } => self.binary(b'*', id(self, x), id(self, y), *degree_multiple),
            SymbolicExpr::Neg { x, degree_multiple } => {
                self.tag(b'n');
                let xi = id(self, x);
                self.word(xi);
                self.word(*degree_multiple as u64);
            }
        }
    }

    fn binary(&mut self, op: u8, x: u64, y: u64, degree: usize) {
        self.tag(op);
        self.word(x);
        self.word(y);
        self.word(degree as u64);
    }
}

fn addr(e: &SymbolicExpression<F>) -> *const SymbolicExpression<F> {
    e
}

/// `e`'s operands (at most two).
fn children(e: &SymbolicExpression<F>) -> [Option<&SymbolicExpression<F>>; 2] {
    match e {
        SymbolicExpr::Leaf(_) => [None, None],
        SymbolicExpr::Add { x, y, .. }
        | SymbolicExpr::Sub { x, y, .. }
        | SymbolicExpr::Mul { x, y, .. } => [Some(x), Some(y)],
        SymbolicExpr::Neg { x, .. } => [Some(x), None],
    }
}

#[cfg(test)]
mod tests {
    use rstark_air::Interactions;
    use rstark_constraints::compile_table;

    use super::*;

    fn tables() -> Vec<(String, rstark_workloads::WorkloadTable)> {
        let mut v = Vec::new();
        for (name, size) in [("fib", 64), ("vm", 256), ("keccak", 2)] {
            for t in rstark_workloads::build(name, size).unwrap().tables {
                v.push((format!("{name}/{}", t.name), t));
            }
        }
        v
    }

    #[test]
    fn a_hit_returns_what_compiling_gives_and_distinct_tables_never_collide() {
        let cache = ProgramCache::<ConstraintProgram>::new();
        let tables = tables();
        for (name, t) in &tables {
            let npv = t.public_values.len();
            let first = cache
                .get_or_build(&t.air, npv, Ok::<_, ()>)
                .unwrap()
                .expect("compiles");
            assert_eq!(*first, compile_table(&t.air, npv).unwrap(), "{name}");
        }
        assert_eq!(cache.stats().misses, tables.len() as u64);
        assert_eq!(cache.len(), tables.len(), "every table has its own key");
        for (name, t) in &tables {
            let npv = t.public_values.len();
            let again = cache
                .get_or_build(&t.air, npv, |_| Err(()))
                .unwrap()
                .expect("cached");
            assert_eq!(*again, compile_table(&t.air, npv).unwrap(), "{name}");
        }
        assert_eq!(cache.stats().hits, tables.len() as u64);
    }

    #[test]
    fn air_only_programs_have_their_own_entries_where_the_table_has_interactions() {
        use rstark_constraints::compile_air;
        let cache = ProgramCache::<ConstraintProgram>::new();
        let tables = tables();
        for (name, t) in &tables {
            let npv = t.public_values.len();
            let air = cache
                .get_or_build_air_only(&t.air, npv, Ok::<_, ()>)
                .unwrap()
                .expect("compiles");
            assert_eq!(*air, compile_air(&t.air, npv).unwrap(), "{name}");
            assert_eq!(air.aux_ext_width, 0, "{name}");
            let full = cache
                .get_or_build(&t.air, npv, Ok::<_, ()>)
                .unwrap()
                .unwrap();
            assert_eq!(*full, compile_table(&t.air, npv).unwrap(), "{name}");
            let with_logup = !t.air.interactions().is_empty();
            assert_eq!(*air != *full, with_logup, "{name}");
        }
        let logup = tables
            .iter()
            .filter(|(_, t)| !t.air.interactions().is_empty())
            .count();
        assert!(logup > 0);
        assert_eq!(cache.len(), tables.len() + logup);
        assert_eq!(cache.stats().hits, (tables.len() - logup) as u64);
    }

    #[test]
    fn public_value_count_is_part_of_the_key() {
        let cache = ProgramCache::<ConstraintProgram>::new();
        let fib = rstark_workloads::build("fib", 64).unwrap().tables.remove(0);
        let npv = fib.public_values.len();
        cache.get_or_build(&fib.air, npv, Ok::<_, ()>).unwrap();
        let more = cache
            .get_or_build(&fib.air, npv + 2, Ok::<_, ()>)
            .unwrap()
            .unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 0, misses: 2 });
        assert_eq!(*more, compile_table(&fib.air, npv + 2).unwrap());
    }

    #[test]
    fn a_failed_build_is_not_cached() {
        let cache = ProgramCache::<ConstraintProgram>::new();
        let fib = rstark_workloads::build("fib", 64).unwrap().tables.remove(0);
        assert!(cache.get_or_build(&fib.air, 2, |_| Err("oom")).is_err());
        assert!(cache.is_empty());
        assert!(
            cache
                .get_or_build(&fib.air, 2, Ok::<_, ()>)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn keys_separate_constraints_that_differ_in_one_leaf() {
        use p3_air::SymbolicVariable;
        let var = |i| {
            SymbolicExpression::<F>::from(SymbolicVariable::new(BaseEntry::Main { offset: 0 }, i))
        };
        let key = |c: Vec<SymbolicExpression<F>>| {
            CompileInputs {
                constraints: SymbolicConstraints::from_exprs(c, 0),
                interactions: Vec::new(),
                widths: Widths {
                    main: 4,
                    ..Widths::default()
                },
            }
            .key(0)
            .0
        };
        let a = key(vec![var(0) * var(1) - var(2)]);
        let b = key(vec![var(0) * var(1) - var(3)]);
        let c = key(vec![var(0) * var(1) + var(2)]);
        let d = key(vec![var(0) * var(1) - var(2)]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, d, "same constraints, same sharing: same key");
    }
}
