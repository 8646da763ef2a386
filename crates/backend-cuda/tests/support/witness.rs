//! Shared by the witness-check and LogUp tests (tests/witness_logup_on_host.rs without a GPU,
//! tests/gpu_witness.rs on one): a seeded generator of field elements, and the blocks of trace
//! rows that blocks recomputed from coefficients give.

#![allow(dead_code)]

use rstark_field::{EF, F, PrimeCharacteristicRing, ef_from_base};

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn f(&mut self) -> F {
        F::new(self.next() % 0xFFFF_FFFF_0000_0001)
    }
    pub fn ef(&mut self) -> EF {
        ef_from_base([self.f(), self.f(), self.f()])
    }
}

/// Block `first` of the 2^shift bit-reversed strided blocks of a trace (`values`, width `w`),
/// column-major: row i of the block is natural row first + (bitrev_k(i) << shift), k = log2 of
/// the block's rows.
pub fn bitrev_block_colmajor(values: &[F], w: usize, shift: u32, first: usize) -> Vec<F> {
    let n = values.len() / w;
    let rows = n >> shift;
    let log = rows.trailing_zeros();
    let mut v = vec![F::ZERO; rows * w];
    for i in 0..rows {
        let j = if log == 0 {
            0
        } else {
            i.reverse_bits() >> (usize::BITS - log)
        };
        let r = first + (j << shift);
        for c in 0..w {
            v[c * rows + i] = values[r * w + c];
        }
    }
    v
}
