//! Whole-proof benchmark, CPU backend vs CUDA backend in one run on the device machine:
//! keccak 2730 and 5461 permutations and the vm workload, preset `default` (blowup 2, 100
//! queries, 16 PoW bits). Per workload: median of `--reps` proofs with each backend (the CUDA
//! one after a warm-up proof), their ratio, the proof bytes checked equal, the CUDA prover's
//! phase times (median run), host<->device bytes per phase, and the distance from the brief's H100
//! ceilings (Keccak-f 3.5 G perm/s, pinned PCIe 55 GB/s each way).
//!
//! For Keccak it also profiles the main-trace commit (upload, LDE phases by CUDA events, tree),
//! and proves once more with the trace generated on the device (`build_generated`: only the
//! inputs go up); every workload's whole proofs are timed with every matrix resident and with
//! every matrix streamed (LDEs recomputed from coefficients, `Residency`) unless `--no-modes`,
//! and once per constraint kernel (v1 `ConstraintVariant::Global` against the default).
//!
//!     gpu_prove_bench [--reps 3] [--out bench.md] [--quick] [--no-modes] [--cases keccak:5461,vm:65536]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::constraints::{ConstraintVariant, DEFAULT_CONSTRAINT_VARIANT};
use rstark_backend_cuda::residency::Residency;
use rstark_backend_cuda::{CudaBackend, DeviceMatrix, DeviceMerkleTree};
use rstark_field::PrimeField64;
use rstark_poly::RowMajor;
use rstark_protocol::{Backend, KeccakTrace, presets};
use rstark_prover::{ProveOptions, ProveReport, TableInput, prove_with_options};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn table_inputs(w: rstark_workloads::Workload) -> Vec<TableInput> {
    w.tables
        .into_iter()
        .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
        .collect()
}

fn run<B: Backend>(be: &B, tables: &[TableInput]) -> (Vec<u8>, ProveReport) {
    let opts = ProveOptions {
        check_witness: false,
        ..Default::default()
    };
    let (proof, report) = prove_with_options(be, &presets::DEFAULT, tables, &opts)
        .unwrap_or_else(|e| panic!("{} prove failed: {e}", be.name()));
    (proof.to_bytes(), report)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
    };
    let reps: usize = get("--reps").and_then(|s| s.parse().ok()).unwrap_or(3);
    let quick = args.iter().any(|a| a == "--quick");
    let modes = !args.iter().any(|a| a == "--no-modes");
    let listed: Option<Vec<(&str, usize)>> = get("--cases").map(|c| {
        c.split(',')
            .filter_map(|kv| kv.split_once(':'))
            .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
            .collect()
    });
    let cases: Vec<(&str, usize)> = if let Some(c) = listed {
        c
    } else if quick {
        vec![("keccak", 100), ("vm", 4096)]
    } else {
        vec![("keccak", 2730), ("keccak", 5461), ("vm", 1 << 16)]
    };
    let be = CudaBackend::new(0).unwrap_or_else(|e| panic!("needs a CUDA GPU: {e}"));
    let mut md = String::new();
    let threads = rayon::current_num_threads();
    let _ = writeln!(
        md,
        "device: {}; CPU backend on {threads} threads; preset default; {reps} reps, medians\n",
        be.context().device_name()
    );
    let _ = writeln!(
        md,
        "| workload | CPU s | CUDA s | CPU/CUDA | identical | H2D MB | D2H KB | perm/s (CUDA) | of 3.5 G/s | H2D at 55 GB/s |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    let mut details = String::new();
    for (name, size) in cases {
        let t = Instant::now();
        let tables = table_inputs(rstark_workloads::build(name, size).unwrap());
        let host_build = t.elapsed();
        let rows: Vec<String> = tables
            .iter()
            .map(|t| format!("{}: {}x{}", t.name, t.trace.height(), t.trace.width()))
            .collect();
        println!(
            "{name} {size}: traces built in {host_build:.2?} ({})",
            rows.join(", ")
        );

        let mut cpu_t = Vec::new();
        let mut cpu_bytes = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            let (b, _) = run(&CpuBackend, &tables);
            cpu_t.push(t.elapsed().as_secs_f64());
            cpu_bytes = b;
        }
        let _ = run(&be, &tables); // warm-up: kernel loads, pool growth, twiddle tables
        let mut gpu_runs: Vec<(f64, ProveReport, Vec<u8>, _)> = Vec::new();
        for _ in 0..reps {
            be.reset_transfers();
            let t = Instant::now();
            let (b, rep) = run(&be, &tables);
            gpu_runs.push((t.elapsed().as_secs_f64(), rep, b, be.transfers_by_phase()));
        }
        // the same proofs with every matrix resident, then streamed
        let mut by_mode = Vec::new();
        for mode in [Residency::Resident, Residency::Streamed]
            .into_iter()
            .filter(|_| modes)
        {
            be.force_residency(Some(mode));
            let mut t_mode = Vec::new();
            let mut same_mode = true;
            for _ in 0..reps {
                let t = Instant::now();
                let (b, _) = run(&be, &tables);
                t_mode.push(t.elapsed().as_secs_f64());
                same_mode &= b == cpu_bytes;
            }
            by_mode.push((mode, median(&mut t_mode), same_mode));
        }
        be.force_residency(None);
        // the same proofs with each constraint kernel (v1 against the default)
        let mut by_kernel = Vec::new();
        for v in [ConstraintVariant::Global, DEFAULT_CONSTRAINT_VARIANT] {
            be.set_constraint_variant(v);
            let mut t_v = Vec::new();
            let mut same_v = true;
            for _ in 0..reps {
                let t = Instant::now();
                let (b, rep) = run(&be, &tables);
                t_v.push((t.elapsed().as_secs_f64(), rep));
                same_v &= b == cpu_bytes;
            }
            t_v.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (t, rep) = &t_v[t_v.len() / 2];
            let comp = rep
                .phases
                .iter()
                .filter(|(p, _)| p.contains("composition"))
                .map(|(p, d)| format!("{p} {:.1} ms", ms(*d)))
                .collect::<Vec<_>>()
                .join(", ");
            by_kernel.push((v, *t, same_v, comp));
        }
        be.set_constraint_variant(DEFAULT_CONSTRAINT_VARIANT);
        gpu_runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (gpu_s, rep, gpu_bytes, phases) = &gpu_runs[gpu_runs.len() / 2];
        let cpu_s = median(&mut cpu_t);
        let same = *gpu_bytes == cpu_bytes;
        let h2d: u64 = phases.iter().map(|(_, t)| t.h2d_bytes).sum();
        let d2h: u64 = phases.iter().map(|(_, t)| t.d2h_bytes).sum();
        let (perm_s, of_ceiling) = if name == "keccak" {
            let p = size as f64 / gpu_s;
            (format!("{:.0}", p), format!("{:.2e}", p / 3.5e9))
        } else {
            ("-".into(), "-".into())
        };
        let pcie_share = (h2d as f64 / 55e9) / gpu_s;
        // Keccak once more with the trace generated on the device (only the inputs go up).
        let mut generated = None;
        if name == "keccak" {
            let t = Instant::now();
            let gen_tables = table_inputs(rstark_workloads::build_generated(name, size).unwrap());
            let gen_build = t.elapsed();
            let _ = run(&be, &gen_tables); // warm-up
            let mut runs: Vec<(f64, ProveReport, Vec<u8>, _)> = Vec::new();
            for _ in 0..reps {
                be.reset_transfers();
                let t = Instant::now();
                let (b, rep) = run(&be, &gen_tables);
                runs.push((t.elapsed().as_secs_f64(), rep, b, be.transfers_by_phase()));
            }
            runs.sort_by(|a, b| a.0.total_cmp(&b.0));
            generated = Some((gen_build, runs.swap_remove(runs.len() / 2)));
        }
        let _ = writeln!(
            md,
            "| {name} {size} | {cpu_s:.3} | {gpu_s:.3} | {:.2}x | {same} | {:.1} | {:.1} | {perm_s} | {of_ceiling} | {:.1} ms ({:.1}% of the proof) |",
            cpu_s / gpu_s,
            h2d as f64 / 1e6,
            d2h as f64 / 1e3,
            h2d as f64 / 55e9 * 1e3,
            pcie_share * 100.0
        );
        if let Some((_, (g_s, _, g_bytes, g_phases))) = &generated {
            let g_h2d: u64 = g_phases.iter().map(|(_, t)| t.h2d_bytes).sum();
            let g_d2h: u64 = g_phases.iter().map(|(_, t)| t.d2h_bytes).sum();
            let p = size as f64 / g_s;
            let _ = writeln!(
                md,
                "| {name} {size}, trace generated on the device | {cpu_s:.3} | {g_s:.3} | {:.2}x | {} | {:.3} | {:.1} | {p:.0} | {:.2e} | {:.3} ms ({:.2}% of the proof) |",
                cpu_s / g_s,
                *g_bytes == cpu_bytes,
                g_h2d as f64 / 1e6,
                g_d2h as f64 / 1e3,
                p / 3.5e9,
                g_h2d as f64 / 55e9 * 1e3,
                (g_h2d as f64 / 55e9) / g_s * 100.0
            );
        }
        let _ = writeln!(
            details,
            "\n{name} {size} ({}; host trace built in {:.1} ms), CUDA median run, prover phases:",
            rows.join(", "),
            ms(host_build)
        );
        for (mode, t, same) in &by_mode {
            let _ = writeln!(
                details,
                "  whole proof with every matrix {mode:?}: {t:.3} s (median of {reps}), identical to CPU: {same}"
            );
        }
        for (v, t, same, comp) in &by_kernel {
            let _ = writeln!(
                details,
                "  whole proof with constraint kernel {v:?}: {t:.3} s (median of {reps}; {comp}), identical to CPU: {same}"
            );
        }
        let _ = writeln!(
            details,
            "  constraint-program cache: {:?}",
            be.constraint_cache_stats()
        );
        if name == "keccak" {
            profile_commit(&be, &tables[0].trace.host(), reps, &mut details);
            profile_generation(&be, size, reps, &mut details);
        }
        phase_details(&mut details, &rep.phases, phases);
        if let Some((gen_build, (g_s, g_rep, g_bytes, g_phases))) = &generated {
            let _ = writeln!(
                details,
                "  with the trace generated on the device (inputs built in {:.2} ms): {g_s:.3} s, \
                 identical to CPU: {}; phases:",
                ms(*gen_build),
                *g_bytes == cpu_bytes
            );
            phase_details(&mut details, &g_rep.phases, g_phases);
        }
        println!("{name} {size}: cpu {cpu_s:.3} s, cuda {gpu_s:.3} s, identical {same}");
        if !same {
            eprintln!("{name} {size}: CUDA proof DIFFERS from the CPU proof");
        }
        if let Some((_, (g_s, _, g_bytes, _))) = &generated {
            println!(
                "{name} {size}: cuda with the device-generated trace {g_s:.3} s, identical {}",
                *g_bytes == cpu_bytes
            );
        }
        be.context().trim_pool().ok();
    }
    md.push_str(&details);
    println!("\n{md}");
    if let Some(out) = get("--out") {
        std::fs::write(out, &md).unwrap();
    }
}

/// The main-trace commit taken apart: the upload alone, the LDE's phases (CUDA events), the
/// tree, and `commit_trace` whole with its LDE kept and streamed (wall, medians).
fn profile_commit(be: &CudaBackend, trace: &RowMajor, reps: usize, out: &mut String) {
    let ctx = be.context();
    let timed = |f: &mut dyn FnMut()| {
        let mut v: Vec<f64> = (0..reps.max(3))
            .map(|_| {
                let t = Instant::now();
                f();
                ctx.synchronize().unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median(&mut v)
    };
    let upload = timed(&mut || drop(DeviceMatrix::upload(ctx, trace).unwrap()));
    let dev = DeviceMatrix::upload(ctx, trace).unwrap();
    let lde_ms = timed(&mut || drop(ctx.lde(&dev, 1).unwrap()));
    let phases = ctx.lde_phases(&dev, 1).unwrap();
    let lde = ctx.lde(&dev, 1).unwrap();
    let tree = timed(&mut || drop(DeviceMerkleTree::commit(ctx, &lde).unwrap()));
    drop((dev, lde));
    let convert = timed(&mut || {
        let v: Vec<u64> = trace
            .values
            .par_iter()
            .map(|x| x.as_canonical_u64())
            .collect();
        std::hint::black_box(v);
    });
    let mut whole = Vec::new();
    for mode in [Residency::Resident, Residency::Streamed] {
        be.force_residency(Some(mode));
        whole.push((
            mode,
            timed(&mut || drop(rstark_protocol::Backend::commit_trace(be, trace, 1).unwrap())),
        ));
    }
    be.force_residency(None);
    let bytes = trace.values.len() as f64 * 8.0;
    let _ = writeln!(
        out,
        "  main-trace commit profile ({} x {}, blowup 2; ms, medians): upload alone staged \
         {upload:.1} ({:.1} GB/s); host conversion alone (to a new Vec) {convert:.1}; LDE \
         {lde_ms:.1} (events: {}), tree {tree:.1}; commit_trace {}",
        trace.height(),
        trace.width,
        bytes / upload / 1e6,
        phases
            .iter()
            .map(|(p, t)| format!("{p} {t:.1}"))
            .collect::<Vec<_>>()
            .join(", "),
        whole
            .iter()
            .map(|(m, t)| format!("{m:?} {t:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn phase_details(
    out: &mut String,
    phases: &[(&'static str, Duration)],
    transfers: &[(&'static str, rstark_backend_cuda::TransferStats)],
) {
    for (p, d) in phases {
        let _ = writeln!(out, "  {p}: {:.1} ms", ms(*d));
    }
    let _ = writeln!(out, "  host<->device bytes by backend phase:");
    for (p, t) in transfers {
        let _ = writeln!(
            out,
            "    {p}: h2d {} B in {} copies, d2h {} B in {} copies",
            t.h2d_bytes, t.h2d_copies, t.d2h_bytes, t.d2h_copies
        );
    }
}

/// The Keccak trace generated on the device (kernel + input upload) and the whole
/// `commit_generated` (generation + LDE + tree), wall medians.
fn profile_generation(be: &CudaBackend, perms: usize, reps: usize, out: &mut String) {
    let ctx = be.context();
    let inputs = rstark_workloads::keccak::keccak_inputs(perms);
    let timed = |f: &mut dyn FnMut()| {
        let mut v: Vec<f64> = (0..reps.max(3))
            .map(|_| {
                let t = Instant::now();
                f();
                ctx.synchronize().unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median(&mut v)
    };
    let gen_ms = timed(&mut || drop(ctx.keccak_trace(&inputs).unwrap()));
    let dev = ctx.keccak_trace(&inputs).unwrap();
    let bytes = (dev.rows() * dev.width() * 8) as f64;
    drop(dev);
    let g = KeccakTrace::new(inputs.clone());
    let commit = timed(&mut || drop(be.commit_generated(&g, 1).unwrap()));
    let host = timed(&mut || {
        drop(std::hint::black_box(
            rstark_protocol::TraceGenerator::generate(&g),
        ))
    });
    let _ = writeln!(
        out,
        "  device trace generation ({perms} permutations): kernel + {} B of inputs {gen_ms:.2} ms \
         ({:.0} GB/s written, of 2.86 TB/s copy); commit_generated (generation + LDE + tree) \
         {commit:.1} ms; the same trace on the host (p3 generate_trace_rows) {host:.1} ms",
        inputs.len() * 200,
        bytes / gen_ms / 1e6
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
