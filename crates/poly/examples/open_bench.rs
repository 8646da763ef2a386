//! Per-core timing of the two opening kernels at keccak's width (2633 columns): the
//! out-of-domain sums at two points over 2^LOG_N rows (`eval_lde_columns_at_points`) and DEEP
//! row sums over 2^LOG_N rows, on the integer units (`dot_ext_base`) and as the backend runs
//! them (`ExtCoeffs::dot`, the vector lanes on AVX2 builds). Best of five; the development VM
//! is shared, so compare binaries alternately and take minima.
//! `RAYON_NUM_THREADS=1 cargo run --release -p rstark-poly --example open_bench [LOG_N]`.

use std::time::Instant;

use rstark_field::{EF, ef_from_base};
use rstark_poly::{ExtCoeffs, dot_ext_base, eval_lde_columns_at_points, ext_to_u64s, golden};

const WIDTH: usize = 2633;

fn main() {
    let log_n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(13);
    let runs = 5;
    // Only the first 2^log_n rows are read at blowup 2; the rest need not be an LDE.
    let lde = golden::matrix(log_n + 1, WIDTH, 1);
    let e = golden::elements(6, 2);
    let z = ef_from_base([e[0], e[1], e[2]]);
    let zw = ef_from_base([e[3], e[4], e[5]]);
    let report = |what: &str, mut f: Box<dyn FnMut() + '_>| {
        let mut best = f64::MAX;
        for _ in 0..runs {
            let t = Instant::now();
            f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        let vals = (WIDTH << log_n) as f64;
        println!(
            "{what} 2^{log_n}x{WIDTH}: {:.1} ms  {:.2} ns/value",
            best * 1e3,
            best * 1e9 / vals
        );
    };
    report(
        "ood K=2",
        Box::new(|| {
            std::hint::black_box(eval_lde_columns_at_points(&lde, 1, [z, zw]).unwrap());
        }),
    );
    let rows = || lde.values[..WIDTH << log_n].chunks_exact(WIDTH);
    let pows: Vec<[u64; 3]> = golden::elements(3 * WIDTH, 3)
        .chunks_exact(3)
        .map(|c| ext_to_u64s(ef_from_base([c[0], c[1], c[2]])))
        .collect();
    report(
        "deep dot_ext_base",
        Box::new(|| {
            let s: EF = rows().map(|row| dot_ext_base(&pows, row)).sum();
            let _ = std::hint::black_box(s);
        }),
    );
    let coeffs: Vec<EF> = golden::elements(3 * WIDTH, 3)
        .chunks_exact(3)
        .map(|c| ef_from_base([c[0], c[1], c[2]]))
        .collect();
    let prepared = ExtCoeffs::new(&coeffs);
    let mut scratch = Vec::new();
    report(
        "deep ExtCoeffs",
        Box::new(|| {
            let s: EF = rows().map(|row| prepared.dot(row, &mut scratch)).sum();
            let _ = std::hint::black_box(s);
        }),
    );
}
