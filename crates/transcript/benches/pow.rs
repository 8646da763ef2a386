//! Proof-of-work grinding at 16 bits (the default preset), on fresh states.

use criterion::{Criterion, criterion_group, criterion_main};
use rstark_transcript::Transcript;

fn bench_grind(c: &mut Criterion) {
    let mut group = c.benchmark_group("pow");
    group.sample_size(20);
    let mut i = 0u64;
    group.bench_function("grind_16", |b| {
        b.iter(|| {
            i += 1;
            let mut t = Transcript::new(b"bench");
            t.absorb_bytes(&i.to_le_bytes());
            t.grind(16)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_grind);
criterion_main!(benches);
