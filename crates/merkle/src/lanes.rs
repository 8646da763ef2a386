//! Keccak-256 of many equal-length messages at once, for leaves and nodes.
//!
//! Every leaf of a matrix (and every node) is a message of the same number of 64-bit words, so
//! several of them run through Keccak-f[1600] in lockstep, one per SIMD lane (keccak_f.rs):
//! 8 with AVX-512, 4 with AVX2, else 1. The path is picked at run time; all compute exactly
//! `tiny_keccak::Keccak::v256` (checked by the tests).
//!
//! Words: a canonical element's 8 LE bytes are one 64-bit LE word of the Keccak block, and a
//! 136-byte block holds 17 whole words, so messages are absorbed word by word, with no bytes.

use rstark_field::{F, PrimeField64};

use crate::keccak_f::{Word, keccak_f};
use crate::{Digest, MerkleError};

/// Rate of Keccak-256 in 64-bit words (136 bytes).
const RATE_WORDS: usize = 17;

/// Which lane width the running CPU gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneWidth {
    /// One message at a time (portable).
    Scalar,
    /// Four messages per permutation (AVX2).
    Avx2x4,
    /// Eight messages per permutation (AVX-512F).
    Avx512x8,
}

/// The lane width used on this CPU, detected once at run time. `RSTARK_KECCAK_LANES=1|4`
/// caps it (to compare the paths); the digests are the same whatever it is.
pub fn lane_width() -> LaneWidth {
    static WIDTH: std::sync::OnceLock<LaneWidth> = std::sync::OnceLock::new();
    *WIDTH.get_or_init(|| {
        let cap = std::env::var("RSTARK_KECCAK_LANES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(8);
        detect(cap)
    })
}

#[cfg(target_arch = "x86_64")]
fn detect(cap: usize) -> LaneWidth {
    if cap >= 8 && is_x86_feature_detected!("avx512f") {
        LaneWidth::Avx512x8
    } else if cap >= 4 && is_x86_feature_detected!("avx2") {
        LaneWidth::Avx2x4
    } else {
        LaneWidth::Scalar
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect(_cap: usize) -> LaneWidth {
    LaneWidth::Scalar
}

/// Keccak-256 (padding 0x01 … 0x80) of `out.len() = W::LANES` messages of `num_words` words;
/// `word(k)` holds word k of every message (one per lane).
#[inline(always)]
fn keccak256_words<W: Word>(num_words: usize, word: impl Fn(usize) -> W, out: &mut [Digest]) {
    debug_assert_eq!(out.len(), W::LANES);
    let mut state = [W::splat(0); 25];
    let full_blocks = num_words / RATE_WORDS;
    for blk in 0..full_blocks {
        let base = blk * RATE_WORDS;
        for (k, s) in state.iter_mut().take(RATE_WORDS).enumerate() {
            *s = s.xor(word(base + k));
        }
        keccak_f(&mut state);
    }
    // Last block: the remaining words, then the 0x01 … 0x80 padding.
    let base = full_blocks * RATE_WORDS;
    let rest = num_words - base;
    for (k, s) in state.iter_mut().take(rest).enumerate() {
        *s = s.xor(word(base + k));
    }
    pad_and_squeeze(&mut state, rest, out);
}

/// Shared tail of the lane-parallel Keccak-256 of words and of leaves: the last block's
/// padding (0x01 after its `rest` message words, 0x80 on its last byte), the final
/// permutation, and the digests.
#[inline(always)]
fn pad_and_squeeze<W: Word>(state: &mut [W; 25], rest: usize, out: &mut [Digest]) {
    state[rest] = state[rest].xor(W::splat(0x01));
    state[RATE_WORDS - 1] = state[RATE_WORDS - 1].xor(W::splat(0x80 << 56));
    keccak_f(state);
    squeeze_lanes(state, out);
}

/// Lane l's 32-byte digest (the state's first four words) into `out[l]`.
#[inline(always)]
fn squeeze_lanes<W: Word>(state: &[W; 25], out: &mut [Digest]) {
    for (l, d) in out.iter_mut().enumerate() {
        for (k, chunk) in d.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&state[k].lane(l).to_le_bytes());
        }
    }
}

/// Leaf digests of consecutive row pairs: `out[i]` = Keccak256(canonical bytes of
/// values[2i·W .. 2(i+1)·W]). `values.len()` must be `out.len() · 2W`.
pub(crate) fn hash_leaves(values: &[F], width: usize, out: &mut [Digest]) {
    debug_assert_eq!(values.len(), out.len() * 2 * width);
    match lane_width() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: lane_width() returns this variant only after detecting AVX-512F.
        LaneWidth::Avx512x8 => unsafe { x86::leaves_avx512(values, width, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: lane_width() returns this variant only after detecting AVX2.
        LaneWidth::Avx2x4 => unsafe { x86::leaves_avx2(values, width, out) },
        _ => leaves_lanes::<u64>(values, width, out),
    }
}

/// Parent digests: `out[i]` = Keccak256(children[2i] ‖ children[2i+1]).
pub(crate) fn hash_nodes(children: &[Digest], out: &mut [Digest]) {
    debug_assert_eq!(children.len(), 2 * out.len());
    match lane_width() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: lane_width() returns this variant only after detecting AVX-512F.
        LaneWidth::Avx512x8 => unsafe { x86::nodes_avx512(children, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: lane_width() returns this variant only after detecting AVX2.
        LaneWidth::Avx2x4 => unsafe { x86::nodes_avx2(children, out) },
        _ => nodes_lanes::<u64>(children, out),
    }
}

/// Keccak-256 of the LANES leaves in `m` (leaf l = `m[l·words .. (l+1)·words]`), one per lane.
/// In full blocks, runs of LANES words are loaded with vector loads and transposed; the last
/// (partial) block goes word by word.
#[inline(always)]
fn keccak256_leaf_group<W: Word>(m: &[F], words: usize, out: &mut [Digest]) {
    debug_assert_eq!(m.len(), W::LANES * words);
    let raw = m.as_ptr().cast::<u64>();
    let mut state = [W::splat(0); 25];
    let full_blocks = words / RATE_WORDS;
    for blk in 0..full_blocks {
        let base = blk * RATE_WORDS;
        // Constant trip counts once W is fixed, so this unrolls and `state` stays in registers.
        let mut run = [W::splat(0); 8];
        let mut k = 0;
        while k + W::LANES <= RATE_WORDS {
            // SAFETY: base + k + LANES ≤ (blk + 1)·RATE_WORDS ≤ words, so every
            // src[l·words + j] (l, j < LANES) lies inside `m`; F is a transparent u64.
            unsafe { W::load_block(raw.add(base + k), words, &mut run[..W::LANES]) };
            for j in 0..W::LANES {
                state[k + j] = state[k + j].xor(run[j].canonical());
            }
            k += W::LANES;
        }
        while k < RATE_WORDS {
            state[k] = state[k].xor(W::from_fn(|l| m[l * words + base + k].as_canonical_u64()));
            k += 1;
        }
        keccak_f(&mut state);
    }
    let base = full_blocks * RATE_WORDS;
    let rest = words - base;
    for (k, s) in state.iter_mut().take(rest).enumerate() {
        *s = s.xor(W::from_fn(|l| m[l * words + base + k].as_canonical_u64()));
    }
    pad_and_squeeze(&mut state, rest, out);
}

// Goldilocks is #[repr(transparent)] over its u64 (p3-goldilocks), which the raw loads rely on.
const _: () = assert!(size_of::<F>() == 8 && align_of::<F>() == align_of::<u64>());

/// Keccak-256 of `out.len()` byte messages of `len` bytes each, stored back to back in `msgs`
/// (message i = `msgs[i·len .. (i+1)·len]`), several at a time in SIMD lanes. Used where many
/// short equal-length messages are hashed, e.g. the proof-of-work search.
///
/// # Panics
/// If `msgs.len() != out.len() · len` (a caller bug, like a slice-length mismatch);
/// [`try_keccak256_batch`] returns an error instead.
pub fn keccak256_batch(msgs: &[u8], len: usize, out: &mut [Digest]) {
    if let Err(e) = try_keccak256_batch(msgs, len, out) {
        panic!("keccak256_batch: {e}");
    }
}

/// [`keccak256_batch`], rejecting `msgs.len() != out.len() · len` (nothing is written then).
pub fn try_keccak256_batch(msgs: &[u8], len: usize, out: &mut [Digest]) -> Result<(), MerkleError> {
    if out.len().checked_mul(len) != Some(msgs.len()) {
        return Err(MerkleError::BatchLength {
            bytes: msgs.len(),
            messages: out.len(),
            len,
        });
    }
    batch_unchecked(msgs, len, out);
    Ok(())
}

fn batch_unchecked(msgs: &[u8], len: usize, out: &mut [Digest]) {
    match lane_width() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: lane_width() returns this variant only after detecting AVX-512F.
        LaneWidth::Avx512x8 => unsafe { x86::bytes_avx512(msgs, len, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: lane_width() returns this variant only after detecting AVX2.
        LaneWidth::Avx2x4 => unsafe { x86::bytes_avx2(msgs, len, out) },
        _ => bytes_lanes::<u64>(msgs, len, out),
    }
}

/// Word k of a message after Keccak padding to `blocks` blocks (0x01 after the message, 0x80
/// on the block's last byte, XORed so that both may share a byte).
#[inline(always)]
fn padded_word(msg: &[u8], k: usize, blocks: usize) -> u64 {
    let start = 8 * k;
    let mut w = if start + 8 <= msg.len() {
        u64::from_le_bytes([
            msg[start],
            msg[start + 1],
            msg[start + 2],
            msg[start + 3],
            msg[start + 4],
            msg[start + 5],
            msg[start + 6],
            msg[start + 7],
        ])
    } else {
        let mut b = [0u8; 8];
        if start < msg.len() {
            b[..msg.len() - start].copy_from_slice(&msg[start..]);
        }
        if (start..start + 8).contains(&msg.len()) {
            b[msg.len() - start] ^= 0x01;
        }
        u64::from_le_bytes(b)
    };
    if k == blocks * RATE_WORDS - 1 {
        w ^= 0x80 << 56;
    }
    w
}

/// Absorbs `blocks` already padded blocks (`word(k)` = padded word k of every lane), squeezes.
#[inline(always)]
fn keccak256_padded<W: Word>(blocks: usize, word: impl Fn(usize) -> W, out: &mut [Digest]) {
    let mut state = [W::splat(0); 25];
    for blk in 0..blocks {
        for (k, s) in state.iter_mut().take(RATE_WORDS).enumerate() {
            *s = s.xor(word(blk * RATE_WORDS + k));
        }
        keccak_f(&mut state);
    }
    squeeze_lanes(&state, out);
}

#[inline(always)]
fn bytes_lanes<W: Word>(msgs: &[u8], len: usize, out: &mut [Digest]) {
    let blocks = len / (8 * RATE_WORDS) + 1;
    if len == 0 {
        for d in out.iter_mut() {
            keccak256_padded::<u64>(1, |k| padded_word(&[], k, 1), std::slice::from_mut(d));
        }
        return;
    }
    let mut groups = out.chunks_exact_mut(W::LANES);
    let mut ms = msgs.chunks_exact(W::LANES * len);
    for (g, m) in (&mut groups).zip(&mut ms) {
        let word = |k: usize| W::from_fn(|l| padded_word(&m[l * len..(l + 1) * len], k, blocks));
        keccak256_padded::<W>(blocks, word, g);
    }
    for (d, m) in groups
        .into_remainder()
        .iter_mut()
        .zip(ms.remainder().chunks_exact(len))
    {
        keccak256_padded::<u64>(
            blocks,
            |k| padded_word(m, k, blocks),
            std::slice::from_mut(d),
        );
    }
}

#[inline(always)]
fn leaves_lanes<W: Word>(values: &[F], width: usize, out: &mut [Digest]) {
    let words = 2 * width;
    if words == 0 {
        // Zero-width rows: every leaf is Keccak256 of the empty message.
        for d in out.iter_mut() {
            keccak256_words::<u64>(0, |_| 0, std::slice::from_mut(d));
        }
        return;
    }
    let mut groups = out.chunks_exact_mut(W::LANES);
    let mut msgs = values.chunks_exact(W::LANES * words);
    for (g, m) in (&mut groups).zip(&mut msgs) {
        keccak256_leaf_group::<W>(m, words, g);
    }
    for (d, m) in groups
        .into_remainder()
        .iter_mut()
        .zip(msgs.remainder().chunks_exact(words))
    {
        keccak256_words::<u64>(words, |k| m[k].as_canonical_u64(), std::slice::from_mut(d));
    }
}

#[inline(always)]
fn nodes_lanes<W: Word>(children: &[Digest], out: &mut [Digest]) {
    let mut groups = out.chunks_exact_mut(W::LANES);
    let mut pairs = children.chunks_exact(2 * W::LANES);
    for (g, c) in (&mut groups).zip(&mut pairs) {
        // Lane l's message is the 8 words of children 2l, 2l + 1: contiguous, stride 8 words.
        let raw = c.as_ptr().cast::<u64>();
        let mut msg = [W::splat(0); 8];
        for k in (0..8).step_by(W::LANES) {
            // SAFETY: l·8 + k + j < 8·LANES words = the 64·LANES bytes of `c` (unaligned loads).
            unsafe { W::load_block(raw.add(k), 8, &mut msg[k..k + W::LANES]) };
        }
        // Digest bytes are read as LE words: fix the order on big-endian targets.
        let msg = msg.map(W::le_to_native);
        keccak256_words::<W>(8, |k| msg[k], g);
    }
    for (d, c) in groups
        .into_remainder()
        .iter_mut()
        .zip(pairs.remainder().chunks_exact(2))
    {
        let word = |k: usize| {
            let b = &c[k / 4][(k % 4) * 8..(k % 4) * 8 + 8];
            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        };
        keccak256_words::<u64>(8, word, std::slice::from_mut(d));
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{__m256i, __m512i};

    use super::{Digest, F, bytes_lanes, leaves_lanes, nodes_lanes};

    #[target_feature(enable = "avx2")]
    pub(super) fn bytes_avx2(msgs: &[u8], len: usize, out: &mut [Digest]) {
        bytes_lanes::<__m256i>(msgs, len, out)
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn bytes_avx512(msgs: &[u8], len: usize, out: &mut [Digest]) {
        bytes_lanes::<__m512i>(msgs, len, out)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn leaves_avx2(values: &[F], width: usize, out: &mut [Digest]) {
        leaves_lanes::<__m256i>(values, width, out)
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn leaves_avx512(values: &[F], width: usize, out: &mut [Digest]) {
        leaves_lanes::<__m512i>(values, width, out)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn nodes_avx2(children: &[Digest], out: &mut [Digest]) {
        nodes_lanes::<__m256i>(children, out)
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn nodes_avx512(children: &[Digest], out: &mut [Digest]) {
        nodes_lanes::<__m512i>(children, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{hash_leaf, hash_node, keccak256};

    type LeafFn = fn(&[F], usize, &mut [Digest]);
    type NodeFn = fn(&[Digest], &mut [Digest]);

    /// Every path this CPU can run, with its lane count.
    fn paths() -> Vec<(usize, LeafFn, NodeFn)> {
        let mut v: Vec<(usize, LeafFn, NodeFn)> =
            vec![(1, leaves_lanes::<u64>, nodes_lanes::<u64>)];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                // SAFETY: feature detected just above.
                v.push((
                    4,
                    |a, b, c| unsafe { x86::leaves_avx2(a, b, c) },
                    |a, b| unsafe { x86::nodes_avx2(a, b) },
                ));
            }
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: feature detected just above.
                v.push((
                    8,
                    |a, b, c| unsafe { x86::leaves_avx512(a, b, c) },
                    |a, b| unsafe { x86::nodes_avx512(a, b) },
                ));
            }
        }
        v
    }

    #[test]
    fn every_path_matches_tiny_keccak() {
        for (lanes, leaves_fn, nodes_fn) in paths() {
            for width in [0, 1, 2, 7, 8, 9, 16, 17, 34, 64] {
                for leaves in [1, 3, lanes, lanes + 1, 2 * lanes + 3] {
                    let values = rstark_poly::golden::elements(leaves * 2 * width, width as u64);
                    let mut out = vec![[0u8; 32]; leaves];
                    leaves_fn(&values, width, &mut out);
                    for (i, d) in out.iter().enumerate() {
                        let pair = &values[2 * i * width..2 * (i + 1) * width];
                        let want = hash_leaf(&pair[..width], &pair[width..]);
                        assert_eq!(*d, want, "lanes {lanes} width {width} leaf {i}");
                    }
                }
            }
            for parents in [1, 2, lanes, lanes + 1, 3 * lanes + 1] {
                let children: Vec<Digest> = (0..2 * parents)
                    .map(|i| keccak256(&(i as u64).to_le_bytes()))
                    .collect();
                let mut out = vec![[0u8; 32]; parents];
                nodes_fn(&children, &mut out);
                for (i, d) in out.iter().enumerate() {
                    assert_eq!(*d, hash_node(&children[2 * i], &children[2 * i + 1]));
                }
            }
        }
    }

    #[test]
    fn batch_rejects_mismatched_lengths() {
        let mut out = vec![[7u8; 32]; 3];
        for (bytes, len) in [(10, 4), (12, 3), (0, 1), (5, usize::MAX)] {
            let err = try_keccak256_batch(&vec![0u8; bytes], len, &mut out).unwrap_err();
            assert!(
                matches!(err, MerkleError::BatchLength { .. }),
                "{bytes} {len}"
            );
        }
        assert_eq!(out, vec![[7u8; 32]; 3], "nothing written on error");
        try_keccak256_batch(&[1u8; 12], 4, &mut out).unwrap();
        assert_eq!(out[2], keccak256(&[1u8; 4]));
    }

    #[test]
    fn byte_batches_match_tiny_keccak_on_every_path() {
        type BytesFn = fn(&[u8], usize, &mut [Digest]);
        let mut fns: Vec<BytesFn> = vec![bytes_lanes::<u64>];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                // SAFETY: feature detected just above.
                fns.push(|a, b, c| unsafe { x86::bytes_avx2(a, b, c) });
            }
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: feature detected just above.
                fns.push(|a, b, c| unsafe { x86::bytes_avx512(a, b, c) });
            }
        }
        fns.push(keccak256_batch);
        for f in fns {
            for len in [0, 1, 7, 8, 9, 41, 135, 136, 137, 271, 272, 300] {
                for count in [1, 5, 8, 17] {
                    let msgs: Vec<u8> = (0..count * len).map(|i| (i * 131 + len) as u8).collect();
                    let mut out = vec![[0u8; 32]; count];
                    f(&msgs, len, &mut out);
                    for (i, d) in out.iter().enumerate() {
                        assert_eq!(
                            *d,
                            keccak256(&msgs[i * len..(i + 1) * len]),
                            "len {len} msg {i}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn non_canonical_elements_hash_canonically() {
        // p + 3 is a valid internal form of 3; every path must hash the canonical value.
        let values = vec![F::new(rstark_field::P + 3); 16 * 2 * 5];
        let canon = vec![F::new(3); 5];
        for (_, leaves_fn, _) in paths() {
            let mut out = vec![[0u8; 32]; 16];
            leaves_fn(&values, 5, &mut out);
            assert!(out.iter().all(|d| *d == hash_leaf(&canon, &canon)));
        }
    }
}
