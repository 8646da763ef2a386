//! Proof of work on the device (kernels/pow.cu): how the search is launched. Built without the
//! `cuda` feature too, so CI drives the kernel, compiled for the host, with this very schedule
//! (tests/kernels_on_host.rs).
//!
//! The nonces are searched in batches from 0 upward, one thread per nonce; each check queues a
//! few batches on the stream, then reads back the least hit (8 bytes). A batch queued after a
//! hit returns at once (its nonces are all larger), so the first check with a hit gives the
//! least nonce overall: `rstark_transcript::least_nonce`'s.

/// Threads per block of `pow_grind` (must match `POW_THREADS` in kernels/pow.cu).
pub const POW_THREADS: u32 = 256;

/// The device's "no hit yet" value; nonce 2^64 − 1 itself is never searched.
pub const NO_HIT: u64 = u64::MAX;

/// Smallest batch, log2 nonces: 2^18 threads fill an H200 (132 SMs × 2048 resident threads).
pub const MIN_BATCH_LOG: u32 = 18;

/// Largest batch, log2 nonces (65536 blocks).
pub const MAX_BATCH_LOG: u32 = 24;

/// Most batches queued per check (the count doubles from 1 at each check without a hit).
pub const MAX_BATCHES_PER_CHECK: usize = 8;

/// log2 of the batch for `bits`: 4 × the expected 2^bits nonces (one batch has a hit with
/// probability 1 − e^−4 ≈ 98%), within [`MIN_BATCH_LOG`], [`MAX_BATCH_LOG`].
pub fn batch_log(bits: u32) -> u32 {
    bits.saturating_add(2).clamp(MIN_BATCH_LOG, MAX_BATCH_LOG)
}

/// The transcript state as the kernel takes it: 4 little-endian words.
pub fn state_words(state: &[u8; 32]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (x, c) in w.iter_mut().zip(state.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        *x = u64::from_le_bytes(b);
    }
    w
}

/// The launches of a search: each item is one check's batches, `(first nonce, count)` each,
/// consecutive and increasing; together they cover [start, 2^64 − 1).
#[derive(Clone, Debug)]
pub struct Schedule {
    next: u64,
    batch: u64,
    per_check: usize,
}

impl Schedule {
    /// The device's schedule for `bits`: from nonce 0, batches of 2^[`batch_log`]`(bits)`.
    pub fn for_bits(bits: u32) -> Self {
        Self::starting_at(0, batch_log(bits))
    }

    /// From nonce `start`, batches of 2^`batch_log` (tests use small batches, and start near
    /// the top of the range).
    pub fn starting_at(start: u64, batch_log: u32) -> Self {
        Self {
            next: start,
            batch: 1u64 << batch_log.min(63),
            per_check: 1,
        }
    }
}

impl Iterator for Schedule {
    type Item = Vec<(u64, u64)>;

    fn next(&mut self) -> Option<Vec<(u64, u64)>> {
        if self.next == NO_HIT {
            return None;
        }
        let mut launches = Vec::with_capacity(self.per_check);
        while launches.len() < self.per_check && self.next < NO_HIT {
            let count = self.batch.min(NO_HIT - self.next);
            launches.push((self.next, count));
            self.next += count;
        }
        self.per_check = (self.per_check * 2).min(MAX_BATCHES_PER_CHECK);
        Some(launches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_grow_with_bits_within_bounds() {
        assert_eq!(batch_log(0), MIN_BATCH_LOG);
        assert_eq!(batch_log(16), MIN_BATCH_LOG);
        assert_eq!(batch_log(20), 22);
        assert_eq!(batch_log(32), MAX_BATCH_LOG);
        assert_eq!(batch_log(u32::MAX), MAX_BATCH_LOG);
    }

    #[test]
    fn schedule_covers_the_range_in_order() {
        let mut s = Schedule::for_bits(20);
        let checks: Vec<_> = s.by_ref().take(6).collect();
        let sizes: Vec<usize> = checks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 2, 4, 8, 8, 8]);
        let mut next = 0;
        for &(first, count) in checks.iter().flatten() {
            assert_eq!((first, count), (next, 1 << 22));
            next += count;
        }
        // Near the top: the last batch stops before 2^64 − 1, then the schedule ends.
        let near = NO_HIT - 3 * (1 << 10) - 5;
        let tail: Vec<_> = Schedule::starting_at(near, 10).flatten().collect();
        assert_eq!(tail.first(), Some(&(near, 1 << 10)));
        assert_eq!(tail.last(), Some(&(NO_HIT - 5, 5)));
        assert_eq!(tail.iter().map(|l| l.1).sum::<u64>(), NO_HIT - near);
        assert!(Schedule::starting_at(NO_HIT, 10).next().is_none());
    }

    #[test]
    fn state_words_are_little_endian() {
        let mut s = [0u8; 32];
        s[0] = 1;
        s[9] = 2;
        s[31] = 0x80;
        assert_eq!(state_words(&s), [1, 2 << 8, 0, 0x80 << 56]);
    }
}
