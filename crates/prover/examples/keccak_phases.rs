//! Prints the prover's per-phase timings on p3-keccak-air permutations.
//! `cargo run --release -p rstark-prover --example keccak_phases -- <num_perms> [preset]`

use std::sync::Arc;
use std::time::Instant;

use p3_air::{Air, AirBuilder, BaseAir};
use p3_keccak_air::{KeccakAir, generate_trace_rows};
use rstark_backend_cpu::CpuBackend;
use rstark_field::F;
use rstark_poly::RowMajor;
use rstark_protocol::presets;
use rstark_prover::{ProveOptions, TableInput, prove_with_options};
use rstark_verifier::{VerifierTable, verify};

struct Keccak;

impl BaseAir<F> for Keccak {
    fn width(&self) -> usize {
        BaseAir::<F>::width(&KeccakAir {})
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for Keccak {
    fn eval(&self, builder: &mut AB) {
        KeccakAir {}.eval(builder);
    }
}

impl rstark_air::Interactions for Keccak {}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let perms: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(85);
    let preset = args.get(2).map(String::as_str).unwrap_or("default");
    let params = presets::by_name(preset).expect("unknown preset");
    let inputs: Vec<[u64; 25]> = (0..perms as u64)
        .map(|i| core::array::from_fn(|j| i.wrapping_mul(0x9e37_79b9) ^ j as u64))
        .collect();
    let trace = generate_trace_rows::<F>(inputs, 0);
    let width = trace.width;
    let tables = vec![TableInput::new(
        "keccak",
        Arc::new(Keccak),
        RowMajor::new(trace.values, width).unwrap(),
        vec![],
    )];
    println!(
        "{perms} permutations, {} rows x {width} columns, preset {preset}, {} threads",
        tables[0].trace.height(),
        rayon_threads()
    );
    let opts = ProveOptions {
        check_witness: false,
        ..Default::default()
    };
    let (proof, report) = prove_with_options(&CpuBackend, &params, &tables, &opts).unwrap();
    for (phase, d) in &report.phases {
        println!("{phase:>28}: {:>9.1} ms", d.as_secs_f64() * 1e3);
    }
    println!(
        "{:>28}: {:>9.1} ms",
        "total",
        report.total.as_secs_f64() * 1e3
    );
    let digest = rstark_merkle::keccak256(&proof.to_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    // The hash lets runs of two builds be compared byte for byte.
    println!("proof: {} bytes, keccak {hex}…", report.proof_bytes);
    let stmt = vec![VerifierTable::new("keccak", Arc::new(Keccak), vec![])];
    let t = Instant::now();
    verify(&params, &stmt, &proof).unwrap();
    println!("verify: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
}

fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
