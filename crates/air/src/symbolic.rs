//! Constraint count and degree, read from p3's symbolic builder.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use p3_air::{
    Air, AirLayout, BaseAir, BaseEntry, BaseLeaf, SymbolicAirBuilder, SymbolicExpr,
    SymbolicExpression,
};
use rstark_field::F;

use crate::Table;

/// Public values the symbolic evaluation offers beyond those the table is proved with, so that
/// an AIR reading more than it is given (e.g. one that does not declare its count) is caught by
/// [`ConstraintInfo::public_values_read`] instead of indexing out of bounds in its own code.
/// (An AIR reading this far past its given values still panics there.)
pub const PUBLIC_VALUES_SLACK: usize = 1 << 10;

/// What the symbolic evaluation of a table's AIR tells the prover and verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConstraintInfo {
    /// Number of `assert_zero` calls the AIR makes (its own constraints, LogUp excluded).
    pub num_constraints: usize,
    /// Largest constraint degree (selectors `is_first_row`/`is_last_row` count 1,
    /// `is_transition` counts 0, as in p3; main, preprocessed and periodic columns count 1 —
    /// for a periodic column an upper bound, its polynomial having degree N − N/period).
    pub max_degree: usize,
    /// One past the largest public-value index the constraints read (0 if they read none).
    pub public_values_read: usize,
}

/// Evaluates `air` symbolically. `num_public_values` is the number of public values the table
/// is proved with; the builder offers [`PUBLIC_VALUES_SLACK`] more (and at least the AIR's
/// declared count), and `public_values_read` says how many the constraints use.
pub fn constraint_info(air: &dyn Table, num_public_values: usize) -> ConstraintInfo {
    SymbolicConstraints::of(air, num_public_values).info()
}

/// The AIR's constraints as p3 symbolic expressions, in assertion order (the input of a GPU
/// constraint compiler). LogUp constraints are not included (see [`crate::logup`]).
pub fn symbolic_constraints(
    air: &dyn Table,
    num_public_values: usize,
) -> Vec<p3_air::SymbolicExpression<F>> {
    let layout = AirLayout {
        preprocessed_width: BaseAir::<F>::preprocessed_width(air),
        num_periodic_columns: BaseAir::<F>::num_periodic_columns(air),
        main_width: BaseAir::<F>::width(air),
        num_public_values: num_public_values.max(BaseAir::<F>::num_public_values(air))
            + PUBLIC_VALUES_SLACK,
        ..Default::default()
    };
    let mut builder = SymbolicAirBuilder::<F>::new(layout);
    Air::<SymbolicAirBuilder<F>>::eval(air, &mut builder);
    builder.base_constraints()
}

/// A table's constraints evaluated symbolically once ([`symbolic_constraints`]) and shared by
/// everything that reads them: the table's shape ([`SymbolicConstraints::info`], computed on
/// first use and kept) and a backend's constraint compiler, in one proof or, through a
/// [`SymbolicCache`](crate::SymbolicCache), in every proof of the same AIR object. (Evaluating
/// Keccak-f's AIR takes milliseconds, and so does freeing the result: clones share it, and the
/// last one frees it on a rayon thread.)
#[derive(Clone)]
pub struct SymbolicConstraints(Arc<SymbolicInner>);

struct SymbolicInner {
    exprs: Vec<SymbolicExpression<F>>,
    num_public_values: usize,
    /// [`SymbolicConstraints::info`], once asked for (it walks the whole DAG).
    info: OnceLock<ConstraintInfo>,
}

impl Drop for SymbolicInner {
    fn drop(&mut self) {
        let exprs = std::mem::take(&mut self.exprs);
        if exprs.len() > 64 {
            rayon::spawn(move || drop(exprs));
        }
    }
}

impl SymbolicConstraints {
    /// [`symbolic_constraints`]`(air, num_public_values)`.
    pub fn of(air: &dyn Table, num_public_values: usize) -> Self {
        Self::from_exprs(
            symbolic_constraints(air, num_public_values),
            num_public_values,
        )
    }

    /// Constraints evaluated elsewhere: they must be `symbolic_constraints(air,
    /// num_public_values)` of the table they are used for.
    pub fn from_exprs(exprs: Vec<SymbolicExpression<F>>, num_public_values: usize) -> Self {
        Self(Arc::new(SymbolicInner {
            exprs,
            num_public_values,
            info: OnceLock::new(),
        }))
    }

    pub fn exprs(&self) -> &[SymbolicExpression<F>] {
        &self.0.exprs
    }

    /// The number of public values the table is proved with (the evaluation offered more).
    pub fn num_public_values(&self) -> usize {
        self.0.num_public_values
    }

    /// Count, degree and public values read ([`constraint_info`]); computed on the first call,
    /// which walks the DAG, and kept.
    pub fn info(&self) -> ConstraintInfo {
        *self.0.info.get_or_init(|| {
            let constraints = self.exprs();
            ConstraintInfo {
                num_constraints: constraints.len(),
                max_degree: constraints
                    .iter()
                    .map(|c| c.degree_multiple())
                    .max()
                    .unwrap_or(0),
                public_values_read: public_values_read(constraints),
            }
        })
    }

    /// Whether `self` and `other` are clones of one evaluation (not merely equal constraints).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for SymbolicConstraints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolicConstraints")
            .field("constraints", &self.exprs().len())
            .field("num_public_values", &self.num_public_values())
            .finish()
    }
}

/// A set of expression nodes by address ([`AddrHasher`]).
pub type NodeSet = HashSet<*const SymbolicExpression<F>, BuildHasherDefault<AddrHasher>>;

/// Hashes addresses with one multiplication: a walk over a large expression DAG spends most of
/// its time in its seen-set, and SipHash made such walks about 5x slower.
#[derive(Default)]
pub struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, i: usize) {
        self.0 = ((i as u64) ^ self.0)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

/// One past the largest public-value index in `constraints`. Shared subtrees are visited once.
fn public_values_read(constraints: &[SymbolicExpression<F>]) -> usize {
    let mut seen = NodeSet::default();
    let mut stack: Vec<&SymbolicExpression<F>> = constraints.iter().collect();
    let mut read = 0;
    while let Some(e) = stack.pop() {
        match e {
            SymbolicExpr::Leaf(BaseLeaf::Variable(v)) if v.entry == BaseEntry::Public => {
                read = read.max(v.index + 1);
            }
            SymbolicExpr::Leaf(_) => {}
            SymbolicExpr::Neg { x, .. } => {
                if seen.insert(Arc::as_ptr(x)) {
                    stack.push(x);
                }
            }
            SymbolicExpr::Add { x, y, .. }
            | SymbolicExpr::Sub { x, y, .. }
            | SymbolicExpr::Mul { x, y, .. } => {
                for c in [x, y] {
                    if seen.insert(Arc::as_ptr(c)) {
                        stack.push(c);
                    }
                }
            }
        }
    }
    read
}
