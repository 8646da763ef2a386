//! Whole proofs at sizes users prove (seconds each on an H200, CPU reference included): the
//! CUDA proof equals the CPU proof byte for byte and verifies. vm at 2^20 steps once failed
//! with CUDA_ERROR_INVALID_VALUE in `cp_rows_to_cols` (a grid past 65535 along y). Run one
//! alone with e.g. `gpu_scale vm_2_20_matches_cpu`. Built only with `--features cuda`; without
//! a GPU every test FAILS (never skips).
#![cfg(feature = "cuda")]

use std::time::Instant;

use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::CudaBackend;
use rstark_protocol::presets;
use rstark_prover::prove;
use rstark_verifier::verify_bytes;

#[path = "support/statement.rs"]
mod support;

fn matches_cpu(workload: &str, size: usize) {
    let be = CudaBackend::new(0).unwrap_or_else(|e| panic!("GPU scale tests need a CUDA GPU: {e}"));
    let support::Statement { tables, verifier } = support::statement(workload, size).unwrap();
    let params = &presets::DEFAULT;
    let t = Instant::now();
    let cpu = prove(&CpuBackend, params, &tables).unwrap().to_bytes();
    let cpu_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let gpu = prove(&be, params, &tables)
        .unwrap_or_else(|e| panic!("{workload} {size}: CUDA prove failed: {e}"))
        .to_bytes();
    let gpu_s = t.elapsed().as_secs_f64();
    assert!(
        cpu == gpu,
        "{workload} {size}: CUDA proof differs from the CPU proof"
    );
    verify_bytes(params, &verifier, &gpu).unwrap();
    println!(
        "[scale] {workload} {size}: CUDA proof ({} B) identical to the CPU's and verifies \
         (cpu {cpu_s:.2} s, cuda {gpu_s:.2} s, peak device memory {:.2} GiB)",
        gpu.len(),
        be.mem_peak() as f64 / (1u64 << 30) as f64
    );
}

#[test]
fn vm_2_20_matches_cpu() {
    matches_cpu("vm", 1 << 20);
}

/// A narrow table (2 columns) at 2^22 rows.
#[test]
fn fib_2_22_matches_cpu() {
    matches_cpu("fib", 1 << 22);
}
