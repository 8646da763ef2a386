//! LDE throughput: a 2^LOG_N × 64 trace at blowup 4 (issue 2's benchmark).
//! `RSTARK_BENCH_LOG_N` overrides LOG_N (default 20). Throughput counts *output* elements
//! (N·B·W); divide by B for input elements.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rstark_poly::{golden, lde};

const WIDTH: usize = 64;
const LOG_BLOWUP: usize = 2;

fn log_n() -> usize {
    std::env::var("RSTARK_BENCH_LOG_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn bench_lde(c: &mut Criterion) {
    let log_n = log_n();
    let trace = golden::matrix(log_n, WIDTH, 1);
    let mut group = c.benchmark_group("lde");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        ((WIDTH << log_n) << LOG_BLOWUP) as u64,
    ));
    group.bench_function(format!("2^{log_n}x{WIDTH}_blowup4"), |b| {
        b.iter(|| lde(&trace, LOG_BLOWUP).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_lde);
criterion_main!(benches);
