//! `multi`: many tables in one proof, to spread over several devices — eight Keccak-f tables
//! of different heights (size, size, size/2, size/2 and four of size/4 permutations, each
//! from its own inputs) and the VM's three tables (as many CPU steps as the tallest Keccak
//! table has rows).

use crate::keccak::keccak_rows;

/// The Keccak tables: name and the divisor of the size giving its permutations.
pub const KECCAK_TABLES: [(&str, usize); 8] = [
    ("keccak-a", 1),
    ("keccak-b", 1),
    ("keccak-c", 2),
    ("keccak-d", 2),
    ("keccak-e", 4),
    ("keccak-f", 4),
    ("keccak-g", 4),
    ("keccak-h", 4),
];

/// Table `k`'s permutations at `size` (at least one).
pub fn keccak_perms(size: usize, k: usize) -> usize {
    (size / KECCAK_TABLES[k].1).max(1)
}

/// Table `k`'s input seed: the first table proves the `keccak` workload's inputs.
pub fn keccak_seed(k: usize) -> u64 {
    crate::keccak::DEFAULT_SEED.wrapping_add(k as u64)
}

/// The VM's CPU steps at `size`.
pub fn vm_steps(size: usize) -> usize {
    keccak_rows(size)
}
