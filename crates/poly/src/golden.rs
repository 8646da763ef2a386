//! Deterministic inputs for the golden vectors (`tests/golden/` of the foundation crates), public
//! so that every backend — the CUDA kernels included — rebuilds exactly the same matrices.
//!
//! Generator: SplitMix64. `state` starts at `seed`; each draw does
//! `state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//! z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^= z >> 31` (wrapping u64 arithmetic), and the
//! element is `z mod p`. A matrix is filled in row-major order, one draw per element.

use rstark_field::{F, P};

use crate::RowMajor;

/// One SplitMix64 draw.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `len` field elements drawn from SplitMix64 seeded with `seed`, each `z mod p`.
pub fn elements(len: usize, seed: u64) -> Vec<F> {
    let mut state = seed;
    (0..len)
        .map(|_| F::new(splitmix64(&mut state) % P))
        .collect()
}

/// A 2^log_height × width matrix of [`elements`], row-major.
pub fn matrix(log_height: usize, width: usize, seed: u64) -> RowMajor {
    RowMajor {
        values: elements((1 << log_height) * width, seed),
        width,
    }
}

/// One golden LDE case: `lde(matrix(log_n, width, seed), log_blowup)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LdeCase {
    pub log_n: usize,
    pub width: usize,
    pub log_blowup: usize,
    pub seed: u64,
}

/// The LDE cases of `crates/poly/tests/golden/lde.txt` (the Merkle goldens commit the same LDEs).
pub fn lde_cases() -> Vec<LdeCase> {
    let mut cases = Vec::new();
    let shapes = [
        (0, 1),
        (1, 1),
        (2, 3),
        (3, 1),
        (5, 4),
        (8, 7),
        (10, 16),
        (12, 3),
    ];
    for (i, &(log_n, width)) in shapes.iter().enumerate() {
        for log_blowup in 1..=4 {
            cases.push(LdeCase {
                log_n,
                width,
                log_blowup,
                seed: 1000 * i as u64 + log_blowup as u64,
            });
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::PrimeField64;

    #[test]
    fn splitmix_reference_values() {
        // Published SplitMix64 outputs for seed 0 (state starts at 0).
        let mut s = 0u64;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(&mut s), 0x6E78_9E6A_A1B9_65F4);
        let e = elements(3, 0);
        assert_eq!(e[0].as_canonical_u64(), 0xE220_A839_7B1D_CDAF % P);
    }
}
