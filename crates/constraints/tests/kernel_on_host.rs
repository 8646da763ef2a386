//! The CUDA kernel's source (crates/backend-cuda/kernels/constraints.cu), compiled for the host by
//! the C++ compiler (`$CXX`, else `g++`) through tests/host/kernel_host.cpp, gives the
//! interpreter's quotient values byte for byte: the kernel's logic (operand decoding, register
//! scratch layout, row/next-row indices, selectors, Z_H) is checked here without a GPU. The GPU
//! itself is checked by crates/backend-cuda/tests/gpu_constraints.rs. Both kernels (v1 and v2, the
//! latter with several shared-register cut-offs, row-major or column-major reads, one or two row
//! chunks, and column-major recomputed blocks of current and next rows as the streamed path reads
//! them) are run; tables with preprocessed and periodic columns run the `*_fixed` kernels.

use std::path::{Path, PathBuf};
use std::process::Command;

use p3_field::PrimeField64;
use rstark_air::examples::{FibonacciAir, PreprocessedRangeAir, RangeTableAir, RangeUserAir};
use rstark_air::logup::LogupChallenges;
use rstark_air::{BaseAir, Table};
use rstark_constraints::{
    ConstraintProgram, QuotientFrame, QuotientInputs, compile_table, cuda_eval_source,
    quotient_values, rematerialize, split_program, uses_selectors,
};
use rstark_field::{EF, F, ef_from_base, ef_to_base, flatten_ext};
use rstark_protocol::PeriodicColumns;
use rstark_workloads::WorkloadAir;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }
    fn fs(&mut self, n: usize) -> Vec<F> {
        (0..n)
            .map(|_| F::new(self.next() % 0xFFFF_FFFF_0000_0001))
            .collect()
    }
    fn ef(&mut self) -> EF {
        let v = self.fs(3);
        ef_from_base([v[0], v[1], v[2]])
    }
}

fn build_harness() -> PathBuf {
    compile_harness("constraints_kernel_host", &["-O2"])
}

/// The harness with the kernel generated for `air`'s program (`forwarded`: from the program with
/// results forwarded) in v2's place.
fn build_jit_harness(air: &dyn Table, name: &str, forwarded: bool) -> PathBuf {
    let p = compile_table(air, BaseAir::<F>::num_public_values(air)).unwrap();
    let p = if forwarded { p.forward_results() } else { p };
    build_program_harness(&p, name, false, false)
}

/// The harness with the kernel generated for `p` (a program or a slice of one, with the defines
/// rstark-backend-cuda's jit_source gives it); `accumulate`: it adds to earlier slices' values;
/// `remat`: `p` comes from a rematerialized program (CJ_REMAT).
fn build_program_harness(
    p: &ConstraintProgram,
    name: &str,
    accumulate: bool,
    remat: bool,
) -> PathBuf {
    let src = cuda_eval_source(p).unwrap();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cj_eval_{name}.cuh"));
    std::fs::write(&path, src).unwrap();
    let define = format!("-DRSTARK_JIT=\"{}\"", path.display());
    let mut flags = vec!["-O0", "-Wno-unused-function", define.as_str()];
    if p.preprocessed_width > 0 || p.num_periodic > 0 {
        flags.push("-DCJ_FIXED");
    }
    if accumulate {
        flags.push("-DCJ_ACCUMULATE");
    }
    if remat {
        flags.push("-DCJ_REMAT");
    }
    if !uses_selectors(p) {
        flags.push("-DCJ_NO_SELECTORS");
    }
    compile_harness(&format!("constraints_jit_host_{name}"), &flags)
}

fn compile_harness(name: &str, flags: &[&str]) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kernels = manifest.join("../backend-cuda/kernels");
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
    let status = Command::new(&cxx)
        .args(flags)
        .args(["-std=c++17", "-Wall", "-Wno-unused-variable", "-I"])
        .arg(&kernels)
        .arg("-o")
        .arg(&exe)
        .arg(manifest.join("tests/host/kernel_host.cpp"))
        .status()
        .unwrap_or_else(|e| panic!("this test needs a C++ compiler ({cxx}): {e}"));
    assert!(
        status.success(),
        "compiling the kernel for the host failed ({name})"
    );
    exe
}

fn push_array(out: &mut Vec<u64>, v: &[u64]) {
    out.push(v.len() as u64);
    out.extend_from_slice(v);
}

fn words(v: &[F]) -> Vec<u64> {
    v.iter().map(|x| x.as_canonical_u64()).collect()
}

fn check(exe: &Path, air: &dyn Table, log_n: usize, log_d: usize, threads: u64, seed: u64) {
    check_variants(&[exe], air, log_n, log_d, threads, seed, 0..6)
}

/// As [`check`] for some of the variants (0: v1; 1–5: v2's launch shapes, which a JIT harness
/// runs its generated kernel in); `exes` run one after another, each from the values the one
/// before wrote (the slices of a program).
fn check_variants(
    exes: &[&Path],
    air: &dyn Table,
    log_n: usize,
    log_d: usize,
    threads: u64,
    seed: u64,
    which: std::ops::Range<usize>,
) {
    let mut rng = Rng(seed);
    let n_pub = BaseAir::<F>::num_public_values(air);
    let p = compile_table(air, n_pub).unwrap();
    let interactions = air.interactions();
    let alpha_pows: Vec<EF> = (0..p.num_constraints).map(|_| rng.ef()).collect();
    let logup = LogupChallenges::new(rng.ef(), rng.ef(), &[&interactions]);
    let chal = p
        .challenge_values(&alpha_pows, logup.alpha, &logup.beta_pows, rng.ef())
        .unwrap();
    let q = 1usize << (log_n + log_d);
    let main = rng.fs(q * p.main_width);
    let aux_w = 3 * p.aux_ext_width;
    let aux = rng.fs(q * aux_w);
    let publics = rng.fs(n_pub);
    let prep = rng.fs(q * p.preprocessed_width);
    let periodic = PeriodicColumns::new(
        &BaseAir::<F>::periodic_columns(air),
        BaseAir::<F>::num_periodic_columns(air),
        log_n,
    )
    .unwrap()
    .map(|c| c.on_quotient_domain(log_n, log_d).unwrap());
    let (per, per_rows) = periodic
        .as_ref()
        .map_or((Vec::new(), 0), |t| (t.values.clone(), t.height()));
    let want = quotient_values(
        &p,
        &QuotientInputs {
            main: &main,
            main_width: p.main_width,
            aux: Some(&aux),
            aux_width: aux_w,
            preprocessed: Some(&prep),
            preprocessed_width: p.preprocessed_width,
            periodic: &per,
            periodic_rows: per_rows,
            log_height: log_n,
            log_quotient_degree: log_d,
            public_values: &publics,
        },
        &chal,
    )
    .unwrap();

    // v1 runs the program as compiled, v2 with results forwarded (ConstraintProgram::forward_results)
    let fwd = p.forward_results();
    let make_case = |p: &rstark_constraints::ConstraintProgram| {
        let mut case = Vec::new();
        let code: Vec<u64> = p.code.iter().map(|&w| w as u64).collect();
        push_array(&mut case, &code);
        push_array(&mut case, &p.constants);
        let chal_words: Vec<u64> = chal
            .iter()
            .flat_map(|&c| ef_to_base(c).map(|v| v.as_canonical_u64()))
            .collect();
        push_array(&mut case, &chal_words);
        push_array(&mut case, &words(&publics));
        push_array(&mut case, &words(&main));
        push_array(&mut case, &words(&aux));
        let frame = QuotientFrame::new(log_n, log_d).unwrap();
        push_array(&mut case, &frame.to_words());
        push_array(&mut case, &words(&prep));
        push_array(&mut case, &words(&per));
        case.extend_from_slice(&[
            p.main_width as u64,
            aux_w as u64,
            (log_n + log_d) as u64,
            log_d as u64,
            p.num_base_regs as u64,
            p.num_ext_regs as u64,
            threads,
            p.preprocessed_width as u64,
            p.num_periodic as u64,
            per_rows as u64,
        ]);
        case
    };
    let plain_case = make_case(&p);
    let fwd_case = make_case(&fwd);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let want = words(&flatten_ext(&want));
    let (nb, ne) = (fwd.num_base_regs, fwd.num_ext_regs);
    // v1, then v2 with: nothing in shared memory and row-major reads; a few registers shared
    // and two chunks of columns; every register that fits in 24 slots and one chunk.
    // Then recomputed blocks (the streamed path): current and next rows from column-major
    // blocks of N/4 and N rows.
    let half = (q as u64 / 2).max(1);
    let n = 1u64 << log_n;
    let (kb24, ke24) = (nb.min(24) as u64, ne.min((24 - nb.min(24)) / 3) as u64);
    let variants: [Option<[u64; 4]>; 6] = [
        None,
        Some([0, 0, 0, q as u64]),
        Some([nb.min(3) as u64, ne.min(1) as u64, 1, half]),
        Some([kb24, ke24, 1, q as u64]),
        Some([nb.min(3) as u64, ne.min(1) as u64, 2, (n / 4).max(1)]),
        Some([kb24, ke24, 2, n]),
    ];
    for (vi, v) in variants.iter().enumerate() {
        if !which.contains(&vi) {
            continue;
        }
        let mut case = if v.is_some() {
            fwd_case.clone()
        } else {
            plain_case.clone()
        };
        if let Some(v) = v {
            case.push(1);
            case.extend_from_slice(v);
        }
        let input = dir.join(format!("kernel_case_{seed}_{vi}.bin"));
        let output = dir.join(format!("kernel_out_{seed}_{vi}.bin"));
        let bytes: Vec<u8> = case.iter().flat_map(|w| w.to_le_bytes()).collect();
        std::fs::write(&input, bytes).unwrap();
        let before = dir.join(format!("kernel_before_{seed}_{vi}.bin"));
        for (i, exe) in exes.iter().enumerate() {
            if i > 0 {
                std::fs::rename(&output, &before).unwrap();
            }
            let mut cmd = Command::new(exe);
            cmd.arg(&input).arg(&output);
            if i > 0 {
                cmd.arg(&before);
            }
            assert!(cmd.status().unwrap().success(), "kernel_host failed");
        }
        let got: Vec<u64> = std::fs::read(&output)
            .unwrap()
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(
            got, want,
            "seed {seed}, log_n {log_n}, log_d {log_d}, variant {v:?}"
        );
    }
}

#[test]
fn kernel_source_matches_interpreter() {
    let exe = build_harness();
    check(&exe, &FibonacciAir, 3, 0, 8, 1);
    check(&exe, &FibonacciAir, 4, 2, 7, 2);
    check(&exe, &RangeTableAir, 3, 1, 16, 3);
    check(&exe, &RangeUserAir, 5, 1, 5, 4);
    check(&exe, &WorkloadAir::VmCpu, 3, 1, 3, 5);
    check(&exe, &WorkloadAir::VmMemory, 3, 1, 64, 6);
    check(&exe, &WorkloadAir::Keccak, 2, 1, 3, 7);
    // preprocessed (current and next rows) and periodic columns: the *_fixed kernels
    for (log_n, log_d, seed) in [(2, 1, 8), (3, 1, 9), (5, 2, 10), (4, 0, 11)] {
        let air = PreprocessedRangeAir { log_height: log_n };
        check(&exe, &air, log_n, log_d, 5, seed);
    }
}

/// The kernel compiled per program (rstark_constraints::cuda_eval_source + constraints_jit.cuh)
/// gives the interpreter's values on every launch shape v2 runs, for plain and forwarded programs,
/// with LogUp, and with preprocessed and periodic columns.
#[test]
fn generated_kernel_matches_interpreter() {
    type Case = (&'static str, Box<dyn Table>, bool, Vec<(usize, usize, u64)>);
    let cases: Vec<Case> = vec![
        (
            "fib",
            Box::new(FibonacciAir),
            false,
            vec![(3, 0, 8), (4, 2, 7)],
        ),
        ("fib_fwd", Box::new(FibonacciAir), true, vec![(4, 2, 7)]),
        ("range_user", Box::new(RangeUserAir), false, vec![(5, 1, 5)]),
        (
            "vm_cpu",
            Box::new(WorkloadAir::VmCpu),
            false,
            vec![(3, 1, 3)],
        ),
        (
            "vm_memory",
            Box::new(WorkloadAir::VmMemory),
            true,
            vec![(3, 1, 64)],
        ),
        (
            "keccak",
            Box::new(WorkloadAir::Keccak),
            false,
            vec![(2, 1, 3)],
        ),
        (
            "prep_range",
            Box::new(PreprocessedRangeAir { log_height: 3 }),
            false,
            vec![(3, 1, 5)],
        ),
    ];
    for (i, (name, air, forwarded, shapes)) in cases.iter().enumerate() {
        let exe = build_jit_harness(air.as_ref(), name, *forwarded);
        for (j, &(log_n, log_d, threads)) in shapes.iter().enumerate() {
            let seed = 100 + 10 * i as u64 + j as u64;
            check_variants(&[&exe], air.as_ref(), log_n, log_d, threads, seed, 1..6);
        }
    }
}

/// A program cut into slices (rstark_constraints::split_program; what the GPU compiles a large
/// program as): each slice's generated kernel, run in order from the values the one before wrote
/// (the first writing, the others compiled with CJ_ACCUMULATE, slices that read no selector with
/// CJ_NO_SELECTORS), gives the whole program's values on every launch shape.
#[test]
fn sliced_kernels_add_up_to_the_program() {
    type Case = (
        &'static str,
        Box<dyn Table>,
        usize,
        bool,
        (usize, usize, u64),
    );
    let cases: Vec<Case> = vec![
        ("vm_cpu", Box::new(WorkloadAir::VmCpu), 40, false, (3, 1, 3)),
        (
            "vm_cpu_remat",
            Box::new(WorkloadAir::VmCpu),
            60,
            true,
            (3, 1, 3),
        ),
        ("range_user", Box::new(RangeUserAir), 4, false, (4, 1, 5)),
        (
            "prep_range",
            Box::new(PreprocessedRangeAir { log_height: 3 }),
            6,
            true,
            (3, 1, 4),
        ),
    ];
    let mut without_selectors = 0;
    for (i, (name, air, max, remat, (log_n, log_d, threads))) in cases.iter().enumerate() {
        let p = compile_table(air.as_ref(), BaseAir::<F>::num_public_values(air.as_ref())).unwrap();
        let p = if *remat { rematerialize(&p) } else { p };
        let slices = split_program(&p, *max);
        assert!(slices.len() > 2, "{name}: {} slices", slices.len());
        without_selectors += slices.iter().filter(|s| !uses_selectors(s)).count();
        let exes: Vec<PathBuf> = slices
            .iter()
            .enumerate()
            .map(|(k, s)| build_program_harness(s, &format!("{name}_slice{k}"), k > 0, *remat))
            .collect();
        let exes: Vec<&Path> = exes.iter().map(|e| e.as_path()).collect();
        let seed = 300 + i as u64;
        check_variants(&exes, air.as_ref(), *log_n, *log_d, *threads, seed, 1..6);
    }
    assert!(
        without_selectors > 0,
        "a slice that reads no selector was run"
    );
}
