//! One statement on 1, 2, … devices (`MultiCudaBackend`): per configuration the median prove
//! time of `--runs` proofs (after a warm-up proof, whose measured costs place the timed ones),
//! the speedup against the first configuration, the placement, the bytes copied between
//! devices (checked equal to the placement's prediction), and a timeline of the last run: each
//! device's busy and idle time within the proof and its longest idle gaps, the lanes' threads,
//! the peer copies — what says why it does or does not scale. Every proof is verified and all
//! configurations' proofs are checked byte-identical.
//!
//!     multi_bench [--workload multi] [--size 2730] [--preset default] [--runs 3]
//!                 [--configs 0/0,0/0,0,0] [--timelines DIR] [--out FILE.md]
//!
//! A configuration is a comma-separated list of GPU ordinals; a repeated ordinal opens another
//! context on that GPU (on one GPU, `0/0,0/0,0,0` runs the code paths of 1, 2 and 3 devices
//! but cannot be faster). On a 4-GPU host: `--configs 0/0,1/0,1,2,3`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rstark_backend_multi::{MultiBackend, MultiCudaBackend, open_devices};
use rstark_protocol::{StarkParams, presets};
use rstark_prover::{ProveOptions, TableInput, prove_with_options};
use rstark_timeline::{HOST_PID, Recording, Summary, Timeline};
use rstark_verifier::{VerifierTable, verify_bytes};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn preset(name: &str) -> StarkParams {
    match name {
        "fast-test" => presets::FAST_TEST,
        "compact" => presets::COMPACT,
        "balanced" => presets::BALANCED,
        _ => presets::DEFAULT,
    }
}

fn tables(name: &str, size: usize) -> Vec<TableInput> {
    rstark_workloads::build_generated(name, size)
        .unwrap_or_else(|e| panic!("{e}"))
        .tables
        .into_iter()
        .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
        .collect()
}

fn prove(m: &MultiCudaBackend, params: &StarkParams, t: &[TableInput]) -> (Vec<u8>, f64) {
    let options = ProveOptions {
        check_witness: false,
        ..Default::default()
    };
    let start = Instant::now();
    let (proof, _) = prove_with_options(m, params, t, &options)
        .unwrap_or_else(|e| panic!("{} prove failed: {e}", m.labels().join(" + ")));
    (proof.to_bytes(), start.elapsed().as_secs_f64())
}

/// Each device's busy/idle time inside the proof, its longest gaps, and the lanes' threads.
fn timeline_text(t: &Timeline) -> String {
    let s = Summary::of(t);
    let mut out = String::new();
    let _ = writeln!(out, "{}", s.text(6));
    let names = t.track_names();
    let lanes = names
        .iter()
        .filter(|((pid, _), n)| *pid == HOST_PID && n.starts_with("prover lane"))
        .count();
    let _ = writeln!(
        out,
        "per device (busy = kernels and copies on its stream; idle inside its own window):"
    );
    for r in &s.streams {
        let gaps: Vec<String> = r
            .longest_gaps
            .iter()
            .take(3)
            .map(|g| {
                format!(
                    "{:.1} ms at {:.1} ms ({})",
                    g.seconds * 1e3,
                    g.at_ms,
                    g.phase.as_deref().unwrap_or("-")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  {}: busy {:.1} ms of a {:.1} ms window ({:.0}%), longest gaps: {}",
            r.track,
            r.busy_seconds * 1e3,
            r.window_seconds * 1e3,
            100.0 * r.busy_seconds / r.window_seconds.max(1e-12),
            gaps.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "  lane thread tracks (one per lane and round): {lanes}"
    );
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
    };
    let workload = get("--workload").map_or("multi", String::as_str);
    let size: usize = get("--size").and_then(|s| s.parse().ok()).unwrap_or(2730);
    let params = preset(get("--preset").map_or("default", String::as_str));
    let runs: usize = get("--runs")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let configs: Vec<Vec<usize>> = get("--configs")
        .map_or("0/0,0/0,0,0", String::as_str)
        .split('/')
        .map(|c| c.split(',').filter_map(|d| d.trim().parse().ok()).collect())
        .filter(|c: &Vec<usize>| !c.is_empty())
        .collect();
    let timelines = get("--timelines").map(PathBuf::from);
    let out = get("--out").map(PathBuf::from);

    let t = tables(workload, size);
    let statement: Vec<VerifierTable> = t
        .iter()
        .map(|t| VerifierTable::new(&t.name, t.air.clone(), t.public_values.clone()))
        .collect();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# {workload} {size} on several devices ({} tables, {} runs per configuration)\n",
        t.len(),
        runs
    );
    let mut first: Option<(Vec<u8>, f64)> = None;
    let mut rows = Vec::new();
    for devices in &configs {
        let gpus = open_devices(devices).unwrap_or_else(|e| panic!("needs CUDA GPUs: {e}"));
        let m = MultiBackend::new(gpus).unwrap();
        // warm-up: caches, compiled programs, and the measured costs the timed runs place by
        let (bytes, warm) = prove(&m, &params, &t);
        verify_bytes(&params, &statement, &bytes)
            .unwrap_or_else(|e| panic!("{devices:?}: the proof does not verify: {e}"));
        let mut secs = Vec::new();
        for run in 0..runs {
            m.reset_moves();
            let rec = (run + 1 == runs).then(|| Recording::start().expect("no other recording"));
            let (b, s) = prove(&m, &params, &t);
            assert!(
                b == bytes,
                "{devices:?}: proofs of one configuration differ"
            );
            secs.push(s);
            if let Some(rec) = rec {
                let tl = rec.finish();
                let _ = writeln!(
                    report,
                    "## devices {devices:?}\n\nplacement (last run):\n{}\n",
                    m.placement().map(|p| p.to_string()).unwrap_or_default()
                );
                let moves = m.moves();
                let predicted = m.placement().map_or(0, |p| p.moved_bytes);
                assert_eq!(moves.bytes, predicted, "{devices:?}: bytes moved");
                let _ = writeln!(
                    report,
                    "moved between devices: {} B in {} copies, {:.2} ms (predicted {predicted} B)\n",
                    moves.bytes,
                    moves.copies,
                    moves.seconds * 1e3
                );
                let _ = writeln!(
                    report,
                    "timeline of the last run:\n```\n{}```\n",
                    timeline_text(&tl)
                );
                if let Some(dir) = &timelines {
                    let _ = std::fs::create_dir_all(dir);
                    let name = devices
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join("-");
                    let file = dir.join(format!("{workload}-{size}-devices-{name}.json"));
                    std::fs::write(&file, tl.to_json())
                        .unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
                    let _ = writeln!(report, "timeline file: {}\n", file.display());
                }
            }
        }
        let med = median(&mut secs);
        match &first {
            None => first = Some((bytes, med)),
            Some((b0, _)) => assert!(
                *b0 == bytes,
                "{devices:?}: proof differs from {:?}",
                configs[0]
            ),
        }
        let base = first.as_ref().map_or(med, |f| f.1);
        rows.push(format!(
            "| {devices:?} | {warm:.3} | {med:.3} | {:.2} | {:.0}% |",
            base / med,
            100.0 * m.placement().map_or(1.0, |p| p.makespan_fraction())
        ));
    }
    let _ = writeln!(
        report,
        "| devices | warm-up s | prove s (median) | speedup | slowest device's share of the cost |\n|---|---|---|---|---|"
    );
    for r in &rows {
        let _ = writeln!(report, "{r}");
    }
    let _ = writeln!(
        report,
        "\nall configurations' proofs identical and verified"
    );
    print!("{report}");
    if let Some(out) = out {
        std::fs::write(&out, &report).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    }
}
