//! Small shared helpers.

use p3_dft::{Radix2DitParallel, TwoAdicSubgroupDft};
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;
use rstark_field::{F, PrimeCharacteristicRing, omega};
use rstark_merkle::MerkleTree;
use rstark_poly::{RowMajor, bit_reverse};
use rstark_protocol::{BackendError, MerkleOpening};
use std::sync::OnceLock;

pub(crate) fn dft() -> &'static Radix2DitParallel<F> {
    static DFT: OnceLock<Radix2DitParallel<F>> = OnceLock::new();
    DFT.get_or_init(Radix2DitParallel::default)
}

/// Coefficients (row k = x^k) of the columns whose evaluations on the coset shift·⟨ω⟩ are given
/// in bit-reversed row order.
pub(crate) fn coset_coefficients(bitrev_values: &[F], width: usize, shift: F) -> Vec<F> {
    let natural = rstark_poly::bit_reverse_rows(bitrev_values, width);
    if natural.len() <= width {
        return natural;
    }
    dft()
        .coset_idft_batch(RowMajorMatrix::new(natural, width), shift)
        .values
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
