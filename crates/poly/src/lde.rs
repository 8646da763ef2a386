//! Coset LDE, interpolation and coefficient forms (PROTOCOL.md §2), on top of p3-dft's
//! parallel radix-2 DIT. p3's coset LDE returns a view whose *storage* is bit-reversed; taking
//! that storage (`bit_reverse_rows()` on the view is free) gives PROTOCOL.md's layout directly.

use std::mem::MaybeUninit;
use std::sync::{Mutex, OnceLock};

use p3_dft::{Radix2DFTSmallBatch, Radix2DitParallel, TwoAdicSubgroupDft};
use p3_matrix::Matrix;
use p3_matrix::bitrev::BitReversibleMatrix;
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixView};
use p3_matrix::util::reverse_matrix_index_bits;
use rayon::prelude::*;
use rstark_field::{F, GENERATOR, PrimeCharacteristicRing, TWO_ADICITY, omega};

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
/// number of rows starting at an even row when the output has ≥ 2 rows). On the wide parallel
/// path a block is handed over as soon as the DFT has finished it, while it is still in cache
/// (the CPU backend hashes its Merkle leaves there); otherwise — the narrow path, and the
/// column-strip path of wide tall traces (see [`strip_width`]; rows are complete only after the
/// last strip) — the finished output is handed over in blocks of 128 rows. Calls come from
/// several threads at once and in any order.
pub fn lde_with_blocks(
    trace: &RowMajor,
    log_blowup: usize,
    consume: &(dyn Fn(usize, &[F]) + Sync),
) -> Result<RowMajor, PolyError> {
    lde_with_blocks_strips(trace, log_blowup, consume, None)
}

/// [`lde_with_blocks`] with the strip width given as `RSTARK_LDE_STRIP`'s value would give it
/// (`None`: from the environment / automatic; see [`strip_width`]).
fn lde_with_blocks_strips(
    trace: &RowMajor,
    log_blowup: usize,
    consume: &(dyn Fn(usize, &[F]) + Sync),
    forced_strip: Option<usize>,
) -> Result<RowMajor, PolyError> {
    let log_n = check_lde(trace, log_blowup)?;
    let width = trace.width;
    // p3 hands over blocks of 2^(log_n − ⌈log_n/2⌉) rows: at least a row pair from log_n = 2.
    if log_n < 2 || width <= SMALL_BATCH_LDE_MAX_WIDTH {
        let out = lde_checked(trace.clone(), log_n, log_blowup);
        consume_in_parallel(&out, consume);
        return Ok(out);
    }
    if let Some(strip) = strip_width(log_n, width, forced_strip) {
        // The strips are gathered from the borrowed trace: no copy of it is made.
        let mut values = Vec::with_capacity(trace.values.len() << log_blowup);
        populate_spare_capacity(&mut values);
        let out = strip_lde(
            values,
            Some(&trace.values),
            width,
            log_n,
            log_blowup,
            strip,
            true,
        );
        consume_in_parallel(&out, consume);
        return Ok(out);
    }
    let mut values = Vec::with_capacity(trace.values.len() << log_blowup);
    par_extend_from_slice(&mut values, &trace.values);
    populate_spare_capacity(&mut values);
    Ok(wide_lde_with_blocks(values, width, log_blowup, consume))
}

/// [`lde_with_blocks`] of a trace the caller no longer needs: its buffer grows into the output
/// (for a large trace the allocator remaps it in place), so the trace is neither copied nor
/// freed.
pub fn lde_with_blocks_owned(
    trace: RowMajor,
    log_blowup: usize,
    consume: &(dyn Fn(usize, &[F]) + Sync),
) -> Result<RowMajor, PolyError> {
    lde_with_blocks_owned_strips(trace, log_blowup, consume, None)
}

/// [`lde_with_blocks_owned`] with the strip width forced as in [`lde_with_blocks_strips`].
fn lde_with_blocks_owned_strips(
    trace: RowMajor,
    log_blowup: usize,
    consume: &(dyn Fn(usize, &[F]) + Sync),
    forced_strip: Option<usize>,
) -> Result<RowMajor, PolyError> {
    let log_n = check_lde(&trace, log_blowup)?;
    let width = trace.width;
    if log_n < 2 || width <= SMALL_BATCH_LDE_MAX_WIDTH {
        let out = lde_checked(trace, log_n, log_blowup);
        consume_in_parallel(&out, consume);
        return Ok(out);
    }
    let mut values = trace.values;
    let extra = (values.len() << log_blowup) - values.len();
    values.reserve_exact(extra);
    populate_spare_capacity(&mut values);
    if let Some(strip) = strip_width(log_n, width, forced_strip) {
        let out = strip_lde(values, None, width, log_n, log_blowup, strip, true);
        consume_in_parallel(&out, consume);
        return Ok(out);
    }
    Ok(wide_lde_with_blocks(values, width, log_blowup, consume))
}

/// Bytes of one chunk of a strip's first DFT half (2^⌈log_n/2⌉ rows of the strip) that the
/// automatic strip width aims at: well inside a core's L2 (1–2 MiB on current servers).
const STRIP_CHUNK_BYTES: usize = 512 << 10;

/// Narrowest and widest automatic strips. Widths are multiples of 8 (two AVX2 vectors of the
/// packed field per row, whole 64-byte lines of a strip row).
const MIN_STRIP: usize = 8;
const MAX_STRIP: usize = 256;

/// The automatic strip path is taken when the whole matrix's first-half chunk (2^⌈log_n/2⌉ rows
/// of all columns) is at least this large: far beyond a core's L2 and its share of L3 on a
/// 16-core host, where each of p3's layers streams through DRAM. Below it the whole matrix's
/// chunks are served by the caches and the strips' gather and scatter only cost. Measured on the
/// 16-core H200 host (PERF.md, session 12), keccak's 2633 columns: strips lost at 2^16 and 2^17
/// rows (5.4 and 10.8 MB chunks; commit +5%) and won at 2^19 (21.6 MB; commit −13%).
const WHOLE_CHUNK_MIN_BYTES: usize = 16 << 20;

/// The strip width of the wide LDE path for a trace of 2^log_n rows and `width` columns, or
/// `None` for p3's LDE of the whole matrix. `RSTARK_LDE_STRIP` overrides the choice (for
/// measurement): `0` = the whole matrix, `S` > 0 = strips of S columns (the whole matrix when
/// S ≥ width); unset or not a number = the automatic choice.
/// `forced` (tests) takes the place of the variable's value.
fn strip_width(log_n: usize, width: usize, forced: Option<usize>) -> Option<usize> {
    let forced = forced.or_else(|| {
        std::env::var("RSTARK_LDE_STRIP")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    match forced {
        Some(0) => None,
        Some(s) => (s < width).then_some(s),
        None => auto_strip_width(log_n, width),
    }
}

/// The automatic strip width: the widest whose first-half chunk fits [`STRIP_CHUNK_BYTES`],
/// between [`MIN_STRIP`] and [`MAX_STRIP`], then evened out over the strips it makes (so the
/// last strip is not a sliver) and rounded up to a multiple of 8.
fn auto_strip_width(log_n: usize, width: usize) -> Option<usize> {
    let chunk_rows = 1usize << log_n.div_ceil(2);
    if chunk_rows
        .saturating_mul(width)
        .saturating_mul(size_of::<F>())
        < WHOLE_CHUNK_MIN_BYTES
    {
        return None;
    }
    let target = (STRIP_CHUNK_BYTES / (chunk_rows * size_of::<F>())).clamp(MIN_STRIP, MAX_STRIP)
        / MIN_STRIP
        * MIN_STRIP;
    if width < 2 * target {
        return None;
    }
    let strips = width.div_ceil(target);
    Some(width.div_ceil(strips).next_multiple_of(MIN_STRIP))
}

/// Rows per task of a strip gather.
const GATHER_ROWS: usize = 64;

/// The wide LDE in column strips: for each strip of `strip` columns (the last one narrower),
/// its N trace rows are gathered into one contiguous strip buffer, p3's coset LDE runs on that
/// (its chunks then fit a core's cache), and the strip's N·B output rows are written into the
/// output at the same row indices as p3 finishes them. Every value equals the whole matrix's
/// LDE: the DFT is exact and column by column.
///
/// `values` is the output buffer, with room for all N·B rows. It holds either the trace itself
/// (`trace` = `None`; the output overwrites it in place: a strip's columns are gathered before
/// its output is written, and strips are disjoint columns) or nothing (`trace` = the trace).
/// Memory: the output plus one strip buffer of N·B·strip elements, reused by every strip.
/// `fused` = false (tests) leaves the consumer idle, so every block takes the copy after the
/// strip's LDE.
fn strip_lde(
    mut values: Vec<F>,
    trace: Option<&[F]>,
    width: usize,
    log_n: usize,
    log_blowup: usize,
    strip: usize,
    fused: bool,
) -> RowMajor {
    let n = 1usize << log_n;
    let rows = n << log_blowup;
    let total = rows * width;
    assert!(strip > 0 && values.capacity() >= total);
    assert!(match trace {
        Some(t) => t.len() == n * width,
        None => values.len() == n * width,
    });
    // p3's blocks: sub-DFTs of the second half, 2^(log_n − ⌈log_n/2⌉) rows each.
    let block_rows = 1usize << (log_n - log_n.div_ceil(2));
    let mut strip_buf: Vec<F> = Vec::with_capacity(rows * strip.min(width));
    populate_spare_capacity(&mut strip_buf);
    for c0 in (0..width).step_by(strip) {
        let s = strip.min(width - c0);
        let _span = tracing::debug_span!("lde strip", first_col = c0, cols = s).entered();
        // Gather the strip's trace columns.
        {
            let src: &[F] = match trace {
                Some(t) => t,
                None => &values[..n * width],
            };
            if strip_buf.len() < n * s {
                strip_buf.par_extend(rayon::iter::repeat_n(F::ZERO, n * s - strip_buf.len()));
            }
            strip_buf.truncate(n * s);
            strip_buf
                .par_chunks_mut(GATHER_ROWS * s)
                .zip(src.par_chunks(GATHER_ROWS * width))
                .for_each(|(dst, src)| {
                    for (d, r) in dst.chunks_exact_mut(s).zip(src.chunks_exact(width)) {
                        d.copy_from_slice(&r[c0..c0 + s]);
                    }
                });
        }
        // The output's rows in blocks of p3's block height, each written by the block's
        // consumer (`true` once written) while the block is still in cache.
        let chunks: Vec<Mutex<OutputBlock<'_>>> = whole_capacity(&mut values)[..total]
            .chunks_mut(block_rows * width)
            .map(|c| Mutex::new((false, c)))
            .collect();
        let chunks_ref = &chunks;
        let mat = RowMajorMatrix::new(std::mem::take(&mut strip_buf), s);
        strip_buf = dft()
            .coset_lde_batch_with_blocks(
                mat,
                log_blowup,
                GENERATOR,
                |_, _| {},
                |height| {
                    move |first_row: usize, block: RowMajorMatrixView<'_, F>| {
                        // Anything but the expected whole blocks is copied after the LDE.
                        if !fused
                            || height != block_rows
                            || block.width() != s
                            || block.height() != block_rows
                            || !first_row.is_multiple_of(block_rows)
                        {
                            return;
                        }
                        let Some(Ok(mut chunk)) =
                            chunks_ref.get(first_row / block_rows).map(|c| c.lock())
                        else {
                            return;
                        };
                        let (written, dst) = &mut *chunk;
                        scatter_rows(dst, block.values, width, c0, s);
                        *written = true;
                    }
                },
            )
            .bit_reverse_rows()
            .values;
        // Blocks the consumer did not write (none expected) are copied from the strip's output.
        chunks.into_par_iter().enumerate().for_each(|(i, chunk)| {
            let (written, dst) = chunk.into_inner().unwrap_or_else(|e| e.into_inner());
            if !written {
                let first = i * block_rows * s;
                scatter_rows(dst, &strip_buf[first..first + block_rows * s], width, c0, s);
            }
        });
    }
    // SAFETY: every strip wrote columns c0..c0 + s of all `rows` rows (in its blocks' consumer
    // or in the copy after its LDE), the strips cover columns 0..width, and the capacity is
    // at least rows·width (asserted above).
    unsafe { values.set_len(total) };
    RowMajor { values, width }
}

/// Rows of the strip LDE's output, and whether a strip's block has been written there.
type OutputBlock<'a> = (bool, &'a mut [MaybeUninit<F>]);

/// Writes `src` (rows of `s` values) into columns c0..c0 + s of the rows of `dst` (rows of
/// `width` values), row by row, as many rows as both hold.
fn scatter_rows(dst: &mut [MaybeUninit<F>], src: &[F], width: usize, c0: usize, s: usize) {
    for (d, r) in dst.chunks_exact_mut(width).zip(src.chunks_exact(s)) {
        for (d, &v) in d[c0..c0 + s].iter_mut().zip(r) {
            d.write(v);
        }
    }
}

/// All of `values`' capacity as possibly uninitialised elements: its initialised prefix and
/// its spare capacity together, for writes across both.
fn whole_capacity(values: &mut Vec<F>) -> &mut [MaybeUninit<F>] {
    let cap = values.capacity();
    // SAFETY: the allocation holds `cap` elements of F, the first len() initialised; an
    // initialised F is a valid MaybeUninit<F> and the slice's users only write initialised
    // values (`MaybeUninit::write`), so the prefix stays initialised. F is Copy (no drop is
    // skipped), and the slice borrows `values` mutably for its whole life.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<MaybeUninit<F>>(), cap) }
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

/// The wide parallel path of [`lde_with_blocks`]: `values` holds the trace (≥ 4 rows), with
/// room for the whole output.
fn wide_lde_with_blocks(
    values: Vec<F>,
    width: usize,
    log_blowup: usize,
    consume: &(dyn Fn(usize, &[F]) + Sync),
) -> RowMajor {
    // Blocks of an odd height (not expected, see above) are passed on at the end instead.
    let odd_blocks = std::cell::Cell::new(false);
    let out = dft()
        .coset_lde_batch_with_blocks(
            RowMajorMatrix::new(values, width),
            log_blowup,
            GENERATOR,
            |_, _| {},
            |block_height| {
                let odd = !block_height.is_multiple_of(2);
                odd_blocks.set(odd);
                move |first_row: usize, block: RowMajorMatrixView<'_, F>| {
                    if !odd {
                        consume(first_row, block.values);
                    }
                }
            },
        )
        .bit_reverse_rows();
    let out = RowMajor {
        values: out.values,
        width,
    };
    if odd_blocks.get() {
        consume_in_parallel(&out, consume);
    }
    out
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
        for (log_n, log_b, width) in [
            (0, 1, 9),
            (1, 1, 9),
            (2, 1, 9),
            (5, 1, 3),
            (7, 1, 16),
            (8, 2, 33),
        ] {
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
    fn strip_lde_equals_whole_matrix_lde() {
        use std::sync::Mutex;
        // Widths divisible by the strip width and not; strips of 1 and 3 columns too.
        for log_n in [2, 3, 4, 5, 8, 9] {
            for width in [9, 16, 17, 40, 61] {
                for log_b in 0..=MAX_LOG_BLOWUP {
                    let trace = matrix(log_n, width, 100 * log_n as u64 + width as u64);
                    let want = lde(&trace, log_b).unwrap();
                    let whole =
                        lde_with_blocks_owned_strips(trace.clone(), log_b, &|_, _| {}, Some(0))
                            .unwrap();
                    assert_eq!(whole, want);
                    for strip in [1, 3, 8, 16, 24] {
                        let case =
                            format!("log_n {log_n} width {width} log_b {log_b} strip {strip}");
                        let rows = want.height();
                        let check = |seen: &Mutex<Vec<u32>>, first: usize, block: &[F]| {
                            assert_eq!(block.len() % width, 0, "{case}");
                            let k = block.len() / width;
                            assert!(first.is_multiple_of(2) && k.is_multiple_of(2), "{case}");
                            assert_eq!(block, &want.values[first * width..(first + k) * width]);
                            for c in &mut seen.lock().unwrap()[first..first + k] {
                                *c += 1;
                            }
                        };
                        // the borrowed trace, then the owned one (its buffer becomes the output)
                        for owned in [false, true] {
                            let seen = Mutex::new(vec![0u32; rows]);
                            let consume = |f, b: &[F]| check(&seen, f, b);
                            let got = if owned {
                                lde_with_blocks_owned_strips(
                                    trace.clone(),
                                    log_b,
                                    &consume,
                                    Some(strip),
                                )
                            } else {
                                lde_with_blocks_strips(&trace, log_b, &consume, Some(strip))
                            };
                            assert_eq!(got.unwrap(), want, "{case} owned {owned}");
                            let seen = seen.into_inner().unwrap();
                            assert!(seen.iter().all(|&c| c == 1), "{case} owned {owned}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn strip_lde_copy_after_the_dft_equals_the_fused_scatter() {
        for (log_n, width, log_b, strip) in [(2, 9, 1, 4), (5, 17, 2, 8), (8, 40, 3, 16)] {
            let trace = matrix(log_n, width, 7 + width as u64);
            let want = lde(&trace, log_b).unwrap();
            let mut values = trace.values.clone();
            values.reserve_exact(values.len() * ((1 << log_b) - 1));
            assert_eq!(
                strip_lde(values, None, width, log_n, log_b, strip, false),
                want
            );
            let values = Vec::with_capacity(trace.values.len() << log_b);
            let got = strip_lde(
                values,
                Some(&trace.values),
                width,
                log_n,
                log_b,
                strip,
                false,
            );
            assert_eq!(got, want);
        }
    }

    #[test]
    fn automatic_strip_widths() {
        // Small heights and narrow traces keep the whole-matrix path: keccak (2633 columns) up
        // to 2^18 rows (chunks of 512 rows, 10.8 MB).
        for log_n in 10..=18 {
            assert_eq!(auto_strip_width(log_n, 2633), None);
        }
        assert_eq!(auto_strip_width(16, 9), None);
        assert_eq!(auto_strip_width(22, 9), None);
        for log_n in 19..=22 {
            let s = auto_strip_width(log_n, 2633).unwrap();
            assert!(s.is_multiple_of(MIN_STRIP) && (MIN_STRIP..=MAX_STRIP).contains(&s));
            assert!(s < 2633);
        }
        // Keccak at 2^19 (chunks of 1024 rows): strips of 64; a 4× wider trace at 2^16 (chunks
        // of 256 rows, 21.6 MB): strips of 256.
        assert_eq!(auto_strip_width(19, 2633), Some(64));
        assert_eq!(auto_strip_width(16, 4 * 2633), Some(256));
        // Forced values: 0 = whole matrix, S ≥ width = whole matrix.
        assert_eq!(strip_width(16, 2633, Some(0)), None);
        assert_eq!(strip_width(16, 2633, Some(5000)), None);
        assert_eq!(strip_width(16, 2633, Some(32)), Some(32));
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
