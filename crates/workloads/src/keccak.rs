//! Keccak-f[1600] permutations, proven with `p3-keccak-air`'s AIR (24 rows per permutation).
//!
//! The inputs are pseudo-random states from a fixed seed, so a size fully determines the
//! statement. The table has no public values and no bus interactions.

use p3_keccak_air::{NUM_KECCAK_COLS, NUM_ROUNDS, generate_trace_rows};
use rstark_field::F;

/// Columns of the Keccak table.
pub const KECCAK_WIDTH: usize = NUM_KECCAK_COLS;

/// Trace rows for `perms` permutations: the next power of two of 24·perms.
pub fn keccak_rows(perms: usize) -> usize {
    (perms * NUM_ROUNDS).next_power_of_two()
}

/// The seed of [`keccak_inputs`] ("RSTARK").
pub const DEFAULT_SEED: u64 = 0x5253_5441_524b;

/// The `perms` input states: splitmix64 of a counter, so every run proves the same statement.
pub fn keccak_inputs(perms: usize) -> Vec<[u64; 25]> {
    keccak_inputs_seeded(perms, DEFAULT_SEED)
}

/// [`keccak_inputs`] from another seed (another table's statement).
pub fn keccak_inputs_seeded(perms: usize, seed: u64) -> Vec<[u64; 25]> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..perms)
        .map(|_| std::array::from_fn(|_| next()))
        .collect()
}

/// The trace (row-major values, width [`KECCAK_WIDTH`]) of `perms` permutations.
pub fn keccak_trace(perms: usize) -> Vec<F> {
    keccak_trace_seeded(perms, DEFAULT_SEED)
}

/// [`keccak_trace`] of [`keccak_inputs_seeded`].
pub fn keccak_trace_seeded(perms: usize, seed: u64) -> Vec<F> {
    generate_trace_rows::<F>(keccak_inputs_seeded(perms, seed), 0).values
}
