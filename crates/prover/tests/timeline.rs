//! The timeline of a CPU proof (no GPU): valid trace-event JSON, every phase of the report in
//! it, spans that nest on every thread, worker threads on their own tracks, and a phase table
//! whose parts add up.

mod common;

use common::{range_inputs, statement};
use rstark_backend_cpu::CpuBackend;
use rstark_protocol::presets;
use rstark_prover::{ProveOptions, prove_with_options};
use rstark_timeline::{HOST_PID, Recording, Summary, Timeline, cat, spans};
use rstark_verifier::verify;

#[test]
fn cpu_proof_timeline() {
    let params = presets::FAST_TEST;
    let tables = range_inputs(256, 1024);
    let options = ProveOptions {
        check_witness: true,
        ..Default::default()
    };
    let rec = Recording::start().unwrap();
    let run = spans::run("prove range tables");
    let (proof, report) = prove_with_options(&CpuBackend, &params, &tables, &options).unwrap();
    drop(run);
    let timeline = rec.finish();
    verify(&params, &statement(&tables), &proof).unwrap();

    // Valid JSON in the trace-event format, read back the same, nesting on every track.
    let json = timeline.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        value["traceEvents"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let t = Timeline::from_json(&json).unwrap();
    assert_eq!(t, timeline);
    t.check().unwrap();

    // Every phase of the report, in order, on the proving thread.
    let run = t.spans().find(|e| e.cat == cat::RUN).unwrap();
    let phases: Vec<_> = t
        .spans()
        .filter(|e| e.cat == cat::PHASE && e.tid == run.tid)
        .collect();
    let names: Vec<&str> = phases.iter().map(|e| e.name.as_str()).collect();
    let reported: Vec<&str> = report.phases.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, reported);
    assert!(reported.contains(&"witness check") && reported.contains(&"LogUp aux traces"));
    // A phase's span lies inside the phase's own measurement, which is at most slightly longer.
    for (e, (_, d)) in phases.iter().zip(&report.phases) {
        let d = d.as_nanos() as u64;
        let span = e.dur.unwrap();
        assert!(
            span <= d && d - span < 1_000_000,
            "{}: {span} vs {d}",
            e.name
        );
    }

    // Tables inside the rounds, and the backend's operations inside them.
    for table in ["range", "user"] {
        let n = t
            .spans()
            .filter(|e| e.cat == cat::TABLE && e.name == table)
            .count();
        assert!(n >= 6, "table {table}: {n} spans");
    }
    assert!(
        t.spans()
            .any(|e| e.cat == cat::OP && e.name == "composition")
    );
    assert!(t.spans().any(|e| e.name == "fri fold"));
    // Leaf hashing and composition chunks run on rayon's workers, on their own named tracks
    // (a single chunk runs on the caller), and are never added to a phase.
    let workers: std::collections::BTreeSet<u32> = t
        .spans()
        .filter(|e| e.name == "quotient rows" || e.name == "hash leaves")
        .map(|e| e.tid)
        .filter(|tid| *tid != run.tid)
        .collect();
    assert!(!workers.is_empty());
    let names = t.track_names();
    assert!(
        workers
            .iter()
            .all(|w| names[&(HOST_PID, *w)].starts_with("rayon worker"))
    );

    // The phase table: the report's phases, and with "outside phases" they add up to the run.
    let s = Summary::of(&t);
    let rows: Vec<&str> = s.phases.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rows, reported);
    let sum: f64 = s.phases.rows.iter().map(|r| r.seconds).sum::<f64>() + s.phases.other_seconds;
    assert!((sum - s.phases.total_seconds).abs() < 1e-9);
    assert!(s.phases.total_seconds >= report.total.as_secs_f64() * 0.99);
    // The report adds up too.
    let reported_sum: std::time::Duration = report
        .phases
        .iter()
        .map(|(_, d)| *d)
        .sum::<std::time::Duration>()
        + report.other();
    assert_eq!(reported_sum, report.total);
}
