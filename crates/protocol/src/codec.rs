//! Versioned binary encoding of [`Proof`] (docs/PROTOCOL.md §5.10). Decoding bounds-checks every
//! length against the bytes left before allocating, rejects non-canonical field elements, bad
//! flags and trailing bytes, and never panics.

use rstark_field::{EF, F, ef_from_bytes, ef_to_bytes, f_from_bytes, f_to_bytes};
use rstark_merkle::Digest;

use crate::PROTOCOL_VERSION;
use crate::proof::{
    AuxCommitment, MerkleOpening, OodValues, Proof, QueryProof, TableProof, TableQuery,
};

/// First four bytes of every proof.
pub const MAGIC: &[u8; 4] = b"RSTK";

/// Bits of a table's flag byte (§5.10): an auxiliary (LogUp) commitment, preprocessed columns.
const FLAG_AUX: u8 = 1;
const FLAG_PREPROCESSED: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFormatError {
    #[error("not an rstark proof (bad magic bytes)")]
    BadMagic,
    #[error("unsupported proof version {0} (this build reads version {PROTOCOL_VERSION})")]
    UnsupportedVersion(u16),
    #[error("proof truncated while reading {0}")]
    Truncated(&'static str),
    #[error("length {len} of {what} exceeds the bytes left")]
    LengthTooLarge { what: &'static str, len: u64 },
    #[error("non-canonical field element in {0}")]
    NonCanonical(&'static str),
    #[error("invalid flag byte {value} in {what}")]
    BadFlag { what: &'static str, value: u8 },
    #[error("{0} trailing bytes after the proof")]
    TrailingBytes(usize),
}

pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: usize) {
        self.0.extend_from_slice(&(v as u32).to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn digest(&mut self, d: &Digest) {
        self.0.extend_from_slice(d);
    }
    pub(crate) fn ef(&mut self, x: EF) {
        self.0.extend_from_slice(&ef_to_bytes(x));
    }
    pub(crate) fn efs(&mut self, xs: &[EF]) {
        self.u32(xs.len());
        for &x in xs {
            self.ef(x);
        }
    }
    pub(crate) fn fs(&mut self, xs: &[F]) {
        self.u32(xs.len());
        for &x in xs {
            self.0.extend_from_slice(&f_to_bytes(x));
        }
    }
    pub(crate) fn opening(&mut self, o: &MerkleOpening) {
        self.fs(&o.row0);
        self.fs(&o.row1);
        self.u32(o.path.len());
        for d in &o.path {
            self.digest(d);
        }
    }
}

pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn take(
        &mut self,
        n: usize,
        what: &'static str,
    ) -> Result<&'a [u8], ProofFormatError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(ProofFormatError::Truncated(what))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    pub(crate) fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ProofFormatError> {
        Ok(self.take(1, what)?[0])
    }
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, ProofFormatError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ProofFormatError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, ProofFormatError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(a))
    }
    /// A length prefix for items of at least `min_item_bytes` bytes each.
    pub(crate) fn len(
        &mut self,
        what: &'static str,
        min_item_bytes: usize,
    ) -> Result<usize, ProofFormatError> {
        let len = self.u32(what)? as usize;
        if len.saturating_mul(min_item_bytes.max(1)) > self.left() {
            return Err(ProofFormatError::LengthTooLarge {
                what,
                len: len as u64,
            });
        }
        Ok(len)
    }
    /// A flag byte whose set bits must lie in `mask`.
    pub(crate) fn flags(&mut self, what: &'static str, mask: u8) -> Result<u8, ProofFormatError> {
        match self.u8(what)? {
            value if value & !mask == 0 => Ok(value),
            value => Err(ProofFormatError::BadFlag { what, value }),
        }
    }
    pub(crate) fn digest(&mut self, what: &'static str) -> Result<Digest, ProofFormatError> {
        let mut d = [0u8; 32];
        d.copy_from_slice(self.take(32, what)?);
        Ok(d)
    }
    pub(crate) fn f(&mut self, what: &'static str) -> Result<F, ProofFormatError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, what)?);
        f_from_bytes(a).ok_or(ProofFormatError::NonCanonical(what))
    }
    pub(crate) fn ef(&mut self, what: &'static str) -> Result<EF, ProofFormatError> {
        let mut a = [0u8; 24];
        a.copy_from_slice(self.take(24, what)?);
        ef_from_bytes(&a).ok_or(ProofFormatError::NonCanonical(what))
    }
    pub(crate) fn efs(&mut self, what: &'static str) -> Result<Vec<EF>, ProofFormatError> {
        let n = self.len(what, 24)?;
        (0..n).map(|_| self.ef(what)).collect()
    }
    pub(crate) fn fs(&mut self, what: &'static str) -> Result<Vec<F>, ProofFormatError> {
        let n = self.len(what, 8)?;
        (0..n).map(|_| self.f(what)).collect()
    }
    pub(crate) fn opening(
        &mut self,
        what: &'static str,
    ) -> Result<MerkleOpening, ProofFormatError> {
        let row0 = self.fs(what)?;
        let row1 = self.fs(what)?;
        let n = self.len(what, 32)?;
        let path = (0..n)
            .map(|_| self.digest(what))
            .collect::<Result<_, _>>()?;
        Ok(MerkleOpening { row0, row1, path })
    }
}

fn flag_byte(aux: bool, preprocessed: bool) -> u8 {
    (if aux { FLAG_AUX } else { 0 }) | (if preprocessed { FLAG_PREPROCESSED } else { 0 })
}

/// Bytes of `efs(xs)`.
fn efs_len(xs: &[EF]) -> usize {
    4 + 24 * xs.len()
}

/// Bytes of `opening(o)`.
fn opening_len(o: &MerkleOpening) -> usize {
    4 + 8 * o.row0.len() + 4 + 8 * o.row1.len() + 4 + 32 * o.path.len()
}

/// The length of [`Proof::to_bytes`], section by section as it writes them.
pub(crate) fn encoded_len(p: &Proof) -> usize {
    let mut n = MAGIC.len() + 2 + 4;
    for t in &p.tables {
        let prep = !t.ood.prep_z.is_empty() || !t.ood.prep_zw.is_empty();
        n += 1 + 32 + 1 + t.aux.as_ref().map_or(0, |_| 32 + 24) + 32;
        n += [
            &t.ood.main_z,
            &t.ood.main_zw,
            &t.ood.aux_z,
            &t.ood.aux_zw,
            &t.ood.comp_z,
        ]
        .into_iter()
        .map(|v| efs_len(v))
        .sum::<usize>();
        if prep {
            n += efs_len(&t.ood.prep_z) + efs_len(&t.ood.prep_zw);
        }
    }
    n += 4 + 32 * p.fri_roots.len() + efs_len(&p.final_poly) + 8 + 4;
    for q in &p.queries {
        n += 4;
        for t in &q.tables {
            n += opening_len(&t.main) + 1 + opening_len(&t.comp);
            n += [&t.aux, &t.preprocessed]
                .into_iter()
                .flatten()
                .map(opening_len)
                .sum::<usize>();
        }
        n += 4 + q.layers.iter().map(opening_len).sum::<usize>();
    }
    n
}

impl Proof {
    /// Encodes the proof (docs/PROTOCOL.md §5.10).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(encoded_len(self)));
        w.0.extend_from_slice(MAGIC);
        w.u16(PROTOCOL_VERSION);
        w.u32(self.tables.len());
        for t in &self.tables {
            w.u8(t.log_height);
            w.digest(&t.main_root);
            let prep = !t.ood.prep_z.is_empty() || !t.ood.prep_zw.is_empty();
            w.u8(flag_byte(t.aux.is_some(), prep));
            if let Some(a) = &t.aux {
                w.digest(&a.root);
                w.ef(a.claimed_sum);
            }
            w.digest(&t.comp_root);
            w.efs(&t.ood.main_z);
            w.efs(&t.ood.main_zw);
            w.efs(&t.ood.aux_z);
            w.efs(&t.ood.aux_zw);
            w.efs(&t.ood.comp_z);
            if prep {
                w.efs(&t.ood.prep_z);
                w.efs(&t.ood.prep_zw);
            }
        }
        w.u32(self.fri_roots.len());
        for r in &self.fri_roots {
            w.digest(r);
        }
        w.efs(&self.final_poly);
        w.u64(self.pow_nonce);
        w.u32(self.queries.len());
        for q in &self.queries {
            w.u32(q.tables.len());
            for t in &q.tables {
                w.opening(&t.main);
                w.u8(flag_byte(t.aux.is_some(), t.preprocessed.is_some()));
                for o in [&t.aux, &t.preprocessed].into_iter().flatten() {
                    w.opening(o);
                }
                w.opening(&t.comp);
            }
            w.u32(q.layers.len());
            for l in &q.layers {
                w.opening(l);
            }
        }
        w.0
    }

    /// Decodes a proof; any malformed input is a [`ProofFormatError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofFormatError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4, "magic").map_err(|_| ProofFormatError::BadMagic)? != MAGIC {
            return Err(ProofFormatError::BadMagic);
        }
        let version = r.u16("version")?;
        if version != PROTOCOL_VERSION {
            return Err(ProofFormatError::UnsupportedVersion(version));
        }
        // A table section is at least 1 + 32 + 1 + 32 + 5·4 bytes.
        let num_tables = r.len("tables", 86)?;
        let mut tables = Vec::with_capacity(num_tables);
        for _ in 0..num_tables {
            let log_height = r.u8("table log height")?;
            let main_root = r.digest("main root")?;
            let flags = r.flags("table flags", FLAG_AUX | FLAG_PREPROCESSED)?;
            let aux = if flags & FLAG_AUX != 0 {
                Some(AuxCommitment {
                    root: r.digest("aux root")?,
                    claimed_sum: r.ef("claimed sum")?,
                })
            } else {
                None
            };
            let comp_root = r.digest("composition root")?;
            let mut ood = OodValues {
                main_z: r.efs("main values at z")?,
                main_zw: r.efs("main values at zω")?,
                aux_z: r.efs("aux values at z")?,
                aux_zw: r.efs("aux values at zω")?,
                comp_z: r.efs("composition values at z")?,
                ..Default::default()
            };
            if flags & FLAG_PREPROCESSED != 0 {
                ood.prep_z = r.efs("preprocessed values at z")?;
                ood.prep_zw = r.efs("preprocessed values at zω")?;
                // One encoding per proof: the flag says the values are there.
                if ood.prep_z.is_empty() && ood.prep_zw.is_empty() {
                    return Err(ProofFormatError::BadFlag {
                        what: "table flags",
                        value: flags,
                    });
                }
            }
            tables.push(TableProof {
                log_height,
                main_root,
                aux,
                comp_root,
                ood,
            });
        }
        let n = r.len("FRI roots", 32)?;
        let fri_roots = (0..n)
            .map(|_| r.digest("FRI root"))
            .collect::<Result<_, _>>()?;
        let final_poly = r.efs("final polynomial")?;
        let pow_nonce = r.u64("proof-of-work nonce")?;
        // A query is at least two length prefixes.
        let num_queries = r.len("queries", 8)?;
        let mut queries = Vec::with_capacity(num_queries);
        for _ in 0..num_queries {
            // A table opening is at least 2 · 12 + 1 bytes.
            let nt = r.len("query tables", 25)?;
            let mut qt = Vec::with_capacity(nt);
            for _ in 0..nt {
                let main = r.opening("main opening")?;
                let flags = r.flags("opening flags", FLAG_AUX | FLAG_PREPROCESSED)?;
                let aux = if flags & FLAG_AUX != 0 {
                    Some(r.opening("aux opening")?)
                } else {
                    None
                };
                let preprocessed = if flags & FLAG_PREPROCESSED != 0 {
                    Some(r.opening("preprocessed opening")?)
                } else {
                    None
                };
                let comp = r.opening("composition opening")?;
                qt.push(TableQuery {
                    preprocessed,
                    main,
                    aux,
                    comp,
                });
            }
            let nl = r.len("FRI layer openings", 12)?;
            let layers = (0..nl)
                .map(|_| r.opening("FRI layer opening"))
                .collect::<Result<_, _>>()?;
            queries.push(QueryProof { tables: qt, layers });
        }
        if r.left() != 0 {
            return Err(ProofFormatError::TrailingBytes(r.left()));
        }
        Ok(Proof {
            tables,
            fri_roots,
            final_poly,
            pow_nonce,
            queries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::PrimeCharacteristicRing;

    fn sample() -> Proof {
        let opening = MerkleOpening {
            row0: vec![F::ONE, F::TWO],
            row1: vec![F::ZERO, F::NEG_ONE],
            path: vec![[7u8; 32]; 3],
        };
        Proof {
            tables: vec![TableProof {
                log_height: 5,
                main_root: [1; 32],
                aux: Some(AuxCommitment {
                    root: [2; 32],
                    claimed_sum: EF::TWO,
                }),
                comp_root: [3; 32],
                ood: OodValues {
                    main_z: vec![EF::ONE; 2],
                    main_zw: vec![EF::TWO; 2],
                    aux_z: vec![EF::ONE; 6],
                    aux_zw: vec![EF::ZERO; 6],
                    comp_z: vec![EF::NEG_ONE; 3],
                    ..Default::default()
                },
            }],
            fri_roots: vec![[4; 32]; 2],
            final_poly: vec![EF::ONE],
            pow_nonce: 42,
            queries: vec![QueryProof {
                tables: vec![TableQuery {
                    preprocessed: None,
                    main: opening.clone(),
                    aux: None,
                    comp: opening.clone(),
                }],
                layers: vec![opening],
            }],
        }
    }

    /// The sample with preprocessed columns (values at z and zω, one opening per query).
    fn sample_preprocessed() -> Proof {
        let mut p = sample();
        p.tables[0].ood.prep_z = vec![EF::TWO; 2];
        p.tables[0].ood.prep_zw = vec![EF::ONE; 2];
        p.queries[0].tables[0].preprocessed = Some(p.queries[0].tables[0].main.clone());
        p
    }

    #[test]
    fn round_trip() {
        for p in [sample(), sample_preprocessed()] {
            assert_eq!(Proof::from_bytes(&p.to_bytes()).unwrap(), p);
        }
        // size_bytes counts what to_bytes writes, with and without aux and preprocessed parts
        let mut no_aux = sample();
        no_aux.tables[0].aux = None;
        no_aux.queries[0].tables[0].aux = Some(no_aux.queries[0].tables[0].comp.clone());
        for p in [sample(), sample_preprocessed(), no_aux] {
            assert_eq!(p.size_bytes(), p.to_bytes().len());
        }
        // Without preprocessed columns the flag bytes are the aux flags of before.
        let bytes = sample().to_bytes();
        assert_eq!(bytes[10 + 1 + 32], 1);
        assert_eq!(sample_preprocessed().to_bytes()[10 + 1 + 32], 3);
    }

    #[test]
    fn malformed_inputs() {
        let bytes = sample().to_bytes();
        assert_eq!(Proof::from_bytes(b"RST"), Err(ProofFormatError::BadMagic));
        assert_eq!(
            Proof::from_bytes(b"XXXXXX"),
            Err(ProofFormatError::BadMagic)
        );
        let mut v = bytes.clone();
        v[4] = 9;
        assert_eq!(
            Proof::from_bytes(&v),
            Err(ProofFormatError::UnsupportedVersion(9))
        );
        let mut v = bytes.clone();
        v.push(0);
        assert_eq!(
            Proof::from_bytes(&v),
            Err(ProofFormatError::TrailingBytes(1))
        );
        // Table count far beyond the bytes left.
        let mut v = bytes.clone();
        v[6..10].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Proof::from_bytes(&v),
            Err(ProofFormatError::LengthTooLarge { .. })
        ));
        // Unknown flag bit.
        let mut v = bytes.clone();
        v[10 + 1 + 32] = 5;
        assert!(matches!(
            Proof::from_bytes(&v),
            Err(ProofFormatError::BadFlag { .. })
        ));
        // The preprocessed flag with no preprocessed values: a second encoding, refused.
        let mut v = bytes.clone();
        v[10 + 1 + 32] = 3;
        let o = &sample().tables[0].ood;
        let vec_ef = |x: &Vec<EF>| 4 + 24 * x.len();
        let table_end = 10
            + 1
            + 32
            + 1
            + 56
            + 32
            + [&o.main_z, &o.main_zw, &o.aux_z, &o.aux_zw, &o.comp_z]
                .into_iter()
                .map(vec_ef)
                .sum::<usize>();
        v.splice(table_end..table_end, [0u8; 8]);
        assert!(matches!(
            Proof::from_bytes(&v),
            Err(ProofFormatError::BadFlag { .. })
        ));
        // Non-canonical claimed sum (first coefficient = p).
        let mut v = bytes.clone();
        let at = 10 + 1 + 32 + 1 + 32;
        v[at..at + 8].copy_from_slice(&0xffff_ffff_0000_0001u64.to_le_bytes());
        assert!(matches!(
            Proof::from_bytes(&v),
            Err(ProofFormatError::NonCanonical(_))
        ));
        for cut in 0..bytes.len() {
            assert!(Proof::from_bytes(&bytes[..cut]).is_err());
        }
    }
}
