//! DEEP codeword of one table over its LDE domain (docs/PROTOCOL.md §5.6).

use rayon::prelude::*;
use rstark_air::logup::batch_inverse;
use rstark_field::{EF, GENERATOR, PrimeCharacteristicRing, flatten_ext, unflatten_ext};
use rstark_poly::{ExtCoeffs, RowMajor, try_lde_from_coefficients};
use rstark_protocol::{BackendError, DeepInputs};

use crate::codeword::CpuCodeword;
use crate::committed::CpuCommitted;
use crate::util::{coset_coefficients, coset_points};

pub(crate) fn deep_codeword(
    inp: &DeepInputs<'_, CpuCommitted>,
) -> Result<CpuCodeword, BackendError> {
    deep_codeword_extending(inp, EXTEND_MIN_WIDTH)
}

/// [`deep_codeword`], matrices at least `extend_min_width` wide through [`extended_row_sums`].
fn deep_codeword_extending(
    inp: &DeepInputs<'_, CpuCommitted>,
    extend_min_width: usize,
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
    // Wide matrices' row sums, on every row, from their first block (see `extended_row_sums`).
    let sums: Vec<Option<Vec<EF>>> = inp
        .matrices
        .iter()
        .zip(&prepared)
        .map(|(m, (_, pows))| {
            (m.lde.width >= extend_min_width && inp.log_blowup > 0)
                .then(|| extended_row_sums(m, pows, inp.log_height, inp.log_blowup))
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    let values: Vec<EF> = (0..size)
        .into_par_iter()
        .map_init(Vec::new, |scratch, j| {
            // Σ δ^k f_k(x) split at the shifted/unshifted boundary (main+aux | composition).
            let (mut a, mut c) = (EF::ZERO, EF::ZERO);
            for ((m, (shifted, pows)), sum) in inp.matrices.iter().zip(&prepared).zip(&sums) {
                let s = match sum {
                    Some(v) => v[j],
                    None => pows.dot(m.lde.row(j), scratch),
                };
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

/// Matrices at least this wide take their row sums through [`extended_row_sums`].
const EXTEND_MIN_WIDTH: usize = 32;

/// Σ_k δ^k f_k on every row of `m`'s LDE, computed on its first block only (N rows: the coset
/// g·H) and extended to the others by the LDE of that one extension column. The sum is itself
/// a polynomial of degree < N, so the values are the same as summing every row — at half the
/// products for blowup 2, plus the interpolation and LDE of three columns.
fn extended_row_sums(
    m: &CpuCommitted,
    pows: &ExtCoeffs,
    log_height: usize,
    log_blowup: usize,
) -> Result<Vec<EF>, BackendError> {
    let n = 1usize << log_height;
    let first: Vec<EF> = (0..n)
        .into_par_iter()
        .map_init(Vec::new, |scratch, j| pows.dot(m.lde.row(j), scratch))
        .collect();
    // Its coefficients from those bit-reversed evaluations on g·H, then evaluated on the whole
    // LDE domain like any committed matrix.
    let coeffs = RowMajor {
        values: coset_coefficients(&flatten_ext(&first), 3, GENERATOR),
        width: 3,
    };
    let ext = try_lde_from_coefficients(&coeffs, log_height + log_blowup, GENERATOR)
        .map_err(|e| BackendError::Poly(e.to_string()))?;
    unflatten_ext(&ext.values)
        .ok_or_else(|| BackendError::Poly("DEEP: extension column of a bad length".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::F;
    use rstark_protocol::deep::DeepCoeffs;

    #[test]
    fn extended_row_sums_give_the_same_codeword() {
        for (log_n, log_b, width) in [(3, 1, 40), (6, 1, 33), (5, 2, 64), (4, 3, 35)] {
            let main = CpuCommitted::from_trace(
                &rstark_poly::golden::matrix(log_n, width, 3 + log_n as u64),
                log_b,
            )
            .unwrap();
            let comp =
                CpuCommitted::from_trace(&rstark_poly::golden::matrix(log_n, 6, 9), log_b).unwrap();
            let z = EF::from(F::from_u64(1234567)) * EF::from(F::from_u64(89));
            let at = |k: u64| EF::from(F::from_u64(k));
            let values_z: Vec<EF> = (0..width as u64 + 6).map(|k| at(5 * k + 1)).collect();
            let values_zw: Vec<EF> = (0..width as u64).map(|k| at(3 * k + 2)).collect();
            let coeffs = DeepCoeffs::new(at(77), &values_z, &values_zw);
            let inp = DeepInputs {
                table: 0,
                matrices: vec![&main, &comp],
                log_height: log_n,
                log_blowup: log_b,
                z,
                z_next: z * EF::from(rstark_field::omega(log_n)),
                coeffs: &coeffs,
                scale: EF::ONE,
            };
            let direct = deep_codeword_extending(&inp, usize::MAX).unwrap();
            let extended = deep_codeword_extending(&inp, 32).unwrap();
            assert!(direct.values == extended.values, "{log_n} {log_b} {width}");
        }
    }
}
