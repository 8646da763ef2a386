//! Out-of-domain evaluation of columns by the barycentric formula over a coset s·H,
//! H = ⟨ω_n⟩, N = 2^n points x_i:
//! p(z) = (z^N − s^N)/(N·s^N) · Σ_i f_i · x_i/(z − x_i).
//! Used on a natural-order trace (s = 1) and on the first N rows of an LDE (s = g, bit-reversed).

use rayon::prelude::*;
use rstark_field::{
    EF, F, Field, GENERATOR, PrimeCharacteristicRing, PrimeField64, batch_multiplicative_inverse,
    ef_from_base, ef_to_base, omega,
};

use crate::lanes;
use crate::wide::Wide;
use crate::{PolyError, RowMajor, bit_reverse};

const CHUNK_ROWS: usize = 1 << 12;

/// Evaluates every column of a natural-order trace (values on H) at `z`, in parallel.
/// If `z` lies in H the matching row is returned exactly.
///
/// # Panics
/// If the trace's height is not a power of two or its shape is ragged;
/// [`try_eval_columns_at`] returns an error instead.
pub fn eval_columns_at(trace: &RowMajor, z: EF) -> Vec<EF> {
    try_eval_columns_at(trace, z).unwrap_or_else(|e| panic!("eval_columns_at: {e}"))
}

/// [`eval_columns_at`], rejecting a zero width, a ragged matrix or a height that is not a
/// power of two (or above 2^32).
pub fn try_eval_columns_at(trace: &RowMajor, z: EF) -> Result<Vec<EF>, PolyError> {
    let log_n = trace.log_height()?;
    if log_n > rstark_field::TWO_ADICITY {
        return Err(PolyError::DomainTooLarge { log_size: log_n });
    }
    let w = omega(log_n);
    let natural = |start: usize, count: usize| {
        let mut x = w.exp_u64(start as u64);
        (0..count)
            .map(|_| {
                let cur = x;
                x *= w;
                cur
            })
            .collect::<Vec<F>>()
    };
    Ok(eval_on_coset(
        &trace.values,
        trace.width,
        log_n,
        F::ONE,
        z,
        natural,
    ))
}

/// Evaluates every column of an LDE (PROTOCOL.md §2 layout, blowup 2^log_blowup) at `z`, from
/// its first N rows — the values on the coset g·H in bit-reversed order — without going back to
/// the trace. If `z` lies in g·H the matching row is returned exactly.
pub fn eval_lde_columns_at(lde: &RowMajor, log_blowup: usize, z: EF) -> Result<Vec<EF>, PolyError> {
    let [at_z] = eval_lde_columns_at_points(lde, log_blowup, [z])?;
    Ok(at_z)
}

/// [`eval_lde_columns_at`] at K points in one pass over the rows (the out-of-domain values at z
/// and z·ω read the LDE's prefix once, not twice). The same values as K separate calls.
pub fn eval_lde_columns_at_points<const K: usize>(
    lde: &RowMajor,
    log_blowup: usize,
    zs: [EF; K],
) -> Result<[Vec<EF>; K], PolyError> {
    let log_m = lde.log_height()?;
    if log_blowup > crate::MAX_LOG_BLOWUP {
        return Err(PolyError::BadBlowup {
            log_blowup,
            max: crate::MAX_LOG_BLOWUP,
        });
    }
    if log_m < log_blowup {
        return Err(PolyError::LdeTooShort {
            height: lde.height(),
            log_blowup,
        });
    }
    let log_n = log_m - log_blowup;
    if log_n > rstark_field::TWO_ADICITY {
        return Err(PolyError::DomainTooLarge { log_size: log_n });
    }
    let n = 1usize << log_n;
    // ω^i for i < N, so that row j's point g·ω^{bitrev(j)} is a table look-up.
    let w = omega(log_n);
    let mut powers = vec![F::ONE; n];
    powers
        .par_chunks_mut(CHUNK_ROWS)
        .enumerate()
        .for_each(|(c, out)| {
            let mut x = w.exp_u64((c * CHUNK_ROWS) as u64);
            for o in out {
                *o = x;
                x *= w;
            }
        });
    let bitrev_coset = |start: usize, count: usize| {
        (start..start + count)
            .map(|j| GENERATOR * powers[bit_reverse(j, log_n)])
            .collect::<Vec<F>>()
    };
    Ok(eval_on_coset_points(
        &lde.values[..n * lde.width],
        lde.width,
        log_n,
        GENERATOR,
        zs,
        bitrev_coset,
    ))
}

/// p(z) for each column of the N = 2^log_n rows in `values`, row i holding the value at
/// `points(i, 1)[0]`, all points forming the coset shift·H. `points(start, count)` lists the
/// points of rows start … start + count − 1.
fn eval_on_coset(
    values: &[F],
    width: usize,
    log_n: usize,
    shift: F,
    z: EF,
    points: impl Fn(usize, usize) -> Vec<F> + Sync,
) -> Vec<EF> {
    let [at_z] = eval_on_coset_points(values, width, log_n, shift, [z], points);
    at_z
}

/// [`eval_on_coset`] at K points, in one pass over `values`.
fn eval_on_coset_points<const K: usize>(
    values: &[F],
    width: usize,
    log_n: usize,
    shift: F,
    zs: [EF; K],
    points: impl Fn(usize, usize) -> Vec<F> + Sync,
) -> [Vec<EF>; K] {
    let n = 1usize << log_n;
    let shift_n = shift.exp_power_of_2(log_n);
    // A point of the coset: the formula divides by zero, the answer is that row.
    let mut exact: [Option<Vec<EF>>; K] = std::array::from_fn(|_| None);
    let mut all_points: Option<Vec<F>> = None;
    for (k, z) in zs.iter().enumerate() {
        if z.exp_power_of_2(log_n) == EF::from(shift_n) {
            let xs = all_points.get_or_insert_with(|| points(0, n));
            if let Some(r) = xs.iter().position(|&x| EF::from(x) == *z) {
                exact[k] = Some(
                    values[r * width..(r + 1) * width]
                        .iter()
                        .map(|&v| EF::from(v))
                        .collect(),
                );
            }
        }
    }
    drop(all_points);
    // The other points' sums (an exact point gets weight 0 here: its sum is not used).
    let summed: Vec<usize> = (0..K).filter(|&k| exact[k].is_none()).collect();
    let chunk_rows = sum_chunk_rows(n, width);
    let sums: Vec<[EF; K]> = if summed.is_empty() {
        Vec::new()
    } else {
        values
            .par_chunks(chunk_rows * width)
            .enumerate()
            .map(|(chunk, rows)| {
                let count = rows.len() / width;
                let xs = points(chunk * chunk_rows, count);
                // weights[i][k] = x_i/(z_k − x_i) as canonical integers.
                let mut weights = vec![[[0u64; 3]; K]; count];
                for &k in &summed {
                    let denoms: Vec<EF> = xs.iter().map(|&x| zs[k] - x).collect();
                    let inv = batch_multiplicative_inverse(&denoms);
                    for ((w, d), x) in weights.iter_mut().zip(&inv).zip(&xs) {
                        w[k] = ef_to_base(*d * *x).map(|c| c.as_canonical_u64());
                    }
                }
                weighted_column_sums(rows, width, &weights)
            })
            .reduce(
                || vec![[EF::ZERO; K]; width],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        for (x, y) in x.iter_mut().zip(y) {
                            *x += y;
                        }
                    }
                    a
                },
            )
    };
    std::array::from_fn(|k| {
        if let Some(row) = exact[k].take() {
            return row;
        }
        let z_n = zs[k].exp_power_of_2(log_n);
        let scale = (z_n - EF::from(shift_n)) * (F::from_usize(n) * shift_n).inverse();
        sums.iter().map(|s| s[k] * scale).collect()
    })
}

/// Σ_i weights[i][k]·rows[i][c] for every column c and point k, summed exactly and reduced
/// once. Row by row: each value is read once for all K points, and the K·3 products per value
/// go to independent accumulators (a column-by-column loop, whose accumulators would sit in
/// registers, measured 1.2-1.6× slower: one long carry chain per accumulator).
fn weighted_column_sums<const K: usize>(
    rows: &[F],
    width: usize,
    weights: &[[[u64; 3]; K]],
) -> Vec<[EF; K]> {
    weighted_column_sums_lanes(rows, width, weights)
        .unwrap_or_else(|| weighted_column_sums_wide(rows, width, weights))
}

/// [`weighted_column_sums`] on the integer units ([`Wide`] accumulators): the fallback without
/// AVX2.
fn weighted_column_sums_wide<const K: usize>(
    rows: &[F],
    width: usize,
    weights: &[[[u64; 3]; K]],
) -> Vec<[EF; K]> {
    let mut acc = vec![[[Wide::ZERO; 3]; K]; width];
    for (row, w) in rows.chunks_exact(width).zip(weights) {
        for (a, v) in acc.iter_mut().zip(row) {
            let v = v.as_canonical_u64();
            for (a, w) in a.iter_mut().zip(w) {
                a[0].add_product(w[0], v);
                a[1].add_product(w[1], v);
                a[2].add_product(w[2], v);
            }
        }
    }
    acc.iter()
        .map(|a| {
            std::array::from_fn(|k| {
                ef_from_base([a[k][0].reduce(), a[k][1].reduce(), a[k][2].reduce()])
            })
        })
        .collect()
}

/// [`weighted_column_sums`] on the vector lanes ([`crate::lanes`]): four columns at a time, one
/// pass per weight coordinate (3K passes). The rows are taken [`LANE_TILE`] at a time and copied
/// into four-column blocks (read in order, so the copy streams); each block and coordinate
/// then adds to its [`lanes::Block`], reduced every [`lanes::BLOCK_TERMS`] rows. `None` when
/// the lanes are not compiled in.
fn weighted_column_sums_lanes<const K: usize>(
    rows: &[F],
    width: usize,
    weights: &[[[u64; 3]; K]],
) -> Option<Vec<[EF; K]>> {
    if !lanes::ENABLED || width == 0 {
        return None;
    }
    let count = weights.len().min(rows.len() / width);
    let groups = width.div_ceil(4);
    let coords = 3 * K;
    // sums / acc[g·3K + t]: columns 4g … 4g + 3, coordinate t = 3k + j of point k's weight.
    let mut sums = vec![[F::ZERO; 4]; groups * coords];
    let mut acc = vec![lanes::Block::default(); groups * coords];
    // block[g·LANE_TILE + i]: columns 4g … 4g + 3 of the tile's row i.
    let mut block = vec![[0u64; 4]; groups * LANE_TILE];
    // limbs[(3t + j)·LANE_TILE + i]: limb j of row i's coordinate t, in all four lanes.
    let mut limbs = vec![[0u64; 4]; coords * 3 * LANE_TILE];
    let per_block = lanes::BLOCK_TERMS;
    let pieces = rows[..count * width]
        .chunks(per_block * width)
        .zip(weights[..count].chunks(per_block));
    for (piece, piece_weights) in pieces {
        acc.fill(lanes::Block::default());
        let tiles = piece
            .chunks(LANE_TILE * width)
            .zip(piece_weights.chunks(LANE_TILE));
        for (tile, tile_weights) in tiles {
            let h = tile_weights.len();
            fill_blocks(&mut block, tile, width);
            fill_limbs(&mut limbs, tile_weights);
            for (g, acc) in acc.chunks_exact_mut(coords).enumerate() {
                let values = &block[g * LANE_TILE..g * LANE_TILE + h];
                let limbs = |t: usize| {
                    std::array::from_fn(|j| {
                        let at = (3 * t + j) * LANE_TILE;
                        &limbs[at..at + h]
                    })
                };
                // Two coordinates per pass (one load of the values for both).
                let (pairs, rest) = acc.as_chunks_mut::<2>();
                for (p, pair) in pairs.iter_mut().enumerate() {
                    lanes::add_products_pair(pair, values, [limbs(2 * p), limbs(2 * p + 1)])?;
                }
                if let Some(last) = rest.first_mut() {
                    lanes::add_products(last, values, limbs(coords - 1))?;
                }
            }
        }
        for (s, a) in sums.iter_mut().zip(&acc) {
            for (s, x) in s.iter_mut().zip(a.reduce()) {
                *s += x;
            }
        }
    }
    let mut out = Vec::with_capacity(width);
    for (g, s) in sums.chunks_exact(coords).enumerate() {
        let lanes = (width - 4 * g).min(4);
        out.extend((0..lanes).map(|l| {
            std::array::from_fn(|k| ef_from_base([s[3 * k][l], s[3 * k + 1][l], s[3 * k + 2][l]]))
        }));
    }
    Some(out)
}

/// The limbs of each row's weight coordinates, broadcast to four lanes (see
/// [`weighted_column_sums_lanes`]).
fn fill_limbs<const K: usize>(limbs: &mut [[u64; 4]], weights: &[[[u64; 3]; K]]) {
    for (i, w) in weights.iter().enumerate() {
        for t in 0..3 * K {
            for (j, limb) in lanes::limbs(w[t / 3][t % 3]).into_iter().enumerate() {
                limbs[(3 * t + j) * LANE_TILE + i] = [limb; 4];
            }
        }
    }
}

/// Rows per tile of the lanes: the tile's copy (rows × width × 8 bytes, 670 KB for keccak's
/// 2633 columns) stays in L2 while its blocks are summed.
const LANE_TILE: usize = 32;

/// Copies each row of `tile` into `block` (see [`weighted_column_sums_lanes`]) as canonical
/// integers, zero past the last column.
fn fill_blocks(block: &mut [[u64; 4]], tile: &[F], width: usize) {
    for (i, row) in tile.chunks_exact(width).enumerate() {
        let (full, rest) = row.split_at(width / 4 * 4);
        for (g, c) in full.chunks_exact(4).enumerate() {
            block[g * LANE_TILE + i] = std::array::from_fn(|l| c[l].as_canonical_u64());
        }
        if !rest.is_empty() {
            block[(width / 4) * LANE_TILE + i] =
                std::array::from_fn(|l| rest.get(l).map_or(0, |v| v.as_canonical_u64()));
        }
    }
}

/// Rows per task of the barycentric sums: at least 4 tasks per thread (16 threads get 64 tasks
/// for 2^16 rows; 4096-row tasks gave them one each, so one slow thread held up the phase), at
/// most 4096 rows, and at least ~2^18 elements so a task's accumulators (3 wide words per
/// column) are small next to its rows.
fn sum_chunk_rows(n: usize, width: usize) -> usize {
    let per_thread = n / (4 * rayon::current_num_threads()).max(1);
    let min_rows = ((1usize << 18) / width.max(1)).max(16);
    per_thread.clamp(min_rows.min(CHUNK_ROWS), CHUNK_ROWS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{coefficients, golden};

    #[test]
    fn matches_horner_on_coefficients() {
        for log_n in [0, 1, 3, 13] {
            let trace = golden::matrix(log_n, 3, 77 + log_n as u64);
            let coeffs = coefficients(&trace);
            let z = ef_from_base([F::new(123), F::new(456), F::new(789)]);
            let got = eval_columns_at(&trace, z);
            for (c, value) in got.iter().enumerate() {
                let mut acc = EF::ZERO;
                for r in (0..trace.height()).rev() {
                    acc = acc * z + coeffs.row(r)[c];
                }
                assert_eq!(*value, acc, "log_n {log_n} column {c}");
            }
            // A point of H returns its row.
            let k = trace.height() / 2;
            let zk = EF::from(omega(log_n).exp_u64(k as u64));
            let row: Vec<EF> = trace.row(k).iter().map(|&v| EF::from(v)).collect();
            assert_eq!(eval_columns_at(&trace, zk), row);
        }
    }

    #[test]
    fn points_in_one_pass_match_one_at_a_time() {
        // Narrow and wide matrices, heights with one and several tasks.
        for (log_n, log_b, width) in [(0, 1, 3), (2, 1, 1), (5, 2, 64), (8, 1, 65), (13, 1, 150)] {
            let trace = golden::matrix(log_n, width, 9 + log_n as u64);
            let ext = crate::lde(&trace, log_b).unwrap();
            let z = ef_from_base([F::new(5), F::new(1 << 33), F::new(91)]);
            let zw = z * omega(log_n);
            let one = |z| eval_lde_columns_at(&ext, log_b, z).unwrap();
            assert_eq!(
                eval_lde_columns_at_points(&ext, log_b, [z, zw]).unwrap(),
                [one(z), one(zw)]
            );
            // A point of the coset among them returns its row, the other is summed.
            let x = EF::from(crate::lde_point(usize::from(log_n > 0), log_n + log_b));
            assert_eq!(
                eval_lde_columns_at_points(&ext, log_b, [x, z]).unwrap(),
                [one(x), one(z)]
            );
            assert_eq!(
                eval_lde_columns_at_points(&ext, log_b, [z, x, zw]).unwrap(),
                [one(z), one(x), one(zw)]
            );
            assert_eq!(
                eval_lde_columns_at(&ext, log_b, z).unwrap(),
                eval_columns_at(&trace, z)
            );
        }
    }

    #[test]
    fn lanes_match_wide_sums() {
        let m = F::NEG_ONE;
        // Widths around the four-column blocks and keccak's 2633; heights around LANE_TILE and
        // past lanes::BLOCK_TERMS (several blocks per column).
        for (height, width) in [
            (1, 1),
            (31, 3),
            (32, 4),
            (33, 5),
            (70, 64),
            (65, 65),
            (9, 150),
            (40, 2633),
            (2 * lanes::BLOCK_TERMS + 33, 6),
        ] {
            for extreme in [false, true] {
                let mut rows = golden::elements(height * width, (height * width) as u64);
                let mut ws = golden::elements(height * 6, 7 + width as u64);
                if extreme {
                    rows.fill(m);
                    ws.fill(m);
                }
                let weights: Vec<[[u64; 3]; 2]> = ws
                    .chunks_exact(6)
                    .map(|w| {
                        std::array::from_fn(|k| {
                            std::array::from_fn(|j| w[3 * k + j].as_canonical_u64())
                        })
                    })
                    .collect();
                let wide = weighted_column_sums_wide(&rows, width, &weights);
                let want: Vec<[EF; 2]> = (0..width)
                    .map(|c| {
                        std::array::from_fn(|k| {
                            (0..height)
                                .map(|i| {
                                    let w = weights[i][k].map(F::from_u64);
                                    ef_from_base(w) * rows[i * width + c]
                                })
                                .sum()
                        })
                    })
                    .collect();
                assert_eq!(wide, want, "wide {height}x{width} {extreme}");
                if let Some(got) = weighted_column_sums_lanes(&rows, width, &weights) {
                    assert_eq!(got, want, "lanes {height}x{width} {extreme}");
                }
            }
        }
    }

    #[test]
    fn lde_prefix_evaluation_matches_trace_evaluation() {
        for (log_n, log_b, width) in [(0, 1, 2), (1, 2, 1), (3, 1, 3), (6, 3, 2), (13, 1, 2)] {
            let trace = golden::matrix(log_n, width, 5 + log_n as u64);
            let ext = crate::lde(&trace, log_b).unwrap();
            let z = ef_from_base([F::new(3), F::new(1 << 40), F::new(77)]);
            assert_eq!(
                eval_lde_columns_at(&ext, log_b, z).unwrap(),
                eval_columns_at(&trace, z)
            );
            // A point of the coset g·H (row 1 of the LDE when N > 1) returns that row.
            let j = usize::from(log_n > 0);
            let x = EF::from(crate::lde_point(j, log_n + log_b));
            let row: Vec<EF> = ext.row(j).iter().map(|&v| EF::from(v)).collect();
            assert_eq!(eval_lde_columns_at(&ext, log_b, x).unwrap(), row);
        }
        let ext = golden::matrix(2, 1, 0);
        assert!(eval_lde_columns_at(&ext, 3, EF::ONE).is_err());
        assert!(eval_lde_columns_at_points(&ext, 3, [EF::ONE, EF::TWO]).is_err());
        assert!(eval_lde_columns_at(&ext, 5, EF::ONE).is_err());
    }
}
