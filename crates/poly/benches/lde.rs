//! LDE throughput: a 2^LOG_N × 64 trace at blowup 4 (issue 2's benchmark).
//! `RSTARK_BENCH_LOG_N` overrides LOG_N (default 20). Throughput counts *output* elements
//! (N·B·W); divide by B for input elements.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rstark_field::unflatten_ext;
use rstark_poly::{eval_columns_at, golden, lde};

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

/// Out-of-domain evaluation of a 2^(LOG_N−4) × 256 trace (elements/s over the trace).
fn bench_eval(c: &mut Criterion) {
    let log_n = log_n().saturating_sub(4);
    let trace = golden::matrix(log_n, 256, 2);
    let z = unflatten_ext(&golden::elements(3, 3)).unwrap()[0];
    let mut group = c.benchmark_group("eval_columns_at");
    group.sample_size(10);
    group.throughput(Throughput::Elements(trace.values.len() as u64));
    group.bench_function(format!("2^{log_n}x256"), |b| {
        b.iter(|| eval_columns_at(&trace, z))
    });
    group.finish();
}

criterion_group!(benches, bench_lde, bench_eval);
criterion_main!(benches);
