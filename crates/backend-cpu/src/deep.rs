//! DEEP codeword of one table over its LDE domain (docs/PROTOCOL.md §5.6).

use rayon::prelude::*;
use rstark_air::logup::batch_inverse;
use rstark_field::{EF, GENERATOR, PrimeCharacteristicRing};
use rstark_poly::{dot_ext_base, ext_to_u64s};
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
    // δ^k as canonical integers: each row's Σ δ^k f_k(x) is then summed exactly and reduced
    // once (rstark_poly::dot_ext_base), not reduced after every product.
    let pows: Vec<[u64; 3]> = coeffs.pows.iter().map(|&p| ext_to_u64s(p)).collect();
    let values: Vec<EF> = (0..size)
        .into_par_iter()
        .map(|j| {
            // Σ δ^k f_k(x) split at the shifted/unshifted boundary (main+aux | composition).
            let (mut a, mut c) = (EF::ZERO, EF::ZERO);
            let mut off = 0;
            for m in &inp.matrices {
                let row = m.lde.row(j);
                let s = dot_ext_base(&pows[off..off + row.len()], row);
                if off < coeffs.n_shifted {
                    a += s;
                } else {
                    c += s;
                }
                off += row.len();
            }
            coeffs.value(a, c, inv[j], inv[size + j]) * inp.scale
        })
        .collect();
    Ok(CpuCodeword::new(values, log_size, GENERATOR))
}
