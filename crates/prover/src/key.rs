//! Setup: the preprocessed columns of a statement's tables committed once, giving the proving
//! key (the committed matrices, for every proof) and the verifying key (their roots and shapes,
//! docs/PROTOCOL.md §5.2a).

use rstark_air::{BaseAir, Table};
use rstark_field::F;
use rstark_poly::RowMajor;
use rstark_protocol::{
    Backend, KeyError, MAX_LOG_HEIGHT, PreprocessedKey, StarkParams, TableKey, VerifyingKey,
    air_digest,
};

use crate::ProverError;

/// One table's preprocessed columns in a proving key: the host values (the witness check reads
/// them) and the backend's committed LDE (every proof made with the key reuses it; a GPU backend
/// keeps it in device memory).
pub struct PreprocessedData<C> {
    pub trace: RowMajor,
    pub committed: C,
}

/// The prover's key for a statement: its verifying key and, per table with preprocessed
/// columns, their committed matrices. Made by [`setup`] with the backend that proves with it
/// (its handles belong to that backend).
pub struct ProvingKey<C> {
    pub vk: VerifyingKey,
    pub tables: Vec<Option<PreprocessedData<C>>>,
}

impl<C> ProvingKey<C> {
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.vk
    }
}

/// Commits the preprocessed columns of `tables` (name and AIR of each, in proof order) with
/// `backend`: the proving key and the verifying key. Tables without preprocessed columns get an
/// entry too (their name and AIR digest), so a key always describes the whole statement.
pub fn setup<B: Backend>(
    backend: &B,
    params: &StarkParams,
    tables: &[(&str, &dyn Table)],
) -> Result<(ProvingKey<B::Committed>, VerifyingKey), ProverError> {
    params.validate()?;
    let log_blowup = params.log_blowup as usize;
    let mut keys = Vec::with_capacity(tables.len());
    let mut data = Vec::with_capacity(tables.len());
    for (i, &(name, air)) in tables.iter().enumerate() {
        let prep = match preprocessed_trace(name, air, params)? {
            Some(trace) => {
                let committed = backend.commit_preprocessed(i, &trace, log_blowup)?;
                let key = PreprocessedKey {
                    width: trace.width,
                    log_height: trace.height().trailing_zeros() as usize,
                    root: backend.root(&committed),
                };
                data.push(Some(PreprocessedData { trace, committed }));
                Some(key)
            }
            None => {
                data.push(None);
                None
            }
        };
        keys.push(TableKey {
            name: name.to_string(),
            air_digest: air_digest(air),
            preprocessed: prep,
        });
    }
    let vk = VerifyingKey {
        log_blowup,
        tables: keys,
    };
    Ok((
        ProvingKey {
            vk: vk.clone(),
            tables: data,
        },
        vk,
    ))
}

/// The AIR's preprocessed trace, checked: present exactly when `preprocessed_width() > 0`, that
/// wide, and a power-of-two height the protocol accepts.
fn preprocessed_trace(
    name: &str,
    air: &dyn Table,
    params: &StarkParams,
) -> Result<Option<RowMajor>, KeyError> {
    let bad = |reason: String| KeyError::Preprocessed {
        table: name.to_string(),
        reason,
    };
    let width = BaseAir::<F>::preprocessed_width(air);
    let Some(m) = BaseAir::<F>::preprocessed_trace(air) else {
        return match width {
            0 => Ok(None),
            w => Err(bad(format!(
                "preprocessed_width() is {w} but preprocessed_trace() is None"
            ))),
        };
    };
    if m.width != width || width == 0 || !m.values.len().is_multiple_of(width) {
        return Err(bad(format!(
            "a matrix of {} values and width {} for preprocessed_width() {width}",
            m.values.len(),
            m.width
        )));
    }
    let height = m.values.len() / width;
    if !height.is_power_of_two() || height < 2 {
        return Err(bad(format!("height {height} is not a power of two ≥ 2")));
    }
    let log_height = height.trailing_zeros() as usize;
    if log_height > MAX_LOG_HEIGHT || log_height < params.log_final_poly_len as usize {
        return Err(bad(format!(
            "height 2^{log_height} is outside 2^{}..=2^{MAX_LOG_HEIGHT}",
            (params.log_final_poly_len as usize).max(1)
        )));
    }
    Ok(Some(RowMajor {
        values: m.values,
        width,
    }))
}
