//! Host time of compiling each workload table's constraint program, against a hit in
//! [`ProgramCache`] (key = symbolic evaluation + exact encoding; no lowering or register
//! allocation). Then the host time a proof spends on a table's constraints the way the prover
//! and the CUDA backend do it now: the table's shape (one symbolic evaluation, kept and handed to
//! the backend), the constraint-program lookup from it (key walk + hit: on a host thread while
//! the main trace is committed), and a lookup that evaluates the AIR again (what the composition
//! round did before, and still does without `constraints_known`). Medians of `--reps` (default
//! 9) per table. No GPU needed:
//!
//!     cargo run --release -p rstark-backend-cuda --example constraint_compile_time

use std::time::{Duration, Instant};

use rstark_backend_cuda::program_cache::{CompileInputs, ProgramCache};
use rstark_constraints::compile_table;
use rstark_protocol::derive_shape_and_constraints;

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
    println!();
    host_times(reps);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The shape and the program lookup, per table (see the header).
fn host_times(reps: usize) {
    println!(
        "| table | shape (evaluation + walk) | lookup from the shape's evaluation (on a thread) | lookup evaluating again |"
    );
    println!("|---|---|---|---|");
    for (name, size) in [("keccak", 100usize), ("vm", 4096), ("fib", 1024)] {
        let w = rstark_workloads::build(name, size).expect("workload");
        for t in &w.tables {
            let npv = t.public_values.len();
            let log_n = t.trace.height().trailing_zeros() as usize;
            let cache = ProgramCache::<()>::new();
            cache
                .get_or_build(&t.air, npv, |_| Ok::<_, ()>(()))
                .expect("compiles");
            let (mut shape, mut shared, mut again) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..reps {
                // a proof's worth of time between tables: the DAGs freed in the background are
                // gone before the next evaluation, as in a proof (they would compete for the
                // allocator here)
                std::thread::sleep(Duration::from_millis(50));
                let s = Instant::now();
                let (_, constraints) =
                    derive_shape_and_constraints(t.name, &t.air, npv, log_n, None).expect("shape");
                shape.push(s.elapsed());
                let s = Instant::now();
                let lookup = cache.lookup(CompileInputs::from_symbolic(&t.air, constraints));
                shared.push(s.elapsed());
                assert!(cache.finish(lookup, |_| Err(())).expect("hit").is_some());
                let s = Instant::now();
                cache.get_or_build(&t.air, npv, |_| Err(())).expect("hit");
                again.push(s.elapsed());
            }
            println!(
                "| {name}/{} | {:.2} ms | {:.2} ms | {:.2} ms |",
                t.name,
                ms(median(shape)),
                ms(median(shared)),
                ms(median(again))
            );
        }
    }
}
