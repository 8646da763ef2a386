//! End-to-end: the `rstark` binary proves and verifies every workload, and rejects tampered files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rstark(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rstark"))
        .args(args)
        .output()
        .expect("the rstark binary runs")
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rstark-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn prove(workload: &str, size: &str, file: &Path) -> serde_json::Value {
    let out = rstark(&[
        "prove",
        "--workload",
        workload,
        "--size",
        size,
        "--preset",
        "fast-test",
        "--out",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

#[test]
fn every_workload_proves_and_verifies() {
    for (workload, size, tables) in [
        ("fib", "64", 1),
        ("keccak", "2", 1),
        ("vm", "64", 3),
        ("multi", "1", 19),
    ] {
        let file = temp_path(&format!("{workload}.bin"));
        let report = prove(workload, size, &file);
        assert_eq!(report["tables"].as_array().unwrap().len(), tables);
        assert!(report["proof_bytes"].as_u64().unwrap() > 0);
        assert!(!report["phases"].as_array().unwrap().is_empty());
        if cfg!(target_os = "linux") {
            // peak host memory of the proof (resident set): at least a megabyte
            let peak = &report["peak_host_bytes"];
            assert!(peak.as_u64().unwrap() > 1 << 20, "{peak}");
            let scope = report["peak_host_scope"].as_str().unwrap();
            assert!(["proof", "process"].contains(&scope), "{scope}");
        }

        let out = rstark(&["verify", file.to_str().unwrap(), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = json(&out);
        assert_eq!(report["valid"], true);
        assert_eq!(report["workload"], workload);

        // Human-readable output too, with a warning: fast-test is not secure.
        let out = rstark(&["verify", file.to_str().unwrap()]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("proof OK"));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a secure proof"));

        // A verifier that requires 100 bits refuses it.
        let out = rstark(&[
            "verify",
            file.to_str().unwrap(),
            "--min-security-bits",
            "100",
        ]);
        assert_eq!(out.status.code(), Some(1));
    }
}

/// Offset of the first public value of the first table in a proof file (see proof_file.rs).
fn first_public_value_offset(workload: &str) -> usize {
    let preset = "fast-test";
    8 + 2 + 1 + workload.len() + 8 + 1 + preset.len() + 8 + 4 + 4
}

#[test]
fn tampered_files_are_rejected() {
    let file = temp_path("fib-tamper.bin");
    prove("fib", "64", &file);
    let good = std::fs::read(&file).unwrap();

    // A wrong public value (the claimed last Fibonacci number).
    let mut bad = good.clone();
    let at = first_public_value_offset("fib") + 2 * 8;
    bad[at] ^= 1;
    let bad_file = temp_path("fib-bad-public.bin");
    std::fs::write(&bad_file, &bad).unwrap();
    let out = rstark(&["verify", bad_file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(json(&out)["error"].as_str().unwrap().contains("rejected"));

    // A flipped byte in the proof's middle.
    let mut bad = good.clone();
    let mid = good.len() - good.len() / 3;
    bad[mid] ^= 0x40;
    std::fs::write(&bad_file, &bad).unwrap();
    let out = rstark(&["verify", bad_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));

    // A statement of another size than the proof's.
    let mut bad = good.clone();
    let size_at = 8 + 2 + 1 + 3;
    bad[size_at..size_at + 8].copy_from_slice(&128u64.to_le_bytes());
    std::fs::write(&bad_file, &bad).unwrap();
    let out = rstark(&["verify", bad_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));

    // Another preset's name for the same parameters.
    let mut bad = good.clone();
    let preset_at = 8 + 2 + 1 + 3 + 8 + 1;
    bad[preset_at..preset_at + 4].copy_from_slice(b"slow");
    std::fs::write(&bad_file, &bad).unwrap();
    let out = rstark(&["verify", bad_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));

    // Truncated.
    std::fs::write(&bad_file, &good[..good.len() / 2]).unwrap();
    let out = rstark(&["verify", bad_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_input_is_a_clear_error() {
    let out = rstark(&[
        "prove",
        "--workload",
        "nope",
        "--size",
        "8",
        "--out",
        "/dev/null",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown workload"));

    let out = rstark(&[
        "prove",
        "-w",
        "fib",
        "-s",
        "8",
        "--preset",
        "nope",
        "--out",
        "/dev/null",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown preset"));

    let out = rstark(&["prove", "-w", "fib", "-s", "0", "--out", "/dev/null"]);
    assert_eq!(out.status.code(), Some(2));

    let out = rstark(&["verify", "/nonexistent/proof.bin"]);
    assert_eq!(out.status.code(), Some(2));

    // Several GPUs are a CUDA option; --devices and --gpus exclude each other.
    let out = rstark(&["prove", "-w", "fib", "-s", "8", "--gpus", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--backend cuda"));
    let out = rstark(&[
        "prove",
        "-w",
        "fib",
        "-s",
        "8",
        "--gpus",
        "2",
        "--devices",
        "0,1",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_reports_medians() {
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
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["runs"], 2);
    assert!(report["prove_seconds_median"].as_f64().unwrap() > 0.0);
    assert_eq!(
        report["peak_host_bytes_per_run"].as_array().unwrap().len(),
        2
    );
    if cfg!(target_os = "linux") {
        assert!(report["peak_host_bytes"].as_u64().unwrap() > 1 << 20);
    }
}

#[test]
fn flipped_bytes_anywhere_are_rejected_without_panics() {
    let file = temp_path("vm-flip.bin");
    prove("vm", "16", &file);
    let good = std::fs::read(&file).unwrap();
    let bad_file = temp_path("vm-flip-bad.bin");
    // 97 positions spread over the whole file (header, public values, every proof section).
    for k in 0..97 {
        let at = k * (good.len() - 1) / 96;
        let mut bad = good.clone();
        bad[at] ^= 1 << (k % 8);
        std::fs::write(&bad_file, &bad).unwrap();
        let out = rstark(&["verify", bad_file.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "byte {at}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
