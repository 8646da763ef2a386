//! Timing of the wide LDE, by default at keccak's width (2633 columns): `lde_with_blocks_owned`
//! (the prover's: the tiled LDE) of a 2^LOG_N-row trace of WIDTH columns at blowup 2^LOG_B, with
//! an idle consumer, or with `P3` as a fifth argument p3's parallel DIT (`lde_owned`, the
//! oracle). Prints the best and the median of RUNS; compare the two alternately.
//! `cargo run --release -p rstark-poly --example lde_bench LOG_N LOG_B RUNS WIDTH [P3]`
//! (defaults 14 1 5 2633).

use std::time::Instant;

use rayon::prelude::*;
use rstark_field::{F, P};
use rstark_poly::{RowMajor, golden, lde_owned, lde_with_blocks_owned};

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (log_n, log_b, runs, width) = (arg(1, 14), arg(2, 1), arg(3, 5).max(1), arg(4, 2633));
    let p3 = std::env::args()
        .nth(5)
        .is_some_and(|a| a.eq_ignore_ascii_case("p3"));
    let (mut times, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = trace(log_n, width);
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        let out = if p3 {
            lde_owned(t, log_b)
        } else {
            lde_with_blocks_owned(t, log_b, &|_, _| {})
        }
        .expect("lde");
        times.push(start.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - cpu_start);
        std::hint::black_box(&out);
    }
    times.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    println!(
        "log_n {log_n} width {width} log_b {log_b} {}: wall best {:.1} ms, median {:.1} ms; \
         CPU (user + sys) best {:.1} ms, median {:.1} ms",
        if p3 { "p3" } else { "tiled" },
        times[0] * 1e3,
        times[times.len() / 2] * 1e3,
        cpu[0] * 1e3,
        cpu[cpu.len() / 2] * 1e3
    );
}

/// A 2^log_n × width trace: SplitMix64 draws seeded by the row (so the trace of a large
/// height is made on all threads and not kept between runs).
fn trace(log_n: usize, width: usize) -> RowMajor {
    let mut values = vec![F::new(0); width << log_n];
    values
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(r, row)| {
            let mut state = r as u64;
            for v in row {
                *v = F::new(golden::splitmix64(&mut state) % P);
            }
        });
    RowMajor { values, width }
}

/// User + system CPU time of the process so far (the machine is shared: CPU time moves less
/// than wall time with the other load).
fn cpu_seconds() -> f64 {
    let t = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (in parentheses): utime and stime are the 12th and 13th.
    let rest = t.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}
