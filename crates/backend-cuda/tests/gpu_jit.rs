//! Constraint kernels compiled per program (src/jit.rs, NVRTC at run time): for the programs of
//! Fibonacci, the LogUp range pair, a high-degree power map, the VM tables and Keccak-f (its
//! kernel in slices), each also cut into small slices, the compiled
//! kernel's quotient values equal the CPU interpreter's byte for byte (random rows, several sizes,
//! row-major and column-major reads); whole proofs with every program compiled (resident and
//! streamed matrices, a table with preprocessed and periodic columns) equal the CPU proofs. Every
//! test first checks that the kernel really was compiled (NVRTC found and the module loaded), so
//! nothing passes on the interpreter. Built only with `--features cuda`; without a GPU or without
//! libnvrtc every test FAILS (never skips).
//! `keccak_compiled_timing` (ignored: run with `--ignored`) times Keccak-f's compiled kernel
//! against the interpreter v2; its kernel comes from the disk cache (`RSTARK_KERNEL_CACHE`,
//! scripts/jit-precompile.sh) or takes minutes to compile.
#![cfg(feature = "cuda")]

use std::sync::Arc;
use std::time::Instant;

use rstark_air::examples::{
    FibonacciAir, PowerMapAir, RangeTableAir, RangeUserAir, range_pair_traces,
};
use rstark_air::logup::LogupChallenges;
use rstark_air::{BaseAir, Table};
use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::constraints::{
    ConstraintKernel, ConstraintVariant, DeviceConstraintProgram, QuotientDomain,
};
use rstark_backend_cuda::jit::{JitMode, JitStatus};
use rstark_backend_cuda::jit_source::KernelShape;
use rstark_backend_cuda::residency::Residency;
use rstark_backend_cuda::{CudaBackend, DeviceMatrix, GpuContext};
use rstark_constraints::{ConstraintProgram, QuotientInputs, compile_table, quotient_values};
use rstark_field::{EF, F, PrimeField64, ef_from_base, flatten_ext};
use rstark_poly::RowMajor;
use rstark_protocol::presets;
use rstark_prover::{TableInput, prove, prove_with_key, setup};
use rstark_workloads::WorkloadAir;

fn gpu() -> GpuContext {
    GpuContext::new(0).unwrap_or_else(|e| panic!("GPU JIT tests need a CUDA GPU: {e}"))
}

fn log(msg: String) {
    println!("[gpu-jit] {msg}");
}

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

fn words(v: &[F]) -> Vec<u64> {
    v.iter().map(|x| x.as_canonical_u64()).collect()
}

fn challenges(p: &ConstraintProgram, air: &dyn Table, rng: &mut Rng) -> Vec<EF> {
    let alpha_pows: Vec<EF> = (0..p.num_constraints).map(|_| rng.ef()).collect();
    let logup = LogupChallenges::new(rng.ef(), rng.ef(), &[&air.interactions()]);
    p.challenge_values(&alpha_pows, logup.alpha, &logup.beta_pows, rng.ef())
        .unwrap()
}

/// Uploads `p` with its compiled kernel, waiting for the compiler; panics unless it is ready.
fn compiled(ctx: &GpuContext, p: &ConstraintProgram, what: &str) -> DeviceConstraintProgram {
    compiled_shaped(ctx, p, what, KernelShape::from_env())
}

/// As [`compiled`], the kernel cut and built as `shape` says.
fn compiled_shaped(
    ctx: &GpuContext,
    p: &ConstraintProgram,
    what: &str,
    shape: KernelShape,
) -> DeviceConstraintProgram {
    let t = Instant::now();
    let dev = DeviceConstraintProgram::upload_shaped(ctx, p, JitMode::Wait, shape).unwrap();
    match dev.wait_for_jit(ctx) {
        JitStatus::Ready {
            seconds,
            from_disk,
            slices,
        } => log(format!(
            "{what}: {} instructions compiled as {slices} slice(s) ({shape:?}) in {seconds:.2} s \
             (from disk: {from_disk}; upload + wait {:.2} s)",
            p.num_instructions(),
            t.elapsed().as_secs_f64()
        )),
        s => panic!("{what}: the compiled kernel is not ready: {s:?}"),
    }
    dev
}

#[test]
fn compiled_kernels_match_interpreter() {
    let ctx = gpu();
    let kernel = ConstraintKernel::load(&ctx).unwrap();
    kernel.set_jit_mode(JitMode::Wait);
    let mut rng = Rng(909);
    type Sizes = Vec<(usize, usize)>;
    let tables: Vec<(&str, Box<dyn Table>, Sizes)> = vec![
        (
            "fibonacci",
            Box::new(FibonacciAir),
            vec![(1, 0), (3, 1), (12, 2)],
        ),
        (
            "range table",
            Box::new(RangeTableAir),
            vec![(6, 1), (11, 1)],
        ),
        ("range user", Box::new(RangeUserAir), vec![(2, 1), (9, 3)]),
        (
            "power map x^9",
            Box::new(PowerMapAir { exponent: 9 }),
            vec![(8, 3)],
        ),
        (
            "vm cpu",
            Box::new(WorkloadAir::VmCpu),
            vec![(2, 1), (13, 1)],
        ),
        ("vm memory", Box::new(WorkloadAir::VmMemory), vec![(8, 1)]),
        ("vm range", Box::new(WorkloadAir::VmRange), vec![(8, 1)]),
        // sliced (src/jit.rs; its slices come from the bundle's disk cache when it holds them)
        (
            "keccak-f",
            Box::new(WorkloadAir::Keccak),
            vec![(3, 1), (7, 1)],
        ),
    ];
    for (name, air, sizes) in &tables {
        let n_pub = BaseAir::<F>::num_public_values(air.as_ref());
        let p = compile_table(air.as_ref(), n_pub).unwrap();
        // as one kernel (or the default slices), and cut into slices of 40 instructions
        let mut devs = vec![compiled(&ctx, &p, name)];
        if p.num_instructions() > 40 && p.num_instructions() < 1000 {
            let shape = KernelShape {
                max_slice: 40,
                ..KernelShape::from_env()
            };
            devs.push(compiled_shaped(&ctx, &p, name, shape));
        }
        for &(log_n, log_d) in sizes {
            let q = 1usize << (log_n + log_d);
            let publics = rng.fs(n_pub);
            let chal = challenges(&p, air.as_ref(), &mut rng);
            let w = p.main_width;
            let main_h = rng.fs(2 * q * w);
            let aw = 3 * p.aux_ext_width;
            let aux_h = rng.fs(2 * q * aw);
            let main = DeviceMatrix::upload_words(&ctx, &words(&main_h), 2 * q, w).unwrap();
            let aux = (aw > 0)
                .then(|| DeviceMatrix::upload_words(&ctx, &words(&aux_h), 2 * q, aw).unwrap());
            let want = quotient_values(
                &p,
                &QuotientInputs {
                    main: &main_h,
                    main_width: w,
                    aux: Some(&aux_h),
                    aux_width: aw,
                    log_height: log_n,
                    log_quotient_degree: log_d,
                    public_values: &publics,
                    ..Default::default()
                },
                &chal,
            )
            .unwrap();
            let want = words(&flatten_ext(&want));
            let domain = QuotientDomain {
                main: &main,
                aux: aux.as_ref(),
                preprocessed: None,
                periodic: None,
                log_height: log_n,
                log_quotient_degree: log_d,
            };
            for (dev, columns) in devs.iter().flat_map(|d| [(d, true), (d, false)]) {
                kernel.set_variant(ConstraintVariant::Shared { slots: 24, columns });
                let got = kernel
                    .quotient_values(&ctx, dev, &domain, &publics, &chal)
                    .unwrap()
                    .download_words(&ctx)
                    .unwrap();
                assert!(
                    got == want,
                    "{name}: compiled kernel differs at 2^{log_n}, D = 2^{log_d} (columns \
                     {columns}, {:?})",
                    dev.jit_status()
                );
            }
            log(format!(
                "{name}: 2^{log_n} rows, D = 2^{log_d}: {q} quotient rows match"
            ));
        }
    }
}

fn table_inputs(name: &str, size: usize) -> Vec<TableInput> {
    rstark_workloads::build(name, size)
        .unwrap()
        .tables
        .into_iter()
        .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
        .collect()
}

/// Whole proofs with every table's program compiled equal the CPU's, resident and streamed.
#[test]
fn proofs_with_compiled_kernels_equal_cpu() {
    let be = CudaBackend::new(0).unwrap_or_else(|e| panic!("GPU JIT tests need a CUDA GPU: {e}"));
    be.set_constraint_jit_mode(JitMode::Wait);
    let (t, u) = range_pair_traces(64, 256);
    let range = vec![
        TableInput::new(
            "range",
            Arc::new(RangeTableAir),
            RowMajor::new(t, 2).unwrap(),
            vec![],
        ),
        TableInput::new(
            "user",
            Arc::new(RangeUserAir),
            RowMajor::new(u, 2).unwrap(),
            vec![],
        ),
    ];
    let cases = [
        ("fib 4096", table_inputs("fib", 4096)),
        ("vm 3000", table_inputs("vm", 3000)),
        ("range pair", range),
    ];
    for (what, tables) in &cases {
        let params = &presets::FAST_TEST;
        let cpu = prove(&CpuBackend, params, tables).unwrap().to_bytes();
        for residency in [None, Some(Residency::Streamed)] {
            be.force_residency(residency);
            let t = Instant::now();
            let gpu = prove(&be, params, tables).unwrap().to_bytes();
            log(format!(
                "{what} ({residency:?}): cuda {:.3} s, identical {}",
                t.elapsed().as_secs_f64(),
                gpu == cpu
            ));
            assert!(
                gpu == cpu,
                "{what} ({residency:?}): proof with compiled kernels differs"
            );
        }
        be.force_residency(None);
    }
    // preprocessed and periodic columns and a bus (the kernels' CJ_FIXED form), with a key
    let tables = rstark_prover::golden::preprocessed_range_tables(9, 4 << 9, 7);
    let names: Vec<(&str, &dyn Table)> = tables
        .iter()
        .map(|t| (t.name.as_str(), t.air.as_ref()))
        .collect();
    let params = &presets::FAST_TEST;
    let (cpu_pk, _) = setup(&CpuBackend, params, &names).unwrap();
    let cpu = prove_with_key(&CpuBackend, params, &cpu_pk, &tables)
        .unwrap()
        .to_bytes();
    for residency in [None, Some(Residency::Streamed)] {
        be.force_residency(residency);
        let (pk, _) = setup(&be, params, &names).unwrap();
        let gpu = prove_with_key(&be, params, &pk, &tables)
            .unwrap()
            .to_bytes();
        log(format!(
            "preprocessed range 2^9 ({residency:?}): identical {}",
            gpu == cpu
        ));
        assert!(
            gpu == cpu,
            "preprocessed range ({residency:?}): proof with compiled kernels differs"
        );
    }
    be.force_residency(None);
    let kernels = be.constraint_kernels();
    assert!(!kernels.is_empty());
    for (instructions, status) in &kernels {
        assert!(
            matches!(status, JitStatus::Ready { .. }),
            "a program of {instructions} instructions ran without its compiled kernel: {status:?}"
        );
    }
    log(format!(
        "{} programs, every one compiled: {kernels:?}",
        kernels.len()
    ));
}

/// Keccak-f's program (2^16 and 2^17 trace rows, D = 2): the compiled kernel against the
/// interpreter v2, medians of CUDA-event timings, values equal. The kernel shapes timed:
/// `RSTARK_JIT_TIMING_SHAPES` ("SLICE:MIN_BLOCKS[:MAX_LIVE] ...", default: the environment's
/// shape);
/// kernels not in the disk cache are compiled first (on every host core).
#[test]
#[ignore]
fn keccak_compiled_timing() {
    let ctx = gpu();
    ctx.set_poison(false);
    let kernel = ConstraintKernel::load(&ctx).unwrap();
    let mut rng = Rng(17);
    let air = WorkloadAir::Keccak;
    let p = compile_table(&air, 0).unwrap();
    let chal = challenges(&p, &air, &mut rng);
    let interp = DeviceConstraintProgram::upload(&ctx, &p).unwrap();
    let shapes: Vec<KernelShape> = match std::env::var("RSTARK_JIT_TIMING_SHAPES") {
        Ok(v) => v
            .split_whitespace()
            .map(|s| {
                let f: Vec<usize> = s.split(':').map(|v| v.parse().unwrap()).collect();
                KernelShape {
                    max_slice: f[0],
                    min_blocks: f[1] as u32,
                    max_live: f.get(2).copied().unwrap_or(KernelShape::default().max_live),
                }
            })
            .collect(),
        Err(_) => vec![KernelShape::from_env()],
    };
    let jits: Vec<(String, DeviceConstraintProgram)> = shapes
        .iter()
        .map(|&shape| {
            let label = format!(
                "compiled {}:{}:{}",
                shape.max_slice, shape.min_blocks, shape.max_live
            );
            (label.clone(), compiled_shaped(&ctx, &p, &label, shape))
        })
        .collect();
    for log_n in [16usize, 17] {
        let q = 1usize << (log_n + 1);
        let main = ctx
            .random_matrix(q, p.main_width, 1000 + log_n as u64)
            .unwrap();
        let domain = QuotientDomain {
            main: &main,
            aux: None,
            preprocessed: None,
            periodic: None,
            log_height: log_n,
            log_quotient_degree: 1,
        };
        let mut outs = Vec::new();
        // the interpreter first and last, each shape twice in between (A B B C C … A); the
        // first shape also with current rows read from a row-major matrix (no column-major copy
        // of each chunk: `columns` false)
        let mut order: Vec<(String, &DeviceConstraintProgram, bool)> =
            vec![("v2".into(), &interp, true)];
        for (label, dev) in &jits {
            order.push((label.clone(), dev, true));
            order.push((label.clone(), dev, true));
        }
        if let Some((label, dev)) = jits.first() {
            order.push((format!("{label} row-major"), dev, false));
            order.push((format!("{label} row-major"), dev, false));
        }
        order.push(("v2".into(), &interp, true));
        for (label, dev, columns) in order {
            kernel.set_variant(ConstraintVariant::Shared { slots: 24, columns });
            let mut out = None;
            let mut t = ctx
                .time_ms(1, 5, || {
                    out = Some(kernel.quotient_values(&ctx, dev, &domain, &[], &chal)?);
                    Ok(())
                })
                .unwrap();
            t.sort_by(|a, b| a.total_cmp(b));
            outs.push(out.unwrap().download_words(&ctx).unwrap());
            println!(
                "[timing] keccak 2^{log_n} x D=2 ({q} rows, {} instr): {label}: median {:.2} ms (min {:.2}, max {:.2})",
                p.num_instructions(),
                t[t.len() / 2],
                t[0],
                t[t.len() - 1]
            );
        }
        assert!(
            outs.iter().all(|o| *o == outs[0]),
            "compiled kernel differs at 2^{log_n}"
        );
    }
}
