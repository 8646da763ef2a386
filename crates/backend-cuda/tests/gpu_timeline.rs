//! Timelines of CUDA proofs: kernels and copies timed with CUDA events on their stream's track,
//! tagged with their phase and table, nesting with the host spans, their bytes equal to the
//! context's transfer counts; and while no recording runs, not one event recorded.
//! Built only with `--features cuda`; without a GPU every test FAILS (never skips).
#![cfg(feature = "cuda")]

use std::sync::{Arc, Mutex};

use rstark_backend_cuda::CudaBackend;
use rstark_protocol::{StarkParams, presets};
use rstark_prover::{ProveOptions, ProveReport, TableInput, prove_with_options};
use rstark_timeline::{HOST_PID, Recording, Summary, Timeline, cat, spans};
use rstark_verifier::{VerifierTable, verify_bytes};

/// Recordings are process-wide: the tests take turns.
static TURN: Mutex<()> = Mutex::new(());

fn gpu() -> CudaBackend {
    CudaBackend::new(0).unwrap_or_else(|e| panic!("GPU timeline tests need a CUDA GPU: {e}"))
}

fn log(msg: String) {
    println!("[gpu-timeline] {msg}");
}

fn tables(name: &str, size: usize, generated: bool) -> Vec<TableInput> {
    let w = if generated {
        rstark_workloads::build_generated(name, size)
    } else {
        rstark_workloads::build(name, size)
    };
    w.unwrap()
        .tables
        .into_iter()
        .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
        .collect()
}

fn prove_verified(
    be: &CudaBackend,
    params: &StarkParams,
    name: &str,
    size: usize,
    t: &[TableInput],
) -> ProveReport {
    let options = ProveOptions {
        check_witness: false,
        ..Default::default()
    };
    let (proof, report) = prove_with_options(be, params, t, &options)
        .unwrap_or_else(|e| panic!("{name} {size}: CUDA prove failed: {e}"));
    let statement: Vec<VerifierTable> = t
        .iter()
        .map(|t| VerifierTable::new(&t.name, t.air.clone(), t.public_values.clone()))
        .collect();
    verify_bytes(params, &statement, &proof.to_bytes())
        .unwrap_or_else(|e| panic!("{name} {size}: the CUDA proof does not verify: {e}"));
    report
}

/// One recorded proof: the timeline, checked like the CPU's, with kernels and copies present.
fn recorded(
    be: &CudaBackend,
    params: &StarkParams,
    name: &str,
    size: usize,
    t: &[TableInput],
) -> Timeline {
    // A first proof fills the context's caches, so the recorded one is a steady one.
    prove_verified(be, params, name, size, t);
    let before = be.context().transfers();
    let rec = Recording::start().unwrap();
    let run = spans::run(&format!("{name} {size}"));
    let report = prove_verified(be, params, name, size, t);
    drop(run);
    let timeline = rec.finish();
    let after = be.context().transfers();
    assert!(
        timeline.info.warnings.is_empty(),
        "{:?}",
        timeline.info.warnings
    );

    let t = Timeline::from_json(&timeline.to_json()).unwrap();
    t.check().unwrap();
    let s = Summary::of(&t);
    log(format!("{name} {size}:\n{}", s.text(8)));

    // Every phase of the report, in order; the table adds up.
    let reported: Vec<&str> = report.phases.iter().map(|(n, _)| *n).collect();
    let rows: Vec<&str> = s.phases.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rows, reported);
    let sum: f64 = s.phases.rows.iter().map(|r| r.seconds).sum::<f64>() + s.phases.other_seconds;
    assert!((sum - s.phases.total_seconds).abs() < 1e-9);

    // Kernels and copies on the device's tracks, tagged with their table and phase.
    let device: Vec<_> = t.spans().filter(|e| e.pid != HOST_PID).collect();
    let kernels: Vec<_> = device.iter().filter(|e| e.cat == cat::KERNEL).collect();
    assert!(!kernels.is_empty(), "{name}: no kernel events");
    for k in ["merkle_layers", "pv_fold", "pv_deep_finish"] {
        assert!(kernels.iter().any(|e| e.name == k), "{name}: no {k}");
    }
    assert!(
        kernels
            .iter()
            .all(|e| e.arg_u64("threads").is_some_and(|n| n > 0))
    );
    assert!(
        kernels
            .iter()
            .filter(|e| e.arg_str("phase") == Some("composition"))
            .all(|e| e.arg_str("table").is_some() && e.arg_u64("rows").is_some())
    );
    assert!(
        kernels
            .iter()
            .any(|e| e.arg_str("phase") == Some("composition"))
    );
    let names = t.track_names();
    assert!(names.values().any(|n| n == "stream: compute"));
    assert!(names.values().any(|n| n.starts_with("GPU 0: ")));
    // Every byte the context counted is on the timeline, as copies.
    let bytes = |c: &str| -> u64 {
        device
            .iter()
            .filter(|e| e.cat == c)
            .filter_map(|e| e.arg_u64("bytes"))
            .sum()
    };
    assert_eq!(
        bytes(cat::H2D),
        after.h2d_bytes - before.h2d_bytes,
        "{name}: H2D"
    );
    assert_eq!(
        bytes(cat::D2H),
        after.d2h_bytes - before.d2h_bytes,
        "{name}: D2H"
    );
    assert!(bytes(cat::D2H) > 0);
    // The device's work lies inside the recorded proof.
    let run = t.spans().find(|e| e.cat == cat::RUN).unwrap();
    assert!(
        device
            .iter()
            .all(|e| e.ts >= run.ts && e.end() <= run.end() + 5_000_000)
    );
    t
}

#[test]
fn cuda_proof_timelines() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let be = gpu();
    // Keccak with its trace generated on the device: the inputs go up, the trace kernel runs.
    let t = recorded(
        &be,
        &presets::FAST_TEST,
        "keccak",
        171,
        &tables("keccak", 171, true),
    );
    // (nothing reads this trace row-major: it is generated in the LDE's input layout)
    assert!(t.spans().any(|e| e.name == "keccak_trace_colmajor_bitrev"));
    assert!(t.spans().any(|e| e.name == "H2D Keccak-f inputs"));
    // A LogUp workload (host traces uploaded), in a second recording of the same context.
    recorded(
        &be,
        &presets::FAST_TEST,
        "vm",
        256,
        &tables("vm", 256, false),
    );
    // A large host trace, uploaded through pinned staging.
    recorded(
        &be,
        &presets::FAST_TEST,
        "keccak",
        171,
        &tables("keccak", 171, false),
    );
}

#[test]
fn no_event_is_recorded_while_off() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let be = gpu();
    let t = tables("keccak", 40, true);
    prove_verified(&be, &presets::DEFAULT, "keccak", 40, &t);
    assert_eq!(be.context().timeline_event_pairs(), 0);
    let rec = Recording::start().unwrap();
    prove_verified(&be, &presets::DEFAULT, "keccak", 40, &t);
    rec.finish();
    let on = be.context().timeline_event_pairs();
    assert!(on > 0);
    prove_verified(&be, &presets::DEFAULT, "keccak", 40, &t);
    assert_eq!(be.context().timeline_event_pairs(), on);
}
