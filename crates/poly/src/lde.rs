//! Coset LDE, interpolation and coefficient forms (PROTOCOL.md §2). The prover's wide LDEs
//! (`lde_with_blocks*`) run our tiled network (tiled_lde.rs); everything else, and the oracle
//! `lde`, runs p3-dft's parallel radix-2 DIT, whose coset LDE returns a view whose *storage* is
//! bit-reversed: taking that storage (`bit_reverse_rows()` on the view is free) gives
//! PROTOCOL.md's layout directly.

use std::sync::OnceLock;

use p3_dft::{Radix2DFTSmallBatch, Radix2DitParallel, TwoAdicSubgroupDft};
use p3_matrix::Matrix;
use p3_matrix::bitrev::BitReversibleMatrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_matrix::util::reverse_matrix_index_bits;
use rayon::prelude::*;
use rstark_field::{F, GENERATOR, PrimeCharacteristicRing, TWO_ADICITY, omega};

use crate::tiled_lde::tiled_coset_lde;
use crate::{PolyError, RowMajor, bit_reverse, bit_reverse_rows};

/// Largest supported log2 of the blowup (B = 16).
pub const MAX_LOG_BLOWUP: usize = 4;

/// Widths up to this use p3's small-batch DFT for `lde`: the parallel DIT works row by row and
/// is 1.3–2× slower on narrow matrices (PERF.md, Foundation). The small-batch LDE returns
/// natural order, so its rows are then bit-reversed in place.
const SMALL_BATCH_LDE_MAX_WIDTH: usize = 8;

/// The same switch for `lde_from_coefficients`, where the gain is smaller (≈ 1.2× at width 3).
const SMALL_BATCH_COSET_MAX_WIDTH: usize = 4;

/// One DFT engine for the process, so its twiddle caches are shared by every call.
fn dft() -> &'static Radix2DitParallel<F> {
    static DFT: OnceLock<Radix2DitParallel<F>> = OnceLock::new();
    DFT.get_or_init(Radix2DitParallel::default)
}

/// The small-batch engine for narrow matrices.
fn small_dft() -> &'static Radix2DFTSmallBatch<F> {
    static DFT: OnceLock<Radix2DFTSmallBatch<F>> = OnceLock::new();
    DFT.get_or_init(Radix2DFTSmallBatch::default)
}

fn check_blowup(log_blowup: usize) -> Result<(), PolyError> {
    if log_blowup > MAX_LOG_BLOWUP {
        return Err(PolyError::BadBlowup {
            log_blowup,
            max: MAX_LOG_BLOWUP,
        });
    }
    Ok(())
}

/// Coset LDE of a natural-order trace (evaluations on H = ⟨ω_n⟩) to the N·2^log_blowup points
/// of g·⟨ω_{n+b}⟩, rows in bit-reversed order: row j holds the values at [`lde_point`]`(j, n+b)`.
/// `log_blowup` ∈ 0..=4 (blowup 1..=16).
pub fn lde(trace: &RowMajor, log_blowup: usize) -> Result<RowMajor, PolyError> {
    let log_n = check_lde(trace, log_blowup)?;
    let width = trace.width;
    if log_n > 0 && width > SMALL_BATCH_LDE_MAX_WIDTH {
        // Allocate the whole output once: p3 grows the input buffer in place to N·B rows.
        let mut values = Vec::with_capacity(trace.values.len() << log_blowup);
        par_extend_from_slice(&mut values, &trace.values);
        return Ok(lde_checked(RowMajor { values, width }, log_n, log_blowup));
    }
    Ok(lde_checked(trace.clone(), log_n, log_blowup))
}

/// [`lde`], also handing every output row to `consume` exactly once, in blocks of whole rows:
/// `consume(first_row, values)` gets rows `first_row ..` of the output (row-major, an even
/// number of rows starting at an even row when the output has ≥ 2 rows). Wide traces at blowup
/// ≥ 2 take our tiled LDE (tiled_lde.rs), which hands a block over as soon as its last
/// pass has finished it, while it is still in cache (the CPU backend hashes its Merkle leaves
/// there); otherwise the finished output is handed over in blocks of 128 rows. Calls come from
/// several threads at once and in any order. The values are p3's LDE's ([`lde`], the oracle).
pub fn lde_with_blocks(
    trace: &RowMajor,
    log_blowup: usize,
    consume: &(dyn Fn(usize, &[F]) + Sync),
) -> Result<RowMajor, PolyError> {
    let log_n = check_lde(trace, log_blowup)?;
    let width = trace.width;
    if !tiled_shape(log_n, width, log_blowup) {
        let out = lde_checked(trace.clone(), log_n, log_blowup);
        consume_in_parallel(&out, consume);
        return Ok(out);
    }
    let total = trace.values.len() << log_blowup;
    let mut values = Vec::with_capacity(total);
    populate_spare_capacity(&mut values);
    // SAFETY: `values` has room for the whole output; the trace is a separate buffer that
    // nothing writes during the call.
    unsafe {
        tiled_coset_lde(
            trace.values.as_ptr(),
            values.as_mut_ptr(),
            width,
            log_n,
            log_blowup,
            consume,
        );
        // The LDE wrote every output row.
        values.set_len(total);
    }
    Ok(RowMajor { values, width })
}

/// [`lde_with_blocks`] of a trace the caller no longer needs: its buffer grows into the output
/// (for a large trace the allocator remaps it in place), so the trace is neither copied nor
/// freed.
pub fn lde_with_blocks_owned(
    trace: RowMajor,
    log_blowup: usize,
    consume: &(dyn Fn(usize, &[F]) + Sync),
) -> Result<RowMajor, PolyError> {
    let log_n = check_lde(&trace, log_blowup)?;
    let width = trace.width;
    if !tiled_shape(log_n, width, log_blowup) {
        let out = lde_checked(trace, log_n, log_blowup);
        consume_in_parallel(&out, consume);
        return Ok(out);
    }
    let mut values = trace.values;
    let total = values.len() << log_blowup;
    values.reserve_exact(total - values.len());
    populate_spare_capacity(&mut values);
    let p = values.as_mut_ptr();
    // SAFETY: the buffer has room for the whole output (reserved above) and holds the trace in
    // its first block, which the LDE reads before overwriting it (its contract).
    unsafe {
        tiled_coset_lde(p.cast_const(), p, width, log_n, log_blowup, consume);
        values.set_len(total);
    }
    Ok(RowMajor { values, width })
}

/// Whether [`lde_with_blocks`] takes the tiled LDE: wide traces (narrow ones go to p3's small-
/// batch DFT) of at least 4 rows at blowup ≥ 2 (the tiled LDE keeps its coefficients in the
/// output's last block, so it needs a second one).
fn tiled_shape(log_n: usize, width: usize, log_blowup: usize) -> bool {
    log_n >= 2 && width > SMALL_BATCH_LDE_MAX_WIDTH && log_blowup >= 1
}

/// Spare capacity of at least this many bytes is populated up front.
const POPULATE_MIN_BYTES: usize = 64 << 20;

/// Maps the pages of `values`' spare capacity before the LDE writes there, on all threads, one
/// `madvise(MADV_POPULATE_WRITE)` per 8 MiB: the same zeroed pages as the first writes would
/// fault in one at a time (one trap per 4 KiB page, about 340 000 for a 1.4 GB half), without
/// the traps. Linux 5.14 and later; elsewhere, or on refusal, the pages fault in as before.
/// `RSTARK_NO_POPULATE` (any value) turns it off, to compare.
fn populate_spare_capacity(values: &mut Vec<F>) {
    #[cfg(target_os = "linux")]
    {
        if std::env::var_os("RSTARK_NO_POPULATE").is_some() {
            return;
        }
        const PIECE: usize = 8 << 20;
        const PAGE: usize = 4096;
        let spare = values.spare_capacity_mut();
        let bytes = std::mem::size_of_val(spare);
        if bytes < POPULATE_MIN_BYTES {
            return;
        }
        let start = (spare.as_mut_ptr() as usize).next_multiple_of(PAGE);
        let end = (spare.as_mut_ptr() as usize + bytes) / PAGE * PAGE;
        (start..end).into_par_iter().step_by(PIECE).for_each(|a| {
            let len = PIECE.min(end - a);
            // SAFETY: [a, a + len) lies inside this Vec's allocation (whole pages of its spare
            // capacity); populating maps zeroed pages there, the contents it would have anyway.
            unsafe {
                libc::madvise(a as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE);
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = values;
}

/// Hands a finished LDE to `consume` in blocks of 128 rows, on all threads.
fn consume_in_parallel(out: &RowMajor, consume: &(dyn Fn(usize, &[F]) + Sync)) {
    const BLOCK_ROWS: usize = 128;
    out.values
        .par_chunks(BLOCK_ROWS * out.width)
        .enumerate()
        .for_each(|(b, rows)| consume(b * BLOCK_ROWS, rows));
}

/// Elements per task of [`par_extend_from_slice`] (2 MiB).
const COPY_CHUNK: usize = 1 << 18;

/// `dst.extend_from_slice(src)` on all threads, for an empty `dst` with room for `src`. The
/// copy of a large trace into fresh pages is mostly page faults; a serial copy would leave
/// the other cores idle for all of them.
fn par_extend_from_slice(dst: &mut Vec<F>, src: &[F]) {
    assert!(dst.is_empty() && dst.capacity() >= src.len());
    dst.spare_capacity_mut()[..src.len()]
        .par_chunks_mut(COPY_CHUNK)
        .zip(src.par_chunks(COPY_CHUNK))
        .for_each(|(d, s)| {
            for (d, &s) in d.iter_mut().zip(s) {
                d.write(s);
            }
        });
    // SAFETY: the loop above initialised the first src.len() elements (capacity checked).
    unsafe { dst.set_len(src.len()) };
}

/// [`lde`] of a trace the caller no longer needs: its buffer becomes the output's (for a large
/// trace the allocator grows it in place), so no copy of the trace is made.
pub fn lde_owned(trace: RowMajor, log_blowup: usize) -> Result<RowMajor, PolyError> {
    let log_n = check_lde(&trace, log_blowup)?;
    Ok(lde_checked(trace, log_n, log_blowup))
}

/// Validates an LDE request; returns log2 of the trace height.
fn check_lde(trace: &RowMajor, log_blowup: usize) -> Result<usize, PolyError> {
    let log_n = trace.log_height()?;
    check_blowup(log_blowup)?;
    let log_size = log_n + log_blowup;
    if log_size > TWO_ADICITY {
        return Err(PolyError::DomainTooLarge { log_size });
    }
    Ok(log_n)
}

fn lde_checked(trace: RowMajor, log_n: usize, log_blowup: usize) -> RowMajor {
    let width = trace.width;
    if log_n == 0 {
        // A constant polynomial: every point of the coset takes the trace's only row.
        return RowMajor {
            values: trace.values.repeat(1 << log_blowup),
            width,
        };
    }
    let mat = RowMajorMatrix::new(trace.values, width);
    if width <= SMALL_BATCH_LDE_MAX_WIDTH {
        let mut out = small_dft().coset_lde_batch(mat, log_blowup, GENERATOR);
        reverse_matrix_index_bits(&mut out);
        return RowMajor {
            values: out.values,
            width,
        };
    }
    let out = dft()
        .coset_lde_batch(mat, log_blowup, GENERATOR)
        .bit_reverse_rows();
    RowMajor {
        values: out.values,
        width,
    }
}

/// Inverse of [`lde`]: from N·2^log_blowup bit-reversed coset evaluations back to the N trace
/// rows (natural order on H). Only the first N rows are read: they are the evaluations on the
/// coset g·H (in bit-reversed order) and determine the polynomial of degree < N; the others are
/// not checked for consistency.
pub fn interpolate(lde: &RowMajor, log_blowup: usize) -> Result<RowMajor, PolyError> {
    let log_m = lde.log_height()?;
    check_blowup(log_blowup)?;
    if log_m < log_blowup {
        return Err(PolyError::LdeTooShort {
            height: lde.height(),
            log_blowup,
        });
    }
    let log_n = log_m - log_blowup;
    let width = lde.width;
    let n = 1usize << log_n;
    if log_n == 0 {
        return Ok(RowMajor {
            values: lde.values[..width].to_vec(),
            width,
        });
    }
    let on_coset = bit_reverse_rows(&lde.values[..n * width], width);
    let coeffs = dft().coset_idft_batch(RowMajorMatrix::new(on_coset, width), GENERATOR);
    let evals = dft().dft_batch(coeffs).to_row_major_matrix();
    Ok(RowMajor {
        values: evals.values,
        width,
    })
}

/// Coefficients of the trace's column polynomials: row k holds the coefficients of x^k.
///
/// # Panics
/// If the trace's height is not a power of two or its shape is ragged; [`try_coefficients`]
/// returns an error instead.
pub fn coefficients(trace: &RowMajor) -> RowMajor {
    try_coefficients(trace).unwrap_or_else(|e| panic!("coefficients: {e}"))
}

/// [`coefficients`], rejecting a zero width, a ragged matrix or a height that is not a power
/// of two.
pub fn try_coefficients(trace: &RowMajor) -> Result<RowMajor, PolyError> {
    let log_n = trace.log_height()?;
    if log_n == 0 {
        return Ok(trace.clone());
    }
    let out = dft().idft_batch(RowMajorMatrix::new(trace.values.clone(), trace.width));
    Ok(RowMajor {
        values: out.values,
        width: trace.width,
    })
}

/// Evaluates coefficient columns (row k = coefficient of x^k, at most 2^log_size rows) on
/// shift·⟨ω_log_size⟩, rows in bit-reversed order (row j at shift·ω^{bitrev(j)}).
/// With `shift = GENERATOR` and `log_size = n + b` this is [`lde`] of the trace.
///
/// # Panics
/// If `coeffs` has more than 2^log_size rows, `log_size > 32`, or a ragged/zero width;
/// [`try_lde_from_coefficients`] returns an error instead.
pub fn lde_from_coefficients(coeffs: &RowMajor, log_size: usize, shift: F) -> RowMajor {
    try_lde_from_coefficients(coeffs, log_size, shift)
        .unwrap_or_else(|e| panic!("lde_from_coefficients: {e}"))
}

/// [`lde_from_coefficients`], rejecting a zero width, a ragged matrix, `log_size > 32` and
/// more than 2^log_size coefficient rows. Any number of rows up to 2^log_size is accepted
/// (zero-padded), not only powers of two.
pub fn try_lde_from_coefficients(
    coeffs: &RowMajor,
    log_size: usize,
    shift: F,
) -> Result<RowMajor, PolyError> {
    let width = coeffs.width;
    if width == 0 {
        return Err(PolyError::ZeroWidth);
    }
    if !coeffs.values.len().is_multiple_of(width) {
        return Err(PolyError::RaggedMatrix {
            len: coeffs.values.len(),
            width,
        });
    }
    if log_size > TWO_ADICITY {
        return Err(PolyError::DomainTooLarge { log_size });
    }
    let size = 1usize << log_size;
    let rows = coeffs.height();
    if rows > size {
        return Err(PolyError::TooManyCoefficients { rows, log_size });
    }
    let mut values = Vec::with_capacity(size * width);
    values.extend_from_slice(&coeffs.values);
    values.resize(size * width, F::ZERO);
    if log_size == 0 {
        return Ok(RowMajor { values, width });
    }
    if width <= SMALL_BATCH_COSET_MAX_WIDTH {
        let mut out = small_dft().coset_dft_batch(RowMajorMatrix::new(values, width), shift);
        reverse_matrix_index_bits(&mut out);
        return Ok(RowMajor {
            values: out.values,
            width,
        });
    }
    let out = dft()
        .coset_dft_batch(RowMajorMatrix::new(values, width), shift)
        .bit_reverse_rows();
    Ok(RowMajor {
        values: out.values,
        width,
    })
}

/// The point of LDE row `j` in a domain of 2^log_size: g·ω_log_size^{bitrev(j, log_size)}.
///
/// # Panics
/// If `log_size > 32` (see [`rstark_field::omega`]); callers pass sizes of domains they built.
pub fn lde_point(j: usize, log_size: usize) -> F {
    GENERATOR * omega(log_size).exp_u64(bit_reverse(j, log_size) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(log_n: usize, width: usize, seed: u64) -> RowMajor {
        crate::golden::matrix(log_n, width, seed)
    }

    /// Direct (quadratic) evaluation of the column polynomials at `x`.
    fn eval_coeffs_at(coeffs: &RowMajor, x: F) -> Vec<F> {
        let mut acc = vec![F::ZERO; coeffs.width];
        for row in coeffs.rows().rev() {
            for (a, c) in acc.iter_mut().zip(row) {
                *a = *a * x + *c;
            }
        }
        acc
    }

    #[test]
    fn lde_matches_direct_evaluation() {
        // Widths on both sides of the small-batch switches.
        for (log_n, log_b, width) in (0..6)
            .flat_map(|n| (0..=MAX_LOG_BLOWUP).map(move |b| (n, b)))
            .flat_map(|(n, b)| [1, 3, 5, 9].map(|w| (n, b, w)))
        {
            let trace = matrix(log_n, width, 11 * log_n as u64 + log_b as u64);
            let coeffs = coefficients(&trace);
            let ext = lde(&trace, log_b).unwrap();
            assert_eq!(ext.height(), 1 << (log_n + log_b));
            for j in 0..ext.height() {
                let x = lde_point(j, log_n + log_b);
                assert_eq!(ext.row(j), eval_coeffs_at(&coeffs, x).as_slice());
            }
            // Rows 2i and 2i+1 are at x and −x.
            for i in 0..ext.height() / 2 {
                let s = log_n + log_b;
                assert_eq!(lde_point(2 * i + 1, s), -lde_point(2 * i, s));
            }
            assert_eq!(interpolate(&ext, log_b).unwrap(), trace);
            let again = lde_from_coefficients(&coeffs, log_n + log_b, GENERATOR);
            assert_eq!(again, ext);
        }
    }

    #[test]
    fn lde_with_blocks_visits_every_row_once() {
        use std::sync::Mutex;
        // Narrow, one-row and two-row traces (p3), and the tiled LDE's shapes: widths of whole
        // and partial packed vectors and tiles, every blowup, one pass and several.
        let mut shapes = vec![(0, 1, 9), (1, 1, 9), (5, 1, 3), (4, 0, 20)];
        for (log_n, width) in [(2, 9), (3, 17), (7, 16), (8, 33), (10, 61), (11, 12)] {
            shapes.extend((1..=MAX_LOG_BLOWUP).map(|log_b| (log_n, log_b, width)));
        }
        for (log_n, log_b, width) in shapes {
            let trace = matrix(log_n, width, 3 + log_n as u64);
            let want = lde(&trace, log_b).unwrap();
            let seen = Mutex::new(vec![0u32; want.height()]);
            let got = lde_with_blocks(&trace, log_b, &|first, rows: &[F]| {
                assert_eq!(rows.len() % width, 0);
                let n = rows.len() / width;
                assert_eq!(rows, &want.values[first * width..(first + n) * width]);
                if want.height() >= 2 {
                    assert!(
                        first.is_multiple_of(2) && n.is_multiple_of(2),
                        "block {first}+{n}"
                    );
                }
                for c in &mut seen.lock().unwrap()[first..first + n] {
                    *c += 1;
                }
            })
            .unwrap();
            assert_eq!(got, want);
            assert!(seen.into_inner().unwrap().iter().all(|&c| c == 1));
            // The same blocks from a trace handed over by value.
            let seen = Mutex::new(vec![0u32; want.height()]);
            let owned = lde_with_blocks_owned(trace.clone(), log_b, &|first, rows: &[F]| {
                let n = rows.len() / width;
                assert_eq!(rows, &want.values[first * width..(first + n) * width]);
                for c in &mut seen.lock().unwrap()[first..first + n] {
                    *c += 1;
                }
            })
            .unwrap();
            assert_eq!(owned, want);
            assert!(seen.into_inner().unwrap().iter().all(|&c| c == 1));
        }
    }

    #[test]
    fn coefficients_evaluate_back_to_trace() {
        let trace = matrix(4, 2, 5);
        let coeffs = coefficients(&trace);
        let w = omega(4);
        for r in 0..16 {
            assert_eq!(eval_coeffs_at(&coeffs, w.exp_u64(r as u64)), trace.row(r));
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let trace = matrix(3, 2, 1);
        assert_eq!(
            lde(&trace, 5),
            Err(PolyError::BadBlowup {
                log_blowup: 5,
                max: 4
            })
        );
        let three_rows = RowMajor::new(vec![F::ONE; 6], 2).unwrap();
        assert_eq!(
            lde(&three_rows, 1),
            Err(PolyError::HeightNotPowerOfTwo { height: 3 })
        );
        let empty = RowMajor::new(vec![], 2).unwrap();
        assert!(lde(&empty, 1).is_err());
        let broken = RowMajor {
            values: vec![F::ONE; 5],
            width: 2,
        };
        assert!(lde(&broken, 1).is_err());
        assert!(interpolate(&matrix(1, 1, 0), 2).is_err());
        assert_eq!(
            RowMajor::new(vec![F::ONE; 3], 2),
            Err(PolyError::RaggedMatrix { len: 3, width: 2 })
        );
        assert_eq!(RowMajor::new(vec![], 0), Err(PolyError::ZeroWidth));
    }
}
