//! The proof file written by `rstark prove` and read by `rstark verify` (docs/PROTOCOL.md,
//! "Proof file"): a header naming the statement (workload, size, parameters, public values of
//! every table), then the proof's own bytes.

use rstark_field::{F, f_from_bytes, f_to_bytes};
use rstark_protocol::StarkParams;

/// First eight bytes of a proof file.
pub const FILE_MAGIC: &[u8; 8] = b"RSTARKPF";
/// Version of the file header.
pub const FILE_VERSION: u16 = 1;

/// Longest workload or preset name a header may carry.
const MAX_NAME: usize = 64;

/// Everything in a proof file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofFile {
    pub workload: String,
    pub size: u64,
    /// Name of the preset the parameters came from (informational; `params` is what counts).
    pub preset: String,
    pub params: StarkParams,
    /// Public values of each table, in the workload's table order.
    pub public_values: Vec<Vec<F>>,
    /// The encoded `rstark_protocol::Proof`.
    pub proof: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("not an rstark proof file (bad magic bytes)")]
    BadMagic,
    #[error("unsupported proof file version {0} (this build reads version {FILE_VERSION})")]
    Version(u16),
    #[error("proof file truncated while reading {0}")]
    Truncated(&'static str),
    #[error("invalid {0} in the proof file header")]
    Invalid(&'static str),
    #[error("{0} trailing bytes after the proof")]
    Trailing(usize),
}

impl ProofFile {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.proof.len() + 128);
        out.extend_from_slice(FILE_MAGIC);
        out.extend_from_slice(&FILE_VERSION.to_le_bytes());
        put_name(&mut out, &self.workload);
        out.extend_from_slice(&self.size.to_le_bytes());
        put_name(&mut out, &self.preset);
        out.extend_from_slice(&self.params.to_bytes());
        out.extend_from_slice(&(self.public_values.len() as u32).to_le_bytes());
        for values in &self.public_values {
            out.extend_from_slice(&(values.len() as u32).to_le_bytes());
            for &v in values {
                out.extend_from_slice(&f_to_bytes(v));
            }
        }
        out.extend_from_slice(&(self.proof.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.proof);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FileError> {
        let mut r = Reader(bytes);
        if r.take(8, "magic")? != FILE_MAGIC {
            return Err(FileError::BadMagic);
        }
        let version = u16::from_le_bytes(r.array("version")?);
        if version != FILE_VERSION {
            return Err(FileError::Version(version));
        }
        let workload = r.name("workload name")?;
        let size = u64::from_le_bytes(r.array("size")?);
        let preset = r.name("preset name")?;
        let params = params_from_bytes(r.array("parameters")?)?;
        let tables = u32::from_le_bytes(r.array("table count")?) as usize;
        let mut public_values = Vec::new();
        for _ in 0..tables {
            let count = u32::from_le_bytes(r.array("public value count")?) as usize;
            // Bounded by the bytes left before anything is allocated.
            if count > r.0.len() / 8 {
                return Err(FileError::Truncated("public values"));
            }
            let mut values = Vec::with_capacity(count);
            for _ in 0..count {
                let v = f_from_bytes(r.array("public value")?)
                    .ok_or(FileError::Invalid("public value (not canonical)"))?;
                values.push(v);
            }
            public_values.push(values);
        }
        let len = u64::from_le_bytes(r.array("proof length")?);
        let len = usize::try_from(len).map_err(|_| FileError::Truncated("proof"))?;
        let proof = r.take(len, "proof")?.to_vec();
        if !r.0.is_empty() {
            return Err(FileError::Trailing(r.0.len()));
        }
        Ok(Self {
            workload,
            size,
            preset,
            params,
            public_values,
            proof,
        })
    }
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let bytes = &name.as_bytes()[..name.len().min(MAX_NAME)];
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

/// Inverse of `StarkParams::to_bytes`, validated.
fn params_from_bytes(b: [u8; 8]) -> Result<StarkParams, FileError> {
    let params = StarkParams {
        log_blowup: b[0],
        num_queries: u16::from_le_bytes([b[1], b[2]]),
        pow_bits: b[3],
        log_final_poly_len: b[4],
    };
    if b[5..] != [0, 0, 0] || params.validate().is_err() || params.to_bytes() != b {
        return Err(FileError::Invalid("parameters"));
    }
    Ok(params)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FileError> {
        if n > self.0.len() {
            return Err(FileError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], FileError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn name(&mut self, what: &'static str) -> Result<String, FileError> {
        let [len] = self.array::<1>(what)?;
        if usize::from(len) > MAX_NAME {
            return Err(FileError::Invalid(what));
        }
        let bytes = self.take(len.into(), what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| FileError::Invalid(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_protocol::presets;

    fn sample() -> ProofFile {
        ProofFile {
            workload: "vm".into(),
            size: 4096,
            preset: "default".into(),
            params: presets::DEFAULT,
            public_values: vec![vec![F::new(3), F::new(16)], vec![], vec![]],
            proof: vec![1, 2, 3, 4, 5],
        }
    }

    #[test]
    fn round_trip() {
        let f = sample();
        assert_eq!(ProofFile::from_bytes(&f.to_bytes()).unwrap(), f);
    }

    #[test]
    fn every_truncation_and_extension_is_an_error() {
        let bytes = sample().to_bytes();
        for n in 0..bytes.len() {
            assert!(ProofFile::from_bytes(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(ProofFile::from_bytes(&longer), Err(FileError::Trailing(1)));
    }

    #[test]
    fn corrupted_headers_are_errors() {
        let bytes = sample().to_bytes();
        let mut bad = bytes.clone();
        bad[0] ^= 1;
        assert_eq!(ProofFile::from_bytes(&bad), Err(FileError::BadMagic));
        let mut bad = bytes.clone();
        bad[8] = 9;
        assert_eq!(ProofFile::from_bytes(&bad), Err(FileError::Version(9)));
        // A public value ≥ p.
        let pv_at = bytes.len() - 8 - 5 - 4 - 4 - 16;
        let mut bad = bytes;
        bad[pv_at..pv_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            ProofFile::from_bytes(&bad),
            Err(FileError::Invalid(_))
        ));
    }
}
