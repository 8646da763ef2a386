//! Faults in the middle of a proof (part 5 of issue 8): an allocation that fails as a real
//! shortage does, or a kernel launch that fails, injected at the n-th next allocation or launch
//! for n swept across the whole proof (`GpuContext::inject_alloc_fault`/`inject_launch_fault`).
//! Each time: the prover returns a typed error (no panic) naming the failure, no device memory
//! leaks (what is in use after the stream is drained equals the figure after a warm-up proof,
//! which filled the caches that legitimately persist: twiddle and coset tables, compiled
//! constraint programs), and the same backend then proves the statement again with the CPU
//! backend's bytes, and the proof verifies. Built only with `--features cuda`; without a GPU
//! every test FAILS (never skips).
#![cfg(feature = "cuda")]

use std::time::Instant;

use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::CudaBackend;
use rstark_protocol::{StarkParams, presets};
use rstark_prover::prove;
use rstark_verifier::verify_bytes;

#[path = "support/statement.rs"]
mod support;
use support::Statement;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Alloc,
    Launch,
}

fn statement(workload: &str, size: usize) -> Statement {
    support::statement(workload, size).unwrap()
}

/// n = 1, 2, 3, 5, 8, ... (about 1.5× apart) until a proof ends before the fault fires.
fn sweep(
    be: &CudaBackend,
    params: &StarkParams,
    s: &Statement,
    want: &[u8],
    fault: Fault,
    what: &str,
) -> usize {
    let ctx = be.context();
    ctx.synchronize().unwrap();
    let baseline = ctx.mem_in_use();
    let mut n = 1u64;
    let mut fired = 0;
    loop {
        match fault {
            Fault::Alloc => ctx.inject_alloc_fault(n),
            Fault::Launch => ctx.inject_launch_fault(n),
        }
        let result = prove(be, params, &s.tables);
        let pending = ctx.fault_pending();
        ctx.inject_alloc_fault(0);
        ctx.inject_launch_fault(0);
        if pending {
            // the proof needed fewer than n: it must have succeeded untouched
            let bytes = result
                .unwrap_or_else(|e| panic!("{what}: proof failed without a fault: {e}"))
                .to_bytes();
            assert!(bytes == want, "{what}: proof differs from the CPU's");
            break;
        }
        let err = match result {
            Ok(_) => panic!("{what} {fault:?} fault at {n}: the proof succeeded"),
            Err(e) => e.to_string(),
        };
        let expected = match fault {
            Fault::Alloc => "device memory short",
            Fault::Launch => "injected",
        };
        assert!(
            err.contains(expected),
            "{what} {fault:?} fault at {n}: unexpected error: {err}"
        );
        ctx.synchronize().unwrap();
        assert_eq!(
            ctx.mem_in_use(),
            baseline,
            "{what} {fault:?} fault at {n}: device memory leaked ({err})"
        );
        // the same backend proves the statement again, correctly
        let bytes = prove(be, params, &s.tables)
            .unwrap_or_else(|e| panic!("{what}: proof after a {fault:?} fault at {n} failed: {e}"))
            .to_bytes();
        assert!(
            bytes == want,
            "{what}: proof after a fault differs from the CPU's"
        );
        verify_bytes(params, &s.verifier, &bytes).unwrap();
        ctx.synchronize().unwrap();
        assert_eq!(
            ctx.mem_in_use(),
            baseline,
            "{what}: memory after the clean proof"
        );
        fired += 1;
        n = (n * 3).div_ceil(2).max(n + 1);
    }
    fired
}

fn faults_in(workload: &str, size: usize) {
    let be = CudaBackend::new(0).unwrap_or_else(|e| panic!("GPU fault tests need a CUDA GPU: {e}"));
    be.context().set_poison(true);
    let params = &presets::FAST_TEST;
    let s = statement(workload, size);
    let want = prove(&CpuBackend, params, &s.tables).unwrap().to_bytes();
    // warm-up: caches that persist across proofs are filled here
    let first = prove(&be, params, &s.tables).unwrap().to_bytes();
    assert!(
        first == want,
        "{workload} {size}: CUDA proof differs from the CPU's"
    );
    let t = Instant::now();
    let what = format!("{workload} {size}");
    let allocs = sweep(&be, params, &s, &want, Fault::Alloc, &what);
    let launches = sweep(&be, params, &s, &want, Fault::Launch, &what);
    assert!(
        allocs >= 5 && launches >= 5,
        "{what}: too few fault points ({allocs}, {launches})"
    );
    println!(
        "[faults] {what}: {allocs} allocation and {launches} launch faults across the proof: \
         typed errors, no leak (in use {} B after each), the next proof identical to the CPU's \
         ({:.2} s)",
        be.mem_in_use(),
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn fib_faults() {
    faults_in("fib", 1 << 10);
}

#[test]
fn vm_faults() {
    faults_in("vm", 1 << 9);
}

#[test]
fn keccak_faults() {
    faults_in("keccak", 4);
}

/// An allocation past the budget is refused before the driver with a typed error naming the
/// bytes, nothing leaks, and the budget set back lets the next proof through.
#[test]
fn budget_refusal_is_typed_and_recoverable() {
    let be = CudaBackend::new(0).unwrap_or_else(|e| panic!("GPU fault tests need a CUDA GPU: {e}"));
    let params = &presets::FAST_TEST;
    let s = statement("fib", 1 << 12);
    let want = prove(&CpuBackend, params, &s.tables).unwrap().to_bytes();
    assert!(prove(&be, params, &s.tables).unwrap().to_bytes() == want);
    be.context().synchronize().unwrap();
    let (baseline, budget) = (be.mem_in_use(), be.vram_budget());
    be.set_vram_budget(baseline + 4096).unwrap();
    let err = prove(&be, params, &s.tables).unwrap_err().to_string();
    assert!(err.contains("budget"), "unexpected error: {err}");
    be.context().synchronize().unwrap();
    assert_eq!(be.mem_in_use(), baseline, "leak after a refused allocation");
    let b = be.set_vram_budget(budget).unwrap();
    assert_eq!(b.bytes, budget);
    be.reset_mem_peak();
    assert!(prove(&be, params, &s.tables).unwrap().to_bytes() == want);
    assert!(be.mem_peak() > baseline && be.mem_peak() <= budget);
    // a budget above the device's memory is clamped, and says so
    let total = be.context().mem_info().unwrap().1 as u64;
    let b = be.set_vram_budget(2 * total).unwrap();
    assert!(b.clamped() && b.bytes <= total, "{b:?}");
    be.context().synchronize().unwrap();
    assert!(be.pool_reserved().unwrap() <= b.bytes);
    println!("[faults] budget: refusal typed ({err}); clamped {b}");
}
