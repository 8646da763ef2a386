//! Several CUDA contexts on one GPU standing in for several GPUs (`MultiCudaBackend`): proofs
//! byte-identical to the CPU's and to one GPU backend's, placement within each context's VRAM
//! budget, exactly the predicted DEEP codeword bytes copied between contexts (real cross-context
//! peer copies: every context after the first is a context of its own), and the timeline's
//! device tracks, lanes and peer copies. Built only with `--features cuda`; without a GPU every
//! test FAILS (never skips). On a several-GPU host, `RSTARK_MULTI_DEVICES=0,1` puts the
//! contexts on those GPUs instead.
#![cfg(feature = "cuda")]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::CudaBackend;
use rstark_backend_multi::{CostSource, MultiBackend, MultiCudaBackend, Placement, open_devices};
use rstark_protocol::{Backend, presets};
use rstark_prover::{ProveOptions, TableInput, prove_with_options};
use rstark_timeline::{HOST_PID, Recording, Summary, Timeline, cat};
use rstark_verifier::{VerifierTable, verify_bytes};

/// Contexts share one GPU and recordings are process-wide: the tests take turns.
static TURN: Mutex<()> = Mutex::new(());

fn log(msg: String) {
    println!("[gpu-multi] {msg}");
}

/// `n` devices: `RSTARK_MULTI_DEVICES` (e.g. "0,1,2") cycled, else n contexts on GPU 0.
fn ordinals(n: usize) -> Vec<usize> {
    let listed: Vec<usize> = std::env::var("RSTARK_MULTI_DEVICES")
        .ok()
        .map(|s| s.split(',').filter_map(|d| d.trim().parse().ok()).collect())
        .unwrap_or_default();
    if listed.is_empty() {
        vec![0; n]
    } else {
        (0..n).map(|i| listed[i % listed.len()]).collect()
    }
}

fn multi(n: usize) -> MultiCudaBackend {
    let gpus = open_devices(&ordinals(n))
        .unwrap_or_else(|e| panic!("GPU multi-device tests need a CUDA GPU: {e}"));
    for g in &gpus {
        g.context().set_poison(true);
    }
    let m = MultiBackend::new(gpus).unwrap();
    // placements from the shapes alone: the same in every run
    m.set_cost_source(CostSource::Modelled);
    m
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

fn prove<B: Backend>(be: &B, what: &str, t: &[TableInput]) -> Vec<u8> {
    let options = ProveOptions {
        check_witness: false,
        ..Default::default()
    };
    prove_with_options(be, &presets::FAST_TEST, t, &options)
        .unwrap_or_else(|e| panic!("{what}: {} prove failed: {e}", be.name()))
        .0
        .to_bytes()
}

fn verify(what: &str, t: &[TableInput], bytes: &[u8]) {
    let statement: Vec<VerifierTable> = t
        .iter()
        .map(|t| VerifierTable::new(&t.name, t.air.clone(), t.public_values.clone()))
        .collect();
    verify_bytes(&presets::FAST_TEST, &statement, bytes)
        .unwrap_or_else(|e| panic!("{what}: the proof does not verify: {e}"));
}

/// Σ 24 B per LDE row of every table not on the FRI member: the design's moved bytes.
fn designed_moves(p: &Placement, t: &[TableInput]) -> u64 {
    let log_blowup = presets::FAST_TEST.log_blowup as usize;
    let heights: Vec<usize> = t.iter().map(|t| t.trace.height()).collect();
    let tallest = heights.iter().copied().max().unwrap();
    let first = heights.iter().position(|&h| h == tallest).unwrap();
    assert_eq!(
        p.fri_member, p.owner[first],
        "FRI runs where the first tallest table is"
    );
    heights
        .iter()
        .zip(&p.owner)
        .filter(|(_, o)| **o != p.fri_member)
        .map(|(h, _)| 24u64 * ((*h as u64) << log_blowup))
        .sum()
}

/// A proof with `m`: equal to `want`, verified, exactly the designed bytes moved, and (with
/// `all_used`) a table on every context.
fn check(m: &MultiCudaBackend, what: &str, t: &[TableInput], want: &[u8], all_used: bool) {
    m.reset_moves();
    let start = Instant::now();
    let got = prove(m, what, t);
    let secs = start.elapsed().as_secs_f64();
    let p = m.placement().unwrap();
    let moves = m.moves();
    log(format!(
        "{what} on {} contexts: {secs:.3} s, identical={}, moved {} B in {} copies \
         (predicted {} B)\n{p}",
        m.members().len(),
        got == want,
        moves.bytes,
        moves.copies,
        p.moved_bytes
    ));
    assert!(got == want, "{what}: proof bytes differ from the CPU's");
    verify(what, t, &got);
    assert_eq!(moves.bytes, p.moved_bytes, "{what}: bytes moved");
    assert_eq!(moves.bytes, designed_moves(&p, t), "{what}: bytes moved");
    assert_eq!(moves.copies as usize, p.moved_codewords, "{what}: copies");
    if all_used {
        let used = p.members.iter().filter(|l| !l.tables.is_empty()).count();
        let want = t.len().min(m.members().len());
        assert_eq!(used, want, "{what}: idle contexts\n{p}");
    }
}

#[test]
fn proofs_equal_cpu_and_one_gpu_on_two_and_three_contexts() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let one = CudaBackend::new(0).unwrap_or_else(|e| panic!("needs a CUDA GPU: {e}"));
    one.context().set_poison(true);
    let (two, three) = (multi(2), multi(3));
    for (name, size, generated) in [
        ("fib", 1 << 12, false),
        ("vm", 1 << 10, false),
        ("keccak", 8, true),
        ("multi", 16, true),
        ("multi", 16, false),
    ] {
        let what = format!(
            "{name} {size}{}",
            if generated { " (generated)" } else { "" }
        );
        let t = tables(name, size, generated);
        let cpu = prove(&CpuBackend, &what, &t);
        let gpu = prove(&one, &what, &t);
        assert!(gpu == cpu, "{what}: one GPU's proof differs from the CPU's");
        check(&two, &what, &t, &cpu, true);
        check(&three, &what, &t, &cpu, true);
    }
}

#[test]
fn primary_contexts_shared_by_two_backends_prove_the_same() {
    // Two backends on GPU 0's primary context (one CUDA context, two streams and pools): the
    // copy at the FRI join is then within one context.
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let gpus: Vec<CudaBackend> = (0..2)
        .map(|_| CudaBackend::new(0).unwrap_or_else(|e| panic!("needs a CUDA GPU: {e}")))
        .collect();
    let m = MultiBackend::new(gpus).unwrap();
    m.set_cost_source(CostSource::Modelled);
    let t = tables("multi", 16, true);
    let cpu = prove(&CpuBackend, "multi 16", &t);
    check(&m, "multi 16 (primary contexts)", &t, &cpu, true);
}

#[test]
fn placement_respects_each_contexts_budget() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let m = multi(3);
    let t = tables("multi", 170, true);
    let cpu = prove(&CpuBackend, "multi 170", &t);
    // 4 GiB, 1 GiB, and 128 MiB (below the 256 MiB every plan keeps free: no table fits)
    let budgets = [4u64 << 30, 1 << 30, 128 << 20];
    for (g, &b) in m.members().iter().zip(&budgets) {
        g.set_vram_budget(b).unwrap();
        g.reset_mem_peak();
    }
    check(
        &m,
        "multi 170 under 4 GiB / 1 GiB / 128 MiB",
        &t,
        &cpu,
        false,
    );
    let p = m.placement().unwrap();
    assert!(p.members[2].tables.is_empty(), "{p}");
    assert!(!p.members[1].tables.is_empty(), "{p}");
    for ((g, &b), load) in m.members().iter().zip(&budgets).zip(&p.members) {
        log(format!(
            "{}: peak {} B of {b} B (modelled {} B + reserve {} B)",
            g.context().label(),
            g.mem_peak(),
            load.peak_bytes,
            p.reserve
        ));
        assert!(g.mem_peak() <= b);
        if !load.tables.is_empty() {
            assert!(load.peak_bytes + p.reserve + rstark_backend_cuda::residency::SLACK_BYTES <= b);
        }
    }

    // Too small everywhere: refused before any work, naming a table; nothing kept.
    let before: Vec<u64> = m.members().iter().map(|g| g.mem_in_use()).collect();
    for g in m.members() {
        g.set_vram_budget(128 << 20).unwrap();
    }
    let options = ProveOptions::default();
    let err = match prove_with_options(&m, &presets::FAST_TEST, &t, &options) {
        Ok(_) => panic!("a proof that fits no device is refused"),
        Err(e) => e.to_string(),
    };
    log(format!("refused: {err}"));
    assert!(
        err.contains("fits on no device") && err.contains("keccak"),
        "{err}"
    );
    let after: Vec<u64> = m.members().iter().map(|g| g.mem_in_use()).collect();
    assert_eq!(before, after);
    // and the backend proves again once the budgets allow
    for g in m.members() {
        g.set_vram_budget(4 << 30).unwrap();
    }
    check(&m, "multi 170 after a refusal", &t, &cpu, true);
}

#[test]
fn the_timeline_shows_each_context_its_lane_and_the_peer_copies() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let m = multi(2);
    let t = tables("multi", 16, true);
    let cpu = prove(&CpuBackend, "multi 16", &t);
    check(&m, "multi 16 (warm-up)", &t, &cpu, true);
    m.reset_moves();
    let rec = Recording::start().unwrap();
    let got = prove(&m, "multi 16 (recorded)", &t);
    let timeline = rec.finish();
    assert!(got == cpu);
    assert!(
        timeline.info.warnings.is_empty(),
        "{:?}",
        timeline.info.warnings
    );
    let tl = Timeline::from_json(&timeline.to_json()).unwrap();
    tl.check().unwrap();
    let s = Summary::of(&tl);
    log(format!("multi 16 on 2 contexts:\n{}", s.text(8)));
    let names = tl.track_names();
    for g in m.members() {
        let label = g.context().label();
        assert!(
            names.values().any(|n| n == label),
            "no track for {label}: {names:?}"
        );
    }
    for lane in ["prover lane 0", "prover lane 1"] {
        assert!(names.values().any(|n| n == lane), "no {lane}: {names:?}");
    }
    let p2p: u64 = tl
        .spans()
        .filter(|e| e.pid != HOST_PID && e.cat == cat::P2P)
        .filter_map(|e| e.arg_u64("bytes"))
        .sum();
    assert_eq!(p2p, m.moves().bytes);
    assert!(p2p > 0);
    assert!(s.copies.iter().any(|c| c.direction == "device→device"));
    // device work of a table, launched in its lane, carries the lane's phase
    assert!(
        tl.spans()
            .filter(|e| e.pid != HOST_PID && e.cat == cat::KERNEL)
            .filter(|e| e.arg_str("table").is_some())
            .all(|e| e.arg_str("phase").is_some())
    );
}
