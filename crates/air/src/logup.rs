//! LogUp over a bus shared by all tables (rstark's own constraints, added next to the AIR's).
//!
//! For a table with K interactions the auxiliary trace has K + 1 extension-field columns:
//! `h_k = m_k / (α − fp_k)` for each interaction k, and the running sum `S` with
//! `S_0 = Σ_k h_k(0)`, `S_{i+1} = S_i + Σ_k h_k(i+1)`. The table's claimed sum is `S_{N−1}`.
//! Fingerprint: `fp = bus + Σ_j β^{j+1} · v_j`.
//!
//! Constraints, in this order (each multiplied by the stated selector):
//! 1. for each k: `h_k · (α − fp_k) − m_k` (every row);
//! 2. `is_first_row · (S − Σ_k h_k)`;
//! 3. `is_transition · (S' − S − Σ_k h_k')` (primes: next row);
//! 4. `is_last_row · (S − claimed_sum)`.

use p3_field::{Field, PrimeCharacteristicRing};
use rayon::prelude::*;
use rstark_field::{EF, F};

use crate::folder::Selectors;
use crate::{Interaction, LinearCombination};

/// The bus challenges, sampled once for all tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogupChallenges {
    pub alpha: EF,
    /// β^1, β^2, …, β^L for the longest tuple L.
    pub beta_pows: Vec<EF>,
}

impl LogupChallenges {
    pub fn new(alpha: EF, beta: EF, interactions: &[&[Interaction]]) -> Self {
        let max_len = interactions
            .iter()
            .flat_map(|set| set.iter().map(|i| i.values.len()))
            .max()
            .unwrap_or(0);
        let mut beta_pows = Vec::with_capacity(max_len);
        let mut p = beta;
        for _ in 0..max_len {
            beta_pows.push(p);
            p *= beta;
        }
        Self { alpha, beta_pows }
    }
}

/// Number of extension-field auxiliary columns for `k` interactions (0 when there are none).
pub fn aux_ext_width(k: usize) -> usize {
    if k == 0 { 0 } else { k + 1 }
}

/// Number of LogUp constraints for `k` interactions.
pub fn num_logup_constraints(k: usize) -> usize {
    if k == 0 { 0 } else { k + 3 }
}

/// Largest LogUp constraint degree (in p3's counting).
pub const LOGUP_CONSTRAINT_DEGREE: usize = 2;

/// A main-trace value type the LogUp constraints can be evaluated over (a base-field row on the
/// prover's side, extension-field values at the out-of-domain point on the verifier's).
pub trait MainValue: Copy + Send + Sync {
    fn eval_lc(lc: &LinearCombination, row: &[Self]) -> EF;
}

impl MainValue for F {
    #[inline]
    fn eval_lc(lc: &LinearCombination, row: &[F]) -> EF {
        let v = lc.terms.iter().fold(lc.constant, |acc, &(c, k)| {
            acc + k * row.get(c).copied().unwrap_or(F::ZERO)
        });
        EF::from(v)
    }
}

impl MainValue for EF {
    #[inline]
    fn eval_lc(lc: &LinearCombination, row: &[EF]) -> EF {
        lc.terms.iter().fold(EF::from(lc.constant), |acc, &(c, k)| {
            acc + row.get(c).copied().unwrap_or(EF::ZERO) * k
        })
    }
}

/// `bus + Σ_j β^{j+1} · v_j` on one row.
#[inline]
pub fn fingerprint<T: MainValue>(
    interaction: &Interaction,
    challenges: &LogupChallenges,
    row: &[T],
) -> EF {
    interaction
        .values
        .iter()
        .zip(&challenges.beta_pows)
        .fold(EF::from(F::from_u32(interaction.bus)), |acc, (v, &b)| {
            acc + b * T::eval_lc(v, row)
        })
}

/// Errors of auxiliary-trace generation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogupError {
    #[error("LogUp denominator α − fingerprint is zero at row {row}, interaction {interaction}")]
    ZeroDenominator { row: usize, interaction: usize },
}

/// Builds the auxiliary trace (row-major, `aux_ext_width(k)` extension columns) and returns it
/// with the claimed sum. `values` is the main trace (row-major, `width` columns).
pub fn build_aux_trace(
    interactions: &[Interaction],
    challenges: &LogupChallenges,
    values: &[F],
    width: usize,
) -> Result<(Vec<EF>, EF), LogupError> {
    let k = interactions.len();
    if k == 0 || width == 0 {
        return Ok((Vec::new(), EF::ZERO));
    }
    let height = values.len() / width;
    let aux_w = k + 1;
    // Denominators and multiplicities, one row per chunk.
    let mut denoms = vec![EF::ZERO; height * k];
    let mut mults = vec![EF::ZERO; height * k];
    denoms
        .par_chunks_mut(k)
        .zip(mults.par_chunks_mut(k))
        .enumerate()
        .for_each(|(r, (d, m))| {
            let row = &values[r * width..(r + 1) * width];
            for (j, inter) in interactions.iter().enumerate() {
                d[j] = challenges.alpha - fingerprint(inter, challenges, row);
                m[j] = F::eval_lc(&inter.multiplicity, row);
            }
        });
    if let Some(pos) = denoms.iter().position(|d| *d == EF::ZERO) {
        return Err(LogupError::ZeroDenominator {
            row: pos / k,
            interaction: pos % k,
        });
    }
    let inverses = batch_inverse(&denoms);
    let mut aux = vec![EF::ZERO; height * aux_w];
    aux.par_chunks_mut(aux_w).enumerate().for_each(|(r, out)| {
        for j in 0..k {
            out[j] = mults[r * k + j] * inverses[r * k + j];
        }
    });
    let mut running = EF::ZERO;
    for r in 0..height {
        let row = &mut aux[r * aux_w..(r + 1) * aux_w];
        running += row[..k].iter().copied().sum::<EF>();
        row[k] = running;
    }
    Ok((aux, running))
}

/// Inverts every element (all must be non-zero: callers check denominators first), in parallel
/// chunks of Montgomery's trick. For base and extension elements alike.
pub fn batch_inverse<T: Field>(values: &[T]) -> Vec<T> {
    const CHUNK: usize = 1 << 12;
    let mut out = vec![T::ZERO; values.len()];
    out.par_chunks_mut(CHUNK)
        .zip(values.par_chunks(CHUNK))
        .for_each(|(o, v)| {
            let mut acc = T::ONE;
            for (oi, &vi) in o.iter_mut().zip(v) {
                *oi = acc;
                acc *= vi;
            }
            let mut inv = acc.inverse();
            for (oi, &vi) in o.iter_mut().zip(v).rev() {
                *oi *= inv;
                inv *= vi;
            }
        });
    out
}

/// Evaluates the LogUp constraints at one point and passes each to `emit`, in the documented
/// order. `aux_local`/`aux_next` hold the K + 1 extension values of the current/next row.
#[allow(clippy::too_many_arguments)]
pub fn eval_logup_constraints<T: MainValue>(
    interactions: &[Interaction],
    challenges: &LogupChallenges,
    main_local: &[T],
    aux_local: &[EF],
    aux_next: &[EF],
    selectors: &Selectors<EF>,
    claimed_sum: EF,
    emit: &mut impl FnMut(EF),
) {
    let k = interactions.len();
    if k == 0 || aux_local.len() < k + 1 || aux_next.len() < k + 1 {
        return;
    }
    for (j, inter) in interactions.iter().enumerate() {
        let fp = fingerprint(inter, challenges, main_local);
        let m = T::eval_lc(&inter.multiplicity, main_local);
        emit(aux_local[j] * (challenges.alpha - fp) - m);
    }
    let s = aux_local[k];
    let s_next = aux_next[k];
    let h_sum: EF = aux_local[..k].iter().copied().sum();
    let h_next_sum: EF = aux_next[..k].iter().copied().sum();
    emit(selectors.is_first_row * (s - h_sum));
    emit(selectors.is_transition * (s_next - s - h_next_sum));
    emit(selectors.is_last_row * (s - claimed_sum));
}
