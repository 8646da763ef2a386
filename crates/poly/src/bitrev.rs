use rayon::prelude::*;
use rstark_field::F;

/// Reverses the low `log_n` bits of `i` (`i < 2^log_n`); `bit_reverse(i, 0) = 0`.
/// `log_n ≤ usize::BITS` is the caller's invariant (it is the log size of a domain it holds).
#[inline]
pub fn bit_reverse(i: usize, log_n: usize) -> usize {
    if log_n == 0 {
        0
    } else {
        i.reverse_bits() >> (usize::BITS as usize - log_n)
    }
}

/// Returns the rows of a `height × width` row-major matrix (height 2^k) in bit-reversed order.
///
/// # Panics
/// If `width == 0`. A layout helper for matrices the caller built (e.g. a validated
/// [`crate::RowMajor`]); a height that is not a power of two is a caller bug (debug-asserted).
pub fn bit_reverse_rows(values: &[F], width: usize) -> Vec<F> {
    let height = values.len() / width.max(1);
    debug_assert!(height.is_power_of_two());
    let log_h = height.trailing_zeros() as usize;
    let mut out = vec![F::new(0); values.len()];
    let copy = |(j, dst): (usize, &mut [F])| {
        let src = bit_reverse(j, log_h) * width;
        dst.copy_from_slice(&values[src..src + width]);
    };
    // Small matrices (a FRI final codeword: 48 values) on this thread: waking the pool's
    // sleeping workers cost ~0.35 ms on the 16-core host, 10x the copy.
    if values.len() < PAR_MIN_VALUES {
        out.chunks_exact_mut(width).enumerate().for_each(copy);
    } else {
        out.par_chunks_exact_mut(width).enumerate().for_each(copy);
    }
    out
}

/// Matrices of fewer values are reordered without the thread pool.
const PAR_MIN_VALUES: usize = 1 << 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        assert_eq!(bit_reverse(0, 0), 0);
        assert_eq!(bit_reverse(1, 1), 1);
        assert_eq!(bit_reverse(1, 3), 4);
        assert_eq!(bit_reverse(6, 3), 3);
        for i in 0..64 {
            assert_eq!(bit_reverse(bit_reverse(i, 6), 6), i);
        }
    }
}
