//! The verifying key: what a setup step fixes about a statement's tables before any proof
//! (docs/PROTOCOL.md §5.2a). For each table: its name, a digest of its AIR, and for a table with
//! preprocessed columns their width, height and Merkle root (the commitment of their LDE,
//! exactly as a main trace is committed). The prover's key (rstark-prover) adds the committed
//! matrices themselves.
//!
//! Encoding (all integers little-endian):
//!
//! ```text
//! "RSVK" ‖ le16(1) ‖ log_blowup (1 byte) ‖ le32(T), then per table:
//!     le32(len) ‖ name (UTF-8) ‖ air digest (32) ‖ flag (0|1) [‖ le32(width) ‖ log_height (1) ‖ root (32)]
//! ```

use rstark_air::{BaseAir, ConstraintInfo, Interaction, LinearCombination, Table};
use rstark_field::{F, f_to_bytes};
use rstark_merkle::{Digest, keccak256};

use crate::codec::{Reader, Writer};
use crate::{MAX_LOG_HEIGHT, ProofFormatError};

/// First four bytes of an encoded verifying key.
pub const KEY_MAGIC: &[u8; 4] = b"RSVK";
/// Version of the key encoding.
pub const KEY_VERSION: u16 = 1;

/// The commitment of a table's preprocessed columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreprocessedKey {
    /// Number of preprocessed (base) columns.
    pub width: usize,
    /// log2 of their height, which is also the table's height.
    pub log_height: usize,
    /// Root of the Merkle tree of their LDE (docs/PROTOCOL.md §2–3, the params' blowup).
    pub root: Digest,
}

/// One table of a verifying key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableKey {
    pub name: String,
    /// [`air_digest`] of the table's AIR.
    pub air_digest: Digest,
    pub preprocessed: Option<PreprocessedKey>,
}

/// A statement's verifying key: one entry per table, in proof order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    /// The blowup the preprocessed LDEs were committed with (the params' `log_blowup`).
    pub log_blowup: usize,
    pub tables: Vec<TableKey>,
}

/// A key that does not belong to the statement it is used with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key has {key} tables, the statement {statement}")]
    TableCount { key: usize, statement: usize },
    #[error("table {index}: the key is for table `{key}`, the statement names `{statement}`")]
    TableName {
        index: usize,
        key: String,
        statement: String,
    },
    #[error("table `{table}`: the key was made for another AIR")]
    OtherAir { table: String },
    #[error("the key was made with blowup 2^{key}, the parameters use 2^{params}")]
    Blowup { key: usize, params: usize },
    #[error("table `{table}`: preprocessed trace: {reason}")]
    Preprocessed { table: String, reason: String },
}

impl VerifyingKey {
    /// Checks that this key was made for `tables` (name and AIR per table, in order) under a
    /// blowup of 2^log_blowup.
    pub fn check(&self, log_blowup: usize, tables: &[(&str, &dyn Table)]) -> Result<(), KeyError> {
        self.check_with(log_blowup, tables, |i| air_digest(tables[i].1))
    }

    /// [`check`](Self::check) with table i's [`air_digest`] given by `digest(i)` (e.g.
    /// [`air_digest_with`] of an evaluation made already), asked for only where the check gets
    /// to it.
    pub fn check_with(
        &self,
        log_blowup: usize,
        tables: &[(&str, &dyn Table)],
        mut digest: impl FnMut(usize) -> Digest,
    ) -> Result<(), KeyError> {
        if self.log_blowup != log_blowup {
            return Err(KeyError::Blowup {
                key: self.log_blowup,
                params: log_blowup,
            });
        }
        if self.tables.len() != tables.len() {
            return Err(KeyError::TableCount {
                key: self.tables.len(),
                statement: tables.len(),
            });
        }
        for (index, (k, (name, air))) in self.tables.iter().zip(tables).enumerate() {
            if k.name != *name {
                return Err(KeyError::TableName {
                    index,
                    key: k.name.clone(),
                    statement: name.to_string(),
                });
            }
            let width = BaseAir::<F>::preprocessed_width(*air);
            if k.preprocessed.as_ref().map_or(0, |p| p.width) != width
                || k.air_digest != digest(index)
            {
                return Err(KeyError::OtherAir {
                    table: name.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The encoding described in the module docs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.0.extend_from_slice(KEY_MAGIC);
        w.u16(KEY_VERSION);
        w.u8(self.log_blowup as u8);
        w.u32(self.tables.len());
        for t in &self.tables {
            w.u32(t.name.len());
            w.0.extend_from_slice(t.name.as_bytes());
            w.digest(&t.air_digest);
            match &t.preprocessed {
                Some(p) => {
                    w.u8(1);
                    w.u32(p.width);
                    w.u8(p.log_height as u8);
                    w.digest(&p.root);
                }
                None => w.u8(0),
            }
        }
        w.0
    }

    /// Decodes a key; malformed bytes are a [`ProofFormatError`] (never a panic).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofFormatError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4, "key magic")
            .map_err(|_| ProofFormatError::BadMagic)?
            != KEY_MAGIC
        {
            return Err(ProofFormatError::BadMagic);
        }
        let version = r.u16("key version")?;
        if version != KEY_VERSION {
            return Err(ProofFormatError::UnsupportedVersion(version));
        }
        let log_blowup = r.u8("key blowup")? as usize;
        // A table entry is at least 4 + 32 + 1 bytes.
        let n = r.len("key tables", 37)?;
        let mut tables = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.len("key table name", 1)?;
            let name = std::str::from_utf8(r.take(len, "key table name")?)
                .map_err(|_| ProofFormatError::NonCanonical("key table name (not UTF-8)"))?
                .to_string();
            let air_digest = r.digest("key AIR digest")?;
            let preprocessed = if r.flags("key preprocessed flag", 1)? != 0 {
                let width = r.u32("preprocessed width")? as usize;
                let log_height = r.u8("preprocessed height")? as usize;
                if width == 0 || log_height == 0 || log_height > MAX_LOG_HEIGHT {
                    return Err(ProofFormatError::NonCanonical("preprocessed shape"));
                }
                Some(PreprocessedKey {
                    width,
                    log_height,
                    root: r.digest("preprocessed root")?,
                })
            } else {
                None
            };
            tables.push(TableKey {
                name,
                air_digest,
                preprocessed,
            });
        }
        if r.left() != 0 {
            return Err(ProofFormatError::TrailingBytes(r.left()));
        }
        Ok(Self { log_blowup, tables })
    }
}

/// A digest of what the statement takes from a table's AIR, so that a key made for another AIR
/// is recognized: Keccak-256 of `"rstark-air-v1"`, then le32 of the main width, preprocessed
/// width, declared public values, number of constraints and largest degree (p3's symbolic
/// builder), the interactions (bus, tuple and multiplicity as affine forms) and the periodic
/// columns (period and values of each).
pub fn air_digest(air: &dyn Table) -> Digest {
    let declared = BaseAir::<F>::num_public_values(air);
    air_digest_with(air, &rstark_air::constraint_info(air, declared))
}

/// [`air_digest`] from the AIR's [`ConstraintInfo`] evaluated already: it must be that of
/// `SymbolicConstraints::of(air, BaseAir::num_public_values(air))` (the count the AIR declares).
pub fn air_digest_with(air: &dyn Table, info: &ConstraintInfo) -> Digest {
    let mut b = b"rstark-air-v1".to_vec();
    let u32s = |b: &mut Vec<u8>, v: usize| b.extend_from_slice(&(v as u32).to_le_bytes());
    let declared = BaseAir::<F>::num_public_values(air);
    for v in [
        BaseAir::<F>::width(air),
        BaseAir::<F>::preprocessed_width(air),
        declared,
        info.num_constraints,
        info.max_degree,
    ] {
        u32s(&mut b, v);
    }
    let lc = |b: &mut Vec<u8>, l: &LinearCombination| {
        b.extend_from_slice(&(l.terms.len() as u32).to_le_bytes());
        for &(c, k) in &l.terms {
            b.extend_from_slice(&(c as u32).to_le_bytes());
            b.extend_from_slice(&f_to_bytes(k));
        }
        b.extend_from_slice(&f_to_bytes(l.constant));
    };
    let interactions: Vec<Interaction> = air.interactions();
    u32s(&mut b, interactions.len());
    for i in &interactions {
        u32s(&mut b, i.bus as usize);
        u32s(&mut b, i.values.len());
        for v in &i.values {
            lc(&mut b, v);
        }
        lc(&mut b, &i.multiplicity);
    }
    let periodic = BaseAir::<F>::periodic_columns(air);
    u32s(&mut b, periodic.len());
    for c in periodic.iter() {
        u32s(&mut b, c.len());
        for &v in c {
            b.extend_from_slice(&f_to_bytes(v));
        }
    }
    keccak256(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VerifyingKey {
        VerifyingKey {
            log_blowup: 1,
            tables: vec![
                TableKey {
                    name: "fixed".into(),
                    air_digest: [5; 32],
                    preprocessed: Some(PreprocessedKey {
                        width: 3,
                        log_height: 6,
                        root: [9; 32],
                    }),
                },
                TableKey {
                    name: "plain".into(),
                    air_digest: [6; 32],
                    preprocessed: None,
                },
            ],
        }
    }

    #[test]
    fn round_trip_and_malformed() {
        let k = sample();
        let bytes = k.to_bytes();
        assert_eq!(VerifyingKey::from_bytes(&bytes).unwrap(), k);
        for cut in 0..bytes.len() {
            assert!(VerifyingKey::from_bytes(&bytes[..cut]).is_err());
        }
        let mut v = bytes.clone();
        v.push(0);
        assert_eq!(
            VerifyingKey::from_bytes(&v),
            Err(ProofFormatError::TrailingBytes(1))
        );
        let mut v = bytes.clone();
        v[0] = b'X';
        assert_eq!(
            VerifyingKey::from_bytes(&v),
            Err(ProofFormatError::BadMagic)
        );
    }
}
