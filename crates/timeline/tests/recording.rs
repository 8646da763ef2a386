//! Recordings in one process: host spans on every thread, device operations, several
//! recordings one after the other, and nothing at all while none runs.

use std::sync::Mutex;

use rayon::prelude::*;
use rstark_timeline::{
    DeviceClock, DeviceOp, DeviceSink, HOST_PID, OpKind, Recording, Summary, Tags, Timeline, cat,
    recording, spans,
};

/// Recordings are process-wide: the tests take turns.
static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

struct FakeDevice {
    ops: Vec<DeviceOp>,
}

impl DeviceSink for FakeDevice {
    fn flush(self: Box<Self>) -> Result<Vec<DeviceOp>, String> {
        Ok(self.ops)
    }
}

fn work(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// A small "proof": a run with two phases, tables inside them, worker spans, and one kernel.
fn prove_something() -> (Tags, std::time::Duration) {
    let _run = spans::run("test run");
    let p = spans::phase("first phase");
    let tags = {
        let _t = spans::table("fib", 64);
        let _op = spans::op("commit trace");
        (0..8u64).into_par_iter().for_each(|i| {
            let _s = tracing::info_span!("worker chunk", i).entered();
            work(2);
        });
        Tags::current()
    };
    let d = p.end();
    let p = spans::phase("second phase");
    work(3);
    p.end();
    (tags, d)
}

#[test]
fn a_recording_has_every_thread_and_phase_and_nests() {
    let _turn = turn();
    let rec = Recording::start().unwrap();
    assert!(recording());
    assert!(matches!(
        Recording::start(),
        Err(rstark_timeline::RecordError::AlreadyRecording)
    ));
    let clock = DeviceClock::current().expect("recording");
    let (tags, first_phase) = prove_something();
    assert_eq!(tags.phase.as_deref(), Some("first phase"));
    assert_eq!(tags.table.as_deref(), Some("fib"));
    assert_eq!(tags.rows, Some(64));
    assert_eq!(tags.op.as_deref(), Some("commit trace"));
    let op = |name: &str, kind, stream, start_ns, dur_ns| DeviceOp {
        kind,
        name: name.into(),
        stream,
        start_ns,
        dur_ns,
        bytes: 1 << 20,
        threads: 256,
        tags: tags.clone(),
    };
    assert!(clock.attach(
        "GPU 0: fake".into(),
        Box::new(FakeDevice {
            ops: vec![
                op("ntt", OpKind::Kernel, "compute", 1000, 500),
                op("trace", OpKind::HostToDevice, "copy", 900, 1000),
                op("root", OpKind::DeviceToHost, "compute", 2000, 100),
            ],
        })
    ));
    let t = rec.finish();
    assert!(!recording());

    // What is written reads back, and nests.
    let t = Timeline::from_json(&t.to_json()).unwrap();
    t.check().unwrap();
    let host_tids: std::collections::BTreeSet<u32> = t
        .spans()
        .filter(|e| e.pid == HOST_PID)
        .map(|e| e.tid)
        .collect();
    assert!(host_tids.len() >= 2, "worker threads have their own tracks");
    let names = t.track_names();
    assert!(names.values().any(|n| n.starts_with("rayon worker")));
    assert!(names.values().any(|n| n == "stream: compute"));
    assert_eq!(t.spans().filter(|e| e.name == "worker chunk").count(), 8);
    let phase = t
        .spans()
        .find(|e| e.name == "first phase")
        .expect("phase recorded");
    assert_eq!(phase.cat, cat::PHASE);
    // The span lies inside the phase's own measurement.
    assert!(phase.dur.unwrap() <= first_phase.as_nanos() as u64);
    let kernel = t.spans().find(|e| e.cat == cat::KERNEL).unwrap();
    assert_eq!(kernel.arg_str("table"), Some("fib"));
    assert_eq!(kernel.arg_u64("rows"), Some(64));
    let h2d = t.spans().find(|e| e.cat == cat::H2D).unwrap();
    assert_eq!(h2d.name, "H2D trace");
    assert_eq!(h2d.arg_u64("bytes"), Some(1 << 20));

    let s = Summary::of(&t);
    assert_eq!(s.phases.run, "test run");
    let rows: Vec<&str> = s.phases.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rows, ["first phase", "second phase"]);
    let sum: f64 = s.phases.rows.iter().map(|r| r.seconds).sum::<f64>() + s.phases.other_seconds;
    assert!((sum - s.phases.total_seconds).abs() < 1e-9);
    assert_eq!(s.kernels[0].name, "ntt");
    assert_eq!(s.copies.len(), 2);
}

#[test]
fn recordings_follow_each_other_in_one_process() {
    let _turn = turn();
    for round in 0..3 {
        let rec = Recording::start().unwrap();
        prove_something();
        let t = rec.finish();
        t.check().unwrap();
        // Each recording has its own run and chunks, from every thread, none of the last one's.
        assert_eq!(
            t.spans().filter(|e| e.cat == cat::RUN).count(),
            1,
            "round {round}"
        );
        assert_eq!(t.spans().filter(|e| e.name == "worker chunk").count(), 8);
        assert!(t.spans().all(|e| e.ts < 10_000_000_000));
    }
}

#[test]
fn nothing_is_recorded_while_off() {
    let _turn = turn();
    assert!(!recording());
    assert!(DeviceClock::current().is_none());
    let _run = spans::run("not recorded");
    assert_eq!(Tags::current(), Tags::default());
    drop(_run);
    // A span made while off stays off when a recording starts later.
    let before = tracing::info_span!("made before");
    let rec = Recording::start().unwrap();
    before.in_scope(|| work(1));
    let t = rec.finish();
    assert!(t.spans().all(|e| e.name != "made before"));
    // A recording dropped unfinished leaves none running.
    let rec = Recording::start().unwrap();
    drop(rec);
    assert!(!recording());
    Recording::start().unwrap().finish();
}
