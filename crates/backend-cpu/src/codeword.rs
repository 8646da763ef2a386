//! FRI codewords on the CPU.

use rayon::prelude::*;
use rstark_field::{EF, F, Field, PrimeCharacteristicRing, flatten_ext, omega, unflatten_ext};
use rstark_merkle::MerkleTree;
use rstark_poly::{RowMajor, bit_reverse};
use rstark_protocol::{BackendError, MerkleOpening};

use crate::util::{coset_coefficients, merkle_err, open};

/// Evaluations over shift·⟨ω_log_size⟩ in bit-reversed order, with its commitment once made.
#[derive(Clone, Debug)]
pub struct CpuCodeword {
    pub values: Vec<EF>,
    pub log_size: usize,
    pub shift: F,
    committed: Option<(RowMajor, MerkleTree)>,
}

impl CpuCodeword {
    pub fn new(values: Vec<EF>, log_size: usize, shift: F) -> Self {
        Self {
            values,
            log_size,
            shift,
            committed: None,
        }
    }

    pub(crate) fn add(&mut self, other: &CpuCodeword) -> Result<(), BackendError> {
        if other.values.len() != self.values.len() || self.committed.is_some() {
            return Err(BackendError::BadInput("codeword sizes differ".into()));
        }
        self.values
            .par_iter_mut()
            .zip(&other.values)
            .for_each(|(a, &b)| *a += b);
        Ok(())
    }

    /// f'(x²) = (f(x) + f(−x))/2 + β·(f(x) − f(−x))/(2x), x = shift·ω^{bitrev(2i)}.
    pub(crate) fn fold(&self, beta: EF) -> Result<CpuCodeword, BackendError> {
        self.check_size()?;
        if self.log_size == 0 {
            return Err(BackendError::BadInput(
                "cannot fold a codeword of size 1".into(),
            ));
        }
        let half = self.values.len() / 2;
        let log_half = self.log_size.saturating_sub(1);
        let w_inv = omega(self.log_size).inverse();
        let mut pows = Vec::with_capacity(half);
        let mut p = self.shift.inverse();
        for _ in 0..half {
            pows.push(p);
            p *= w_inv;
        }
        let two_inv = F::TWO.inverse();
        let values = (0..half)
            .into_par_iter()
            .map(|i| {
                let a = self.values[2 * i];
                let b = self.values[2 * i + 1];
                let x_inv = pows[bit_reverse(i, log_half)];
                ((a + b) + beta * (a - b) * x_inv) * two_inv
            })
            .collect();
        Ok(CpuCodeword::new(values, log_half, self.shift.square()))
    }

    /// `values` and `log_size` are public fields: check they agree before indexing by them.
    fn check_size(&self) -> Result<(), BackendError> {
        if self.log_size >= usize::BITS as usize || self.values.len() != 1 << self.log_size {
            return Err(BackendError::BadInput(format!(
                "codeword has {} values, not 2^{}",
                self.values.len(),
                self.log_size
            )));
        }
        Ok(())
    }

    pub(crate) fn commit(&mut self) -> Result<rstark_merkle::Digest, BackendError> {
        let m = RowMajor {
            values: flatten_ext(&self.values),
            width: 3,
        };
        let tree = MerkleTree::commit(&m).map_err(merkle_err)?;
        let root = tree.root();
        self.committed = Some((m, tree));
        Ok(root)
    }

    pub(crate) fn open(&self, leaf: usize) -> Result<MerkleOpening, BackendError> {
        match &self.committed {
            Some((m, t)) => open(m, t, leaf),
            None => Err(BackendError::BadInput("codeword not committed".into())),
        }
    }

    pub(crate) fn final_poly(&self, len: usize) -> Result<Vec<EF>, BackendError> {
        self.check_size()?;
        let coeffs = coset_coefficients(&flatten_ext(&self.values), 3, self.shift);
        let coeffs = unflatten_ext(&coeffs)
            .ok_or_else(|| BackendError::BadInput("ragged codeword".into()))?;
        if coeffs.len() < len || coeffs[len..].iter().any(|c| *c != EF::ZERO) {
            return Err(BackendError::NotLowDegree(len));
        }
        Ok(coeffs[..len].to_vec())
    }
}
