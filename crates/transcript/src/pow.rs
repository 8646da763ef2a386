//! Proof-of-work search: the least nonce, found in parallel, so every backend agrees on it.
//!
//! Each candidate is the 41-byte message 0x02 ‖ s ‖ le64(nonce); batches of them are hashed
//! several at a time in SIMD lanes (`rstark_merkle::keccak256_batch`).

use rayon::prelude::*;
use rstark_merkle::keccak256_batch;
use tiny_keccak::{Hasher, Keccak};

use crate::TranscriptError;
use crate::transcript::TAG_POW;

/// Nonces tried per parallel round; the least hit of the first round with a hit wins.
const ROUND: u64 = 1 << 16;

/// Nonces per rayon task, searched in increasing order.
const CHUNK: u64 = 512;

/// Candidates hashed per `keccak256_batch` call.
const BATCH: usize = 16;

/// Length of a candidate message: tag, state, nonce.
const MSG_LEN: usize = 1 + 32 + 8;

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

/// The least nonce whose Keccak256(0x02 ‖ state ‖ le64(nonce)) has at least `bits` leading
/// zero bits: what [`Transcript::grind`](crate::Transcript::grind) finds for a transcript whose
/// [`state`](crate::Transcript::state) is `state` (without absorbing it). Another searcher (a
/// GPU backend) is checked against it. Expected work 2^bits hashes.
///
/// # Errors
/// [`TranscriptError::PowBitsTooLarge`] if `bits > 256` (no digest has that many zero bits).
pub fn least_nonce(state: &[u8; 32], bits: u32) -> Result<u64, TranscriptError> {
    if bits > 256 {
        return Err(TranscriptError::PowBitsTooLarge { bits });
    }
    Ok(search(state, bits))
}

/// [`least_nonce`] for `bits <= 256`.
fn search(state: &[u8; 32], bits: u32) -> u64 {
    if bits == 0 {
        return 0;
    }
    let mut start = 0u64;
    loop {
        // find_map_first returns the hit of the least chunk; within a chunk the search is in
        // increasing order, so the hit is the least nonce of the round.
        let hit = (0..ROUND / CHUNK)
            .into_par_iter()
            .find_map_first(|c| search_chunk(state, bits, start + c * CHUNK));
        if let Some(n) = hit {
            return n;
        }
        start += ROUND;
    }
}

/// The least nonce in [first, first + CHUNK) with enough zero bits, if any.
fn search_chunk(state: &[u8; 32], bits: u32, first: u64) -> Option<u64> {
    let mut msgs = [0u8; BATCH * MSG_LEN];
    for m in msgs.chunks_exact_mut(MSG_LEN) {
        m[0] = TAG_POW;
        m[1..33].copy_from_slice(state);
    }
    let mut out = [[0u8; 32]; BATCH];
    for batch in (first..first + CHUNK).step_by(BATCH) {
        for (i, m) in msgs.chunks_exact_mut(MSG_LEN).enumerate() {
            m[33..].copy_from_slice(&(batch + i as u64).to_le_bytes());
        }
        keccak256_batch(&msgs, MSG_LEN, &mut out);
        if let Some(i) = out.iter().position(|d| leading_zero_bits(d) >= bits) {
            return Some(batch + i as u64);
        }
    }
    None
}
