//! Microbenchmarks of the CUDA kernels (issue 4): LDE alone, commit alone, and LDE + commit for
//! 2^20..2^24 trace rows × {8, 64, 256} columns × blowup {2, 4, 8}, timed with CUDA events
//! (warm-up, then the median of several runs), each against its floor (METHOD.md: the larger of
//! the bytes it must move over the measured copy bandwidth and the operations it must do over
//! the measured rates of the units that do them). The operations: the LDE's NTT butterflies
//! (over the measured butterfly rate; the half-size-1 stages, whose twiddle is 1, are counted
//! as free) and one coset-scaling product per output coefficient (over the product rate); the
//! commit's Keccak-f permutations (over the Keccak-f rate). LDE + commit adds the two: both
//! run on the SM's integer pipes, which the same run checks by timing them in one launch.
//! The old Keccak-only floor is printed beside it. The same run measures the CPU reference
//! (rstark-poly + rstark-merkle, rayon) on some of the sizes, so GPU/CPU ratios come from one
//! machine and one run.
//!
//! Usage: rstark-cuda-bench [--quick] [--no-cpu] [--out FILE]   (FILE gets the markdown table)
//!        rstark-cuda-bench --profile   (a short fixed workload for ncu)

use std::fmt::Write as _;
use std::time::Instant;

use rstark_backend_cuda::probe::median;
use rstark_backend_cuda::{DeviceMerkleTree, GpuContext, Result};
use rstark_field::PrimeField64;
use rstark_merkle::MerkleTree;
use rstark_poly::{golden, lde};

/// Ceilings from the project brief (H100): the floors use the larger of these and our measurement.
const BRIEF_COPY_BPS: f64 = 2.86e12;
const BRIEF_KECCAK_PS: f64 = 3.5e9;

struct Ceilings {
    copy_bps: f64,
    keccak_ps: f64,
    butterfly_ps: f64,
    mul_ps: f64,
}

impl Ceilings {
    fn floor_ms(&self, bytes: f64, perms: f64) -> f64 {
        (bytes / self.copy_bps).max(perms / self.keccak_ps) * 1e3
    }

    /// ms of the LDE's arithmetic: `butterflies` NTT butterflies and `products` scalings.
    fn ntt_ops_ms(&self, butterflies: f64, products: f64) -> f64 {
        (butterflies / self.butterfly_ps + products / self.mul_ps) * 1e3
    }
}

/// Butterflies of the LDE that do a product: the inverse NTT (N points) and the B forward ones
/// (N points each) of every column, less each transform's half-size-1 stage (twiddle 1).
fn lde_butterflies(log_n: u32, w: usize, log_b: u32) -> f64 {
    let n = (1u64 << log_n) as f64;
    let per_transform = n / 2.0 * (log_n.max(1) - 1) as f64;
    per_transform * (1.0 + (1u64 << log_b) as f64) * w as f64
}

fn leaf_perms(width: usize) -> u64 {
    (16 * width as u64 + 1).div_ceil(136)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("rstark-cuda-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let cpu = !args.iter().any(|a| a == "--no-cpu");
    let out_file = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .cloned();

    let ctx = GpuContext::new(0)?;
    if args.iter().any(|a| a == "--profile") {
        // A short, fixed workload to run under a profiler (ncu): one LDE + commit of
        // 2^22 x 64, blowup 2, after one warm-up.
        let trace = ctx.random_matrix(1 << 22, 64, 1)?;
        for _ in 0..2 {
            ctx.lde_commit(&trace, 1)?;
        }
        ctx.synchronize()?;
        println!("profile workload done");
        return Ok(());
    }
    let (free, total) = ctx.mem_info()?;
    let cc = ctx.compute_capability()?;
    let mut report = String::new();
    let threads = rayon::current_num_threads();
    writeln!(
        report,
        "device: {} (sm_{}{}), {:.1} GiB free of {:.1} GiB; host: {threads} rayon threads; cubins: {}",
        ctx.device_name(),
        cc.0,
        cc.1,
        free as f64 / (1u64 << 30) as f64,
        total as f64 / (1u64 << 30) as f64,
        GpuContext::embedded_archs()
    )
    .unwrap();

    // The two ceilings.
    let copy = ctx.measure_copy_bandwidth(4 << 30)?;
    let keccak = ctx.measure_keccak_rate()?;
    let mul = ctx.measure_gl_mul_rate()?;
    let butterfly = ctx.measure_butterfly_rate()?;
    let (mix_k, mix_b, mix_both) = ctx.measure_keccak_butterfly_mix()?;
    writeln!(
        report,
        "ceilings: device copy {:.3} TB/s (read+write; brief: 2.86), Keccak-f {:.3} G perm/s (our kernel; brief: >= 3.5)",
        copy / 1e12,
        keccak / 1e9
    )
    .unwrap();
    writeln!(
        report,
        "NTT arithmetic ceilings: {:.1} G Goldilocks mul/s (independent chains in registers), {:.1} G butterflies/s (16-point networks in registers, the NTT's own butterfly)",
        mul / 1e9,
        butterfly / 1e9
    )
    .unwrap();
    writeln!(
        report,
        "Keccak-f and butterflies in one launch: Keccak alone {mix_k:.3} ms, butterflies alone {mix_b:.3} ms, both {mix_both:.3} ms = {:.2} x the sum, {:.2} x the larger",
        mix_both / (mix_k + mix_b),
        mix_both / mix_k.max(mix_b)
    )
    .unwrap();
    // Host -> device: a 2 GiB trace through a plain (pageable) copy and through DeviceMatrix::upload
    // (pinned staging with the canonical conversion overlapped).
    {
        let m = golden::matrix(22, 64, 9);
        let words: Vec<u64> = m.values.iter().map(|x| x.as_canonical_u64()).collect();
        let bytes = (words.len() * 8) as f64;
        let mut pageable = Vec::new();
        let mut pinned = Vec::new();
        for _ in 0..3 {
            let t0 = Instant::now();
            let d = ctx.upload(&words, "bench upload")?;
            ctx.synchronize()?;
            pageable.push(t0.elapsed().as_secs_f64());
            drop(d);
            let t0 = Instant::now();
            let d = rstark_backend_cuda::DeviceMatrix::upload(&ctx, &m)?;
            ctx.synchronize()?;
            pinned.push(t0.elapsed().as_secs_f64());
            drop(d);
        }
        writeln!(
            report,
            "host->device, 2 GiB trace (median of 3): pageable copy of canonical words {:.1} GB/s, DeviceMatrix::upload (pinned staging, conversion included) {:.1} GB/s (brief: pinned PCIe 55 GB/s)",
            bytes / median(&pageable) / 1e9,
            bytes / median(&pinned) / 1e9
        )
        .unwrap();
        ctx.trim_pool()?;
    }
    let ceil = Ceilings {
        copy_bps: copy.max(BRIEF_COPY_BPS),
        keccak_ps: keccak.max(BRIEF_KECCAK_PS),
        butterfly_ps: butterfly,
        mul_ps: mul,
    };
    writeln!(
        report,
        "floors use {:.3} TB/s and {:.3} G perm/s (the larger of measured and brief), {:.1} G butterflies/s and {:.1} G mul/s (measured)\n",
        ceil.copy_bps / 1e12,
        ceil.keccak_ps / 1e9,
        ceil.butterfly_ps / 1e9,
        ceil.mul_ps / 1e9
    )
    .unwrap();
    print!("{report}");

    writeln!(
        report,
        "| rows | cols | blowup | LDE ms | LDE x floor | commit ms | commit x floor | LDE+commit ms | LDE+commit x floor | floor ms (Keccak + NTT, bound) | x Keccak-only floor | G perm/s |"
    )
    .unwrap();
    writeln!(report, "|---|---|---|---|---|---|---|---|---|---|---|---|").unwrap();

    let log_ns: Vec<u32> = if quick {
        vec![20, 22]
    } else {
        (20..=24).collect()
    };
    let widths: Vec<usize> = if quick { vec![8, 64] } else { vec![8, 64, 256] };
    let mut gpu_fused = Vec::new();
    let mut phase_lines = Vec::new();
    for &log_n in &log_ns {
        for &w in &widths {
            for log_b in 1..=3u32 {
                let n = 1usize << log_n;
                let rows = n << log_b;
                // trace, coefficients, the LDE, the nodes
                let words_needed = 2 * n * w + rows * w + 4 * rows;
                let (free, _) = ctx.mem_info()?;
                if (words_needed * 8) as f64 > 0.92 * free as f64 {
                    let line = format!(
                        "| 2^{log_n} | {w} | {} | — | | — | | — | | needs {:.0} GiB | | | |",
                        1 << log_b,
                        (words_needed * 8) as f64 / (1u64 << 30) as f64
                    );
                    println!("{line}");
                    writeln!(report, "{line}").unwrap();
                    continue;
                }
                let timed = time_config(&ctx, log_n, w, log_b, &mut phase_lines);
                ctx.trim_pool()?;
                let (t_lde, t_commit, t_fused) = match timed {
                    Ok(t) => t,
                    Err(e) => {
                        let line = format!("| 2^{log_n} | {w} | {} | error: {e} |", 1 << log_b);
                        println!("{line}");
                        writeln!(report, "{line}").unwrap();
                        continue;
                    }
                };

                let leaves = (rows / 2) as f64;
                let perms = leaves * leaf_perms(w) as f64 + leaves - 1.0;
                let (nw, mw) = ((n * w * 8) as f64, (rows * w * 8) as f64);
                let nodes_bytes = (rows * 32) as f64;
                let ntt_ms = ceil.ntt_ops_ms(lde_butterflies(log_n, w, log_b), (rows * w) as f64);
                let f_lde = ceil.floor_ms(nw + mw, 0.0).max(ntt_ms);
                let f_commit = ceil.floor_ms(mw + nodes_bytes, perms);
                let f_keccak_only = ceil.floor_ms(nw + mw + nodes_bytes, perms);
                let bytes_ms = (nw + mw + nodes_bytes) / ceil.copy_bps * 1e3;
                let ops_ms = perms / ceil.keccak_ps * 1e3 + ntt_ms;
                let f_fused = bytes_ms.max(ops_ms);
                let bound = if ops_ms >= bytes_ms { "ops" } else { "bytes" };
                let line = format!(
                    "| 2^{log_n} | {w} | {} | {t_lde:.2} | {:.2} | {t_commit:.2} | {:.2} | {t_fused:.2} | {:.2} | {f_fused:.2} ({bound}) | {:.2} | {:.2} |",
                    1 << log_b,
                    t_lde / f_lde,
                    t_commit / f_commit,
                    t_fused / f_fused,
                    t_fused / f_keccak_only,
                    perms / (t_fused * 1e-3) / 1e9,
                );
                println!("{line}");
                writeln!(report, "{line}").unwrap();
                gpu_fused.push(((log_n, w, log_b), t_fused));
            }
        }
    }

    // Old vs new in one run: the NTT plan as it was before this session (tiles of 2^12 words,
    // strided tiles capped at 2^4 groups), with 2^13-word tiles (same cap), and the default
    // (2^13-word tiles that strided passes fill), each timed twice, alternating.
    writeln!(
        report,
        "\nNTT plan variants, LDE ms (median of 5 after a warm-up; each variant timed twice, alternating): A = 2^12-word tiles, strided tiles of at most 2^4 groups (before this session); B = 2^13-word tiles, same cap; C = 2^13-word tiles that strided passes fill (default)\n\n| rows | cols | blowup | passes A / C | A | B | C | A again | B again | C again | C / A | C / B |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    .unwrap();
    let ab: &[(u32, usize, u32)] = if quick {
        &[(17, 256, 1), (22, 64, 1)]
    } else {
        &[
            (14, 256, 1),
            (16, 256, 1),
            (17, 256, 1),
            (17, 2633, 1),
            (18, 64, 1),
            (20, 8, 1),
            (20, 64, 1),
            (21, 64, 1),
            (22, 64, 1),
            (23, 64, 1),
            (24, 8, 1),
        ]
    };
    use rstark_backend_cuda::plan::{
        NTT_MAX_LOG_C, NTT_OLD_MAX_LOG_C, NTT_TILE_LOG, ntt_plan_with,
    };
    let variants = [
        (12, NTT_OLD_MAX_LOG_C),
        (NTT_TILE_LOG, NTT_OLD_MAX_LOG_C),
        (NTT_TILE_LOG, NTT_MAX_LOG_C),
    ];
    for &(log_n, w, log_b) in ab {
        let trace = ctx.random_matrix(1 << log_n, w, 99)?;
        let mut t = Vec::new();
        for _ in 0..2 {
            for (tile, cap) in variants {
                ctx.set_ntt_tile_log(tile);
                ctx.set_ntt_max_log_c(cap);
                t.push(median(
                    &ctx.time_ms(1, 5, || ctx.lde(&trace, log_b).map(drop))?,
                ));
            }
        }
        ctx.set_ntt_tile_log(NTT_TILE_LOG);
        ctx.set_ntt_max_log_c(NTT_MAX_LOG_C);
        let passes = |(tile, cap): (u32, u32)| ntt_plan_with(log_n, true, tile, cap).len();
        let line = format!(
            "| 2^{log_n} | {w} | {} | {} / {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} |",
            1 << log_b,
            passes(variants[0]),
            passes(variants[2]),
            t[0],
            t[1],
            t[2],
            t[3],
            t[4],
            t[5],
            (t[2] + t[5]) / (t[0] + t[3]),
            (t[2] + t[5]) / (t[1] + t[4]),
        );
        println!("{line}");
        writeln!(report, "{line}").unwrap();
        drop(trace);
        ctx.trim_pool()?;
    }

    writeln!(
        report,
        "\nLDE phases (CUDA events, one run after the timed ones):"
    )
    .unwrap();
    for l in &phase_lines {
        println!("{l}");
        writeln!(report, "- {l}").unwrap();
    }

    if cpu {
        writeln!(report, "\nCPU reference on the same machine ({threads} threads): lde + MerkleTree::commit of every shape the GPU ran that fits in host memory; one warm-up and the median of 3 below 2^27 LDE words, one run above; at most {CPU_BUDGET_S} s in all\n").unwrap();
        writeln!(report, "| rows | cols | blowup | CPU LDE ms | CPU commit ms | CPU LDE+commit ms | GPU LDE+commit ms | GPU speed-up |").unwrap();
        writeln!(report, "|---|---|---|---|---|---|---|---|").unwrap();
        let cases: Vec<(u32, usize, u32)> = gpu_fused.iter().map(|x| x.0).collect();
        let started = Instant::now();
        for (log_n, w, log_b) in cases {
            let g = gpu_fused
                .iter()
                .find(|(k, _)| *k == (log_n, w, log_b))
                .map(|x| x.1);
            let line = match cpu_lde_commit_ms(log_n, w, log_b, started) {
                Ok((l, c)) => format!(
                    "| 2^{log_n} | {w} | {} | {l:.1} | {c:.1} | {:.1} | {} | {} |",
                    1 << log_b,
                    l + c,
                    g.map_or("—".into(), |g| format!("{g:.2}")),
                    g.map_or("—".into(), |g| format!("{:.0}x", (l + c) / g)),
                ),
                Err(why) => format!("| 2^{log_n} | {w} | {} | {why} | | | | |", 1 << log_b),
            };
            println!("{line}");
            writeln!(report, "{line}").unwrap();
        }
    }

    println!("\n{report}");
    if let Some(f) = out_file {
        std::fs::write(&f, &report)
            .map_err(|e| rstark_backend_cuda::CudaError::Shape(format!("writing {f}: {e}")))?;
    }
    Ok(())
}

/// Wall-clock budget of the CPU reference table, seconds.
const CPU_BUDGET_S: u64 = 270;

/// The CPU backend's LDE and commit of one shape, in ms (median), or why it was skipped.
fn cpu_lde_commit_ms(
    log_n: u32,
    w: usize,
    log_b: u32,
    started: Instant,
) -> std::result::Result<(f64, f64), String> {
    let (n, rows) = (1usize << log_n, 1usize << (log_n + log_b));
    // trace + LDE + the tree's nodes, with room to spare
    let need = ((n * w + rows * w) * 8 + rows * 32) as f64 * 1.2;
    if need > host_available_bytes() {
        return Err(format!(
            "skipped: needs {:.0} GiB of host memory",
            need / (1u64 << 30) as f64
        ));
    }
    if started.elapsed().as_secs() > CPU_BUDGET_S {
        return Err("skipped: CPU time budget spent".into());
    }
    let trace = golden::matrix(log_n as usize, w, 5);
    let runs = if rows * w < 1 << 27 { 4 } else { 1 };
    let (mut t_l, mut t_c) = (Vec::new(), Vec::new());
    for rep in 0..runs {
        let t0 = Instant::now();
        let e = lde(&trace, log_b as usize).map_err(|e| format!("cpu lde: {e}"))?;
        let t1 = Instant::now();
        let tree = MerkleTree::commit(&e).map_err(|e| format!("cpu commit: {e}"))?;
        let t2 = Instant::now();
        std::hint::black_box(tree.root());
        if rep > 0 || runs == 1 {
            t_l.push((t1 - t0).as_secs_f64() * 1e3);
            t_c.push((t2 - t1).as_secs_f64() * 1e3);
        }
    }
    Ok((median(&t_l), median(&t_c)))
}

/// MemAvailable from /proc/meminfo, bytes (0 where it cannot be read: every shape is skipped).
fn host_available_bytes() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib * 1024.0)
}

/// LDE, commit, and LDE + commit of one shape, in ms.
fn time_config(
    ctx: &GpuContext,
    log_n: u32,
    w: usize,
    log_b: u32,
    phase_lines: &mut Vec<String>,
) -> Result<(f64, f64, f64)> {
    let (n, rows) = (1usize << log_n, 1usize << (log_n + log_b));
    let big = rows * w >= 1 << 31;
    let (warm, reps) = if big { (1, 3) } else { (2, 7) };
    let trace = ctx.random_matrix(n, w, (log_n as u64) << 32 | (w as u64) << 8 | log_b as u64)?;
    let t_lde = median(&ctx.time_ms(warm, reps, || ctx.lde(&trace, log_b).map(drop))?);
    let m = ctx.lde(&trace, log_b)?;
    let t_commit =
        median(&ctx.time_ms(warm, reps, || DeviceMerkleTree::commit(ctx, &m).map(drop))?);
    drop(m);
    let t_fused = median(&ctx.time_ms(warm, reps, || ctx.lde_commit(&trace, log_b).map(drop))?);
    if [(20, 8, 1), (22, 64, 1), (24, 8, 3), (22, 256, 1)].contains(&(log_n, w, log_b)) {
        let phases = ctx.lde_phases(&trace, log_b)?;
        let txt: Vec<String> = phases
            .iter()
            .map(|(p, ms)| format!("{p} {ms:.2}"))
            .collect();
        phase_lines.push(format!(
            "2^{log_n} x {w} blowup {}: {}",
            1 << log_b,
            txt.join(", ")
        ));
    }
    drop(trace);
    Ok((t_lde, t_commit, t_fused))
}
