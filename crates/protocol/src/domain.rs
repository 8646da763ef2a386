//! Domain arithmetic shared by the prover, the verifier and every backend.

use rstark_air::Selectors;
use rstark_field::{EF, F, Field, GENERATOR, PrimeCharacteristicRing, ef_from_base, omega};
use rstark_poly::bit_reverse;

/// Point of row `j` of a bit-reversed coset domain of 2^log_size points with shift `shift`:
/// `shift · ω_log_size^{bitrev(j)}`.
pub fn coset_point(j: usize, log_size: usize, shift: F) -> F {
    shift * omega(log_size).exp_u64(bit_reverse(j, log_size) as u64)
}

/// Shift of FRI layer `i`: g^{2^i} (layer 0 is the LDE coset g·⟨ω⟩).
pub fn layer_shift(i: usize) -> F {
    GENERATOR.exp_power_of_2(i)
}

/// log2 of the quotient degree factor D = next power of two ≥ max(d − 1, 1), d the largest
/// constraint degree (AIR's and LogUp's).
pub fn log_quotient_degree(max_degree: usize) -> usize {
    max_degree
        .saturating_sub(1)
        .max(1)
        .next_power_of_two()
        .trailing_zeros() as usize
}

/// The selectors at a point `x` outside H = ⟨ω_n⟩ (so `x^N ≠ 1`):
/// `L_0 = (x^N − 1)/(N(x − 1))`, `L_last = ω^{−1}(x^N − 1)/(N(x − ω^{−1}))`,
/// `is_transition = x − ω^{−1}`. Also returns `Z_H(x) = x^N − 1`.
/// Returns `None` if a denominator vanishes.
pub fn selectors_at(x: EF, log_n: usize) -> Option<(Selectors<EF>, EF)> {
    let n = F::from_u64(1u64 << log_n);
    let w_inv = omega(log_n).inverse();
    let zh = x.exp_power_of_2(log_n) - EF::ONE;
    let d0 = (x - EF::ONE) * n;
    let dl = (x - EF::from(w_inv)) * n;
    if zh == EF::ZERO || d0 == EF::ZERO || dl == EF::ZERO {
        return None;
    }
    Some((
        Selectors {
            is_first_row: zh * d0.inverse(),
            is_last_row: zh * dl.inverse() * w_inv,
            is_transition: x - EF::from(w_inv),
        },
        zh,
    ))
}

/// The extension element whose three coefficient columns evaluate to `v` at a point:
/// `v_0 + v_1·X + v_2·X²` (X the extension generator).
pub fn ext_from_coeff_evals(v: &[EF]) -> EF {
    let x = ef_from_base([F::ZERO, F::ONE, F::ZERO]);
    let x2 = x * x;
    match v {
        [a, b, c] => *a + *b * x + *c * x2,
        _ => EF::ZERO,
    }
}

/// FRI fold of the pair (f(x), f(−x)) with challenge β, given x^{−1}:
/// `(a + b)/2 + β·(a − b)/(2x)`.
#[inline]
pub fn fold_pair(a: EF, b: EF, beta: EF, x_inv: F) -> EF {
    let half = F::TWO.inverse();
    ((a + b) + beta * (a - b) * x_inv) * half
}

/// The out-of-domain point z: sampled from the transcript, resampled while it lies in the base
/// field (then z and zω are outside every trace domain and every LDE coset).
pub fn sample_ood_point(t: &mut rstark_transcript::Transcript) -> EF {
    loop {
        let z = t.sample_ext();
        if !rstark_field::ExtensionField::<F>::is_in_basefield(&z) {
            return z;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotient_degree() {
        assert_eq!(log_quotient_degree(0), 0);
        assert_eq!(log_quotient_degree(2), 0);
        assert_eq!(log_quotient_degree(3), 1);
        assert_eq!(log_quotient_degree(4), 2);
        assert_eq!(log_quotient_degree(5), 2);
    }

    #[test]
    fn pair_points_are_negations() {
        for j in 0..8 {
            assert_eq!(
                coset_point(2 * j + 1, 4, GENERATOR),
                -coset_point(2 * j, 4, GENERATOR)
            );
        }
    }
}
