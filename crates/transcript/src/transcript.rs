use rstark_field::{EF, F, P, ef_from_base};
use tiny_keccak::{Hasher, Keccak};

use crate::{DOMAIN, TranscriptError, pow};

/// Tag bytes separating the three kinds of state update.
pub(crate) const TAG_ABSORB: u8 = 0x00;
pub(crate) const TAG_SQUEEZE: u8 = 0x01;
pub(crate) const TAG_POW: u8 = 0x02;

/// The Fiat–Shamir state (PROTOCOL.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    state: [u8; 32],
}

impl Transcript {
    /// s = Keccak256("rstark-transcript-v1" ‖ label).
    pub fn new(label: &[u8]) -> Self {
        let mut k = Keccak::v256();
        k.update(DOMAIN);
        k.update(label);
        let mut state = [0u8; 32];
        k.finalize(&mut state);
        Self { state }
    }

    /// The current 32-byte state.
    pub fn state(&self) -> [u8; 32] {
        self.state
    }

    /// s = Keccak256(0x00 ‖ s ‖ le64(len) ‖ bytes).
    pub fn absorb_bytes(&mut self, bytes: &[u8]) {
        let mut k = self.tagged(TAG_ABSORB);
        k.update(&(bytes.len() as u64).to_le_bytes());
        k.update(bytes);
        k.finalize(&mut self.state);
    }

    /// Absorbs a 32-byte digest (a Merkle root) as its bytes.
    pub fn absorb_digest(&mut self, digest: &[u8; 32]) {
        self.absorb_bytes(digest);
    }

    /// Absorbs base elements as one absorb of their concatenated canonical bytes.
    pub fn absorb_base(&mut self, xs: &[F]) {
        let mut bytes = Vec::with_capacity(xs.len() * 8);
        rstark_field::write_row_bytes(xs, &mut bytes);
        self.absorb_bytes(&bytes);
    }

    /// Absorbs extension elements as one absorb of their concatenated canonical bytes (24 each).
    pub fn absorb_ext(&mut self, xs: &[EF]) {
        let mut bytes = Vec::with_capacity(xs.len() * 24);
        for x in xs {
            bytes.extend_from_slice(&rstark_field::ef_to_bytes(*x));
        }
        self.absorb_bytes(&bytes);
    }

    /// s = Keccak256(0x01 ‖ s); returns the new s.
    pub fn squeeze_block(&mut self) -> [u8; 32] {
        let k = self.tagged(TAG_SQUEEZE);
        k.finalize(&mut self.state);
        self.state
    }

    /// A uniform base element: the first of the block's four u64 LE words below p
    /// (non-canonical words are rejected, never reduced, so there is no bias).
    pub fn sample_base(&mut self) -> F {
        loop {
            if let Some(x) = first_canonical_word(&self.squeeze_block()) {
                return x;
            }
        }
    }

    /// A uniform extension element: three base samples, constant coefficient first.
    pub fn sample_ext(&mut self) -> EF {
        let c0 = self.sample_base();
        let c1 = self.sample_base();
        let c2 = self.sample_base();
        ef_from_base([c0, c1, c2])
    }

    /// A uniform index in [0, n), n a power of two ≤ 2^32: the block's first u64 LE word masked.
    ///
    /// # Panics
    /// If `n` is not such a power of two; [`Self::try_sample_index`] returns an error instead.
    pub fn sample_index(&mut self, n: usize) -> usize {
        match self.try_sample_index(n) {
            Ok(i) => i,
            Err(e) => panic!("sample_index: {e}"),
        }
    }

    /// [`Self::sample_index`] that rejects a bad `n` (without touching the state).
    pub fn try_sample_index(&mut self, n: usize) -> Result<usize, TranscriptError> {
        if !n.is_power_of_two() || n as u64 > 1 << 32 {
            return Err(TranscriptError::BadIndexRange { n });
        }
        let block = self.squeeze_block();
        let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = block;
        let word = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
        Ok((word & (n as u64 - 1)) as usize)
    }

    /// `count` independent [`Self::sample_index`] draws (duplicates allowed).
    ///
    /// # Panics
    /// If `n` is not a power of two ≤ 2^32; [`Self::try_sample_indices`] returns an error instead.
    pub fn sample_indices(&mut self, count: usize, n: usize) -> Vec<usize> {
        match self.try_sample_indices(count, n) {
            Ok(v) => v,
            Err(e) => panic!("sample_indices: {e}"),
        }
    }

    /// [`Self::sample_indices`] that rejects a bad `n` (without touching the state).
    pub fn try_sample_indices(
        &mut self,
        count: usize,
        n: usize,
    ) -> Result<Vec<usize>, TranscriptError> {
        if !n.is_power_of_two() || n as u64 > 1 << 32 {
            return Err(TranscriptError::BadIndexRange { n });
        }
        (0..count).map(|_| self.try_sample_index(n)).collect()
    }

    /// Proof of work: finds the least nonce whose Keccak256(0x02 ‖ s ‖ le64(nonce)) has `bits`
    /// leading zero bits (searched in parallel, deterministic), absorbs le64(nonce), returns it.
    /// `bits = 0` gives nonce 0. Expected work 2^bits hashes: callers pass realistic values.
    ///
    /// # Panics
    /// If `bits > 256` (no digest has that many zero bits; the search would never end);
    /// [`Self::try_grind`] returns an error instead.
    pub fn grind(&mut self, bits: u32) -> u64 {
        match self.try_grind(bits) {
            Ok(nonce) => nonce,
            Err(e) => panic!("grind: {e}"),
        }
    }

    /// [`Self::grind`] that rejects `bits > 256` (state untouched) instead of searching forever.
    pub fn try_grind(&mut self, bits: u32) -> Result<u64, TranscriptError> {
        let nonce = pow::least_nonce(&self.state, bits)?;
        self.absorb_bytes(&nonce.to_le_bytes());
        Ok(nonce)
    }

    /// Checks a proof-of-work nonce against the current state, then absorbs it like [`grind`].
    /// On failure the state is left unchanged. A prover that found the nonce elsewhere (a GPU
    /// backend searching from [`state`](Self::state)) absorbs it this way, checked.
    ///
    /// [`grind`]: Self::grind
    pub fn verify_pow(&mut self, bits: u32, nonce: u64) -> Result<(), TranscriptError> {
        if bits > 256 {
            return Err(TranscriptError::PowBitsTooLarge { bits });
        }
        let got = pow::zeros_for(&self.tagged(TAG_POW), nonce);
        if got < bits {
            return Err(TranscriptError::InsufficientWork {
                nonce,
                required: bits,
                got,
            });
        }
        self.absorb_bytes(&nonce.to_le_bytes());
        Ok(())
    }

    /// A Keccak hasher that has absorbed `tag ‖ s`.
    fn tagged(&self, tag: u8) -> Keccak {
        let mut k = Keccak::v256();
        k.update(&[tag]);
        k.update(&self.state);
        k
    }
}

/// The first of the block's four u64 LE words that is < p, as a field element.
pub(crate) fn first_canonical_word(block: &[u8; 32]) -> Option<F> {
    block
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
        .find(|&v| v < P)
        .map(F::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::PrimeField64;

    #[test]
    fn rejection_skips_non_canonical_words() {
        let mut block = [0xffu8; 32];
        assert_eq!(first_canonical_word(&block), None);
        // Word 2 = p (rejected), word 3 = p − 1 (accepted).
        block[16..24].copy_from_slice(&P.to_le_bytes());
        block[24..32].copy_from_slice(&(P - 1).to_le_bytes());
        assert_eq!(
            first_canonical_word(&block).map(|x| x.as_canonical_u64()),
            Some(P - 1)
        );
        block[0..8].copy_from_slice(&5u64.to_le_bytes());
        assert_eq!(
            first_canonical_word(&block).map(|x| x.as_canonical_u64()),
            Some(5)
        );
    }
}
