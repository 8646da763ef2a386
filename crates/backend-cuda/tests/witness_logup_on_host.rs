//! The device witness check (kernels/witness.cu, run by the interpreter of constraints.cu) and
//! the LogUp aux kernels (kernels/logup.cu), compiled for the host by the C++ compiler (`$CXX`,
//! else `g++`) through tests/host/devwitness_host.cpp: their logic is checked here without a
//! GPU (the GPU itself: tests/gpu_witness.rs).
//! - witness: on good traces no row fails; with a planted bad cell, the smallest failing row is
//!   `rstark_air::first_failing_constraint`'s, whole trace or in blocks with their tails; fib,
//!   the VM tables, Keccak-f.
//! - LogUp: the aux words, claimed sum and interaction sums equal
//!   `rstark_air::logup::build_aux_trace`'s, with rows added in one block, several natural
//!   blocks or bit-reversed strided blocks, and scan levels small enough that every level has
//!   several chunks and groups (and the backend's own); a zero denominator is reported at the
//!   host's row and interaction.

use std::path::{Path, PathBuf};
use std::process::Command;

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use rstark_air::examples::{
    FibonacciAir, RangeTableAir, RangeUserAir, fibonacci_trace, range_pair_traces,
};
use rstark_air::logup::{LogupChallenges, LogupError, build_aux_trace, fingerprint};
use rstark_air::{BaseAir, Interaction, Interactions, Table, first_failing_constraint};
use rstark_backend_cuda::logup_table::{ScanLevels, interaction_table};
use rstark_constraints::compile_air;
use rstark_field::{EF, F, ef_to_base, flatten_ext};

#[path = "support/witness.rs"]
mod support;
use support::{Rng, bitrev_block_colmajor};

fn harness() -> PathBuf {
    static EXE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("devwitness_host");
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
        let status = Command::new(&cxx)
            .args(["-O2", "-std=c++17", "-Wall", "-I"])
            .arg(manifest.join("kernels"))
            .arg("-o")
            .arg(&exe)
            .arg(manifest.join("tests/host/devwitness_host.cpp"))
            .status()
            .unwrap_or_else(|e| panic!("this test needs a C++ compiler ({cxx}): {e}"));
        assert!(
            status.success(),
            "compiling the kernels for the host failed"
        );
        exe
    })
    .clone()
}

fn run(mode: &str, case: &[u64], tag: &str) -> Vec<u64> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let tag = tag.replace(['/', ' '], "_");
    let input = dir.join(format!("devwitness_{tag}.in"));
    let output = dir.join(format!("devwitness_{tag}.out"));
    let bytes: Vec<u8> = case.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&input, bytes).unwrap();
    let status = Command::new(harness())
        .arg(mode)
        .arg(&input)
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success(), "devwitness_host {mode} failed");
    std::fs::read(&output)
        .unwrap()
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn push_array(out: &mut Vec<u64>, v: &[u64]) {
    out.push(v.len() as u64);
    out.extend_from_slice(v);
}

fn words(v: &[F]) -> Vec<u64> {
    v.iter().map(|x| x.as_canonical_u64()).collect()
}

// ---- witness check ----

/// The smallest failing row the kernel finds on `values` (height × width), split into
/// `blocks` blocks of consecutive rows (each with its tail row), `threads` threads per launch.
fn device_failing_row(
    air: &dyn Table,
    values: &[F],
    publics: &[F],
    blocks: usize,
    threads: u64,
    rng: &mut Rng,
    tag: &str,
) -> Option<usize> {
    let p = compile_air(air, publics.len()).unwrap();
    let w = p.main_width;
    let n = values.len() / w;
    let r = rng.ef();
    let mut pows = Vec::new();
    let mut x = EF::ONE;
    for _ in 0..p.num_constraints {
        pows.push(x);
        x *= r;
    }
    let chal = p.challenge_values(&pows, EF::ZERO, &[], EF::ZERO).unwrap();
    let chal: Vec<u64> = chal
        .iter()
        .flat_map(|&c| ef_to_base(c).map(|v| v.as_canonical_u64()))
        .collect();
    let code: Vec<u64> = p.code.iter().map(|&c| c as u64).collect();
    let mut pubs = words(publics);
    pubs.push(0);
    let per = n.div_ceil(blocks);
    let mut found = None;
    for (bi, first) in (0..n).step_by(per).enumerate() {
        let rows = per.min(n - first);
        let next = (first + rows) % n;
        let mut case = Vec::new();
        push_array(&mut case, &code);
        push_array(&mut case, &p.constants);
        push_array(&mut case, &chal);
        push_array(&mut case, &pubs);
        push_array(&mut case, &words(&values[first * w..(first + rows) * w]));
        push_array(&mut case, &words(&values[next * w..(next + 1) * w]));
        case.extend_from_slice(&[
            w as u64,
            rows as u64,
            first as u64,
            n.trailing_zeros() as u64,
            p.num_base_regs as u64,
            p.num_ext_regs as u64,
            threads,
        ]);
        let got = run("witness", &case, &format!("{tag}_{bi}"))[0];
        if got != u64::MAX {
            assert!(got >= first as u64 && got < (first + rows) as u64);
            found = found.or(Some(got as usize));
        }
    }
    found
}

fn witness_cases(name: &str, air: &dyn Table, values: &[F], publics: &[F], bad_cells: usize) {
    let w = BaseAir::<F>::width(air);
    let n = values.len() / w;
    let mut rng = Rng(n as u64 ^ w as u64);
    assert_eq!(
        first_failing_constraint(air, values, w, publics),
        None,
        "{name}"
    );
    for blocks in [1, 3] {
        let got = device_failing_row(air, values, publics, blocks, 7, &mut rng, name);
        assert_eq!(got, None, "{name}: a good trace, {blocks} blocks");
    }
    for i in 0..bad_cells {
        let mut bad = values.to_vec();
        // the last row and row 0 (selectors, wrap-around) among the random cells
        let row = match i {
            0 => n - 1,
            1 => 0,
            _ => rng.below(n),
        };
        let col = rng.below(w);
        bad[row * w + col] += F::from_u64(1 + rng.below(1000) as u64);
        let want = first_failing_constraint(air, &bad, w, publics).map(|f| f.row);
        let blocks = 1 + i % 3;
        let threads = [1u64, 5, 64][i % 3];
        let got = device_failing_row(air, &bad, publics, blocks, threads, &mut rng, name);
        assert_eq!(
            got, want,
            "{name}: cell ({row}, {col}) bumped, {blocks} blocks, {threads} threads"
        );
    }
}

#[test]
fn witness_kernel_finds_the_hosts_first_failing_row() {
    let (fib, publics) = fibonacci_trace(16, 1, 1);
    witness_cases("fib", &FibonacciAir, &fib, &publics, 12);
    for t in rstark_workloads::build("vm", 64).unwrap().tables {
        let m = t.trace.into_host();
        witness_cases(t.name, &t.air, &m.values, &t.public_values, 8);
    }
    let t = rstark_workloads::build("keccak", 1)
        .unwrap()
        .tables
        .remove(0);
    let m = t.trace.into_host();
    witness_cases("keccak", &t.air, &m.values, &t.public_values, 3);
}

// ---- LogUp ----

/// How the main rows reach the kernel.
#[derive(Clone, Copy, Debug)]
enum Blocks {
    /// `count` blocks of consecutive rows.
    Natural(usize),
    /// 2^shift blocks: block b holds rows b + (j << shift), j in bit-reversed order.
    BitReversed(u32),
}

struct LogupRun {
    zero: Option<(usize, usize)>,
    aux: Vec<u64>,
    sums: Vec<u64>,
}

fn device_aux(
    inter: &[Interaction],
    ch: &LogupChallenges,
    values: &[F],
    w: usize,
    blocks: Blocks,
    levels: ScanLevels,
    tag: &str,
) -> LogupRun {
    let n = values.len() / w;
    let k = inter.len();
    let mut case = Vec::new();
    push_array(&mut case, &interaction_table(inter, ch, w));
    case.extend_from_slice(&[k as u64, w as u64, n.trailing_zeros() as u64]);
    // each block's values and [rows, first, rev, log, shift, column-major]
    let mut list: Vec<(Vec<F>, [u64; 6])> = Vec::new();
    match blocks {
        Blocks::Natural(count) => {
            let per = n.div_ceil(count);
            for first in (0..n).step_by(per) {
                let rows = per.min(n - first);
                let v = values[first * w..(first + rows) * w].to_vec();
                list.push((v, [rows as u64, first as u64, 0, 0, 0, 0]));
            }
        }
        // column-major, as blocks recomputed from the coefficients come
        Blocks::BitReversed(shift) => {
            let (b, rows) = (1usize << shift, n >> shift);
            let log = rows.trailing_zeros();
            for first in 0..b {
                let v = bitrev_block_colmajor(values, w, shift, first);
                list.push((
                    v,
                    [rows as u64, first as u64, 1, log as u64, shift as u64, 1],
                ));
            }
        }
    }
    case.push(list.len() as u64);
    for (v, header) in list {
        push_array(&mut case, &words(&v));
        case.extend_from_slice(&header);
    }
    case.extend_from_slice(&[levels.chunk_rows as u64, levels.group as u64]);
    let out = run("logup", &case, tag);
    if out[0] != u64::MAX {
        let z = out[0] as usize;
        return LogupRun {
            zero: Some((z / k, z % k)),
            aux: Vec::new(),
            sums: Vec::new(),
        };
    }
    let aux_len = n * 3 * (k + 1);
    LogupRun {
        zero: None,
        aux: out[1..1 + aux_len].to_vec(),
        sums: out[1 + aux_len..].to_vec(),
    }
}

fn logup_cases(name: &str, inter: &[Interaction], values: &[F], w: usize, rng: &mut Rng) {
    let n = values.len() / w;
    let k = inter.len();
    let ch = LogupChallenges::new(rng.ef(), rng.ef(), &[inter]);
    let (aux, claimed) = build_aux_trace(inter, &ch, values, w).unwrap();
    let want_aux = words(&flatten_ext(&aux));
    let mut want_sums: Vec<EF> = (0..k)
        .map(|j| aux.iter().skip(j).step_by(k + 1).copied().sum())
        .collect();
    want_sums.push(claimed);
    let want_sums = words(&flatten_ext(&want_sums));
    let log_n = n.trailing_zeros();
    let small = ScanLevels {
        chunk_rows: 3,
        group: 2,
    };
    let mut shapes = vec![
        (Blocks::Natural(1), ScanLevels::for_rows(n)),
        (Blocks::Natural(3), small),
        (Blocks::BitReversed(log_n.min(2)), small),
        (
            Blocks::BitReversed(log_n / 2),
            ScanLevels {
                chunk_rows: 5,
                group: 3,
            },
        ),
    ];
    shapes.push((Blocks::BitReversed(log_n), small)); // one row per block
    for (i, (blocks, levels)) in shapes.into_iter().enumerate() {
        let got = device_aux(
            inter,
            &ch,
            values,
            w,
            blocks,
            levels,
            &format!("{name}_{i}"),
        );
        assert_eq!(got.zero, None, "{name}");
        assert!(
            got.aux == want_aux,
            "{name}: aux words differ ({blocks:?}, {levels:?})"
        );
        assert_eq!(got.sums, want_sums, "{name}: sums ({blocks:?}, {levels:?})");
    }

    // α on a fingerprint: the host's zero denominator, at its smallest (row, interaction)
    let (r, j) = (rng.below(n), rng.below(k));
    let fp = fingerprint(&inter[j], &ch, &values[r * w..(r + 1) * w]);
    let bad = LogupChallenges {
        alpha: fp,
        beta_pows: ch.beta_pows.clone(),
    };
    let Err(LogupError::ZeroDenominator { row, interaction }) =
        build_aux_trace(inter, &bad, values, w)
    else {
        panic!("{name}: the host finds no zero denominator");
    };
    for blocks in [Blocks::Natural(2), Blocks::BitReversed(log_n.min(1))] {
        let got = device_aux(
            inter,
            &bad,
            values,
            w,
            blocks,
            small,
            &format!("{name}_zero"),
        );
        assert_eq!(got.zero, Some((row, interaction)), "{name}: {blocks:?}");
    }
}

#[test]
fn logup_kernels_build_the_hosts_aux_trace() {
    let mut rng = Rng(17);
    let (table, user) = range_pair_traces(16, 64);
    for (name, air, values) in [
        ("range", &RangeTableAir as &dyn Table, table),
        ("user", &RangeUserAir, user),
    ] {
        logup_cases(name, &air.interactions(), &values, 2, &mut rng);
    }
    for size in [16, 256] {
        for t in rstark_workloads::build("vm", size).unwrap().tables {
            let inter = t.air.interactions();
            let m = t.trace.into_host();
            logup_cases(
                &format!("vm{size}/{}", t.name),
                &inter,
                &m.values,
                m.width,
                &mut rng,
            );
        }
    }
}
