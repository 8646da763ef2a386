//! DEEP codeword of one table over its LDE domain (docs/PROTOCOL.md §5.6).

use rayon::prelude::*;
use rstark_air::logup::batch_inverse;
use rstark_field::{EF, GENERATOR, PrimeCharacteristicRing};
use rstark_poly::ExtCoeffs;
use rstark_protocol::{BackendError, DeepInputs};

use crate::codeword::CpuCodeword;
use crate::committed::CpuCommitted;
use crate::util::coset_points;

pub(crate) fn deep_codeword(
    inp: &DeepInputs<'_, CpuCommitted>,
) -> Result<CpuCodeword, BackendError> {
    let log_size = inp.log_height + inp.log_blowup;
    let size = 1usize << log_size;
    if inp.matrices.iter().any(|m| m.lde.height() != size) {
        return Err(BackendError::BadInput("DEEP: matrix heights differ".into()));
    }
    let points = coset_points(log_size, GENERATOR);
    let denoms: Vec<EF> = points
        .par_iter()
        .map(|&x| EF::from(x) - inp.z)
        .chain(points.par_iter().map(|&x| EF::from(x) - inp.z_next))
        .collect();
    let inv = batch_inverse(&denoms);
    let coeffs = inp.coeffs;
    let total: usize = inp.matrices.iter().map(|m| m.lde.width).sum();
    if total != coeffs.pows.len() {
        return Err(BackendError::BadInput("DEEP: column count mismatch".into()));
    }
    // δ^k prepared per matrix for exact row sums (rstark_poly::ExtCoeffs: reduced once per row,
    // not after every product; four columns at a time on AVX2 builds).
    let mut prepared = Vec::with_capacity(inp.matrices.len());
    let mut off = 0;
    for m in &inp.matrices {
        let w = m.lde.width;
        prepared.push((
            off < coeffs.n_shifted,
            ExtCoeffs::new(&coeffs.pows[off..off + w]),
        ));
        off += w;
    }
    let values: Vec<EF> = (0..size)
        .into_par_iter()
        .map_init(Vec::new, |scratch, j| {
            // Σ δ^k f_k(x) split at the shifted/unshifted boundary (main+aux | composition).
            let (mut a, mut c) = (EF::ZERO, EF::ZERO);
            for (m, (shifted, pows)) in inp.matrices.iter().zip(&prepared) {
                let s = pows.dot(m.lde.row(j), scratch);
                if *shifted {
                    a += s;
                } else {
                    c += s;
                }
            }
            coeffs.value(a, c, inv[j], inv[size + j]) * inp.scale
        })
        .collect();
    Ok(CpuCodeword::new(values, log_size, GENERATOR))
}
