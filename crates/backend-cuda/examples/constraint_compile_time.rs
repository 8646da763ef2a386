//! Host time of compiling each workload table's constraint program, against a hit in
//! [`ProgramCache`] (key = symbolic evaluation + exact encoding; no lowering or register
//! allocation). Medians of `--reps` (default 9) per table. No GPU needed:
//!
//!     cargo run --release -p rstark-backend-cuda --example constraint_compile_time

use std::time::{Duration, Instant};

use rstark_backend_cuda::program_cache::ProgramCache;
use rstark_constraints::compile_table;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps: usize = args
        .iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
    println!("| table | instructions | compile (every proof before) | cache hit | ratio |");
    println!("|---|---|---|---|---|");
    for (name, size) in [("keccak", 100usize), ("vm", 4096), ("fib", 1024)] {
        let w = rstark_workloads::build(name, size).expect("workload");
        for t in &w.tables {
            let npv = t.public_values.len();
            let mut compile = Vec::new();
            let mut instructions = 0;
            for _ in 0..reps {
                let s = Instant::now();
                let p = compile_table(&t.air, npv).expect("compiles");
                compile.push(s.elapsed());
                instructions = p.num_instructions();
            }
            let cache = ProgramCache::new();
            cache
                .get_or_build(&t.air, npv, Ok::<_, ()>)
                .expect("builds");
            let mut hit = Vec::new();
            for _ in 0..reps {
                let s = Instant::now();
                let p = cache.get_or_build(&t.air, npv, |_| Err(())).expect("hit");
                hit.push(s.elapsed());
                assert!(p.is_some());
            }
            let (c, h) = (median(compile), median(hit));
            println!(
                "| {name}/{} | {instructions} | {:.3} ms | {:.3} ms | {:.1}x |",
                t.name,
                c.as_secs_f64() * 1e3,
                h.as_secs_f64() * 1e3,
                c.as_secs_f64() / h.as_secs_f64()
            );
        }
    }
}
