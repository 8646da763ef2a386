//! `multi`: many tables in one proof, to spread over several devices — sixteen Keccak-f tables
//! of three heights (four of `size` permutations, four of size/2, eight of size/4, each from its
//! own inputs: 8 × size permutations' work, no table more than an eighth of it) and the VM's
//! three tables (as many CPU steps as the tallest Keccak table has rows).

use crate::keccak::keccak_rows;

/// The Keccak tables: name and the divisor of the size giving its permutations.
pub const KECCAK_TABLES: [(&str, usize); 16] = [
    ("keccak-a", 1),
    ("keccak-b", 1),
    ("keccak-c", 1),
    ("keccak-d", 1),
    ("keccak-e", 2),
    ("keccak-f", 2),
    ("keccak-g", 2),
    ("keccak-h", 2),
    ("keccak-i", 4),
    ("keccak-j", 4),
    ("keccak-k", 4),
    ("keccak-l", 4),
    ("keccak-m", 4),
    ("keccak-n", 4),
    ("keccak-o", 4),
    ("keccak-p", 4),
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
