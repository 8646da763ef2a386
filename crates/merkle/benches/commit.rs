//! Merkle commit throughput on the LDE of a 2^LOG_N × 64 trace at blowup 4 (issue 2's
//! benchmark). `RSTARK_BENCH_LOG_N` overrides LOG_N (default 20). Throughput counts the bytes
//! hashed into leaves (8 per element of the LDE); internal nodes add 64 bytes per leaf pair.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rstark_merkle::MerkleTree;
use rstark_poly::{golden, lde};

const WIDTH: usize = 64;
const LOG_BLOWUP: usize = 2;

fn log_n() -> usize {
    std::env::var("RSTARK_BENCH_LOG_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn bench_commit(c: &mut Criterion) {
    let log_n = log_n();
    let ext = lde(&golden::matrix(log_n, WIDTH, 1), LOG_BLOWUP).unwrap();
    let mut group = c.benchmark_group("merkle");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((ext.values.len() * 8) as u64));
    group.bench_function(format!("commit_lde_2^{log_n}x{WIDTH}_blowup4"), |b| {
        b.iter(|| MerkleTree::commit(&ext).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_commit);
criterion_main!(benches);
