//! GPU parity tests: every kernel against the CPU reference, byte for byte, on random inputs of
//! several sizes, plus the foundation's golden vectors. Built only with `--features cuda` and run
//! on the GPU machine (scripts/gpu-bundle.sh); without a GPU every test FAILS (never skips).
//! Output buffers are poisoned first, so an element the kernels forget to write cannot pass.

use std::time::Instant;

use rstark_backend_cuda::{CudaError, DeviceMatrix, DeviceMerkleTree, GpuContext};
use rstark_field::{EF, F, P, PrimeField64, ef_from_base, ef_to_base, write_row_bytes};
use rstark_merkle::{MerkleTree, keccak256, verify_opening};
use rstark_poly::{RowMajor, golden, lde};

fn gpu() -> GpuContext {
    let ctx =
        GpuContext::new(0).unwrap_or_else(|e| panic!("GPU parity tests need a CUDA GPU: {e}"));
    ctx.set_poison(true);
    ctx
}

fn words(len: usize, seed: u64) -> Vec<u64> {
    golden::elements(len, seed)
        .iter()
        .map(|x| x.as_canonical_u64())
        .collect()
}

fn log(msg: String) {
    println!("[parity] {msg}");
}

#[test]
fn field_arithmetic_matches_p3() {
    let ctx = gpu();
    let mut a = words(200_000, 1);
    let mut b = words(200_000, 2);
    let edges = [
        0,
        1,
        2,
        P - 1,
        P - 2,
        (1 << 32) - 1,
        1 << 32,
        (1 << 32) + 1,
        1 << 63,
        P >> 1,
    ];
    for (i, &x) in edges.iter().enumerate() {
        for (j, &y) in edges.iter().enumerate() {
            a[i * edges.len() + j] = x;
            b[i * edges.len() + j] = y;
        }
    }
    let got = ctx.probe_field(&a, &b).unwrap();
    for i in 0..a.len() {
        let (x, y) = (F::new(a[i]), F::new(b[i]));
        let want = [x + y, x - y, x * y, -x].map(|v| v.as_canonical_u64());
        assert_eq!(got[i], want, "a={:#x} b={:#x}", a[i], b[i]);
    }
    let ea: Vec<[u64; 3]> = words(60_000, 3)
        .chunks(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let eb: Vec<[u64; 3]> = words(60_000, 4)
        .chunks(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let got = ctx.probe_ext(&ea, &eb).unwrap();
    let to_ef = |c: &[u64; 3]| ef_from_base(c.map(F::new));
    let to_words = |e: EF| ef_to_base(e).map(|v| v.as_canonical_u64());
    for i in 0..ea.len() {
        let (x, y) = (to_ef(&ea[i]), to_ef(&eb[i]));
        assert_eq!(
            got[i],
            [to_words(x * y), to_words(x + y)],
            "ext element {i}"
        );
    }
    log(format!(
        "field: {} base and {} extension pairs match",
        a.len(),
        ea.len()
    ));
}

#[test]
fn keccak_matches_tiny_keccak() {
    let ctx = gpu();
    let lens: Vec<usize> = (0..=70)
        .chain([135, 136, 137, 272, 273, 512, 1024])
        .collect();
    let msgs: Vec<Vec<u64>> = lens.iter().map(|&n| words(n, n as u64 + 7)).collect();
    let got = ctx.probe_keccak(&msgs).unwrap();
    for (m, g) in msgs.iter().zip(&got) {
        let bytes: Vec<u8> = m.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(*g, keccak256(&bytes), "message of {} words", m.len());
    }
    log(format!(
        "keccak256: {} messages of 0..1024 words match",
        msgs.len()
    ));
}

fn check_lde(ctx: &GpuContext, log_n: usize, width: usize, log_b: usize, full_nodes: bool) {
    let trace = golden::matrix(log_n, width, 77 + (log_n * 31 + width * 7 + log_b) as u64);
    let t0 = Instant::now();
    let want = lde(&trace, log_b).unwrap();
    let cpu_s = t0.elapsed().as_secs_f64();
    let dev = DeviceMatrix::upload(ctx, &trace).unwrap();
    // the NTT variants (register rounds of 3 or 4 stages; tiles of 2^13, 2^12 or 2^10 words;
    // strided tiles filled or capped at 2^4 or 2^2 groups) must give the same bytes as the
    // default choice timed below
    const VARIANTS: [(u32, u32, u32); 5] =
        [(3, 13, 13), (4, 13, 13), (4, 13, 4), (4, 12, 4), (3, 10, 2)];
    let mut variants = Vec::new();
    for (r, tile, max_log_c) in VARIANTS {
        ctx.set_ntt_round(r);
        ctx.set_ntt_tile_log(tile);
        ctx.set_ntt_max_log_c(max_log_c);
        variants.push(
            ctx.lde(&dev, log_b as u32)
                .unwrap()
                .download_words(ctx)
                .unwrap(),
        );
    }
    ctx.set_ntt_round(0);
    ctx.set_ntt_tile_log(rstark_backend_cuda::plan::NTT_TILE_LOG);
    ctx.set_ntt_max_log_c(rstark_backend_cuda::plan::NTT_MAX_LOG_C);
    let t1 = Instant::now();
    let got = ctx.lde(&dev, log_b as u32).unwrap();
    ctx.synchronize().unwrap();
    let gpu_s = t1.elapsed().as_secs_f64();
    assert_eq!(got.rows(), want.height());
    let got_words = got.download_words(ctx).unwrap();
    let want_words: Vec<u64> = want.values.iter().map(|x| x.as_canonical_u64()).collect();
    for ((r, tile, max_log_c), v) in VARIANTS.iter().zip(&variants) {
        assert!(
            v == &want_words,
            "LDE ({r}-stage rounds, 2^{tile}-word tiles, <= 2^{max_log_c} groups) 2^{log_n} x {width} blowup 2^{log_b} differs"
        );
    }
    if let Some(i) = (0..want_words.len()).find(|&i| got_words[i] != want_words[i]) {
        panic!(
            "LDE 2^{log_n} x {width} blowup 2^{log_b}: first difference at row {} col {}: gpu {:#x} cpu {:#x}",
            i / width,
            i % width,
            got_words[i],
            want_words[i]
        );
    }
    // The proof's path (coefficients kept, the inverse's last pass fused with the forward's
    // first at 2^14 .. 2^17): the same LDE, and the same coefficients as the unfused steps.
    let plain = ctx.coefficients(&dev).unwrap().download_words(ctx).unwrap();
    let copy = DeviceMatrix::upload(ctx, &trace).unwrap();
    let (coefs, m3, kept) = ctx.coefficients_and_lde(copy, log_b as u32, true).unwrap();
    assert!(kept.is_some(), "the trace comes back when kept");
    assert!(
        coefs.download_words(ctx).unwrap() == plain,
        "coefficients_and_lde: coefficients 2^{log_n} x {width}"
    );
    assert!(
        m3.download_words(ctx).unwrap() == want_words,
        "coefficients_and_lde: LDE 2^{log_n} x {width} blowup 2^{log_b}"
    );
    // LDE + commit (column-major leaves), and the row-major leaf kernel on the CPU's LDE: same
    // matrix, same tree as the CPU.
    let cpu_tree = MerkleTree::commit(&want).unwrap();
    let (m2, tree) = ctx.lde_commit(&dev, log_b as u32).unwrap();
    assert!(m2.is_col_major(), "the LDE is column-major");
    assert_eq!(
        m2.download_words(ctx).unwrap(),
        want_words,
        "lde_commit matrix"
    );
    assert_eq!(tree.root(), cpu_tree.root(), "lde_commit root");
    if full_nodes {
        assert_eq!(tree.download_nodes(ctx).unwrap(), cpu_tree.nodes(), "nodes");
    }
    let row_major = DeviceMatrix::upload(ctx, &want).unwrap();
    let t2 = DeviceMerkleTree::commit(ctx, &row_major).unwrap();
    assert_eq!(t2.root(), cpu_tree.root(), "commit of the row-major LDE");
    log(format!(
        "lde+commit 2^{log_n} x {width} blowup 2^{log_b}: {} rows match (cpu {:.3}s, gpu {:.4}s incl. first-use tables)",
        want.height(),
        cpu_s,
        gpu_s
    ));
}

#[test]
fn lde_small_and_odd_widths() {
    let ctx = gpu();
    for (log_n, width, log_b) in [
        (0, 1, 1),
        (0, 3, 4),
        (1, 1, 0),
        (1, 3, 2),
        (2, 5, 1),
        (3, 7, 3),
        (5, 2, 4),
        (9, 13, 1),
        (10, 3, 2),
        (11, 1, 3),
        (12, 9, 1),
        (13, 5, 2),
        (14, 17, 1),
        (14, 2, 0),
        (15, 9, 2),
        (16, 33, 1),
        (16, 3, 4),
        (17, 7, 1),
        (17, 5, 3),
        (18, 3, 2),
        (19, 2, 1),
        (11, 100, 2),
        (10, 65, 1),
    ] {
        check_lde(&ctx, log_n, width, log_b, true);
    }
}

#[test]
fn lde_large() {
    let ctx = gpu();
    for (log_n, width, log_b) in [
        (20, 8, 1),
        (21, 3, 3),
        (22, 4, 1),
        (22, 1, 2),
        (23, 2, 1),
        (24, 1, 1),
    ] {
        check_lde(&ctx, log_n, width, log_b, false);
    }
}

#[test]
fn golden_vectors_on_gpu() {
    let ctx = gpu();
    let lde_txt = include_str!("../../poly/tests/golden/lde.txt");
    let roots_txt = include_str!("../../merkle/tests/golden/roots.txt");
    let mut n = 0;
    for line in lde_txt
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let p = |i: usize| f[i].parse::<usize>().unwrap();
        let (log_n, width, log_b, seed) = (p(0), p(1), p(2), f[3].parse::<u64>().unwrap());
        let dev = DeviceMatrix::upload(&ctx, &golden::matrix(log_n, width, seed)).unwrap();
        let (m, tree) = ctx.lde_commit(&dev, log_b as u32).unwrap();
        let mut bytes = Vec::new();
        write_row_bytes(&m.download(&ctx).unwrap().values, &mut bytes);
        assert_eq!(hex::encode(keccak256(&bytes)), f[4], "golden LDE {line}");
        let want_root = roots_txt
            .lines()
            .find(|l| l.starts_with(&format!("lde {log_n} {width} {log_b} {seed} ")))
            .and_then(|l| l.split_whitespace().nth(5))
            .expect("root in roots.txt");
        assert_eq!(hex::encode(tree.root()), want_root, "golden root {line}");
        n += 1;
    }
    for line in roots_txt.lines().filter(|l| l.starts_with("raw ")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (log_rows, width, seed) = (
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].parse().unwrap(),
        );
        let dev = DeviceMatrix::upload(&ctx, &golden::matrix(log_rows, width, seed)).unwrap();
        let tree = DeviceMerkleTree::commit(&ctx, &dev).unwrap();
        assert_eq!(hex::encode(tree.root()), f[4], "golden raw root {line}");
        n += 1;
    }
    log(format!(
        "golden vectors: {n} LDE hashes and roots reproduced on the GPU"
    ));
}

#[test]
fn merkle_commit_matches_cpu() {
    let ctx = gpu();
    // widths around the 17-word rate boundary (2W words per leaf)
    for (log_rows, width) in [
        (1, 1),
        (1, 8),
        (2, 9),
        (3, 17),
        (4, 16),
        (10, 3),
        (11, 34),
        (12, 100),
        (9, 256),
        (18, 2),
    ] {
        let m = golden::matrix(log_rows, width, 900 + log_rows as u64 * 1000 + width as u64);
        let cpu = MerkleTree::commit(&m).unwrap();
        let dev = DeviceMatrix::upload(&ctx, &m).unwrap();
        let tree = DeviceMerkleTree::commit(&ctx, &dev).unwrap();
        assert_eq!(tree.root(), cpu.root(), "root 2^{log_rows} x {width}");
        assert_eq!(
            tree.download_nodes(&ctx).unwrap(),
            cpu.nodes(),
            "nodes 2^{log_rows} x {width}"
        );
    }
    log("merkle: roots and all nodes match for 10 shapes (1..2^18 rows, widths 1..256)".into());
}

#[test]
fn openings_gathered_on_device_verify_on_host() {
    let ctx = gpu();
    for (log_rows, width) in [(1, 3), (2, 1), (12, 7), (20, 4)] {
        let m = golden::matrix(log_rows, width, 4242 + log_rows as u64);
        let cpu = MerkleTree::commit(&m).unwrap();
        let dev = DeviceMatrix::upload(&ctx, &m).unwrap();
        let tree = DeviceMerkleTree::commit(&ctx, &dev).unwrap();
        let l = tree.num_leaves();
        let mut leaves: Vec<usize> = words(100, 99 + log_rows as u64)
            .iter()
            .map(|&w| (w as usize) % l)
            .collect();
        leaves.extend([0, l - 1, 0]);
        let paths = tree.gather_paths(&ctx, &leaves).unwrap();
        for (leaf, path) in leaves.iter().zip(&paths) {
            assert_eq!(*path, cpu.path(*leaf).unwrap(), "path of leaf {leaf}");
        }
        let openings = tree.open_batch(&ctx, &dev, &leaves).unwrap();
        let want = rstark_merkle::open_batch(&m, &cpu, &leaves).unwrap();
        assert_eq!(openings, want, "open_batch 2^{log_rows} x {width}");
        for o in &openings {
            verify_opening(&tree.root(), l, o).unwrap();
        }
        // out-of-range positions are errors, never truncations (also past u32)
        for bad in [l, l + 1, 1usize << 32, usize::MAX] {
            match tree.gather_paths(&ctx, &[0, bad]) {
                Err(CudaError::LeafOutOfRange { index, num_leaves }) => {
                    assert_eq!((index, num_leaves), (bad as u64, l as u64))
                }
                other => panic!("leaf {bad}: expected LeafOutOfRange, got {other:?}"),
            }
        }
        let rows: Vec<usize> = vec![0, 2 * l - 1, l];
        let got = dev.gather_rows(&ctx, &rows).unwrap();
        for (r, g) in rows.iter().zip(&got) {
            assert_eq!(g.as_slice(), m.row(*r));
        }
        assert!(matches!(
            dev.gather_rows(&ctx, &[2 * l]),
            Err(CudaError::RowOutOfRange { .. })
        ));
    }
    log("openings: device paths equal the CPU's and verify with verify_opening; bad indices rejected".into());
}

#[test]
fn bad_shapes_are_errors_and_only_roots_come_back() {
    let ctx = gpu();
    let three = RowMajor::new(golden::elements(9, 1), 3).unwrap();
    let dev = DeviceMatrix::upload(&ctx, &three).unwrap();
    assert!(matches!(ctx.lde(&dev, 1), Err(CudaError::Shape(_))));
    assert!(matches!(
        DeviceMerkleTree::commit(&ctx, &dev),
        Err(CudaError::Shape(_))
    ));
    let t = golden::matrix(4, 2, 5);
    let dev = DeviceMatrix::upload(&ctx, &t).unwrap();
    assert!(matches!(ctx.lde(&dev, 5), Err(CudaError::Shape(_))));
    assert!(matches!(
        DeviceMatrix::upload_words(&ctx, &[P], 1, 1),
        Err(CudaError::NonCanonical(_))
    ));
    // LDE + commit of a resident trace sends back the 32-byte root and nothing else.
    let big = ctx.random_matrix(1 << 16, 8, 3).unwrap();
    let _warm = ctx.lde_commit(&big, 2).unwrap(); // tables are uploaded once per size
    ctx.reset_transfers();
    let (_m, tree) = ctx.lde_commit(&big, 2).unwrap();
    let t = ctx.transfers();
    assert_eq!((t.d2h_bytes, t.h2d_bytes), (32, 0), "{t:?}");
    log(format!(
        "errors typed; lde_commit moved {t:?} (root {})",
        hex::encode(tree.root())
    ));
}

#[test]
fn uploads_round_trip() {
    let ctx = gpu();
    // sizes around the pinned staging path (2^17 words and up, 2^23-word chunks, partial last)
    for (rows, width) in [(1, 1), (1000, 3), ((1 << 17) / 4, 4), ((1 << 22) + 5, 3)] {
        let values = golden::elements(rows * width, rows as u64);
        let m = RowMajor::new(values.clone(), width).unwrap();
        let dev = DeviceMatrix::upload(&ctx, &m).unwrap();
        assert_eq!(
            dev.download(&ctx).unwrap().values,
            values,
            "{rows} x {width}"
        );
    }
    log("uploads: pageable and pinned-staged uploads round-trip".into());
}
