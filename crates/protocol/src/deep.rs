//! DEEP quotient coefficients (docs/PROTOCOL.md §5.6).
//!
//! For one table with base columns f_0 … f_{W−1} (preprocessed, main, aux, composition; the
//! first `n_shifted` of them, all but the composition, are also opened at zω), with δ the DEEP
//! challenge:
//!
//! `DEEP(x) = (Σ_{k<W} δ^k (f_k(x) − f_k(z)))/(x − z)
//!          + (Σ_{k<n_shifted} δ^{W+k} (f_k(x) − f_k(zω)))/(x − zω)`.
//!
//! Writing `A(x) = Σ_{k<n_shifted} δ^k f_k(x)` and `C(x) = Σ_{n_shifted≤k<W} δ^k f_k(x)`, this is
//! `(A + C − V_z)/(x − z) + (δ^W·A − V_zω)/(x − zω)` with the constants below.

use rstark_field::{EF, F, PrimeCharacteristicRing};

use crate::OodValues;

#[derive(Clone, Debug)]
pub struct DeepCoeffs {
    /// δ^0 … δ^{W−1}.
    pub pows: Vec<EF>,
    /// Number of columns opened at both z and zω (preprocessed + main + aux base columns).
    pub n_shifted: usize,
    /// δ^W.
    pub shift_coeff: EF,
    /// Σ_{k<W} δ^k f_k(z).
    pub v_z: EF,
    /// δ^W · Σ_{k<n_shifted} δ^k f_k(zω).
    pub v_zw: EF,
}

impl DeepCoeffs {
    /// `values_z` has one value per column (W), `values_zw` one per shifted column.
    pub fn new(delta: EF, values_z: &[EF], values_zw: &[EF]) -> Self {
        let w = values_z.len();
        let mut pows = Vec::with_capacity(w);
        let mut p = EF::ONE;
        for _ in 0..w {
            pows.push(p);
            p *= delta;
        }
        let shift_coeff = p;
        let v_z = pows.iter().zip(values_z).map(|(&a, &b)| a * b).sum();
        let v_zw = shift_coeff * pows.iter().zip(values_zw).map(|(&a, &b)| a * b).sum::<EF>();
        Self {
            pows,
            n_shifted: values_zw.len(),
            shift_coeff,
            v_z,
            v_zw,
        }
    }

    /// The coefficients of one table from its out-of-domain values, columns in the order of
    /// PROTOCOL.md §5.6: preprocessed, main, aux, composition at z; preprocessed, main, aux at
    /// zω (no preprocessed values without preprocessed columns).
    pub fn from_ood(delta: EF, ood: &OodValues) -> Self {
        let values_z: Vec<EF> = [&ood.prep_z, &ood.main_z, &ood.aux_z, &ood.comp_z]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        let values_zw: Vec<EF> = [&ood.prep_zw, &ood.main_zw, &ood.aux_zw]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        Self::new(delta, &values_z, &values_zw)
    }

    /// `(A, C)` of one row given as consecutive base-column values.
    #[inline]
    pub fn combine<'a>(&self, values: impl Iterator<Item = &'a F>) -> (EF, EF) {
        let mut a = EF::ZERO;
        let mut c = EF::ZERO;
        for (k, (&v, &p)) in values.zip(&self.pows).enumerate() {
            if k < self.n_shifted {
                a += p * v;
            } else {
                c += p * v;
            }
        }
        (a, c)
    }

    /// DEEP value at a point from its `(A, C)` and the inverses of `x − z`, `x − zω`.
    #[inline]
    pub fn value(&self, a: EF, c: EF, inv_x_z: EF, inv_x_zw: EF) -> EF {
        (a + c - self.v_z) * inv_x_z + (self.shift_coeff * a - self.v_zw) * inv_x_zw
    }
}
