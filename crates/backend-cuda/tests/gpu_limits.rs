//! Launches at shapes where a naive grid passes the hardware limits (65535 blocks along y or z):
//! the NTT batch of very wide traces (66000 columns; 9168 columns × blowup 16), the
//! transpose's column groups past 4 × 65535 columns, and narrow tables at 2^24 (against the
//! CPU: LDE, tree, openings, out-of-domain values) and 2^26 rows (GPU only: every LDE value
//! checked against a known polynomial, openings verified against the root). The constraint
//! kernel at 2^21–2^22 quotient rows is in gpu_constraints.rs, whole proofs at scale in
//! gpu_scale.rs. Built only with `--features cuda`; without a GPU every test FAILS (never skips).
#![cfg(feature = "cuda")]

use std::time::Instant;

use rayon::prelude::*;
use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::{CudaBackend, DeviceMatrix, GpuContext};
use rstark_field::{EF, F, GENERATOR, PrimeCharacteristicRing, PrimeField64, ef_from_base, omega};
use rstark_merkle::{MerkleTree, verify_opening};
use rstark_poly::{RowMajor, lde};
use rstark_protocol::Backend;

fn gpu() -> GpuContext {
    let ctx = GpuContext::new(0).unwrap_or_else(|e| panic!("GPU limit tests need a CUDA GPU: {e}"));
    ctx.set_poison(true);
    ctx
}

fn log(msg: String) {
    println!("[limits] {msg}");
}

fn field(words: Vec<u64>) -> Vec<F> {
    words.into_iter().map(F::new).collect()
}

/// A random rows × width trace made on the device, and the same values on the host.
fn random_trace(
    ctx: &GpuContext,
    rows: usize,
    width: usize,
    seed: u64,
) -> (DeviceMatrix, RowMajor) {
    let dev = ctx.random_matrix(rows, width, seed).unwrap();
    let host = RowMajor::new(field(dev.download_words(ctx).unwrap()), width).unwrap();
    (dev, host)
}

/// The device LDE (plain, and with its tree) equals the CPU's, and so do roots.
fn check_wide(ctx: &GpuContext, log_n: usize, width: usize, log_b: usize) {
    let (dev, host) = random_trace(ctx, 1 << log_n, width, (log_n * 100_000 + width) as u64);
    let t = Instant::now();
    let want = lde(&host, log_b).unwrap();
    let want_words: Vec<u64> = want.values.iter().map(|x| x.as_canonical_u64()).collect();
    let cpu_tree = MerkleTree::commit(&want).unwrap();
    let cpu_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let got = ctx.lde(&dev, log_b as u32).unwrap();
    ctx.synchronize().unwrap();
    let gpu_s = t.elapsed().as_secs_f64();
    let got = got.download_words(ctx).unwrap();
    if let Some(i) = (0..want_words.len()).find(|&i| got[i] != want_words[i]) {
        panic!(
            "LDE 2^{log_n} x {width} blowup 2^{log_b}: first difference at row {} col {}",
            i / width,
            i % width
        );
    }
    drop(got);
    let (m, tree) = ctx.lde_commit(&dev, log_b as u32).unwrap();
    assert_eq!(tree.root(), cpu_tree.root(), "root");
    assert!(
        m.download_words(ctx).unwrap() == want_words,
        "lde_commit matrix"
    );
    log(format!(
        "LDE 2^{log_n} x {width} blowup 2^{log_b} (+ commit): matches the CPU \
         (cpu {cpu_s:.2} s, gpu lde {gpu_s:.3} s)"
    ));
}

/// 66000 columns: the inverse NTT's batch (one transform per column) passes 65535 along y.
#[test]
fn ntt_batch_past_grid_y() {
    check_wide(&gpu(), 10, 66_000, 1);
}

/// 9168 columns × blowup 16 (a zkVM-sized table): the forward pass's 146688 transforms in one
/// column-major LDE, and its leaves hashed from it.
#[test]
fn wide_blowup_16() {
    check_wide(&gpu(), 10, 9168, 4);
}

/// 262150 columns: the transpose's groups of 4 columns pass 65535 along y.
#[test]
fn transpose_groups_past_grid_y() {
    check_wide(&gpu(), 10, 262_150, 0);
}

/// A narrow table at 2^24 rows through the backend: root, openings and out-of-domain values
/// equal the CPU backend's.
#[test]
fn narrow_2_24_commit_open_ood_match_cpu() {
    let be = CudaBackend::new(0).unwrap_or_else(|e| panic!("GPU limit tests need a CUDA GPU: {e}"));
    be.context().set_poison(true);
    let (log_n, width, log_b) = (24usize, 2usize, 1usize);
    let (_, trace) = random_trace(be.context(), 1 << log_n, width, 24);
    let t = Instant::now();
    let cpu = CpuBackend.commit_trace(&trace, log_b).unwrap();
    let cpu_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let dev = be.commit_trace(&trace, log_b).unwrap();
    be.context().synchronize().unwrap();
    let gpu_s = t.elapsed().as_secs_f64();
    assert_eq!(be.root(&dev), CpuBackend.root(&cpu), "root");
    let leaves = [0usize, 1, 12_345, (1 << 23) - 1, 1 << 23, (1 << log_n) - 1];
    assert_eq!(
        be.open_many(&dev, &leaves).unwrap(),
        CpuBackend.open_many(&cpu, &leaves).unwrap(),
        "openings"
    );
    let z = ef_from_base([F::new(11), F::new(22), F::new(33)]);
    let want: Vec<EF> = CpuBackend.evaluate_at(&cpu, z).unwrap();
    assert_eq!(
        be.evaluate_at(&dev, z).unwrap(),
        want,
        "out-of-domain values"
    );
    let zw = z * F::new(5);
    assert_eq!(
        be.evaluate_at_pair(&dev, z, zw).unwrap(),
        (want, CpuBackend.evaluate_at(&cpu, zw).unwrap()),
        "out-of-domain values at two points"
    );
    log(format!(
        "2^{log_n} x {width} blowup 2^{log_b}: root, openings and OOD values match the CPU \
         (commit: cpu {cpu_s:.2} s, cuda {gpu_s:.3} s)"
    ));
}

/// 2^26 rows × 2 columns, blowup 2 (2^27 LDE rows), GPU only: column c holds f_c(x) =
/// a_c + b_c·x + c_c·x² on H, so LDE row j must hold f_c(g·ω_27^bitrev(j)) (every row is
/// checked); openings verify against the root.
#[test]
fn narrow_2_26_lde_is_the_polynomial() {
    let ctx = gpu();
    let (log_n, log_b) = (26u32, 1u32);
    let coef = [
        [F::new(5), F::new(7), F::new(11)],
        [F::new(13), F::new(17), F::new(19)],
    ];
    let f = |c: usize, x: F| coef[c][0] + coef[c][1] * x + coef[c][2] * x * x;
    // trace row r at x = ω_26^r, built in parallel chunks
    let chunk = 1usize << 16;
    let w_n = omega(log_n as usize);
    let mut trace = vec![F::ZERO; 2 << log_n];
    trace
        .par_chunks_mut(2 * chunk)
        .enumerate()
        .for_each(|(i, rows)| {
            let mut x = w_n.exp_u64((i * chunk) as u64);
            for r in rows.chunks_exact_mut(2) {
                r[0] = f(0, x);
                r[1] = f(1, x);
                x *= w_n;
            }
        });
    let trace = RowMajor::new(trace, 2).unwrap();
    let dev = DeviceMatrix::upload(&ctx, &trace).unwrap();
    drop(trace);
    let t = Instant::now();
    let (m, tree) = ctx.lde_commit(&dev, log_b).unwrap();
    ctx.synchronize().unwrap();
    let gpu_s = t.elapsed().as_secs_f64();
    let words = m.download_words(&ctx).unwrap();
    let log_rows = log_n + log_b;
    let w_lde = omega(log_rows as usize);
    // natural k: x = g·ω^k sits at row bitrev(k)
    let bad = (0..(1usize << log_rows) / chunk)
        .into_par_iter()
        .find_map_any(|i| {
            let mut x = GENERATOR * w_lde.exp_u64((i * chunk) as u64);
            for k in i * chunk..(i + 1) * chunk {
                let j = (k as u64).reverse_bits() >> (64 - log_rows);
                for c in 0..2 {
                    if words[2 * j as usize + c] != f(c, x).as_canonical_u64() {
                        return Some((j, c));
                    }
                }
                x *= w_lde;
            }
            None
        });
    assert_eq!(
        bad, None,
        "LDE 2^{log_n} x 2: (row, column) off the polynomial"
    );
    let leaves: Vec<usize> = (0..64)
        .map(|i| (i * 0x9E37_79B9usize) % tree.num_leaves())
        .collect();
    let root = tree.root();
    for o in tree.open_batch(&ctx, &m, &leaves).unwrap() {
        verify_opening(&root, tree.num_leaves(), &o).unwrap();
        let row = |r: usize| field(words[2 * r..2 * r + 2].to_vec());
        assert_eq!(
            (o.row0.clone(), o.row1.clone()),
            (row(2 * o.leaf_index), row(2 * o.leaf_index + 1))
        );
    }
    log(format!(
        "2^{log_n} x 2 blowup 2^{log_b}: all {} LDE rows on the polynomial, 64 openings verify \
         (lde + commit {gpu_s:.3} s)",
        1usize << log_rows
    ));
}
