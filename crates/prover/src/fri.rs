//! FRI commit phase (docs/PROTOCOL.md §5.7): fold the tallest tables' DEEP codewords, add each
//! shorter table's when the layer reaches its size, commit every layer but the first and the last,
//! and send the last as a polynomial.

use rstark_merkle::Digest;
use rstark_protocol::{Backend, StarkParams};
use rstark_transcript::Transcript;

use crate::ProverError;

/// The committed layers 1 … R−1 (kept for the query openings), their roots, and the final
/// polynomial's coefficients.
pub(crate) struct FriCommitment<C> {
    pub layers: Vec<C>,
    pub roots: Vec<Digest>,
    pub final_poly: Vec<rstark_field::EF>,
}

/// `deeps`: each table's (log2 LDE size, DEEP codeword already scaled by γ^t), in table order.
pub(crate) fn commit_phase<B: Backend>(
    backend: &B,
    transcript: &mut Transcript,
    params: &StarkParams,
    deeps: Vec<(usize, B::Codeword)>,
) -> Result<FriCommitment<B::Codeword>, ProverError> {
    let log_max = deeps
        .iter()
        .map(|(l, _)| *l)
        .max()
        .ok_or(ProverError::NoTables)?;
    let log_final = params.log_final_poly_len as usize + params.log_blowup as usize;
    let num_folds = log_max - log_final;
    let mut pending: Vec<Option<(usize, B::Codeword)>> = deeps.into_iter().map(Some).collect();
    // Adds, in table order, the codewords of the tables whose LDE has 2^log_size points.
    let mut join = |log_size: usize, acc: Option<B::Codeword>| {
        let mut acc = acc;
        for slot in pending.iter_mut() {
            if slot.as_ref().is_some_and(|(l, _)| *l == log_size)
                && let Some((_, d)) = slot.take()
            {
                acc = Some(match acc {
                    None => d,
                    Some(mut a) => {
                        backend.add_codeword(&mut a, &d)?;
                        a
                    }
                });
            }
        }
        acc.ok_or(ProverError::NoTables)
    };
    let initial = join(log_max, None)?;
    let mut layers: Vec<B::Codeword> = Vec::with_capacity(num_folds);
    let mut roots = Vec::with_capacity(num_folds);
    let mut last = None;
    for s in 1..=num_folds {
        let _fold = tracing::info_span!("fri fold", round = s, log_size = log_max - s).entered();
        let beta = transcript.sample_ext();
        let folded = backend.fold(layers.last().unwrap_or(&initial), beta)?;
        let mut next = join(log_max - s, Some(folded))?;
        if s < num_folds {
            let root = backend.commit_codeword(&mut next)?;
            transcript.absorb_digest(&root);
            roots.push(root);
            layers.push(next);
        } else {
            last = Some(next);
        }
    }
    let final_cw = last.unwrap_or(initial);
    let final_poly = backend.final_poly(&final_cw, params.final_poly_len())?;
    transcript.absorb_ext(&final_poly);
    Ok(FriCommitment {
        layers,
        roots,
        final_poly,
    })
}
