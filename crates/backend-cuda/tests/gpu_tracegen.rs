//! The Keccak trace generated on the device (kernels/keccak_trace.cu) equals
//! `p3_keccak_air::generate_trace_rows::<Goldilocks>(inputs, 0)` byte for byte, for random
//! inputs of several counts (padding rows, a last partial permutation block, heights 2^5..2^17),
//! row-major and in the LDE's input layout (column-major, rows bit-reversed).
//! Built only with `--features cuda`; without a GPU every test FAILS (never skips). Buffers are
//! poisoned first, so a word the kernel forgets to write cannot pass.
#![cfg(feature = "cuda")]

use std::time::Instant;

use rstark_backend_cuda::{GpuContext, KECCAK_TRACE_WIDTH};
use rstark_field::PrimeField64;

fn gpu() -> GpuContext {
    let ctx = GpuContext::new(0).unwrap_or_else(|e| panic!("GPU tests need a CUDA GPU: {e}"));
    ctx.set_poison(true);
    ctx
}

/// splitmix64 lanes, a different stream per seed.
fn random_inputs(count: usize, seed: u64) -> Vec<[u64; 25]> {
    let mut state = seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|_| std::array::from_fn(|_| next()))
        .collect()
}

#[test]
fn keccak_trace_matches_p3() {
    assert_eq!(KECCAK_TRACE_WIDTH, p3_keccak_air::NUM_KECCAK_COLS);
    let ctx = gpu();
    for (i, count) in [1usize, 2, 3, 85, 170, 171, 1000, 2730, 5461]
        .into_iter()
        .enumerate()
    {
        let inputs = random_inputs(count, i as u64 + 1);
        let want: Vec<u64> =
            p3_keccak_air::generate_trace_rows::<rstark_field::F>(inputs.clone(), 0)
                .values
                .iter()
                .map(|v| v.as_canonical_u64())
                .collect();
        let t = Instant::now();
        let dev = ctx.keccak_trace(&inputs).unwrap();
        ctx.synchronize().unwrap();
        let gen_ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(dev.width(), KECCAK_TRACE_WIDTH);
        assert_eq!(dev.rows() * dev.width(), want.len(), "{count} permutations");
        let got = dev.download_words(&ctx).unwrap();
        if let Some(k) = got.iter().zip(&want).position(|(a, b)| a != b) {
            panic!(
                "{count} permutations: word {k} (row {}, column {}) is {:#x}, p3 has {:#x}",
                k / KECCAK_TRACE_WIDTH,
                k % KECCAK_TRACE_WIDTH,
                got[k],
                want[k]
            );
        }
        assert_eq!(got.len(), want.len());
        // The same trace generated straight into the LDE's input layout (column-major, rows
        // bit-reversed), as the prover's commitment takes it.
        let (rows, w) = (dev.rows(), KECCAK_TRACE_WIDTH);
        let log_n = rows.trailing_zeros() as usize;
        let cols = ctx
            .keccak_trace_bitrev_cols(&ctx.keccak_inputs(&inputs).unwrap())
            .unwrap();
        let cols = ctx.download(&cols, "bit-reversed columns").unwrap();
        for r in 0..rows {
            let at = rstark_poly::bit_reverse(r, log_n);
            for c in 0..w {
                assert!(
                    cols[c * rows + at] == want[r * w + c],
                    "{count} permutations, bit-reversed columns: row {r} column {c} is {:#x}, p3 has {:#x}",
                    cols[c * rows + at],
                    want[r * w + c]
                );
            }
        }
        println!(
            "[tracegen] {count} permutations: {} x {} identical to p3, generated in {gen_ms:.2} ms \
             (incl. input upload)",
            dev.rows(),
            dev.width()
        );
    }
}

#[test]
fn keccak_trace_of_no_input_is_p3s_padding_row() {
    let ctx = gpu();
    let want: Vec<u64> = p3_keccak_air::generate_trace_rows::<rstark_field::F>(Vec::new(), 0)
        .values
        .iter()
        .map(|v| v.as_canonical_u64())
        .collect();
    let got = ctx.keccak_trace(&[]).unwrap().download_words(&ctx).unwrap();
    assert_eq!(got, want);
}
