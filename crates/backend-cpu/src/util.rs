//! Small shared helpers.

use p3_dft::{Radix2DitParallel, TwoAdicSubgroupDft};
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;
use rstark_field::{F, Field, PrimeCharacteristicRing, omega};
use rstark_merkle::MerkleTree;
use rstark_poly::{RowMajor, bit_reverse};
use rstark_protocol::{BackendError, MerkleOpening};
use std::sync::OnceLock;

pub(crate) fn dft() -> &'static Radix2DitParallel<F> {
    static DFT: OnceLock<Radix2DitParallel<F>> = OnceLock::new();
    DFT.get_or_init(Radix2DitParallel::default)
}

/// Heights up to which [`coset_coefficients`] sums directly: for the FRI final codeword (2^4
/// points) a batched DFT's setup costs more than these few thousand products (~0.2 ms on the
/// keccak 2730 timeline).
const DIRECT_MAX_ROWS: usize = 64;

/// Coefficients (row k = x^k) of the columns whose evaluations on the coset shift·⟨ω⟩ are given
/// in bit-reversed row order.
pub(crate) fn coset_coefficients(bitrev_values: &[F], width: usize, shift: F) -> Vec<F> {
    let natural = rstark_poly::bit_reverse_rows(bitrev_values, width);
    let rows = natural.len() / width.max(1);
    if rows <= 1 {
        return natural;
    }
    if rows <= DIRECT_MAX_ROWS {
        return direct_coset_coefficients(&natural, width, shift);
    }
    dft()
        .coset_idft_batch(RowMajorMatrix::new(natural, width), shift)
        .values
}

/// The interpolation of [`coset_coefficients`] as the direct sum
/// c_k = n^-1 Σ_i v_i (shift·ω^i)^-k over the natural-order rows (the coefficients are unique,
/// so they equal the DFT's).
fn direct_coset_coefficients(natural: &[F], width: usize, shift: F) -> Vec<F> {
    let rows = natural.len() / width;
    let w = omega(rows.trailing_zeros() as usize);
    let inv: Vec<F> = (0..rows)
        .map(|i| (shift * w.exp_u64(i as u64)).inverse())
        .collect();
    let n_inv = F::from_usize(rows).inverse();
    let mut pw = vec![F::ONE; rows];
    let mut out = Vec::with_capacity(natural.len());
    for _ in 0..rows {
        let mut c = vec![F::ZERO; width];
        for (i, row) in natural.chunks_exact(width).enumerate() {
            for (c, &v) in c.iter_mut().zip(row) {
                *c += v * pw[i];
            }
            pw[i] *= inv[i];
        }
        out.extend(c.into_iter().map(|c| c * n_inv));
    }
    out
}

/// The points shift·ω_log_size^{bitrev(j)} of a bit-reversed coset, j = 0 … 2^log_size − 1.
pub(crate) fn coset_points(log_size: usize, shift: F) -> Vec<F> {
    const CHUNK: usize = 1 << 12;
    let size = 1usize << log_size;
    let w = omega(log_size);
    let mut natural = vec![F::ZERO; size];
    natural
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, out)| {
            let mut x = shift * w.exp_u64((c * CHUNK) as u64);
            for o in out {
                *o = x;
                x *= w;
            }
        });
    (0..size)
        .into_par_iter()
        .map(|j| natural[bit_reverse(j, log_size)])
        .collect()
}

pub(crate) fn merkle_err(e: rstark_merkle::MerkleError) -> BackendError {
    BackendError::Merkle(e.to_string())
}

pub(crate) fn open(
    lde: &RowMajor,
    tree: &MerkleTree,
    leaf: usize,
) -> Result<MerkleOpening, BackendError> {
    let o = rstark_merkle::open(lde, tree, leaf).map_err(merkle_err)?;
    Ok(MerkleOpening {
        row0: o.row0,
        row1: o.row1,
        path: o.path,
    })
}

/// Drops `values` on a thread of its own (a large buffer's unmapping is kernel work the caller
/// need not wait for). If no thread can be started, `spawn` drops the closure, and the buffer
/// with it, here.
pub(crate) fn free_in_background(values: Vec<F>) {
    let _ = std::thread::Builder::new()
        .name("rstark free".into())
        .spawn(move || drop(values));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct sum gives the batched DFT's coefficients (every small height, several widths
    /// and shifts).
    #[test]
    fn direct_interpolation_equals_the_dft() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            F::from_u64(seed)
        };
        let g = rstark_field::GENERATOR;
        for log_rows in 1..=DIRECT_MAX_ROWS.trailing_zeros() {
            let rows = 1usize << log_rows;
            for width in [1, 3] {
                for shift in [F::ONE, g, g.exp_u64(1 << 20)] {
                    let values: Vec<F> = (0..rows * width).map(|_| rnd()).collect();
                    let natural = rstark_poly::bit_reverse_rows(&values, width);
                    let dft_coeffs = dft()
                        .coset_idft_batch(RowMajorMatrix::new(natural.clone(), width), shift)
                        .values;
                    assert_eq!(
                        direct_coset_coefficients(&natural, width, shift),
                        dft_coeffs,
                        "2^{log_rows} rows x {width}, shift {shift}"
                    );
                    assert_eq!(coset_coefficients(&values, width, shift), dft_coeffs);
                }
            }
        }
    }
}
