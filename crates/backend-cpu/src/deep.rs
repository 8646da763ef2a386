//! DEEP codeword of one table over its LDE domain (docs/PROTOCOL.md §5.6).

use rayon::prelude::*;
use rstark_air::logup::batch_inverse;
use rstark_field::{EF, GENERATOR};
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
    let mut denoms = Vec::with_capacity(2 * size);
    denoms.extend(points.iter().map(|&x| EF::from(x) - inp.z));
    denoms.extend(points.iter().map(|&x| EF::from(x) - inp.z_next));
    let inv = batch_inverse(&denoms);
    let coeffs = inp.coeffs;
    let values: Vec<EF> = (0..size)
        .into_par_iter()
        .map(|j| {
            let row = inp.matrices.iter().flat_map(|m| m.lde.row(j).iter());
            let (a, c) = coeffs.combine(row);
            coeffs.value(a, c, inv[j], inv[size + j]) * inp.scale
        })
        .collect();
    Ok(CpuCodeword::new(values, log_size, GENERATOR))
}
