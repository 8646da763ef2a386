//! `prove_owned`: the same proof bytes as `prove_with_options`, and each host trace freed as
//! soon as nothing reads it (measured with a counting global allocator: live bytes when a phase
//! ends, borrowed against owned). The tests of this binary run one at a time (the counter is
//! process-wide).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};

mod common;

use common::range_inputs;
use rstark_air::examples::{FibonacciAir, fibonacci_trace};
use rstark_backend_cpu::CpuBackend;
use rstark_field::{F, PrimeCharacteristicRing};
use rstark_poly::RowMajor;
use rstark_protocol::{StarkParams, presets};
use rstark_prover::{ProveOptions, ProverError, TableInput, prove_owned, prove_with_options};

/// Live heap bytes of the process.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const PARAMS: StarkParams = presets::FAST_TEST;

fn fib(n: usize) -> Vec<TableInput> {
    let (values, publics) = fibonacci_trace(n, 1, 1);
    vec![TableInput::new(
        "fib",
        Arc::new(FibonacciAir),
        RowMajor::new(values, 2).unwrap(),
        publics,
    )]
}

/// Live heap bytes at the end of each phase of one proof of `tables` (borrowed or owned), less
/// those live just before the call (the tables included).
fn phase_growth(tables: Vec<TableInput>, owned: bool) -> Vec<(&'static str, isize)> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let options = ProveOptions {
        check_witness: true,
        on_phase: Some(Arc::new(move |phase, _| {
            let live = LIVE.load(Ordering::Relaxed);
            l.lock().unwrap().push((phase, live));
        })),
        ..Default::default()
    };
    let before = LIVE.load(Ordering::Relaxed);
    if owned {
        prove_owned(&CpuBackend, &PARAMS, tables, &options).unwrap();
    } else {
        prove_with_options(&CpuBackend, &PARAMS, &tables, &options).unwrap();
        drop(tables);
    }
    let log = log.lock().unwrap();
    log.iter().map(|&(p, live)| (p, live - before)).collect()
}

/// How many bytes fewer are live at the end of `phase` when the prover owns the tables.
fn saved_at(make: impl Fn() -> Vec<TableInput>, phase: &str) -> isize {
    // a first proof initializes whatever is lazily made once
    phase_growth(make(), false);
    let at = |log: Vec<(&str, isize)>| {
        log.iter()
            .find(|(p, _)| *p == phase)
            .unwrap_or_else(|| panic!("no phase {phase}"))
            .1
    };
    at(phase_growth(make(), false)) - at(phase_growth(make(), true))
}

#[test]
fn owned_tables_prove_the_same_bytes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for check in [false, true] {
        let options = ProveOptions {
            check_witness: check,
            ..Default::default()
        };
        for tables in [fib(64), fib(1024), range_inputs(64, 256)] {
            let (borrowed, _) =
                prove_with_options(&CpuBackend, &PARAMS, &tables, &options).unwrap();
            let (owned, _) = prove_owned(&CpuBackend, &PARAMS, tables, &options).unwrap();
            assert_eq!(owned.to_bytes(), borrowed.to_bytes(), "check {check}");
        }
    }
}

#[test]
fn owned_tables_report_the_same_errors() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let options = ProveOptions {
        check_witness: true,
        ..Default::default()
    };
    let mut bad = fib(64);
    if let rstark_protocol::TraceSource::Host(m) = &mut bad[0].trace {
        m.values[2 * 9] += F::ONE;
    }
    let borrowed = prove_with_options(&CpuBackend, &PARAMS, &bad, &options).unwrap_err();
    let owned = prove_owned(&CpuBackend, &PARAMS, bad, &options).unwrap_err();
    assert!(matches!(
        owned,
        ProverError::ConstraintFailed { row: 8, .. }
    ));
    assert_eq!(owned.to_string(), borrowed.to_string());
}

#[test]
fn a_trace_without_logup_is_freed_after_its_commitment() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let n = 1 << 16;
    let trace_bytes = (2 * n * std::mem::size_of::<F>()) as isize;
    let saved = saved_at(|| fib(n), "commit main traces");
    assert!(
        saved >= trace_bytes * 9 / 10,
        "{saved} B fewer live after the commitment, the trace has {trace_bytes} B"
    );
}

#[test]
fn a_trace_read_by_logup_is_freed_after_its_aux_trace() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // the user table: 2^16 rows of 2 columns (the CPU backend builds LogUp on the host)
    let user_bytes = (2 * (1 << 16) * std::mem::size_of::<F>()) as isize;
    let make = || range_inputs(256, 1 << 16);
    // still held after the commitments (LogUp reads them) ...
    let kept = saved_at(make, "commit main traces");
    assert!(kept.abs() < user_bytes / 10, "{kept} B");
    // ... and freed once the aux traces are built
    let saved = saved_at(make, "LogUp aux traces");
    assert!(
        saved >= user_bytes * 9 / 10,
        "{saved} B fewer live after LogUp, the user trace has {user_bytes} B"
    );
}
