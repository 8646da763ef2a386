//! Soak run (issue 8, part 3): 50 statements of varying workloads and sizes (fib, vm, keccak;
//! tiny to a few seconds each) proved in one process by one `CudaBackend`. Every proof is
//! verified; small ones are compared byte for byte with the CPU backend's. After each proof a
//! line gives the prove time, the peak device memory during it, what is in use after it and what
//! the memory pool retains after it; at the end a summary. Exits non-zero if any proof fails or
//! the pool retains more than the budget after any statement.
//!
//!     cargo run --release --features cuda --example gpu_soak -- [--vram-budget BYTES] [--out FILE]
//!
//! BYTES may end in GiB or MiB. FILE gets the per-statement table in markdown.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::CudaBackend;
use rstark_protocol::presets;
use rstark_prover::prove;
use rstark_verifier::verify_bytes;

#[path = "../tests/support/statement.rs"]
mod support;

/// (workload, size, compared with the CPU backend)
const SHAPES: [(&str, usize, bool); 15] = [
    ("fib", 1 << 10, true),
    ("vm", 1 << 9, true),
    ("keccak", 4, true),
    ("fib", 1 << 14, true),
    ("vm", 1 << 12, true),
    ("keccak", 40, true),
    ("fib", 1 << 18, false),
    ("vm", 1 << 15, true),
    ("keccak", 400, false),
    ("fib", 1 << 20, false),
    ("vm", 1 << 18, false),
    ("keccak", 2000, false),
    ("fib", 1 << 22, false),
    ("vm", 1 << 20, false),
    ("keccak", 5461, false),
];
const STATEMENTS: usize = 50;

fn gib(b: u64) -> String {
    format!("{:.2}", b as f64 / (1u64 << 30) as f64)
}

fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "mib" => (1u64 << 20) as f64,
        "gib" => (1u64 << 30) as f64,
        _ => return None,
    };
    num.trim().parse::<f64>().ok().map(|v| (v * scale) as u64)
}

struct Row {
    workload: &'static str,
    size: usize,
    prove_ms: f64,
    peak: u64,
    in_use: u64,
    retained: u64,
    check: &'static str,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut budget = None;
    let mut out = None;
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--vram-budget", Some(v)) => match parse_bytes(v) {
                Some(b) => budget = Some(b),
                None => {
                    eprintln!("gpu_soak: bad --vram-budget {v:?} (bytes, or with GiB / MiB)");
                    return ExitCode::from(2);
                }
            },
            ("--out", Some(v)) => out = Some(v.clone()),
            (a, _) => {
                eprintln!("gpu_soak: unknown argument {a:?} (--vram-budget BYTES, --out FILE)");
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    let be = match CudaBackend::new(0) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("gpu_soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(b) = budget {
        match be.set_vram_budget(b) {
            Ok(v) if v.clamped() => eprintln!("gpu_soak: warning: budget clamped to {v}"),
            Ok(_) => {}
            Err(e) => {
                eprintln!("gpu_soak: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let budget = be.vram_budget();
    println!(
        "gpu_soak: {STATEMENTS} statements on {}, budget {} GiB ({budget} B)",
        be.context().device_name(),
        gib(budget)
    );
    let params = &presets::DEFAULT;
    let mut cpu_bytes: HashMap<(&str, usize), Vec<u8>> = HashMap::new();
    let mut rows = Vec::new();
    let mut failures = 0;
    let mut over_budget = 0;
    let start = Instant::now();
    for k in 0..STATEMENTS {
        // every shape in turn, with a stride that mixes small and large neighbours
        let (workload, size, compare) = SHAPES[(k * 7) % SHAPES.len()];
        let support::Statement {
            tables,
            verifier: statement,
        } = match support::statement(workload, size) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("gpu_soak: {workload} {size}: {e}");
                failures += 1;
                continue;
            }
        };
        be.reset_mem_peak();
        let t = Instant::now();
        let proof = prove(&be, params, &tables);
        let prove_ms = t.elapsed().as_secs_f64() * 1e3;
        let synced = be.context().synchronize();
        let check = match (proof, synced) {
            (Err(e), _) => {
                eprintln!("gpu_soak: {workload} {size}: prove failed: {e}");
                "FAILED"
            }
            (_, Err(e)) => {
                eprintln!("gpu_soak: {workload} {size}: {e}");
                "FAILED"
            }
            (Ok(p), Ok(())) => {
                let bytes = p.to_bytes();
                if let Err(e) = verify_bytes(params, &statement, &bytes) {
                    eprintln!("gpu_soak: {workload} {size}: proof does not verify: {e}");
                    "FAILED"
                } else if compare {
                    let cpu = cpu_bytes.entry((workload, size)).or_insert_with(|| {
                        prove(&CpuBackend, params, &tables)
                            .map(|p| p.to_bytes())
                            .unwrap_or_default()
                    });
                    if *cpu == bytes {
                        "verified, = CPU"
                    } else {
                        eprintln!("gpu_soak: {workload} {size}: proof differs from the CPU's");
                        "FAILED"
                    }
                } else {
                    "verified"
                }
            }
        };
        if check == "FAILED" {
            failures += 1;
        }
        let retained = be.pool_reserved().unwrap_or(u64::MAX);
        if retained > budget {
            over_budget += 1;
        }
        let row = Row {
            workload,
            size,
            prove_ms,
            peak: be.mem_peak(),
            in_use: be.mem_in_use(),
            retained,
            check,
        };
        println!(
            "{:>2} {:<6} {:>8} prove {:>9.1} ms  peak {:>7} GiB  in use after {:>7} GiB  \
             retained after {:>7} GiB  {}",
            k + 1,
            row.workload,
            row.size,
            row.prove_ms,
            gib(row.peak),
            gib(row.in_use),
            gib(row.retained),
            row.check
        );
        rows.push(row);
    }
    let max_peak = rows.iter().map(|r| r.peak).max().unwrap_or(0);
    let last_retained = rows.last().map_or(0, |r| r.retained);
    let summary = format!(
        "{} statements in {:.1} s: {failures} failed; peak device memory {} GiB; retained after \
         the last {} GiB ({last_retained} B), budget {} GiB ({budget} B); retained over budget \
         after {over_budget} statement(s)",
        rows.len(),
        start.elapsed().as_secs_f64(),
        gib(max_peak),
        gib(last_retained),
        gib(budget)
    );
    println!("gpu_soak: {summary}");
    if let Some(path) = out {
        let mut md = String::from(
            "| # | workload | size | prove ms | peak GiB | in use after GiB | retained after GiB | check |\n|---|---|---|---|---|---|---|---|\n",
        );
        for (k, r) in rows.iter().enumerate() {
            md += &format!(
                "| {} | {} | {} | {:.1} | {} | {} | {} | {} |\n",
                k + 1,
                r.workload,
                r.size,
                r.prove_ms,
                gib(r.peak),
                gib(r.in_use),
                gib(r.retained),
                r.check
            );
        }
        md += &format!("\n{} on {}.\n", summary, be.context().device_name());
        if let Err(e) = std::fs::write(&path, md) {
            eprintln!("gpu_soak: writing {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if failures > 0 || over_budget > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
