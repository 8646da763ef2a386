//! GPU: the device witness check (kernels/witness.cu) and device LogUp aux traces
//! (kernels/logup.cu) against the host's (`rstark_air::first_failing_constraint`,
//! `rstark_air::logup::build_aux_trace`), and whole proofs that use them equal to the CPU
//! backend's. Built only with `--features cuda`; without a GPU every test FAILS (never skips).
//! Outputs are poisoned first. `at_scale_*` tests (ignored: run with `--ignored at_scale`) take
//! the VM at 2^21 steps (LogUp over 2^21 rows, a shape where a naive 2-D grid would pass 65535
//! blocks in y) and keccak 21845 permutations.
#![cfg(feature = "cuda")]

use std::sync::Arc;
use std::time::Instant;

use rstark_air::examples::{FibonacciAir, fibonacci_trace};
use rstark_air::logup::{LogupChallenges, LogupError, build_aux_trace, fingerprint};
use rstark_air::{Interaction, Table, failing_constraint_at, first_failing_constraint};
use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::constraints::DeviceConstraintProgram;
use rstark_backend_cuda::logup::{
    AuxBuilder, AuxOutcome, BlockLayout, DeviceInteractions, RowOrder,
};
use rstark_backend_cuda::logup_table::ScanLevels;
use rstark_backend_cuda::residency::Residency;
use rstark_backend_cuda::witness::WitnessCheck;
use rstark_backend_cuda::{CudaBackend, DeviceMatrix, GpuContext};
use rstark_constraints::compile_air;
use rstark_field::{EF, F, PrimeCharacteristicRing, PrimeField64, flatten_ext};
use rstark_poly::RowMajor;
use rstark_protocol::{StarkParams, presets};
use rstark_prover::{ProveOptions, ProverError, TableInput, prove_owned, prove_with_options};

#[allow(dead_code)] // the verifier's statement is not needed here
#[path = "support/statement.rs"]
mod statement;
#[path = "support/witness.rs"]
mod support;
use support::{Rng, bitrev_block_colmajor};

fn gpu() -> CudaBackend {
    let be = CudaBackend::new(0)
        .unwrap_or_else(|e| panic!("GPU witness/LogUp tests need a CUDA GPU: {e}"));
    be.context().set_poison(true);
    be
}

fn log(msg: String) {
    println!("[gpu-witness] {msg}");
}

fn host_tables(name: &str, size: usize) -> Vec<TableInput> {
    statement::statement(name, size).unwrap().tables
}

fn host_values(t: &TableInput) -> RowMajor {
    t.trace.host().into_owned()
}

// ---- the witness check ----

/// (row, constraint) the device reports for `m`: the whole trace in one call, and in `blocks`
/// blocks (each its own buffer, its tail uploaded apart) — both must agree.
fn device_failure(
    ctx: &GpuContext,
    program: &DeviceConstraintProgram,
    air: &dyn Table,
    m: &RowMajor,
    publics: &[F],
    blocks: usize,
) -> Option<(usize, usize)> {
    let w = m.width;
    let n = m.values.len() / w;
    let log_n = n.trailing_zeros() as usize;
    let check = WitnessCheck::new(ctx, program, publics, log_n).unwrap();
    let dev = DeviceMatrix::upload(ctx, m).unwrap();
    let whole = check
        .check_rows(ctx, dev.words(), n, 0, (dev.words(), 0))
        .unwrap();
    let per = n.div_ceil(blocks);
    let mut by_blocks = None;
    for first in (0..n).step_by(per) {
        let rows = per.min(n - first);
        let block = RowMajor::new(m.values[first * w..(first + rows) * w].to_vec(), w).unwrap();
        let next = (first + rows) % n;
        let tail = RowMajor::new(m.values[next * w..(next + 1) * w].to_vec(), w).unwrap();
        let (block, tail) = (
            DeviceMatrix::upload(ctx, &block).unwrap(),
            DeviceMatrix::upload(ctx, &tail).unwrap(),
        );
        let got = check
            .check_rows(ctx, block.words(), rows, first, (tail.words(), 0))
            .unwrap();
        by_blocks = by_blocks.or(got);
    }
    assert_eq!(whole, by_blocks, "whole trace vs {blocks} blocks");
    let row = whole?;
    let rows = dev.gather_rows(ctx, &[row, (row + 1) % n]).unwrap();
    let c = failing_constraint_at(air, &rows[0], &rows[1], publics, row, n)
        .expect("the host names a failing constraint on the flagged row");
    Some((row, c))
}

fn check_cases(ctx: &GpuContext, name: &str, t: &TableInput, bad_cells: usize, rng: &mut Rng) {
    let air = t.air.as_ref();
    let m = host_values(t);
    let (w, n) = (m.width, m.values.len() / m.width);
    let p = compile_air(air, t.public_values.len()).unwrap();
    let program = DeviceConstraintProgram::upload(ctx, &p).unwrap();
    let want = first_failing_constraint(air, &m.values, w, &t.public_values);
    assert_eq!(want, None, "{name}: the workload's trace is good");
    let got = device_failure(ctx, &program, air, &m, &t.public_values, 3);
    assert_eq!(got, None, "{name}: good trace");
    let t0 = Instant::now();
    for i in 0..bad_cells {
        let mut bad = m.clone();
        let row = match i {
            0 => n - 1,
            1 => 0,
            _ => rng.below(n),
        };
        let col = rng.below(w);
        bad.values[row * w + col] += F::from_u64(1 + rng.below(1 << 20) as u64);
        let want = first_failing_constraint(air, &bad.values, w, &t.public_values)
            .map(|f| (f.row, f.constraint));
        let got = device_failure(ctx, &program, air, &bad, &t.public_values, 1 + i % 4);
        assert_eq!(got, want, "{name}: cell ({row}, {col}) bumped");
    }
    log(format!(
        "{name} ({n} x {w}): good trace passes, {bad_cells} planted cells found at the host's \
         row and constraint ({:.3} s)",
        t0.elapsed().as_secs_f64()
    ));
}

#[test]
fn device_witness_check_reports_the_hosts_row_and_constraint() {
    let be = gpu();
    let ctx = be.context();
    let mut rng = Rng(1);
    let (fib, publics) = fibonacci_trace(1024, 1, 1);
    let fib = TableInput::new(
        "fib",
        Arc::new(FibonacciAir),
        RowMajor::new(fib, 2).unwrap(),
        publics,
    );
    check_cases(ctx, "fib 1024", &fib, 20, &mut rng);
    for size in [256, 4096] {
        for t in host_tables("vm", size) {
            check_cases(ctx, &format!("vm {size} {}", t.name), &t, 12, &mut rng);
        }
    }
    for t in host_tables("keccak", 5) {
        check_cases(ctx, "keccak 5", &t, 6, &mut rng);
    }
}

/// Through the prover: a bad cell is `ProverError::ConstraintFailed` naming the same table,
/// row and constraint as the CPU backend's host check, for host and device-generated traces.
#[test]
fn proofs_with_a_bad_witness_fail_like_the_cpu() {
    let be = gpu();
    let checked = ProveOptions {
        check_witness: true,
        ..Default::default()
    };
    let mut rng = Rng(2);
    let mut failed = 0;
    for (name, size, residency) in [
        ("fib", 256, None),
        ("vm", 256, None),
        ("keccak", 3, None),
        ("vm", 256, Some(Residency::Streamed)),
        ("keccak", 3, Some(Residency::Streamed)),
    ] {
        be.force_residency(residency);
        for _ in 0..3 {
            let mut tables = host_tables(name, size);
            let ti = rng.below(tables.len());
            let m = match &mut tables[ti].trace {
                rstark_protocol::TraceSource::Host(m) => m,
                _ => unreachable!("host traces"),
            };
            let cell = rng.below(m.values.len());
            m.values[cell] += F::ONE;
            let cpu = prove_with_options(&CpuBackend, &presets::FAST_TEST, &tables, &checked);
            let cuda = prove_with_options(&be, &presets::FAST_TEST, &tables, &checked);
            match (cpu, cuda) {
                (Err(cpu), Err(cuda)) => {
                    // a failing constraint, or (a column only LogUp reads) an unbalanced bus
                    assert_eq!(cuda.to_string(), cpu.to_string(), "{name} {residency:?}");
                    failed += matches!(cuda, ProverError::ConstraintFailed { .. }) as usize;
                    log(format!("{name} {size} ({residency:?}): {cuda}"));
                }
                (Ok((cpu, _)), Ok((cuda, _))) => {
                    assert!(cpu.to_bytes() == cuda.to_bytes(), "{name}: proofs differ");
                    log(format!(
                        "{name} {size}: cell {cell} of table {ti} is unconstrained"
                    ));
                }
                (cpu, cuda) => panic!(
                    "{name} {residency:?}: cell {cell} of table {ti}: cpu {:?}, cuda {:?}",
                    cpu.err(),
                    cuda.err()
                ),
            }
        }
    }
    assert!(failed >= 6, "only {failed} bad cells failed a constraint");
    be.force_residency(None);
}

/// Keccak generated on the device with the witness check on: checked on the device (no host
/// trace, no host check), and the proof is the CPU's.
#[test]
fn keccak_device_trace_is_checked_on_the_device() {
    let be = gpu();
    let checked = ProveOptions {
        check_witness: true,
        ..Default::default()
    };
    for (size, residency) in [(4, None), (171, None), (171, Some(Residency::Streamed))] {
        be.force_residency(residency);
        let params = presets::FAST_TEST;
        let cpu = prove_with_options(&CpuBackend, &params, &host_tables("keccak", size), &checked)
            .unwrap()
            .0
            .to_bytes();
        let generated = || -> Vec<TableInput> {
            rstark_workloads::build_generated("keccak", size)
                .unwrap()
                .tables
                .into_iter()
                .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
                .collect()
        };
        // a first proof compiles and uploads the program and fills the twiddle caches
        prove_owned(&be, &params, generated(), &checked).unwrap();
        be.reset_transfers();
        let (proof, report) = prove_owned(&be, &params, generated(), &checked).unwrap();
        let phases = be.transfers_by_phase();
        assert!(proof.to_bytes() == cpu, "keccak {size}: proof differs");
        assert!(
            report
                .phases
                .iter()
                .all(|(p, _)| *p != "trace generation" && *p != "witness check"),
            "keccak {size}: a host trace or host check: {:?}",
            report.phases
        );
        // the main commitment (with its check) moved the inputs, the check's challenges and
        // public values up, and one 8-byte result per checked block down
        let main = phases
            .iter()
            .find(|(p, _)| *p == "trace generation + LDE + commit")
            .map(|(_, t)| *t)
            .expect("the main commitment");
        let inputs = size as u64 * 200;
        assert!(
            main.h2d_bytes > inputs && main.h2d_bytes < inputs + (1 << 20),
            "{main:?}"
        );
        assert!(main.d2h_bytes < 1 << 16, "{main:?}");
        log(format!(
            "keccak {size} ({residency:?}): checked on the device, proof identical; {main:?}"
        ));
    }
    be.force_residency(None);
}

// ---- LogUp ----

fn upload_block(ctx: &GpuContext, values: &[F], w: usize) -> DeviceMatrix {
    DeviceMatrix::upload(ctx, &RowMajor::new(values.to_vec(), w).unwrap()).unwrap()
}

/// The whole trace `m` added to `aux` as one natural, row-major block.
fn add_whole(ctx: &GpuContext, aux: &mut AuxBuilder, inter: &DeviceInteractions, m: &RowMajor) {
    let dev = DeviceMatrix::upload(ctx, m).unwrap();
    let n = m.values.len() / m.width;
    aux.add_rows(
        ctx,
        inter,
        dev.words(),
        n,
        BlockLayout::RowMajor,
        RowOrder::Natural { first: 0 },
    )
    .unwrap();
}

/// The device aux (natural one block, or 2^shift bit-reversed column-major blocks, as blocks
/// recomputed from coefficients come) against the host's.
fn aux_case(
    ctx: &GpuContext,
    name: &str,
    inter: &[Interaction],
    m: &RowMajor,
    ch: &LogupChallenges,
    shift: Option<u32>,
    levels: Option<ScanLevels>,
) {
    let (w, n) = (m.width, m.values.len() / m.width);
    let k = inter.len();
    let t0 = Instant::now();
    let (want, claimed) = build_aux_trace(inter, ch, &m.values, w).unwrap();
    let host_s = t0.elapsed().as_secs_f64();
    let dev_inter = DeviceInteractions::new(ctx, inter, ch, w).unwrap();
    let t0 = Instant::now();
    let mut aux = AuxBuilder::new(ctx, n.trailing_zeros() as usize, k).unwrap();
    // (a block's buffer may be dropped once its launch is queued: frees are stream-ordered)
    match shift {
        None => add_whole(ctx, &mut aux, &dev_inter, m),
        Some(shift) => {
            let (b, rows) = (1usize << shift, n >> shift);
            for first in 0..b {
                let v = bitrev_block_colmajor(&m.values, w, shift, first);
                let dev = upload_block(ctx, &v, w);
                aux.add_rows(
                    ctx,
                    &dev_inter,
                    dev.words(),
                    rows,
                    BlockLayout::ColumnMajor,
                    RowOrder::BitReversed { first, shift },
                )
                .unwrap();
            }
        }
    }
    let outcome = match levels {
        Some(l) => aux.finish_with(ctx, l),
        None => aux.finish(ctx),
    };
    let AuxOutcome::Built(got) = outcome.unwrap() else {
        panic!("{name}: a zero denominator on the device only");
    };
    ctx.synchronize().unwrap();
    let dev_s = t0.elapsed().as_secs_f64();
    let words = got.matrix.download_words(ctx).unwrap();
    let want_words: Vec<u64> = flatten_ext(&want)
        .iter()
        .map(|v| v.as_canonical_u64())
        .collect();
    assert!(
        words == want_words,
        "{name}: aux words differ ({shift:?}, {levels:?})"
    );
    assert_eq!(got.claimed_sum, claimed, "{name}");
    for (j, s) in got.interaction_sums.iter().enumerate() {
        let col: EF = want.iter().skip(j).step_by(k + 1).copied().sum();
        assert_eq!(*s, col, "{name}: interaction {j}");
    }
    log(format!(
        "{name} ({n} rows, {k} interactions, blocks {shift:?}, levels {levels:?}): aux identical; \
         host {host_s:.3} s, device {dev_s:.3} s (with uploads)"
    ));
}

fn vm_aux_cases(ctx: &GpuContext, size: usize, rng: &mut Rng, small_levels: bool) {
    for t in host_tables("vm", size) {
        let inter = t.air.interactions();
        if inter.is_empty() {
            continue;
        }
        let m = host_values(&t);
        let ch = LogupChallenges::new(rng.ef(), rng.ef(), &[&inter]);
        let name = format!("vm {size} {}", t.name);
        aux_case(ctx, &name, &inter, &m, &ch, None, None);
        if small_levels {
            let l = ScanLevels {
                chunk_rows: 7,
                group: 5,
            };
            aux_case(ctx, &name, &inter, &m, &ch, None, Some(l));
        }
        aux_case(ctx, &name, &inter, &m, &ch, Some(3), None);
    }
}

#[test]
fn device_logup_aux_equals_the_hosts() {
    let be = gpu();
    let mut rng = Rng(3);
    for size in [64, 4096, 1 << 16] {
        vm_aux_cases(be.context(), size, &mut rng, size <= 4096);
    }
}

#[test]
fn a_zero_denominator_is_reported_at_the_hosts_row_and_interaction() {
    let be = gpu();
    let ctx = be.context();
    let mut rng = Rng(4);
    for t in host_tables("vm", 1024) {
        let inter = t.air.interactions();
        if inter.is_empty() {
            continue;
        }
        let m = host_values(&t);
        let (w, n) = (m.width, m.values.len() / m.width);
        let beta = rng.ef();
        let (r, j) = (rng.below(n), rng.below(inter.len()));
        let probe = LogupChallenges::new(EF::ZERO, beta, &[&inter]);
        let alpha = fingerprint(&inter[j], &probe, &m.values[r * w..(r + 1) * w]);
        let ch = LogupChallenges::new(alpha, beta, &[&inter]);
        let Err(LogupError::ZeroDenominator { row, interaction }) =
            build_aux_trace(&inter, &ch, &m.values, w)
        else {
            panic!("no zero denominator on the host");
        };
        let dev_inter = DeviceInteractions::new(ctx, &inter, &ch, w).unwrap();
        let mut aux = AuxBuilder::new(ctx, n.trailing_zeros() as usize, inter.len()).unwrap();
        add_whole(ctx, &mut aux, &dev_inter, &m);
        match aux.finish(ctx).unwrap() {
            AuxOutcome::ZeroDenominator {
                row: r2,
                interaction: i2,
            } => assert_eq!((r2, i2), (row, interaction), "vm {}", t.name),
            AuxOutcome::Built(_) => panic!("vm {}: the device found no zero denominator", t.name),
        }
        log(format!(
            "vm {}: zero denominator at row {row}, interaction {interaction} on both",
            t.name
        ));
    }
}

// ---- whole proofs ----

/// Whole proofs with the witness check off and on, every matrix as planned and every matrix
/// streamed (the aux trace then built from main rows recomputed from the coefficients).
fn proof_parity(be: &CudaBackend, what: &str, params: &StarkParams, name: &str, size: usize) {
    for (check, residency) in [
        (false, None),
        (true, None),
        (true, Some(Residency::Streamed)),
    ] {
        be.force_residency(residency);
        let options = ProveOptions {
            check_witness: check,
            ..Default::default()
        };
        let t0 = Instant::now();
        let cpu = prove_with_options(&CpuBackend, params, &host_tables(name, size), &options)
            .unwrap()
            .0
            .to_bytes();
        let cpu_s = t0.elapsed().as_secs_f64();
        be.reset_transfers();
        let t0 = Instant::now();
        let proved = prove_owned(be, params, host_tables(name, size), &options);
        be.force_residency(None);
        let (proof, _) = proved.unwrap_or_else(|e| panic!("{what}: CUDA prove failed: {e}"));
        let cuda_s = t0.elapsed().as_secs_f64();
        let gpu = proof.to_bytes();
        log(format!(
            "{what} (check {check}, {residency:?}): identical={} cpu {cpu_s:.3} s, cuda \
             {cuda_s:.3} s",
            gpu == cpu
        ));
        for (phase, t) in be.transfers_by_phase() {
            log(format!(
                "  {phase}: h2d {} B ({} copies), d2h {} B ({} copies)",
                t.h2d_bytes, t.h2d_copies, t.d2h_bytes, t.d2h_copies
            ));
        }
        assert!(gpu == cpu, "{what}: CUDA proof differs from the CPU's");
        // the aux traces were built on the device: only the interactions went up
        if let Some((_, t)) = be
            .transfers_by_phase()
            .into_iter()
            .find(|(p, _)| *p == "LogUp aux trace")
        {
            assert!(t.h2d_bytes < 1 << 16, "{what}: LogUp moved {t:?}");
        } else {
            panic!("{what}: no device LogUp phase");
        }
    }
}

#[test]
fn vm_proofs_with_device_logup_match_cpu() {
    let be = gpu();
    proof_parity(&be, "vm 256 fast-test", &presets::FAST_TEST, "vm", 256);
    proof_parity(&be, "vm 4096 default", &presets::DEFAULT, "vm", 4096);
}

// ---- at scale (ignored; `--ignored at_scale`) ----

#[test]
#[ignore]
fn at_scale_vm_2e21_logup_aux_and_proof() {
    let be = gpu();
    let mut rng = Rng(5);
    vm_aux_cases(be.context(), 1 << 21, &mut rng, false);
    proof_parity(&be, "vm 2^21 default", &presets::DEFAULT, "vm", 1 << 21);
}

#[test]
#[ignore]
fn at_scale_keccak_21845_device_check() {
    let be = gpu();
    let size = 21845;
    let tables = host_tables("keccak", size);
    let mut rng = Rng(6);
    check_cases(be.context(), "keccak 21845", &tables[0], 2, &mut rng);
    // the generated trace through the prover, checked on the device
    let checked = ProveOptions {
        check_witness: true,
        ..Default::default()
    };
    let generated: Vec<TableInput> = rstark_workloads::build_generated("keccak", size)
        .unwrap()
        .tables
        .into_iter()
        .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
        .collect();
    let t0 = Instant::now();
    let (proof, report) = prove_owned(&be, &presets::DEFAULT, generated, &checked).unwrap();
    log(format!(
        "keccak {size} with the device check: {:.3} s, phases {:?}",
        t0.elapsed().as_secs_f64(),
        report.phases
    ));
    let cpu = prove_with_options(&CpuBackend, &presets::DEFAULT, &tables, &checked)
        .unwrap()
        .0;
    assert!(
        proof.to_bytes() == cpu.to_bytes(),
        "keccak {size}: proof differs"
    );
}
