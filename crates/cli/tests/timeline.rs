//! `--timeline`: the file is trace-event JSON that `rstark timeline summarize` reads back, and the
//! phase table `prove` prints is the one the file gives, adding up to the command's time.

use std::path::PathBuf;
use std::process::{Command, Output};

fn rstark(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rstark"))
        .args(args)
        .output()
        .expect("the rstark binary runs");
    assert!(
        out.status.success(),
        "rstark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rstark-timeline-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// (name, seconds) rows of a phase list.
fn rows(v: &serde_json::Value) -> Vec<(String, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["seconds"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn prove_timeline_matches_its_table() {
    let (proof, file) = (temp_path("vm.bin"), temp_path("vm.json"));
    let out = rstark(&[
        "prove",
        "-w",
        "vm",
        "-s",
        "256",
        "--preset",
        "fast-test",
        "--out",
        proof.to_str().unwrap(),
        "--timeline",
        file.to_str().unwrap(),
        "--json",
    ]);
    let report = json(&out);
    assert_eq!(report["timeline"], file.to_str().unwrap());

    // The file: a trace-event JSON object with host tracks named.
    let text = std::fs::read_to_string(&file).unwrap();
    let trace: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    assert!(events.iter().all(|e| e["ph"] == "X" || e["ph"] == "M"));
    assert!(
        events
            .iter()
            .any(|e| e["name"] == "thread_name" && e["args"]["name"] == "main")
    );

    // The printed table is the file's: same rows, same times; it ends with the time outside
    // phases, and adds up to the command's total.
    let printed = rows(&report["phases"]);
    let names: Vec<&str> = printed.iter().map(|(n, _)| n.as_str()).collect();
    for phase in [
        "workload build",
        "start backend",
        "prepare tables",
        "witness check",
        "commit main traces",
        "LogUp aux traces",
        "composition",
        "out-of-domain evaluations",
        "DEEP quotients",
        "FRI folding",
        "proof of work",
        "query openings",
        "write proof file",
        "other (outside phases)",
    ] {
        assert!(names.contains(&phase), "{phase} missing from {names:?}");
    }
    assert_eq!(names.last(), Some(&"other (outside phases)"));
    let total = report["total_seconds"].as_f64().unwrap();
    let sum: f64 = printed.iter().map(|(_, s)| s).sum();
    assert!((sum - total).abs() < 1e-6, "{sum} vs {total}");

    let out = rstark(&["timeline", "summarize", file.to_str().unwrap(), "--json"]);
    let summary = json(&out);
    let mut from_file = rows(&summary["phases"]["rows"]);
    from_file.push((
        "other (outside phases)".into(),
        summary["phases"]["other_seconds"].as_f64().unwrap(),
    ));
    assert_eq!(printed, from_file);
    assert_eq!(summary["phases"]["total_seconds"].as_f64().unwrap(), total);
    assert!(
        summary["threads"].as_array().unwrap().len() >= 2,
        "worker threads have tracks"
    );

    // The text form, and the table without a timeline adds up too.
    let out = rstark(&["timeline", "summarize", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("other (outside phases)"));
    let out = rstark(&[
        "prove",
        "-w",
        "fib",
        "-s",
        "64",
        "--preset",
        "fast-test",
        "--out",
        proof.to_str().unwrap(),
        "--json",
    ]);
    let report = json(&out);
    assert!(report.get("timeline").is_none());
    let sum: f64 = rows(&report["phases"]).iter().map(|(_, s)| s).sum();
    assert!((sum - report["total_seconds"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn bench_records_its_last_run() {
    let file = temp_path("bench.json");
    let out = rstark(&[
        "bench",
        "-w",
        "fib",
        "-s",
        "256",
        "--preset",
        "fast-test",
        "--runs",
        "2",
        "--timeline",
        file.to_str().unwrap(),
        "--json",
    ]);
    let report = json(&out);
    let sum: f64 = rows(&report["phases"]).iter().map(|(_, s)| s).sum();
    assert!((sum - report["prove_seconds_median"].as_f64().unwrap()).abs() < 1e-9);
    let summary = json(&rstark(&[
        "timeline",
        "summarize",
        file.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(summary["phases"]["run"], "rstark bench fib 256: run 2 of 2");
    let names: Vec<String> = rows(&summary["phases"]["rows"])
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("workload build"));
    assert_eq!(names.last().map(String::as_str), Some("verify"));
}

#[test]
fn overhead_runs_off_and_on() {
    let out = rstark(&[
        "timeline",
        "overhead",
        "-w",
        "fib",
        "-s",
        "64",
        "--preset",
        "fast-test",
        "--rounds",
        "1",
        "--json",
    ]);
    let report = json(&out);
    let modes = report["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 3);
    assert_eq!(modes[2]["mode"], "on");
    assert_eq!(modes[2]["runs"], 2);
    assert_eq!(report["block_overheads"].as_array().unwrap().len(), 1);
    let on = report["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["mode"] == "on")
        .unwrap();
    assert!(on["events"].as_u64().unwrap() > 10);
}

#[test]
fn a_file_that_is_not_a_timeline_is_an_error() {
    let file = temp_path("not-a-timeline.json");
    std::fs::write(&file, "{\"traceEvents\": [{\"ph\": \"B\"}]}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rstark"))
        .args(["timeline", "summarize", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("timeline"));
}
