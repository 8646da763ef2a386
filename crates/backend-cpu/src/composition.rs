//! Composition polynomial: constraints folded with powers of α, divided by Z_H, on the quotient
//! domain g·⟨ω_{n+d}⟩ (docs/PROTOCOL.md §5.4), then split into D parts and committed.

use p3_field::PackedValue;
use rayon::prelude::*;
use rstark_air::logup::{aux_ext_width, batch_inverse, eval_logup_constraints};
use rstark_air::{Air, FoldCoeffs, PackedF, PackedRowFolder, Selectors};
use rstark_field::{
    EF, F, Field, GENERATOR, PrimeCharacteristicRing, ef_from_base, flatten_ext, omega,
};
use rstark_merkle::MerkleTree;
use rstark_poly::{RowMajor, bit_reverse, interpolate, lde, lde_from_coefficients};
use rstark_protocol::{BackendError, CompositionInputs};

use crate::committed::CpuCommitted;
use crate::util::{coset_coefficients, coset_points, merkle_err};

const CHUNK: usize = 256;

/// Rows of `m`'s polynomials on the quotient domain (2^log_q rows, bit-reversed): a prefix of
/// the LDE when the blowup covers the quotient degree, else a separate extension.
fn quotient_rows(
    m: &CpuCommitted,
    log_q: usize,
    d: usize,
    b: usize,
) -> Result<std::borrow::Cow<'_, [F]>, BackendError> {
    let rows = (1usize << log_q) * m.lde.width;
    if d <= b {
        Ok(std::borrow::Cow::Borrowed(&m.lde.values[..rows]))
    } else {
        let poly_err = |e: rstark_poly::PolyError| BackendError::Poly(e.to_string());
        let trace = interpolate(&m.lde, m.log_blowup).map_err(poly_err)?;
        let ext = lde(&trace, d).map_err(poly_err)?;
        Ok(std::borrow::Cow::Owned(ext.values))
    }
}

pub(crate) fn commit_composition(
    inp: &CompositionInputs<'_, CpuCommitted>,
) -> Result<CpuCommitted, BackendError> {
    let n = inp.log_height;
    let d = inp.log_quotient_degree;
    let b = inp.log_blowup;
    let log_q = n + d;
    let height = 1usize << n;
    if inp.main.lde.height() != height << b {
        return Err(BackendError::BadInput("main LDE height mismatch".into()));
    }
    if [inp.aux, inp.preprocessed]
        .into_iter()
        .flatten()
        .any(|m| m.lde.height() != height << b)
    {
        return Err(BackendError::BadInput(
            "aux or preprocessed LDE height mismatch".into(),
        ));
    }
    let main_q = quotient_rows(inp.main, log_q, d, b)?;
    let aux_q = match inp.aux {
        Some(a) => Some(quotient_rows(a, log_q, d, b)?),
        None => None,
    };
    let prep_q = match inp.preprocessed {
        Some(p) => Some(quotient_rows(p, log_q, d, b)?),
        None => None,
    };
    let rows = QuotientRows {
        main: &main_q,
        main_width: inp.main.lde.width,
        aux: aux_q.as_deref(),
        aux_width: inp.aux.map_or(0, |a| a.lde.width),
        preprocessed: prep_q.as_deref(),
        preprocessed_width: inp.preprocessed.map_or(0, |p| p.lde.width),
    };
    let quotient = quotient_values(inp, &rows)?;
    let parts = split_quotient(&quotient, n, d)?;
    let lde = lde_from_coefficients(&parts, n + b, GENERATOR);
    let tree = MerkleTree::commit(&lde).map_err(merkle_err)?;
    Ok(CpuCommitted {
        lde,
        tree,
        log_blowup: b,
        coefficients: Some(parts),
    })
}

/// One table's main, aux and preprocessed rows on the quotient domain g·⟨ω_{n+d}⟩ (2^{n+d}
/// rows each, bit-reversed order, row-major).
pub struct QuotientRows<'a> {
    pub main: &'a [F],
    pub main_width: usize,
    pub aux: Option<&'a [F]>,
    pub aux_width: usize,
    pub preprocessed: Option<&'a [F]>,
    pub preprocessed_width: usize,
}

/// Q(x) = Σ_i α^i C_i(x) / Z_H(x) at every point of the quotient domain (bit-reversed order),
/// from the rows there (docs/PROTOCOL.md §5.4). Public so that another backend can reuse the
/// CPU evaluation of arbitrary AIRs.
pub fn quotient_values<M: Sync>(
    inp: &CompositionInputs<'_, M>,
    rows: &QuotientRows<'_>,
) -> Result<Vec<EF>, BackendError> {
    let n = inp.log_height;
    let d = inp.log_quotient_degree;
    let log_q = n + d;
    let q_size = 1usize << log_q;
    let num_parts = 1usize << d;
    let height = 1usize << n;
    let main_w = rows.main_width;
    let aux_w = rows.aux_width;
    let aux_ext = aux_w / 3;
    if main_w == 0
        || rows.main.len() != q_size * main_w
        || rows.aux.is_some_and(|a| a.len() != q_size * aux_w)
    {
        return Err(BackendError::BadInput(
            "quotient-domain rows have the wrong shape".into(),
        ));
    }
    // The AIR and the LogUp constraints index the rows by these widths.
    let expected_aux_w = if inp.interactions.is_empty() {
        0
    } else {
        3 * aux_ext_width(inp.interactions.len())
    };
    if main_w != rstark_air::BaseAir::<F>::width(inp.air)
        || rows.aux.map_or(0, |_| aux_w) != expected_aux_w
    {
        return Err(BackendError::BadInput(
            "quotient rows disagree with the AIR's width or its interactions".into(),
        ));
    }
    let prep_w = rows.preprocessed.map_or(0, |_| rows.preprocessed_width);
    if prep_w != rstark_air::BaseAir::<F>::preprocessed_width(inp.air)
        || rows
            .preprocessed
            .is_some_and(|p| p.len() != q_size * prep_w)
    {
        return Err(BackendError::BadInput(
            "preprocessed rows disagree with the AIR's preprocessed width".into(),
        ));
    }
    let periodic = match inp.periodic {
        Some(p) => Some(
            p.on_quotient_domain(n, d)
                .map_err(|e| BackendError::Poly(e.to_string()))?,
        ),
        None => None,
    };
    let per_w = periodic.as_ref().map_or(0, |p| p.width);
    let per_rows = periodic.as_ref().map_or(1, |p| p.height());
    let main_q = rows.main;
    let aux_q = rows.aux;
    let prep_q = rows.preprocessed.unwrap_or_default();
    let points = coset_points(log_q, GENERATOR);
    let w_inv = omega(n).inverse();
    let n_inv = F::from_u64(height as u64).inverse();
    // Z_H(x) = x^N − 1 takes D values on the quotient coset: g^N·ω_d^k − 1.
    let g_n = GENERATOR.exp_power_of_2(n);
    let zh: Vec<F> = (0..num_parts)
        .map(|k| g_n * omega(d).exp_u64(k as u64) - F::ONE)
        .collect();
    let zh_inv: Vec<F> = zh.iter().map(|v| v.inverse()).collect();
    let inv_xm1 = batch_inverse(&points.iter().map(|&x| x - F::ONE).collect::<Vec<_>>());
    let inv_xmw = batch_inverse(&points.iter().map(|&x| x - w_inv).collect::<Vec<_>>());
    let num_air = inp.num_air_constraints.min(inp.alpha_pows.len());
    let air_pows = &inp.alpha_pows[..num_air];
    let logup_pows = &inp.alpha_pows[num_air..];

    let air_coeffs = FoldCoeffs::new(air_pows);
    let lanes = PackedF::WIDTH;
    // Lane l of group m evaluates quotient row j = m·lanes + l (clamped at the end).
    let group_rows =
        |m: usize| -> Lanes { core::array::from_fn(|l| (m * lanes + l).min(q_size - 1)) };

    let mut quotient = vec![EF::ZERO; q_size];
    let order = group_order(log_q, lanes.trailing_zeros() as usize, d);
    let mut slots: Vec<Option<&mut [EF]>> = quotient.chunks_mut(lanes).map(Some).collect();
    let mut groups: Vec<(usize, &mut [EF])> = order
        .iter()
        .map(|&m| (m, slots[m].take().expect("group_order is a permutation")))
        .collect();
    groups
        .par_chunks_mut(CHUNK.div_ceil(lanes))
        .for_each(|chunk| {
            let _s = tracing::info_span!("quotient rows", rows = chunk.len() * lanes).entered();
            let mut local = vec![PackedF::ZERO; main_w];
            let mut next = vec![PackedF::ZERO; main_w];
            let mut prep_local = vec![PackedF::ZERO; prep_w];
            let mut prep_next = vec![PackedF::ZERO; prep_w];
            let mut per = vec![PackedF::ZERO; per_w];
            let mut aux_local = vec![EF::ZERO; aux_ext];
            let mut aux_next = vec![EF::ZERO; aux_ext];
            // No group's rows before the first group.
            let mut next_rows: Lanes = [usize::MAX; PackedF::WIDTH];
            let mut sels = vec![[F::ZERO; 3]; lanes];
            for (m, out) in chunk.iter_mut() {
                let rows = group_rows(*m);
                // The previous group's next rows are often this group's rows (group_order):
                // then its gathered `next` is this group's `local`.
                if rows == next_rows {
                    std::mem::swap(&mut local, &mut next);
                    std::mem::swap(&mut prep_local, &mut prep_next);
                } else {
                    gather(&mut local, main_q, main_w, &rows);
                    gather(&mut prep_local, prep_q, prep_w, &rows);
                }
                next_rows = rows.map(|j| {
                    bit_reverse((bit_reverse(j, log_q) + num_parts) & (q_size - 1), log_q)
                });
                gather(&mut next, main_q, main_w, &next_rows);
                gather(&mut prep_next, prep_q, prep_w, &next_rows);
                for (sel, &j) in sels.iter_mut().zip(&rows) {
                    let zh_j = zh[bit_reverse(j, log_q) & (num_parts - 1)];
                    *sel = [
                        zh_j * inv_xm1[j] * n_inv,
                        zh_j * inv_xmw[j] * w_inv * n_inv,
                        points[j] - w_inv,
                    ];
                }
                if let Some(p) = &periodic {
                    // Quotient row j is the point of natural index bitrev(j) (PeriodicColumns).
                    for (c, v) in per.iter_mut().enumerate() {
                        *v = PackedF::from_fn(|l| {
                            p.values[(bit_reverse(rows[l], log_q) % per_rows) * per_w + c]
                        });
                    }
                }
                let sel = Selectors {
                    is_first_row: PackedF::from_fn(|l| sels[l][0]),
                    is_last_row: PackedF::from_fn(|l| sels[l][1]),
                    is_transition: PackedF::from_fn(|l| sels[l][2]),
                };
                let mut folder =
                    PackedRowFolder::new(&local, &next, inp.public_values, sel, &air_coeffs)
                        .with_preprocessed(&prep_local, &prep_next)
                        .with_periodic(&per);
                Air::<PackedRowFolder<'_>>::eval(inp.air, &mut folder);
                let acc = folder.finish();
                for l in 0..out.len() {
                    let j = rows[l];
                    let nj = next_rows[l];
                    let mut acc = ef_from_base([
                        acc[0].as_slice()[l],
                        acc[1].as_slice()[l],
                        acc[2].as_slice()[l],
                    ]);
                    if let Some(aux) = aux_q {
                        for c in 0..aux_ext {
                            let a = j * aux_w + 3 * c;
                            let b = nj * aux_w + 3 * c;
                            aux_local[c] = ef_from_base([aux[a], aux[a + 1], aux[a + 2]]);
                            aux_next[c] = ef_from_base([aux[b], aux[b + 1], aux[b + 2]]);
                        }
                        let sel_ef = Selectors {
                            is_first_row: EF::from(sels[l][0]),
                            is_last_row: EF::from(sels[l][1]),
                            is_transition: EF::from(sels[l][2]),
                        };
                        let mut idx = 0;
                        eval_logup_constraints(
                            inp.interactions,
                            inp.logup,
                            &main_q[j * main_w..(j + 1) * main_w],
                            &aux_local,
                            &aux_next,
                            &sel_ef,
                            inp.claimed_sum,
                            &mut |c| {
                                if let Some(&a) = logup_pows.get(idx) {
                                    acc += a * c;
                                }
                                idx += 1;
                            },
                        );
                    }
                    let k = bit_reverse(j, log_q);
                    out[l] = acc * zh_inv[k & (num_parts - 1)];
                }
            }
        });

    Ok(quotient)
}

/// The groups of `2^log_lanes` consecutive quotient rows (group m: rows m·2^log_lanes + l), in
/// the order the evaluation takes them. Group m's lanes are the natural indices b + bitrev(l),
/// with base b = bitrev(m·2^log_lanes) below 2^log_q / 2^log_lanes; their next rows (natural
/// index plus 2^d) are the lanes of the group with base b + 2^d. Sorting by (b mod 2^d, b) puts
/// that group right after, so one gather is one group's `next` and the following one's `local`.
fn group_order(log_q: usize, log_lanes: usize, d: usize) -> Vec<usize> {
    if log_q < log_lanes {
        return vec![0];
    }
    let num_groups = 1usize << (log_q - log_lanes);
    let stride = 1usize << d.min(log_q - log_lanes);
    (0..stride)
        .flat_map(|r| (r..num_groups).step_by(stride))
        .map(|b| bit_reverse(b, log_q) >> log_lanes)
        .collect()
}

/// One quotient row per SIMD lane.
type Lanes = [usize; PackedF::WIDTH];

/// Column c of `src` (row-major, `width` columns) at the given rows, one row per lane, into
/// `dst[c]`.
fn gather(dst: &mut [PackedF], src: &[F], width: usize, rows: &Lanes) {
    // The lanes' rows as slices of length `width`, so that the loop needs no bounds checks.
    let rows: [&[F]; PackedF::WIDTH] = core::array::from_fn(|l| &src[rows[l] * width..][..width]);
    for (c, v) in dst.iter_mut().take(width).enumerate() {
        *v = PackedF::from_fn(|l| rows[l][c]);
    }
}

/// Splits the quotient (bit-reversed evaluations on g·⟨ω_{n+d}⟩, degree < N·D) into its D parts:
/// the coefficient matrix with N rows and 3·D columns (part i in columns 3i..3i+2).
pub fn split_quotient(
    quotient: &[EF],
    log_height: usize,
    log_qd: usize,
) -> Result<RowMajor, BackendError> {
    let height = 1usize << log_height;
    let num_parts = 1usize << log_qd;
    if quotient.len() != height * num_parts {
        return Err(BackendError::BadInput("quotient has the wrong size".into()));
    }
    // Coefficients of the quotient (degree < N·D), split into D parts of N coefficients.
    let coeffs = coset_coefficients(&flatten_ext(quotient), 3, GENERATOR);
    let width = 3 * num_parts;
    let mut parts = vec![F::ZERO; height * width];
    parts
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(r, row)| {
            for i in 0..num_parts {
                let src = (i * height + r) * 3;
                row[3 * i..3 * i + 3].copy_from_slice(&coeffs[src..src + 3]);
            }
        });
    Ok(RowMajor {
        values: parts,
        width,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A permutation of the groups in which, away from the chains' ends, each group's next rows
    /// are the following group's rows.
    #[test]
    fn group_order_chains_next_rows() {
        for (log_q, log_lanes, d) in [(10, 2, 1), (9, 2, 2), (6, 0, 1), (3, 2, 2), (1, 2, 1)] {
            let order = group_order(log_q, log_lanes, d);
            let num_groups = (1usize << log_q).div_ceil(1 << log_lanes);
            let mut seen = order.clone();
            seen.sort_unstable();
            assert_eq!(seen, (0..num_groups).collect::<Vec<_>>());
            let next =
                |j: usize| bit_reverse((bit_reverse(j, log_q) + (1 << d)) % (1 << log_q), log_q);
            let shared = order
                .windows(2)
                .filter(|w| {
                    (0..1 << log_lanes)
                        .all(|l| next(w[0] << log_lanes | l) == w[1] << log_lanes | l)
                })
                .count();
            let chains = 1usize << d.min(log_q.saturating_sub(log_lanes));
            assert!(
                shared + chains >= order.len(),
                "{log_q} {log_lanes} {d}: {shared}"
            );
        }
    }
}
