//! Out-of-domain evaluation of trace columns by the barycentric formula over H = ⟨ω_n⟩:
//! p(z) = (z^N − 1)/N · Σ_i f_i · ω^i / (z − ω^i).

use rayon::prelude::*;
use rstark_field::{
    EF, F, Field, PrimeCharacteristicRing, PrimeField64, batch_multiplicative_inverse,
    ef_from_base, ef_to_base, omega,
};

use crate::RowMajor;

const CHUNK_ROWS: usize = 1 << 12;

/// Evaluates every column of a natural-order trace (values on H) at `z`, in parallel.
/// If `z` lies in H the matching row is returned exactly.
///
/// # Panics
/// If the trace's height is not a power of two.
pub fn eval_columns_at(trace: &RowMajor, z: EF) -> Vec<EF> {
    let log_n = trace
        .log_height()
        .expect("eval_columns_at: trace height must be a power of two");
    let n = 1usize << log_n;
    let width = trace.width;
    let w = omega(log_n);
    let z_n = z.exp_power_of_2(log_n);
    if z_n == EF::ONE {
        // z = ω^k for some k: the formula divides by zero, the answer is row k.
        let mut x = F::ONE;
        for r in 0..n {
            if EF::from(x) == z {
                return trace.row(r).iter().map(|&v| EF::from(v)).collect();
            }
            x *= w;
        }
        unreachable!("z^N = 1 implies z ∈ H");
    }
    let sum = trace
        .values
        .par_chunks(CHUNK_ROWS * width)
        .enumerate()
        .map(|(chunk, rows)| {
            let start = chunk * CHUNK_ROWS;
            let count = rows.len() / width;
            let mut xs = Vec::with_capacity(count);
            let mut x = w.exp_u64(start as u64);
            for _ in 0..count {
                xs.push(x);
                x *= w;
            }
            let denoms: Vec<EF> = xs.iter().map(|&x| z - x).collect();
            let inv = batch_multiplicative_inverse(&denoms);
            let weights: Vec<[u64; 3]> = inv
                .iter()
                .zip(&xs)
                .map(|(d, x)| ef_to_base(*d * *x).map(|c| c.as_canonical_u64()))
                .collect();
            // Σ_i w_i·f_i per column and per coefficient of w, without reducing each product.
            let mut acc = vec![[Wide::ZERO; 3]; width];
            for (row, w) in rows.chunks_exact(width).zip(&weights) {
                for (a, v) in acc.iter_mut().zip(row) {
                    let v = v.as_canonical_u64();
                    a[0].add_product(w[0], v);
                    a[1].add_product(w[1], v);
                    a[2].add_product(w[2], v);
                }
            }
            acc.iter()
                .map(|a| ef_from_base([a[0].reduce(), a[1].reduce(), a[2].reduce()]))
                .collect::<Vec<EF>>()
        })
        .reduce(
            || vec![EF::ZERO; width],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        );
    let scale = (z_n - EF::ONE) * F::from_usize(n).inverse();
    sum.into_iter().map(|s| s * scale).collect()
}

/// A sum of u64 × u64 products kept exactly: `low` plus `carries`·2^128.
#[derive(Clone, Copy)]
struct Wide {
    low: u128,
    carries: u64,
}

impl Wide {
    const ZERO: Self = Self { low: 0, carries: 0 };

    #[inline(always)]
    fn add_product(&mut self, a: u64, b: u64) {
        let (low, carry) = self.low.overflowing_add(a as u128 * b as u128);
        self.low = low;
        self.carries += carry as u64;
    }

    /// The sum mod p, using 2^64 ≡ 2^32 − 1 (mod p).
    fn reduce(self) -> F {
        let two64 = F::from_u64(0xffff_ffff);
        let lo = F::from_u64(self.low as u64);
        let hi = F::from_u64((self.low >> 64) as u64);
        lo + hi * two64 + F::from_u64(self.carries) * two64.square()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{coefficients, golden};

    #[test]
    fn matches_horner_on_coefficients() {
        for log_n in [0, 1, 3, 13] {
            let trace = golden::matrix(log_n, 3, 77 + log_n as u64);
            let coeffs = coefficients(&trace);
            let z = ef_from_base([F::new(123), F::new(456), F::new(789)]);
            let got = eval_columns_at(&trace, z);
            for (c, value) in got.iter().enumerate() {
                let mut acc = EF::ZERO;
                for r in (0..trace.height()).rev() {
                    acc = acc * z + coeffs.row(r)[c];
                }
                assert_eq!(*value, acc, "log_n {log_n} column {c}");
            }
            // A point of H returns its row.
            let k = trace.height() / 2;
            let zk = EF::from(omega(log_n).exp_u64(k as u64));
            let row: Vec<EF> = trace.row(k).iter().map(|&v| EF::from(v)).collect();
            assert_eq!(eval_columns_at(&trace, zk), row);
        }
    }

    #[test]
    fn wide_sums_reduce_exactly() {
        let big = u64::MAX;
        let mut w = Wide::ZERO;
        let mut want = F::ZERO;
        for _ in 0..1000 {
            w.add_product(big, big);
            want += F::from_u64(big) * F::from_u64(big);
        }
        assert!(w.carries > 0);
        assert_eq!(w.reduce(), want);
    }
}
