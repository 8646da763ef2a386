//! Verification, round by round in the prover's transcript order (docs/PROTOCOL.md §5).

use std::sync::Arc;

use rstark_air::logup::{LogupChallenges, eval_logup_constraints};
use rstark_air::{Air, Interaction, PointFolder, Table};
use rstark_field::{EF, F, Field, GENERATOR, PrimeCharacteristicRing, omega};
use rstark_merkle::{Digest, LeafOpening, verify_opening};
use rstark_protocol::deep::DeepCoeffs;
use rstark_protocol::domain::{
    coset_point, ext_from_coeff_evals, fold_pair, layer_shift, sample_ood_point, selectors_at,
};
use rstark_protocol::{
    MerkleOpening, Proof, QueryProof, StarkParams, TableProof, TableShape, VerifyingKey,
    absorb_instance, derive_shape,
};

use crate::VerifierError;

/// One table of the statement: its name, AIR and public values. The height comes from the proof
/// (it is bound in the transcript); pin it with [`VerifierTable::with_log_height`] when the
/// statement depends on it (e.g. "the N-th Fibonacci number").
#[derive(Clone)]
pub struct VerifierTable {
    pub name: String,
    pub air: Arc<dyn Table>,
    pub public_values: Vec<F>,
    /// If set, the proof's log2 height of this table must equal it.
    pub log_height: Option<u8>,
}

impl VerifierTable {
    pub fn new(name: impl Into<String>, air: Arc<dyn Table>, public_values: Vec<F>) -> Self {
        Self {
            name: name.into(),
            air,
            public_values,
            log_height: None,
        }
    }

    /// Requires the table to have 2^log_height rows.
    pub fn with_log_height(mut self, log_height: u8) -> Self {
        self.log_height = Some(log_height);
        self
    }
}

/// Decodes and verifies a proof.
pub fn verify_bytes(
    params: &StarkParams,
    tables: &[VerifierTable],
    proof_bytes: &[u8],
) -> Result<(), VerifierError> {
    let proof = Proof::from_bytes(proof_bytes)?;
    verify(params, tables, &proof)
}

/// Decodes and verifies a proof with the statement's verifying key.
pub fn verify_bytes_with_key(
    params: &StarkParams,
    key: &VerifyingKey,
    tables: &[VerifierTable],
    proof_bytes: &[u8],
) -> Result<(), VerifierError> {
    let proof = Proof::from_bytes(proof_bytes)?;
    verify_with_key(params, key, tables, &proof)
}

struct Checked<'a> {
    shape: TableShape,
    interactions: Vec<Interaction>,
    tp: &'a TableProof,
    log_lde: usize,
}

fn check_ood_shapes(shape: &TableShape, tp: &TableProof) -> Result<(), VerifierError> {
    let bad = |what| VerifierError::OodShape {
        table: shape.name.clone(),
        what,
    };
    let o = &tp.ood;
    if o.prep_z.len() != shape.preprocessed_width || o.prep_zw.len() != shape.preprocessed_width {
        return Err(bad("preprocessed columns"));
    }
    if o.main_z.len() != shape.main_width || o.main_zw.len() != shape.main_width {
        return Err(bad("main columns"));
    }
    if o.aux_z.len() != shape.aux_width() || o.aux_zw.len() != shape.aux_width() {
        return Err(bad("aux columns"));
    }
    if o.comp_z.len() != shape.comp_width() {
        return Err(bad("composition columns"));
    }
    Ok(())
}

fn ext_values(base_evals: &[EF]) -> Vec<EF> {
    base_evals
        .chunks_exact(3)
        .map(ext_from_coeff_evals)
        .collect()
}

/// Checks constraints(z) = Z_H(z) · Σ_i z^{iN} q_i(z) for one table.
fn check_ood_constraints(
    c: &Checked<'_>,
    table: &VerifierTable,
    z: EF,
    alpha: EF,
    logup: &LogupChallenges,
) -> Result<(), VerifierError> {
    let mismatch = || VerifierError::OodMismatch {
        table: c.shape.name.clone(),
    };
    let log_n = c.shape.log_height;
    let (sel, zh) = selectors_at(z, log_n).ok_or_else(mismatch)?;
    let total = c.shape.total_constraints();
    let mut alpha_pows = Vec::with_capacity(total);
    let mut p = EF::ONE;
    for _ in 0..total {
        alpha_pows.push(p);
        p *= alpha;
    }
    let num_air = c.shape.num_constraints;
    let o = &c.tp.ood;
    let periodic = match &c.shape.periodic {
        Some(p) => p
            .eval_at(z, log_n)
            .map_err(|_| VerifierError::PeriodicAtPoint {
                table: c.shape.name.clone(),
            })?,
        None => Vec::new(),
    };
    let mut folder = PointFolder::new(
        &o.main_z,
        &o.main_zw,
        &table.public_values,
        sel,
        &alpha_pows[..num_air],
    )
    .with_preprocessed(&o.prep_z, &o.prep_zw)
    .with_periodic(&periodic);
    Air::<PointFolder<'_>>::eval(table.air.as_ref(), &mut folder);
    if folder.index != num_air {
        return Err(mismatch());
    }
    let mut acc = folder.acc;
    if !c.interactions.is_empty() {
        let aux_local = ext_values(&o.aux_z);
        let aux_next = ext_values(&o.aux_zw);
        let claimed = c.tp.aux.as_ref().map(|a| a.claimed_sum).unwrap_or(EF::ZERO);
        let mut idx = num_air;
        eval_logup_constraints(
            &c.interactions,
            logup,
            &o.main_z,
            &aux_local,
            &aux_next,
            &sel,
            claimed,
            &mut |v| {
                if let Some(&a) = alpha_pows.get(idx) {
                    acc += a * v;
                }
                idx += 1;
            },
        );
    }
    let z_n = z.exp_power_of_2(log_n);
    let mut quotient = EF::ZERO;
    let mut zi = EF::ONE;
    for part in o.comp_z.chunks_exact(3) {
        quotient += zi * ext_from_coeff_evals(part);
        zi *= z_n;
    }
    if acc != zh * quotient {
        return Err(mismatch());
    }
    Ok(())
}

fn check_opening(
    query: usize,
    what: &'static str,
    root: &Digest,
    log_leaves: usize,
    leaf: usize,
    width: usize,
    o: &MerkleOpening,
) -> Result<(), VerifierError> {
    if o.row0.len() != width || o.row1.len() != width {
        return Err(VerifierError::QueryShape { query, what });
    }
    if o.path.len() != log_leaves {
        return Err(VerifierError::QueryShape { query, what });
    }
    let lo = LeafOpening {
        leaf_index: leaf,
        row0: o.row0.clone(),
        row1: o.row1.clone(),
        path: o.path.clone(),
    };
    verify_opening(root, 1usize << log_leaves, &lo).map_err(|e| VerifierError::MerklePath {
        query,
        what,
        reason: e.to_string(),
    })
}

fn row(o: &MerkleOpening, e: usize) -> &[F] {
    if e == 0 { &o.row0 } else { &o.row1 }
}

/// Evaluates the final polynomial at x.
fn eval_poly(coeffs: &[EF], x: F) -> EF {
    coeffs.iter().rev().fold(EF::ZERO, |acc, &c| acc * x + c)
}

/// Verifies `proof` for the statement `tables` under `params`. A table with preprocessed
/// columns needs the verifying key: [`verify_with_key`].
pub fn verify(
    params: &StarkParams,
    tables: &[VerifierTable],
    proof: &Proof,
) -> Result<(), VerifierError> {
    verify_inner(params, None, tables, proof)
}

/// Verifies `proof` for the statement `tables` under `params` with the verifying key the setup
/// made for it (an error if the key was made for other tables, AIRs or blowup).
pub fn verify_with_key(
    params: &StarkParams,
    key: &VerifyingKey,
    tables: &[VerifierTable],
    proof: &Proof,
) -> Result<(), VerifierError> {
    verify_inner(params, Some(key), tables, proof)
}

fn verify_inner(
    params: &StarkParams,
    key: Option<&VerifyingKey>,
    tables: &[VerifierTable],
    proof: &Proof,
) -> Result<(), VerifierError> {
    params.validate()?;
    if tables.is_empty() || tables.len() > 64 || proof.tables.len() != tables.len() {
        return Err(VerifierError::TableCount {
            expected: tables.len(),
            got: proof.tables.len(),
        });
    }
    let log_blowup = params.log_blowup as usize;
    let log_final = params.log_final_poly_len as usize;
    if let Some(k) = key {
        let statement: Vec<(&str, &dyn Table)> = tables
            .iter()
            .map(|t| (t.name.as_str(), t.air.as_ref()))
            .collect();
        k.check(log_blowup, &statement)?;
    }

    // Shapes from the AIRs and the claimed heights.
    let mut checked = Vec::with_capacity(tables.len());
    for (i, (t, tp)) in tables.iter().zip(&proof.tables).enumerate() {
        if tp.log_height == 0
            || usize::from(tp.log_height) > rstark_protocol::MAX_LOG_HEIGHT
            || (tp.log_height as usize) < log_final
        {
            return Err(VerifierError::BadHeight {
                table: t.name.clone(),
                log_height: tp.log_height,
            });
        }
        if let Some(expected) = t.log_height
            && expected != tp.log_height
        {
            return Err(VerifierError::HeightMismatch {
                table: t.name.clone(),
                expected,
                got: tp.log_height,
            });
        }
        let shape = derive_shape(
            &t.name,
            t.air.as_ref(),
            t.public_values.len(),
            tp.log_height as usize,
            key.and_then(|k| k.tables.get(i)?.preprocessed.as_ref()),
        )?;
        if tp.aux.is_some() != (shape.num_interactions > 0) {
            return Err(VerifierError::AuxPresence {
                table: t.name.clone(),
            });
        }
        check_ood_shapes(&shape, tp)?;
        checked.push(Checked {
            log_lde: shape.log_height + log_blowup,
            interactions: t.air.interactions(),
            shape,
            tp,
        });
    }
    let shapes: Vec<TableShape> = checked.iter().map(|c| c.shape.clone()).collect();
    let publics: Vec<&[F]> = tables.iter().map(|t| t.public_values.as_slice()).collect();
    let mut transcript = absorb_instance(params, &shapes, &publics);

    // Main roots, LogUp challenges, aux roots and claimed sums.
    for c in &checked {
        transcript.absorb_digest(&c.tp.main_root);
    }
    let logup_alpha = transcript.sample_ext();
    let logup_beta = transcript.sample_ext();
    let all: Vec<&[Interaction]> = checked.iter().map(|c| c.interactions.as_slice()).collect();
    let logup = LogupChallenges::new(logup_alpha, logup_beta, &all);
    let mut bus_total = EF::ZERO;
    for c in &checked {
        if let Some(a) = &c.tp.aux {
            transcript.absorb_digest(&a.root);
            transcript.absorb_ext(&[a.claimed_sum]);
            bus_total += a.claimed_sum;
        }
    }
    if bus_total != EF::ZERO {
        return Err(VerifierError::BusUnbalanced);
    }

    // Composition roots, z, out-of-domain values.
    let comp_alpha = transcript.sample_ext();
    for c in &checked {
        transcript.absorb_digest(&c.tp.comp_root);
    }
    let z = sample_ood_point(&mut transcript);
    for c in &checked {
        for v in c.tp.ood.transcript_lists(c.shape.preprocessed_width > 0) {
            transcript.absorb_ext(v);
        }
    }
    for (c, t) in checked.iter().zip(tables) {
        check_ood_constraints(c, t, z, comp_alpha, &logup)?;
    }

    // DEEP and FRI challenges.
    let delta = transcript.sample_ext();
    let gamma = transcript.sample_ext();
    let mut deep_coeffs = Vec::with_capacity(checked.len());
    let mut scales = Vec::with_capacity(checked.len());
    let mut scale = EF::ONE;
    for c in &checked {
        deep_coeffs.push(DeepCoeffs::from_ood(delta, &c.tp.ood));
        scales.push(scale);
        scale *= gamma;
    }
    let log_max = checked.iter().map(|c| c.log_lde).max().unwrap_or(0);
    let log_final_size = log_final + log_blowup;
    let num_folds = log_max - log_final_size;
    let expected_roots = num_folds.saturating_sub(1);
    if proof.fri_roots.len() != expected_roots {
        return Err(VerifierError::FriRootCount {
            expected: expected_roots,
            got: proof.fri_roots.len(),
        });
    }
    let mut betas = Vec::with_capacity(num_folds);
    for s in 1..=num_folds {
        betas.push(transcript.sample_ext());
        if s < num_folds {
            transcript.absorb_digest(&proof.fri_roots[s - 1]);
        }
    }
    if proof.final_poly.len() != params.final_poly_len() {
        return Err(VerifierError::FinalPolyLength {
            expected: params.final_poly_len(),
            got: proof.final_poly.len(),
        });
    }
    transcript.absorb_ext(&proof.final_poly);
    transcript
        .verify_pow(u32::from(params.pow_bits), proof.pow_nonce)
        .map_err(|_| VerifierError::ProofOfWork)?;

    // Queries.
    let num_queries = params.num_queries as usize;
    if proof.queries.len() != num_queries {
        return Err(VerifierError::QueryCount {
            expected: num_queries,
            got: proof.queries.len(),
        });
    }
    let indices = transcript.sample_indices(num_queries, 1 << (log_max - 1));
    let ctx = QueryContext {
        checked: &checked,
        deep_coeffs: &deep_coeffs,
        scales: &scales,
        z,
        log_max,
        log_final_size,
        num_folds,
        betas: &betas,
        proof,
    };
    for (q, (&leaf0, qp)) in indices.iter().zip(&proof.queries).enumerate() {
        check_query(&ctx, q, leaf0, qp)?;
    }
    Ok(())
}

/// What every query check needs from the earlier rounds.
struct QueryContext<'a> {
    checked: &'a [Checked<'a>],
    deep_coeffs: &'a [DeepCoeffs],
    scales: &'a [EF],
    z: EF,
    log_max: usize,
    log_final_size: usize,
    num_folds: usize,
    betas: &'a [EF],
    proof: &'a Proof,
}

/// Checks one query: the openings, the DEEP values, every fold, and the final polynomial
/// (docs/PROTOCOL.md §5.8).
fn check_query(
    ctx: &QueryContext<'_>,
    q: usize,
    leaf0: usize,
    qp: &QueryProof,
) -> Result<(), VerifierError> {
    let QueryContext {
        checked,
        deep_coeffs,
        scales,
        z,
        log_max,
        log_final_size,
        num_folds,
        betas,
        proof,
    } = *ctx;
    let expected_roots = num_folds.saturating_sub(1);
    if qp.tables.len() != checked.len() {
        return Err(VerifierError::QueryShape {
            query: q,
            what: "table count",
        });
    }
    if qp.layers.len() != expected_roots {
        return Err(VerifierError::QueryShape {
            query: q,
            what: "FRI layer count",
        });
    }
    // Each table's DEEP values at the two rows of its opened leaf.
    let mut deep_pairs = Vec::with_capacity(checked.len());
    for (i, (c, tq)) in checked.iter().zip(&qp.tables).enumerate() {
        let s = log_max - c.log_lde;
        let leaf = leaf0 >> s;
        let log_leaves = c.log_lde - 1;
        match (c.shape.preprocessed_root, &tq.preprocessed) {
            (Some(root), Some(o)) => check_opening(
                q,
                "preprocessed",
                &root,
                log_leaves,
                leaf,
                c.shape.preprocessed_width,
                o,
            )?,
            (None, None) => {}
            _ => {
                return Err(VerifierError::QueryShape {
                    query: q,
                    what: "preprocessed opening presence",
                });
            }
        }
        check_opening(
            q,
            "main",
            &c.tp.main_root,
            log_leaves,
            leaf,
            c.shape.main_width,
            &tq.main,
        )?;
        match (&c.tp.aux, &tq.aux) {
            (Some(a), Some(o)) => {
                check_opening(q, "aux", &a.root, log_leaves, leaf, c.shape.aux_width(), o)?
            }
            (None, None) => {}
            _ => {
                return Err(VerifierError::QueryShape {
                    query: q,
                    what: "aux opening presence",
                });
            }
        }
        check_opening(
            q,
            "composition",
            &c.tp.comp_root,
            log_leaves,
            leaf,
            c.shape.comp_width(),
            &tq.comp,
        )?;
        let z_next = z * omega(c.shape.log_height);
        let mut pair = [EF::ZERO; 2];
        for (e, p) in pair.iter_mut().enumerate() {
            let x = coset_point(2 * leaf + e, c.log_lde, GENERATOR);
            let values = tq
                .preprocessed
                .as_ref()
                .map(|o| row(o, e))
                .unwrap_or(&[])
                .iter()
                .chain(row(&tq.main, e))
                .chain(tq.aux.as_ref().map(|o| row(o, e)).unwrap_or(&[]))
                .chain(row(&tq.comp, e));
            let coeffs = &deep_coeffs[i];
            let (a, cc) = coeffs.combine(values);
            let inv_z = (EF::from(x) - z).inverse();
            let inv_zw = (EF::from(x) - z_next).inverse();
            *p = coeffs.value(a, cc, inv_z, inv_zw) * scales[i];
        }
        deep_pairs.push((s, pair));
    }
    // Layer 0: the tallest tables' DEEP codewords.
    let mut pair = [EF::ZERO; 2];
    for (s, p) in &deep_pairs {
        if *s == 0 {
            pair[0] += p[0];
            pair[1] += p[1];
        }
    }
    if num_folds == 0 {
        for (e, v) in pair.iter().enumerate() {
            let x = coset_point(2 * leaf0 + e, log_final_size, layer_shift(0));
            if *v != eval_poly(&proof.final_poly, x) {
                return Err(VerifierError::FinalPoly { query: q });
            }
        }
        return Ok(());
    }
    for s in 1..=num_folds {
        let prev_leaf = leaf0 >> (s - 1);
        let x = coset_point(2 * prev_leaf, log_max - (s - 1), layer_shift(s - 1));
        let mut v = fold_pair(pair[0], pair[1], betas[s - 1], x.inverse());
        let r = prev_leaf; // this value's row in layer s
        for (ts, p) in &deep_pairs {
            if *ts == s {
                v += p[r & 1];
            }
        }
        if s < num_folds {
            let o = &qp.layers[s - 1];
            check_opening(
                q,
                "FRI layer",
                &proof.fri_roots[s - 1],
                log_max - s - 1,
                r >> 1,
                3,
                o,
            )?;
            let opened = [
                rstark_field::ef_from_base([o.row0[0], o.row0[1], o.row0[2]]),
                rstark_field::ef_from_base([o.row1[0], o.row1[1], o.row1[2]]),
            ];
            if opened[r & 1] != v {
                return Err(VerifierError::FriFold { query: q, layer: s });
            }
            pair = opened;
        } else {
            let xf = coset_point(r, log_final_size, layer_shift(num_folds));
            if v != eval_poly(&proof.final_poly, xf) {
                return Err(VerifierError::FinalPoly { query: q });
            }
        }
    }
    Ok(())
}
