//! GPU parity of the constraint kernel (kernels/constraints.cu): for compiled programs of
//! Fibonacci, the LogUp range pair, a high-degree power map, the VM tables and Keccak, the
//! quotient values the GPU computes on every quotient-domain row equal the CPU interpreter's
//! (rstark-constraints, itself checked equal to `rstark_backend_cpu::quotient_values`) byte for
//! byte. Random rows, α powers, LogUp challenges and public values; several sizes; outputs
//! poisoned first. Also from real device LDEs. Every kernel variant (`ConstraintVariant`: v1, and
//! v2 with several shared-register cut-offs, with and without the column-major chunk) is checked
//! on every case. Built only with `--features cuda`; without a GPU every test FAILS (never skips).
//! `keccak_variants_timing` (ignored: run with `--ignored`) times the variants at full size.
#![cfg(feature = "cuda")]

use std::time::Instant;

use rstark_air::examples::{
    FibonacciAir, PowerMapAir, RangeTableAir, RangeUserAir, fibonacci_trace, range_pair_traces,
};
use rstark_air::logup::{LogupChallenges, build_aux_trace};
use rstark_air::{BaseAir, Table};
use rstark_backend_cuda::constraints::{
    ConstraintKernel, ConstraintVariant, DeviceConstraintProgram, QuotientDomain,
};
use rstark_backend_cuda::{DeviceMatrix, GpuContext};
use rstark_constraints::{ConstraintProgram, QuotientInputs, compile_table, quotient_values};
use rstark_field::{EF, F, PrimeField64, ef_from_base, flatten_ext};
use rstark_poly::{RowMajor, lde};
use rstark_workloads::WorkloadAir;

fn gpu() -> GpuContext {
    let ctx =
        GpuContext::new(0).unwrap_or_else(|e| panic!("GPU parity tests need a CUDA GPU: {e}"));
    ctx.set_poison(true);
    ctx
}

fn log(msg: String) {
    println!("[constraints] {msg}");
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
    fn f(&mut self) -> F {
        F::new(self.next() % 0xFFFF_FFFF_0000_0001)
    }
    fn fs(&mut self, n: usize) -> Vec<F> {
        (0..n).map(|_| self.f()).collect()
    }
    fn ef(&mut self) -> EF {
        ef_from_base([self.f(), self.f(), self.f()])
    }
}

struct Case {
    program: ConstraintProgram,
    publics: Vec<F>,
    challenges: Vec<EF>,
}

fn case(air: &dyn Table, rng: &mut Rng) -> Case {
    let n_pub = BaseAir::<F>::num_public_values(air);
    let program = compile_table(air, n_pub).unwrap();
    let interactions = air.interactions();
    let alpha_pows: Vec<EF> = (0..program.num_constraints).map(|_| rng.ef()).collect();
    let logup = LogupChallenges::new(rng.ef(), rng.ef(), &[&interactions]);
    let challenges = program
        .challenge_values(&alpha_pows, logup.alpha, &logup.beta_pows, rng.ef())
        .unwrap();
    Case {
        program,
        publics: rng.fs(n_pub),
        challenges,
    }
}

fn words(v: &[F]) -> Vec<u64> {
    v.iter().map(|x| x.as_canonical_u64()).collect()
}

/// GPU quotient values vs the interpreter on the given rows (≥ 2^{n+d} rows each).
#[allow(clippy::too_many_arguments)]
fn compare(
    ctx: &GpuContext,
    kernel: &ConstraintKernel,
    c: &Case,
    main: &DeviceMatrix,
    aux: Option<&DeviceMatrix>,
    log_n: usize,
    log_d: usize,
    what: &str,
) {
    let q = 1usize << (log_n + log_d);
    let dev = DeviceConstraintProgram::upload(ctx, &c.program).unwrap();
    let domain = QuotientDomain {
        main,
        aux,
        preprocessed: None,
        periodic: None,
        log_height: log_n,
        log_quotient_degree: log_d,
    };
    let main_h = main.download(ctx).unwrap();
    let aux_h = aux.map(|a| a.download(ctx).unwrap());
    let t = Instant::now();
    let want = quotient_values(
        &c.program,
        &QuotientInputs {
            main: &main_h.values,
            main_width: main_h.width,
            aux: aux_h.as_ref().map(|a| &a.values[..]),
            aux_width: aux_h.as_ref().map_or(0, |a| a.width),
            log_height: log_n,
            log_quotient_degree: log_d,
            public_values: &c.publics,
            ..Default::default()
        },
        &c.challenges,
    )
    .unwrap();
    let cpu_s = t.elapsed().as_secs_f64();
    let want = words(&flatten_ext(&want));
    let before = kernel.variant();
    for v in VARIANTS {
        kernel.set_variant(v);
        let run = || {
            let out = kernel
                .quotient_values(ctx, &dev, &domain, &c.publics, &c.challenges)
                .unwrap();
            ctx.synchronize().unwrap();
            out
        };
        drop(run()); // warm-up (first launch)
        let t = Instant::now();
        let got = run();
        let gpu_s = t.elapsed().as_secs_f64();
        assert_eq!((got.rows(), got.width()), (q, 3));
        let got = got.download_words(ctx).unwrap();
        if let Some(i) = (0..want.len()).find(|&i| got[i] != want[i]) {
            panic!(
                "{what} ({v:?}): quotient row {} (of {q}) coefficient {} differs: gpu {:#x} cpu {:#x}",
                i / 3,
                i % 3,
                got[i],
                want[i]
            );
        }
        let instr = (q * c.program.num_instructions()) as f64;
        log(format!(
            "{what} ({v:?}): 2^{log_n} rows, D = 2^{log_d}: {q} quotient rows match \
             (gpu {gpu_s:.5} s = {:.2} G instr/s incl. uploads, cpu interpreter {cpu_s:.4} s)",
            instr / gpu_s / 1e9
        ));
    }
    kernel.set_variant(before);
}

/// Every kernel variant the parity tests run.
const VARIANTS: [ConstraintVariant; 6] = [
    ConstraintVariant::Global,
    ConstraintVariant::Shared {
        slots: 0,
        columns: false,
    },
    ConstraintVariant::Shared {
        slots: 2,
        columns: true,
    },
    ConstraintVariant::Shared {
        slots: 24,
        columns: true,
    },
    ConstraintVariant::Shared {
        slots: 24,
        columns: false,
    },
    ConstraintVariant::Shared {
        slots: 48,
        columns: true,
    },
];

/// Random rows (twice the quotient domain, so only the prefix must be read).
fn random_rows(
    ctx: &GpuContext,
    rng: &mut Rng,
    c: &Case,
    q: usize,
) -> (DeviceMatrix, Option<DeviceMatrix>) {
    let w = c.program.main_width;
    let main = DeviceMatrix::upload_words(ctx, &words(&rng.fs(2 * q * w)), 2 * q, w).unwrap();
    let aux = (c.program.aux_ext_width > 0).then(|| {
        let aw = 3 * c.program.aux_ext_width;
        DeviceMatrix::upload_words(ctx, &words(&rng.fs(2 * q * aw)), 2 * q, aw).unwrap()
    });
    (main, aux)
}

#[test]
fn random_rows_match_interpreter() {
    let ctx = gpu();
    let kernel = ConstraintKernel::load(&ctx).unwrap();
    let mut rng = Rng(2026);
    type Sizes = Vec<(usize, usize)>;
    let tables: Vec<(&str, Box<dyn Table>, Sizes)> = vec![
        (
            "fibonacci",
            Box::new(FibonacciAir),
            vec![(1, 0), (3, 1), (10, 0), (12, 2)],
        ),
        (
            "range table",
            Box::new(RangeTableAir),
            vec![(1, 1), (6, 1), (11, 1)],
        ),
        ("range user", Box::new(RangeUserAir), vec![(2, 1), (9, 3)]),
        (
            "power map x^9",
            Box::new(PowerMapAir { exponent: 9 }),
            vec![(4, 3), (8, 3)],
        ),
        ("vm cpu", Box::new(WorkloadAir::VmCpu), vec![(2, 1), (9, 1)]),
        (
            "vm memory",
            Box::new(WorkloadAir::VmMemory),
            vec![(3, 1), (8, 1)],
        ),
        (
            "vm range",
            Box::new(WorkloadAir::VmRange),
            vec![(3, 1), (8, 1)],
        ),
        (
            "keccak",
            Box::new(WorkloadAir::Keccak),
            vec![(1, 1), (4, 1), (7, 1)],
        ),
    ];
    for (name, air, sizes) in &tables {
        let c = case(air.as_ref(), &mut rng);
        let s = c.program.stats();
        log(format!(
            "{name}: {} constraints, {} instructions, {} base + {} ext registers",
            s.constraints, s.instructions, s.base_regs, s.ext_regs
        ));
        for &(log_n, log_d) in sizes {
            let (main, aux) = random_rows(&ctx, &mut rng, &c, 1 << (log_n + log_d));
            compare(&ctx, &kernel, &c, &main, aux.as_ref(), log_n, log_d, name);
        }
    }
}

#[test]
fn several_rows_per_thread_match() {
    let ctx = gpu();
    let mut kernel = ConstraintKernel::load(&ctx).unwrap();
    let mut rng = Rng(7);
    for (threads, air) in [
        (1usize, WorkloadAir::VmCpu),
        (300, WorkloadAir::VmMemory),
        (256, WorkloadAir::Keccak),
    ] {
        kernel.set_max_threads(threads);
        let c = case(&air, &mut rng);
        // v2's column-major chunk of 32 rows: 4 launches over the 128 rows
        kernel.set_columns_bytes(32 * 8 * c.program.main_width);
        let (main, aux) = random_rows(&ctx, &mut rng, &c, 1 << 7);
        compare(&ctx, &kernel, &c, &main, aux.as_ref(), 6, 1, "grid-stride");
    }
}

/// Quotient domains of 2^21 and 2^22 rows: v2's column-major copy (`cp_rows_to_cols`) of a
/// 2^21-row chunk once put 65536 row tiles along the grid's y (limit 65535) and failed with
/// CUDA_ERROR_INVALID_VALUE (vm at 2^20 steps); row tiles now run along x.
#[test]
fn quotient_domains_past_grid_y_match_interpreter() {
    let ctx = gpu();
    let kernel = ConstraintKernel::load(&ctx).unwrap();
    let mut rng = Rng(2121);
    for (name, air, log_n) in [
        ("fibonacci", WorkloadAir::Fib, 21usize),
        ("vm cpu", WorkloadAir::VmCpu, 20),
    ] {
        let c = case(&air, &mut rng);
        let q = 1usize << (log_n + 1);
        let main = ctx
            .random_matrix(q, c.program.main_width, 2121 + log_n as u64)
            .unwrap();
        let aux = (c.program.aux_ext_width > 0).then(|| {
            ctx.random_matrix(q, 3 * c.program.aux_ext_width, 4242 + log_n as u64)
                .unwrap()
        });
        compare(&ctx, &kernel, &c, &main, aux.as_ref(), log_n, 1, name);
    }
}

/// From traces extended on the device (the composition round's real input): Fibonacci with
/// D = 1 and the LogUp range pair with D = 2, both prefixes of a blowup-4 LDE.
#[test]
fn device_ldes_match_interpreter() {
    let ctx = gpu();
    let kernel = ConstraintKernel::load(&ctx).unwrap();
    let mut rng = Rng(99);
    let log_b = 2;
    let ext = |t: &RowMajor| {
        let dev = DeviceMatrix::upload(&ctx, t).unwrap();
        let l = ctx.lde(&dev, log_b as u32).unwrap();
        // the device LDE is the CPU's (checked by gpu_parity); spot-check the first rows here
        let cpu = lde(t, log_b).unwrap();
        assert_eq!(
            l.download_words(&ctx).unwrap()[..t.width * 4],
            words(&cpu.values[..t.width * 4])
        );
        l
    };
    let log_n = 10;
    let (fib, _) = fibonacci_trace(1 << log_n, 1, 1);
    let c = case(&FibonacciAir, &mut rng);
    let main = ext(&RowMajor::new(fib, 2).unwrap());
    compare(&ctx, &kernel, &c, &main, None, log_n, 0, "fibonacci LDE");

    let (table, user) = range_pair_traces(1 << log_n, 1 << log_n);
    for (name, air, trace) in [
        ("range table LDE", &RangeTableAir as &dyn Table, table),
        ("range user LDE", &RangeUserAir as &dyn Table, user),
    ] {
        let c = case(air, &mut rng);
        let interactions = air.interactions();
        let logup = LogupChallenges::new(rng.ef(), rng.ef(), &[&interactions]);
        let (aux, _) = build_aux_trace(&interactions, &logup, &trace, 2).unwrap();
        let aux = RowMajor::new(flatten_ext(&aux), 3 * (interactions.len() + 1)).unwrap();
        let main = ext(&RowMajor::new(trace, 2).unwrap());
        let aux = ext(&aux);
        compare(&ctx, &kernel, &c, &main, Some(&aux), log_n, 1, name);
    }
}

#[test]
fn bad_shapes_are_errors() {
    let ctx = gpu();
    let kernel = ConstraintKernel::load(&ctx).unwrap();
    let mut rng = Rng(5);
    let c = case(&RangeUserAir, &mut rng);
    let dev = DeviceConstraintProgram::upload(&ctx, &c.program).unwrap();
    let (main, aux) = random_rows(&ctx, &mut rng, &c, 8);
    let run = |main: &DeviceMatrix, aux: Option<&DeviceMatrix>, log_n: usize| {
        kernel
            .quotient_values(
                &ctx,
                &dev,
                &QuotientDomain {
                    main,
                    aux,
                    preprocessed: None,
                    periodic: None,
                    log_height: log_n,
                    log_quotient_degree: 1,
                },
                &c.publics,
                &c.challenges,
            )
            .map(|_| ())
    };
    assert!(run(&main, aux.as_ref(), 2).is_ok());
    assert!(run(&main, None, 2).is_err(), "missing aux");
    assert!(run(&main, aux.as_ref(), 5).is_err(), "too few rows");
    assert!(
        run(aux.as_ref().unwrap(), Some(&main), 2).is_err(),
        "widths swapped"
    );
    let mut bad = c.program.clone();
    bad.code[2] = u32::MAX;
    assert!(DeviceConstraintProgram::upload(&ctx, &bad).is_err());
}

/// Full-size timing of every variant on the Keccak program (2^17 trace rows, D = 2: 2^18
/// quotient rows, as in keccak 5461; then 2^16 as in keccak 2730), random main rows made on the
/// device; every variant's values equal v1's. Medians of CUDA-event timings (allocations and the
/// small uploads of each call included, as the prover pays them).
#[test]
#[ignore]
fn keccak_variants_timing() {
    let ctx = gpu();
    ctx.set_poison(false);
    let kernel = ConstraintKernel::load(&ctx).unwrap();
    let mut rng = Rng(17);
    let c = case(&WorkloadAir::Keccak, &mut rng);
    let dev = DeviceConstraintProgram::upload(&ctx, &c.program).unwrap();
    let variants = [
        ConstraintVariant::Global,
        ConstraintVariant::Shared {
            slots: 0,
            columns: false,
        },
        ConstraintVariant::Shared {
            slots: 0,
            columns: true,
        },
        ConstraintVariant::Shared {
            slots: 24,
            columns: false,
        },
        ConstraintVariant::Shared {
            slots: 8,
            columns: true,
        },
        ConstraintVariant::Shared {
            slots: 16,
            columns: true,
        },
        ConstraintVariant::Shared {
            slots: 24,
            columns: true,
        },
        ConstraintVariant::Shared {
            slots: 32,
            columns: true,
        },
        ConstraintVariant::Shared {
            slots: 48,
            columns: true,
        },
        ConstraintVariant::Global,
    ];
    for log_n in [17usize, 16] {
        let q = 1usize << (log_n + 1);
        let main = ctx
            .random_matrix(q, c.program.main_width, 1000 + log_n as u64)
            .unwrap();
        let domain = QuotientDomain {
            main: &main,
            aux: None,
            preprocessed: None,
            periodic: None,
            log_height: log_n,
            log_quotient_degree: 1,
        };
        let mut reference: Option<Vec<u64>> = None;
        for v in variants {
            kernel.set_variant(v);
            let mut out = None;
            let t = ctx
                .time_ms(1, 5, || {
                    out = Some(kernel.quotient_values(
                        &ctx,
                        &dev,
                        &domain,
                        &c.publics,
                        &c.challenges,
                    )?);
                    Ok(())
                })
                .unwrap();
            let mut sorted = t.clone();
            sorted.sort_by(|a, b| a.total_cmp(b));
            let got = out.unwrap().download_words(&ctx).unwrap();
            match &reference {
                None => reference = Some(got),
                Some(r) => assert!(*r == got, "{v:?} differs from v1 at 2^{log_n}"),
            }
            let instr = (q * c.program.num_instructions()) as f64;
            println!(
                "[timing] keccak 2^{log_n} x D=2 ({q} rows, {} instr): {v:?}: median {:.2} ms (min {:.2}, max {:.2}) = {:.1} G instr/s",
                c.program.num_instructions(),
                sorted[sorted.len() / 2],
                sorted[0],
                sorted[sorted.len() - 1],
                instr / (sorted[sorted.len() / 2] * 1e-3) / 1e9
            );
        }
    }
}
