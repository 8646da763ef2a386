//! Symbolic evaluations kept across proofs, per AIR object: [`SymbolicCache`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::{SymbolicConstraints, Table};

/// The symbolic evaluation of an AIR ([`SymbolicConstraints`]), made once per AIR object and
/// reused by every later proof with it, like a proving key.
///
/// A zkVM or rollup proves many segments with the same AIR objects; evaluating Keccak-f's AIR
/// symbolically (3182 constraints) takes milliseconds of host time per proof, during which a GPU
/// waits. The prover asks its cache (`ProveOptions::symbolic_cache`, by default
/// [`SymbolicCache::shared`]) instead of evaluating, so only the first proof with an AIR object
/// pays; everything it derives from the evaluation that depends on the trace's height or on a
/// key (log height, periodic columns, preprocessed-key checks, the quotient degree's bounds) is
/// still derived per proof.
///
/// Design:
/// - **What identifies an AIR: its `Arc` allocation, held.** An entry is keyed by the address of
///   the `Arc<dyn Table>`'s value and the number of public values (the evaluation offers the
///   builder that many, so it depends on it), and keeps a [`Weak`] to that allocation. While a
///   `Weak` lives the allocation is not freed, so no other object can be at that address: a
///   lookup with a live `Arc` at the address *is* the object the entry was evaluated for. It
///   never reuses an evaluation for another AIR, by construction, and never compares AIRs by
///   value (`dyn Table` has no equality, and a digest of the constraints would need the very
///   evaluation it is meant to save). Two equal AIR objects in two `Arc`s are two entries.
/// - **A `Weak`, not a clone of the `Arc`:** the cache never keeps a user's AIR alive (an AIR can
///   own large data, e.g. the table behind its preprocessed columns; it is dropped with the
///   user's last `Arc`, only the allocation's few bytes stay until the entry goes). An entry
///   whose AIR is gone is dropped, with its evaluation, at the next lookup.
/// - **Bounded:** at most [`capacity`](Self::capacity) entries; a new one evicts the least
///   recently used. Capacity 0 caches nothing (every lookup evaluates).
/// - **Concurrent:** each evaluation runs outside the cache's lock (lookups of other AIRs do not
///   wait for it), and once: lookups of the same AIR object at the same time wait for the one
///   evaluation. A panicking evaluation (the AIR's own code) leaves nothing cached.
/// - **Why a cache rather than only the proving key:** most statements have no preprocessed
///   columns and are proved without a key (`prove`, `prove_owned`), and `setup` takes
///   `&dyn Table`, which does not identify an object across calls; a cache keyed by the `Arc`
///   serves every entry point with no API change, the keyed one included (the key check's AIR
///   digest reads the same evaluation).
///
/// It assumes what the whole prover assumes: an AIR's `eval` depends only on the object (the
/// prover, the witness checker and the verifier run it with different builders and must agree).
/// An AIR whose constraints change through interior mutability between proofs must be proved
/// without a cache (`ProveOptions { symbolic_cache: None, .. }`).
pub struct SymbolicCache {
    capacity: usize,
    inner: Mutex<Entries>,
    hits: AtomicU64,
    evaluations: AtomicU64,
}

#[derive(Default)]
struct Entries {
    entries: Vec<Entry>,
    /// Lookups so far: an entry's `last_used` is the tick of its last lookup.
    tick: u64,
}

struct Entry {
    /// The AIR object evaluated (only its allocation is held, not its value).
    air: Weak<dyn Table>,
    num_public_values: usize,
    last_used: u64,
    /// The evaluation, made by the first lookup that gets to it.
    evaluation: Arc<OnceLock<SymbolicConstraints>>,
}

impl Entry {
    fn is_for(&self, addr: *const (), num_public_values: usize) -> bool {
        self.num_public_values == num_public_values && addr_of_weak(&self.air) == addr
    }
}

/// Hits and evaluations of a [`SymbolicCache`] since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SymbolicCacheStats {
    /// Lookups that found the evaluation made already.
    pub hits: u64,
    /// Symbolic evaluations made (lookups that found none).
    pub evaluations: u64,
}

fn addr_of(air: &Arc<dyn Table>) -> *const () {
    Arc::as_ptr(air).cast::<()>()
}

fn addr_of_weak(air: &Weak<dyn Table>) -> *const () {
    Weak::as_ptr(air).cast::<()>()
}

impl SymbolicCache {
    /// Entries of [`SymbolicCache::shared`]: a statement rarely has more tables, and Keccak-f's
    /// evaluation, the largest here, is a few MB.
    pub const DEFAULT_CAPACITY: usize = 32;

    /// An empty cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Entries::default()),
            hits: AtomicU64::new(0),
            evaluations: AtomicU64::new(0),
        }
    }

    /// The process-wide cache ([`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) entries), the
    /// prover's default.
    pub fn shared() -> &'static Arc<SymbolicCache> {
        static SHARED: OnceLock<Arc<SymbolicCache>> = OnceLock::new();
        SHARED.get_or_init(|| Arc::new(SymbolicCache::new(Self::DEFAULT_CAPACITY)))
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// `SymbolicConstraints::of(air, num_public_values)`, evaluated by the first lookup of this
    /// AIR object with this many public values and kept for the later ones. (Also a way to make
    /// the evaluation ahead of the first proof.)
    pub fn get(&self, air: &Arc<dyn Table>, num_public_values: usize) -> SymbolicConstraints {
        let Some(slot) = self.slot(air, num_public_values) else {
            return self.evaluate(air, num_public_values);
        };
        let mut evaluated = false;
        let constraints = slot.get_or_init(|| {
            evaluated = true;
            self.evaluate(air, num_public_values)
        });
        if !evaluated {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        constraints.clone()
    }

    /// The entry's slot for `air` (made, and a full cache's least recently used entry evicted,
    /// if there is none); `None` when the cache keeps nothing.
    fn slot(
        &self,
        air: &Arc<dyn Table>,
        num_public_values: usize,
    ) -> Option<Arc<OnceLock<SymbolicConstraints>>> {
        if self.capacity == 0 {
            return None;
        }
        let addr = addr_of(air);
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        // Entries whose AIR is gone can never be hit again: drop them and their evaluations.
        inner.entries.retain(|e| e.air.strong_count() > 0);
        if let Some(e) = inner
            .entries
            .iter_mut()
            .find(|e| e.is_for(addr, num_public_values))
        {
            e.last_used = tick;
            return Some(Arc::clone(&e.evaluation));
        }
        if inner.entries.len() >= self.capacity
            && let Some(lru) = (0..inner.entries.len()).min_by_key(|&i| inner.entries[i].last_used)
        {
            inner.entries.swap_remove(lru);
        }
        let evaluation = Arc::new(OnceLock::new());
        inner.entries.push(Entry {
            air: Arc::downgrade(air),
            num_public_values,
            last_used: tick,
            evaluation: Arc::clone(&evaluation),
        });
        Some(evaluation)
    }

    fn evaluate(&self, air: &Arc<dyn Table>, num_public_values: usize) -> SymbolicConstraints {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        SymbolicConstraints::of(air.as_ref(), num_public_values)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> SymbolicCacheStats {
        SymbolicCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            evaluations: self.evaluations.load(Ordering::Relaxed),
        }
    }

    /// Entries held (those whose AIR is gone included, until the next lookup drops them).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry and its evaluation (the next proof with each AIR evaluates it again).
    pub fn clear(&self) {
        let entries = std::mem::take(&mut self.lock().entries);
        drop(entries);
    }
}

impl Default for SymbolicCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl std::fmt::Debug for SymbolicCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolicCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::{FibonacciAir, PowerMapAir};

    fn fib() -> Arc<dyn Table> {
        Arc::new(FibonacciAir)
    }

    /// Whether `got` is `air`'s evaluation (the expressions have no equality: compared printed).
    fn is_evaluation_of(got: &SymbolicConstraints, air: &Arc<dyn Table>, n: usize) -> bool {
        let want = SymbolicConstraints::of(air.as_ref(), n);
        got.num_public_values() == n
            && format!("{:?}", got.exprs()) == format!("{:?}", want.exprs())
    }

    #[test]
    fn one_evaluation_per_object_and_public_value_count() {
        let cache = SymbolicCache::new(8);
        let (a, b) = (fib(), fib());
        let first = cache.get(&a, 3);
        assert!(first.ptr_eq(&cache.get(&a, 3)));
        assert!(first.ptr_eq(&cache.get(&Arc::clone(&a), 3)));
        // The same AIR value in another Arc, or another public-value count: other entries.
        assert!(!first.ptr_eq(&cache.get(&b, 3)));
        assert!(!first.ptr_eq(&cache.get(&a, 4)));
        assert_eq!(
            cache.stats(),
            SymbolicCacheStats {
                hits: 2,
                evaluations: 3
            }
        );
        assert!(is_evaluation_of(&first, &a, 3));
    }

    #[test]
    fn different_airs_are_never_confused() {
        let cache = SymbolicCache::new(8);
        let airs: Vec<Arc<dyn Table>> = (2..6)
            .map(|e| Arc::new(PowerMapAir { exponent: e }) as Arc<dyn Table>)
            .collect();
        for _ in 0..3 {
            for air in &airs {
                assert!(is_evaluation_of(&cache.get(air, 2), air, 2));
            }
        }
        assert_eq!(cache.stats().evaluations, 4);
    }

    #[test]
    fn dropped_airs_leave_and_their_addresses_are_not_reused_meanwhile() {
        let cache = SymbolicCache::new(8);
        for e in 2..40 {
            // Each AIR is dropped after its lookup; a new one may land at the same address only
            // once the entry (its Weak) is gone, and then it is evaluated afresh.
            let air: Arc<dyn Table> = Arc::new(PowerMapAir { exponent: e });
            assert!(is_evaluation_of(&cache.get(&air, 1), &air, 1));
        }
        assert_eq!(cache.stats().hits, 0);
        assert!(cache.len() <= 1, "{} entries", cache.len());
    }

    #[test]
    fn bounded_least_recently_used() {
        let cache = SymbolicCache::new(2);
        let (a, b, c) = (fib(), fib(), fib());
        cache.get(&a, 0);
        cache.get(&b, 0);
        cache.get(&a, 0); // b is now the least recently used
        cache.get(&c, 0);
        assert_eq!(cache.len(), 2);
        cache.get(&a, 0);
        cache.get(&c, 0);
        assert_eq!(cache.stats().evaluations, 3);
        cache.get(&b, 0);
        assert_eq!(cache.stats().evaluations, 4);
        cache.clear();
        assert!(cache.is_empty());

        let none = SymbolicCache::new(0);
        none.get(&a, 0);
        none.get(&a, 0);
        assert_eq!(none.stats().evaluations, 2);
        assert!(none.is_empty());
    }

    #[test]
    fn concurrent_lookups_evaluate_once() {
        let cache = SymbolicCache::new(4);
        let air = fib();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| cache.get(&air, 1));
            }
        });
        assert_eq!(cache.stats().evaluations, 1);
        assert_eq!(cache.stats().hits, 3);
    }
}
