//! Per-core timing of the two opening kernels at keccak's width (2633 columns):
//! the out-of-domain sums at two points over 2^LOG_N rows (`eval_lde_columns_at_points`) and
//! DEEP-style row dot products (`dot_ext_base`) over 2^LOG_N rows.
//! `RAYON_NUM_THREADS=1 cargo run --release -p rstark-poly --example open_bench [LOG_N]`.

use std::time::Instant;

use rstark_field::{EF, PrimeField64, ef_from_base};
use rstark_poly::{dot_ext_base, eval_lde_columns_at_points, ext_to_u64s, golden};

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
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let out = eval_lde_columns_at_points(&lde, 1, [z, zw]).unwrap();
        std::hint::black_box(out);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let vals = (WIDTH << log_n) as f64;
    println!(
        "ood  2^{log_n}x{WIDTH} K=2: {:.1} ms  {:.2} ns/value",
        best * 1e3,
        best * 1e9 / vals
    );

    let pows: Vec<[u64; 3]> = golden::elements(3 * WIDTH, 3)
        .chunks_exact(3)
        .map(|c| ext_to_u64s(ef_from_base([c[0], c[1], c[2]])))
        .collect();
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let mut s = EF::default();
        for row in lde.values[..WIDTH << log_n].chunks_exact(WIDTH) {
            s += dot_ext_base(&pows, row);
        }
        std::hint::black_box(s);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "deep 2^{log_n}x{WIDTH}: {:.1} ms  {:.2} ns/value",
        best * 1e3,
        best * 1e9 / vals
    );
    let raw: Vec<u64> = lde.values[..WIDTH << log_n]
        .iter()
        .map(|v| v.as_canonical_u64())
        .collect();
    type Dot = fn(&[[u64; 3]], &[u64]) -> [u128; 3];
    for (name, f) in [("raw", dot_raw as Dot), ("raw2", dot_raw2 as Dot)] {
        let mut best = f64::MAX;
        for _ in 0..runs {
            let t = Instant::now();
            let mut s = 0u128;
            for row in raw.chunks_exact(WIDTH) {
                s = s.wrapping_add(f(&pows, row)[0]);
            }
            std::hint::black_box(s);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "deep {name}: {:.1} ms  {:.2} ns/value",
            best * 1e3,
            best * 1e9 / vals
        );
    }
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let mut s = 0u128;
        for rows in raw.chunks_exact(2 * WIDTH) {
            let (a, b) = rows.split_at(WIDTH);
            let r = dot_two_rows(&pows, a, b);
            s = s.wrapping_add(r[0][0]).wrapping_add(r[1][0]);
        }
        std::hint::black_box(s);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "deep 2rows: {:.1} ms  {:.2} ns/value",
        best * 1e3,
        best * 1e9 / vals
    );
}

#[derive(Clone, Copy, Default)]
struct W {
    low: u128,
    carries: u64,
}
impl W {
    #[inline(always)]
    fn add(&mut self, a: u64, b: u64) {
        let (low, c) = self.low.overflowing_add(a as u128 * b as u128);
        self.low = low;
        self.carries += c as u64;
    }
}

#[inline(never)]
fn dot_raw(c: &[[u64; 3]], v: &[u64]) -> [u128; 3] {
    let mut acc = [W::default(); 3];
    for (c, &v) in c.iter().zip(v) {
        acc[0].add(c[0], v);
        acc[1].add(c[1], v);
        acc[2].add(c[2], v);
    }
    acc.map(|a| a.low ^ a.carries as u128)
}

#[inline(never)]
fn dot_raw2(c: &[[u64; 3]], v: &[u64]) -> [u128; 3] {
    let mut acc = [W::default(); 3];
    for (c, v) in c.chunks_exact(2).zip(v.chunks_exact(2)) {
        acc[0].add(c[0][0], v[0]);
        acc[1].add(c[0][1], v[0]);
        acc[2].add(c[0][2], v[0]);
        acc[0].add(c[1][0], v[1]);
        acc[1].add(c[1][1], v[1]);
        acc[2].add(c[1][2], v[1]);
    }
    acc.map(|a| a.low ^ a.carries as u128)
}

#[inline(never)]
fn dot_two_rows(c: &[[u64; 3]], a: &[u64], b: &[u64]) -> [[u128; 3]; 2] {
    let mut x = [W::default(); 3];
    let mut y = [W::default(); 3];
    for ((c, &a), &b) in c.iter().zip(a).zip(b) {
        x[0].add(c[0], a);
        x[1].add(c[1], a);
        x[2].add(c[2], a);
        y[0].add(c[0], b);
        y[1].add(c[1], b);
        y[2].add(c[2], b);
    }
    [
        x.map(|a| a.low ^ a.carries as u128),
        y.map(|a| a.low ^ a.carries as u128),
    ]
}
