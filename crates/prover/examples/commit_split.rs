//! LDE vs Merkle time for a random trace: `commit_split <log_rows> <width>`.
use std::time::Instant;

use rstark_field::F;
use rstark_poly::{RowMajor, lde};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let log_n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(12);
    let width: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2633);
    let values: Vec<F> = (0..(width << log_n) as u64)
        .map(|i| F::new(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 1))
        .collect();
    let trace = RowMajor::new(values, width).unwrap();
    let t = Instant::now();
    let l = lde(&trace, 1).unwrap();
    println!("lde: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let tree = rstark_merkle::MerkleTree::commit(&l).unwrap();
    println!(
        "merkle: {:.1} ms ({:?})",
        t.elapsed().as_secs_f64() * 1e3,
        &tree.root()[..4]
    );
    let t = Instant::now();
    let _c = trace.clone();
    println!("clone: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
}
