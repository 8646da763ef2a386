//! Proof-of-work search: the least nonce, found in parallel, so every backend agrees on it.

use rayon::prelude::*;
use tiny_keccak::{Hasher, Keccak};

/// Nonces tried per parallel round; the least hit of the first round with a hit wins.
const ROUND: u64 = 1 << 16;

/// Leading zero bits of a digest, counted from the most significant bit of byte 0.
pub fn leading_zero_bits(digest: &[u8; 32]) -> u32 {
    let mut zeros = 0;
    for &b in digest {
        if b == 0 {
            zeros += 8;
        } else {
            return zeros + b.leading_zeros();
        }
    }
    zeros
}

/// Leading zero bits of Keccak256(prefix ‖ le64(nonce)), `prefix` = 0x02 ‖ s already absorbed.
pub(crate) fn zeros_for(prefix: &Keccak, nonce: u64) -> u32 {
    let mut k = prefix.clone();
    k.update(&nonce.to_le_bytes());
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    leading_zero_bits(&out)
}

/// The least nonce with at least `bits` leading zero bits.
pub(crate) fn least_nonce(prefix: &Keccak, bits: u32) -> u64 {
    if bits == 0 {
        return 0;
    }
    let mut start = 0u64;
    loop {
        let end = start.saturating_add(ROUND);
        // find_first returns the hit with the least index, whichever thread finds it.
        if let Some(n) = (start..end)
            .into_par_iter()
            .find_first(|&n| zeros_for(prefix, n) >= bits)
        {
            return n;
        }
        start = end;
    }
}
