//! Builders that evaluate an AIR's constraints at one point and fold them with powers of the
//! composition challenge: `acc = Σ_i α^i · C_i` in the order the AIR asserts them.

use p3_air::{AirBuilder, RowWindow};
use p3_field::{PackedValue, PrimeCharacteristicRing};
use rstark_field::{EF, F};

use crate::fold::{FoldCoeffs, MAX_BLOCK};

/// Values of the three row selectors at one point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selectors<T> {
    pub is_first_row: T,
    pub is_last_row: T,
    pub is_transition: T,
}

/// Evaluates the AIR on one pair of base-field rows (`local`, `next`).
///
/// Used by the witness checker (selectors are 0/1, `track_failures` set) and by the prover's
/// composition evaluation over the LDE (selectors are the selector polynomials' values).
pub struct RowFolder<'a> {
    pub local: &'a [F],
    pub next: &'a [F],
    pub public_values: &'a [F],
    pub selectors: Selectors<F>,
    /// Powers α^0, α^1, … of the composition challenge (may be empty for a pure check).
    pub alpha_pows: &'a [EF],
    pub acc: EF,
    /// Index of the next constraint.
    pub index: usize,
    /// Set to the index of the first non-zero constraint when `track_failures` is on.
    pub first_failure: Option<usize>,
    pub track_failures: bool,
    /// Preprocessed columns of the current and next row (empty without any).
    preprocessed: RowWindow<'a, F>,
    /// Periodic columns' values at this row.
    periodic: &'a [F],
}

impl<'a> RowFolder<'a> {
    pub fn new(
        local: &'a [F],
        next: &'a [F],
        public_values: &'a [F],
        selectors: Selectors<F>,
        alpha_pows: &'a [EF],
        track_failures: bool,
    ) -> Self {
        Self {
            local,
            next,
            public_values,
            selectors,
            alpha_pows,
            acc: EF::ZERO,
            index: 0,
            first_failure: None,
            track_failures,
            preprocessed: RowWindow::from_two_rows(&[], &[]),
            periodic: &[],
        }
    }

    /// The preprocessed columns' current and next rows.
    pub fn with_preprocessed(mut self, local: &'a [F], next: &'a [F]) -> Self {
        self.preprocessed = RowWindow::from_two_rows(local, next);
        self
    }

    /// The periodic columns' values at this row.
    pub fn with_periodic(mut self, values: &'a [F]) -> Self {
        self.periodic = values;
        self
    }
}

impl<'a> AirBuilder for RowFolder<'a> {
    type F = F;
    type Expr = F;
    type Var = F;
    type PreprocessedWindow = RowWindow<'a, F>;
    type MainWindow = RowWindow<'a, F>;
    type PublicVar = F;
    type PeriodicVar = F;

    fn main(&self) -> Self::MainWindow {
        RowWindow::from_two_rows(self.local, self.next)
    }

    fn preprocessed(&self) -> &Self::PreprocessedWindow {
        &self.preprocessed
    }

    fn periodic_values(&self) -> &[F] {
        self.periodic
    }

    fn is_first_row(&self) -> F {
        self.selectors.is_first_row
    }

    fn is_last_row(&self) -> F {
        self.selectors.is_last_row
    }

    fn is_transition(&self) -> F {
        self.selectors.is_transition
    }

    #[inline]
    fn assert_zero<I: Into<F>>(&mut self, x: I) {
        let x = x.into();
        if let Some(&a) = self.alpha_pows.get(self.index) {
            self.acc += a * x;
        }
        if self.track_failures && self.first_failure.is_none() && x != F::ZERO {
            self.first_failure = Some(self.index);
        }
        self.index += 1;
    }

    fn public_values(&self) -> &[F] {
        self.public_values
    }
}

/// Evaluates the AIR at one extension-field point (the verifier's out-of-domain check):
/// `local`/`next` are the main columns' values at z and z·ω.
pub struct PointFolder<'a> {
    pub local: &'a [EF],
    pub next: &'a [EF],
    pub public_values: &'a [F],
    pub selectors: Selectors<EF>,
    pub alpha_pows: &'a [EF],
    pub acc: EF,
    pub index: usize,
    preprocessed: RowWindow<'a, EF>,
    periodic: &'a [EF],
}

impl<'a> PointFolder<'a> {
    pub fn new(
        local: &'a [EF],
        next: &'a [EF],
        public_values: &'a [F],
        selectors: Selectors<EF>,
        alpha_pows: &'a [EF],
    ) -> Self {
        Self {
            local,
            next,
            public_values,
            selectors,
            alpha_pows,
            acc: EF::ZERO,
            index: 0,
            preprocessed: RowWindow::from_two_rows(&[], &[]),
            periodic: &[],
        }
    }

    /// The preprocessed columns' values at z and z·ω.
    pub fn with_preprocessed(mut self, local: &'a [EF], next: &'a [EF]) -> Self {
        self.preprocessed = RowWindow::from_two_rows(local, next);
        self
    }

    /// The periodic columns' polynomials at z.
    pub fn with_periodic(mut self, values: &'a [EF]) -> Self {
        self.periodic = values;
        self
    }
}

impl<'a> AirBuilder for PointFolder<'a> {
    type F = F;
    type Expr = EF;
    type Var = EF;
    type PreprocessedWindow = RowWindow<'a, EF>;
    type MainWindow = RowWindow<'a, EF>;
    type PublicVar = F;
    type PeriodicVar = EF;

    fn main(&self) -> Self::MainWindow {
        RowWindow::from_two_rows(self.local, self.next)
    }

    fn preprocessed(&self) -> &Self::PreprocessedWindow {
        &self.preprocessed
    }

    fn periodic_values(&self) -> &[EF] {
        self.periodic
    }

    fn is_first_row(&self) -> EF {
        self.selectors.is_first_row
    }

    fn is_last_row(&self) -> EF {
        self.selectors.is_last_row
    }

    fn is_transition(&self) -> EF {
        self.selectors.is_transition
    }

    fn assert_zero<I: Into<EF>>(&mut self, x: I) {
        let x = x.into();
        if let Some(&a) = self.alpha_pows.get(self.index) {
            self.acc += a * x;
        }
        self.index += 1;
    }

    fn public_values(&self) -> &[F] {
        self.public_values
    }
}

/// The base field's SIMD packing (`F::Packing`: AVX2/AVX-512 lanes when compiled for them, else
/// one lane).
pub type PackedF = <F as p3_field::Field>::Packing;

/// Constraints buffered by [`PackedRowFolder`] between folds (at most [`MAX_BLOCK`]).
const FOLD_BATCH: usize = 256;
const _: () = assert!(FOLD_BATCH <= MAX_BLOCK);

/// Evaluates the AIR on `PackedF::WIDTH` row pairs at once (one per lane): the prover's
/// composition evaluator. Folds with α^i given by its three base coefficients, keeping one packed
/// accumulator per coefficient; constraints are buffered and folded `FOLD_BATCH` at a time
/// ([`FoldCoeffs::fold`]). Read the result with [`PackedRowFolder::finish`].
pub struct PackedRowFolder<'a> {
    pub local: &'a [PackedF],
    pub next: &'a [PackedF],
    pub public_values: &'a [F],
    pub selectors: Selectors<PackedF>,
    /// The base coefficients of α^i (constraints past their end count with coefficient 0).
    pub alpha_coeffs: &'a FoldCoeffs,
    acc: [PackedF; 3],
    /// Index of the next constraint.
    index: usize,
    /// Constraints `index − num_pending .. index`, not yet folded into `acc`.
    pending: [PackedF; FOLD_BATCH],
    num_pending: usize,
    preprocessed: RowWindow<'a, PackedF>,
    periodic: &'a [PackedF],
}

impl<'a> PackedRowFolder<'a> {
    pub fn new(
        local: &'a [PackedF],
        next: &'a [PackedF],
        public_values: &'a [F],
        selectors: Selectors<PackedF>,
        alpha_coeffs: &'a FoldCoeffs,
    ) -> Self {
        Self {
            local,
            next,
            public_values,
            selectors,
            alpha_coeffs,
            acc: [PackedF::ZERO; 3],
            index: 0,
            pending: [PackedF::ZERO; FOLD_BATCH],
            num_pending: 0,
            preprocessed: RowWindow::from_two_rows(&[], &[]),
            periodic: &[],
        }
    }

    /// The preprocessed columns' current and next rows (one lane per row pair).
    pub fn with_preprocessed(mut self, local: &'a [PackedF], next: &'a [PackedF]) -> Self {
        self.preprocessed = RowWindow::from_two_rows(local, next);
        self
    }

    /// The periodic columns' values (one lane per row).
    pub fn with_periodic(mut self, values: &'a [PackedF]) -> Self {
        self.periodic = values;
        self
    }

    /// Folds the pending constraints into the accumulators. Out of line: it runs once per
    /// `FOLD_BATCH` constraints, and inlining it into every `assert_zero` of a large AIR's eval
    /// measured ~12 % slower (keccak composition, 1 thread).
    #[inline(never)]
    fn flush(&mut self) {
        let start = self.index - self.num_pending;
        let sums = self
            .alpha_coeffs
            .fold(&self.pending[..self.num_pending], start);
        for (acc, s) in self.acc.iter_mut().zip(sums) {
            *acc += s;
        }
        self.num_pending = 0;
    }

    /// Σ_i α^i·C_i over the constraints asserted so far, as the three base coefficients'
    /// packed values.
    pub fn finish(mut self) -> [PackedF; 3] {
        if self.num_pending > 0 {
            self.flush();
        }
        self.acc
    }

    /// Number of constraints asserted so far.
    pub fn num_constraints(&self) -> usize {
        self.index
    }
}

impl<'a> AirBuilder for PackedRowFolder<'a> {
    type F = F;
    type Expr = PackedF;
    type Var = PackedF;
    type PreprocessedWindow = RowWindow<'a, PackedF>;
    type MainWindow = RowWindow<'a, PackedF>;
    type PublicVar = F;
    type PeriodicVar = PackedF;

    fn main(&self) -> Self::MainWindow {
        RowWindow::from_two_rows(self.local, self.next)
    }

    fn preprocessed(&self) -> &Self::PreprocessedWindow {
        &self.preprocessed
    }

    fn periodic_values(&self) -> &[PackedF] {
        self.periodic
    }

    fn is_first_row(&self) -> PackedF {
        self.selectors.is_first_row
    }

    fn is_last_row(&self) -> PackedF {
        self.selectors.is_last_row
    }

    fn is_transition(&self) -> PackedF {
        self.selectors.is_transition
    }

    #[inline(always)]
    fn assert_zero<I: Into<PackedF>>(&mut self, x: I) {
        if PackedF::WIDTH == 1 {
            // One lane (no SIMD target features): multiply-adding at once measured faster
            // than buffering (composition 1347 -> 1297 ms at 2^15 × 2633, 2 threads).
            let x = x.into();
            for (k, acc) in self.acc.iter_mut().enumerate() {
                if let Some(&a) = self.alpha_coeffs.coeffs(k).get(self.index) {
                    *acc += x * a;
                }
            }
            self.index += 1;
            return;
        }
        self.pending[self.num_pending] = x.into();
        self.num_pending += 1;
        self.index += 1;
        if self.num_pending == FOLD_BATCH {
            self.flush();
        }
    }

    // The provided `assert_zeros`/`assert_bools` build and move whole arrays (`assert_bools`
    // maps them into a second one) before asserting: these assert element by element, in the
    // same order.
    #[inline(always)]
    fn assert_zeros<const N: usize, I: Into<PackedF>>(&mut self, array: [I; N]) {
        for x in array {
            self.assert_zero(x);
        }
    }

    #[inline(always)]
    fn assert_bools<const N: usize, I: Into<PackedF>>(&mut self, array: [I; N]) {
        for x in array {
            self.assert_zero(x.into().bool_check());
        }
    }

    fn public_values(&self) -> &[F] {
        self.public_values
    }
}
