//! `--timeline FILE` (prove, bench) and the `rstark timeline` commands: `summarize` reads a
//! timeline file back as text, `overhead` measures what recording one costs.

use std::path::Path;
use std::time::{Duration, Instant};

use rstark_timeline::{OUTSIDE_PHASES, Recording, Summary, Timeline};
use serde::Serialize;

use crate::commands::{CliError, preset_params};
use crate::engine::{self, BackendKind, Engine};
use crate::output::{self, Phase};

/// Starts recording if a timeline file was asked for.
pub fn start(file: Option<&Path>) -> Result<Option<Recording>, CliError> {
    file.map(|_| Recording::start().map_err(|e| CliError::Timeline(e.to_string())))
        .transpose()
}

/// Stops `recording`, writes it to `file`, and returns its phase table: the rows, the time
/// outside phases as the last row, and the run's total in seconds.
pub fn finish(
    recording: Option<Recording>,
    file: Option<&Path>,
) -> Result<Option<(Vec<Phase>, f64)>, CliError> {
    let (Some(rec), Some(file)) = (recording, file) else {
        return Ok(None);
    };
    let t = rec.finish();
    for w in &t.info.warnings {
        eprintln!("warning: timeline: {w}");
    }
    std::fs::write(file, t.to_json()).map_err(|source| CliError::Io {
        path: file.display().to_string(),
        source,
    })?;
    Ok(Some(phase_table(&t)))
}

/// The phase table of a timeline, as the prove report shows it.
fn phase_table(t: &Timeline) -> (Vec<Phase>, f64) {
    let table = Summary::of(t).phases;
    let mut rows: Vec<Phase> = table
        .rows
        .into_iter()
        .map(|r| Phase {
            name: r.name,
            seconds: r.seconds,
        })
        .collect();
    rows.push(Phase {
        name: OUTSIDE_PHASES.into(),
        seconds: table.other_seconds,
    });
    (rows, table.total_seconds)
}

/// `rstark timeline summarize FILE`.
pub fn summarize(file: &Path, json: bool, top: usize) -> Result<(), CliError> {
    let text = std::fs::read_to_string(file).map_err(|source| CliError::Io {
        path: file.display().to_string(),
        source,
    })?;
    let t = Timeline::from_json(&text)
        .map_err(|e| CliError::Timeline(format!("{}: {e}", file.display())))?;
    let s = Summary::of(&t);
    if json {
        output::json(&s);
    } else {
        print!("{}", s.text(top));
    }
    Ok(())
}

/// How each proof of the overhead measurement ran.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// Before any recording: no subscriber installed (what `rstark prove` without
    /// `--timeline` runs with).
    OffNeverRecorded,
    /// After a recording: the subscriber installed, its filter off.
    Off,
    On,
}

#[derive(Serialize)]
struct Sample {
    mode: Mode,
    prove_seconds: f64,
    /// CPU time of the process (all threads) during the proof: less disturbed than wall time by
    /// other processes on a shared machine.
    prove_cpu_seconds: f64,
    /// Recorded events (on only).
    events: usize,
    /// Bytes of the timeline's JSON (on only).
    json_bytes: usize,
    /// Stopping the recording (incl. reading the device's events) and encoding it (on only).
    finish_seconds: f64,
}

#[derive(Serialize)]
struct ModeRow {
    mode: Mode,
    runs: usize,
    median_seconds: f64,
    mean_seconds: f64,
    min_seconds: f64,
    median_cpu_seconds: f64,
}

#[derive(Serialize)]
struct OverheadReport {
    command: &'static str,
    workload: String,
    size: usize,
    preset: String,
    backend: &'static str,
    rounds: usize,
    modes: Vec<ModeRow>,
    /// (on − off) / off of each off-on-on-off block's sums of wall time.
    block_overheads: Vec<f64>,
    median_overhead: f64,
    /// The same of CPU time.
    block_cpu_overheads: Vec<f64>,
    median_cpu_overhead: f64,
    samples: Vec<Sample>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn stats(mode: Mode, samples: &[Sample]) -> ModeRow {
    let of = |f: fn(&Sample) -> f64| -> Vec<f64> {
        samples.iter().filter(|s| s.mode == mode).map(f).collect()
    };
    let wall = of(|s| s.prove_seconds);
    ModeRow {
        mode,
        runs: wall.len(),
        mean_seconds: wall.iter().sum::<f64>() / wall.len().max(1) as f64,
        min_seconds: wall.iter().copied().fold(f64::INFINITY, f64::min),
        median_seconds: median(wall),
        median_cpu_seconds: median(of(|s| s.prove_cpu_seconds)),
    }
}

/// CPU time of the whole process (every thread), where the OS tells it.
fn process_cpu_time() -> Duration {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through a valid pointer.
        if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    Duration::ZERO
}

/// `rstark timeline overhead`: proofs of one workload on one backend, with the timeline off and
/// on alternating in off-on-on-off blocks (after `rounds` proofs before any recording), every
/// proof verified.
pub fn overhead(
    name: &str,
    size: usize,
    preset: &str,
    backend: BackendKind,
    rounds: usize,
    json: bool,
) -> Result<(), CliError> {
    if rounds == 0 {
        return Err(CliError::Runs);
    }
    let params = preset_params(preset)?;
    let engine = Engine::start(&crate::engine::BackendOptions {
        kind: backend,
        vram_budget: None,
        devices: None,
    })?;
    let workload = engine::build(name, size, backend)?;
    let shapes = rstark_workloads::shapes(name, size)?;
    let publics: Vec<_> = workload
        .tables
        .iter()
        .map(|t| t.public_values.clone())
        .collect();
    let prove = |mode: Mode| -> Result<Sample, CliError> {
        let rec = match mode {
            Mode::On => Some(Recording::start().map_err(|e| CliError::Timeline(e.to_string()))?),
            _ => None,
        };
        // the prover takes its workload: a copy per proof, made before the clocks start
        let copy = workload.clone();
        let cpu = process_cpu_time();
        let proved = engine.prove(&params, copy, false)?;
        let cpu = process_cpu_time().saturating_sub(cpu);
        let (mut events, mut json_bytes, mut finish) = (0, 0, Duration::ZERO);
        if let Some(rec) = rec {
            let t0 = Instant::now();
            let t = rec.finish();
            json_bytes = t.to_json().len();
            finish = t0.elapsed();
            events = t.events.len();
        }
        engine::verify(&params, &shapes, &publics, &proved.proof)?;
        Ok(Sample {
            mode,
            prove_seconds: proved.time.as_secs_f64(),
            prove_cpu_seconds: cpu.as_secs_f64(),
            events,
            json_bytes,
            finish_seconds: finish.as_secs_f64(),
        })
    };
    let mut samples = Vec::new();
    prove(Mode::OffNeverRecorded)?; // warm-up
    for _ in 0..rounds {
        samples.push(prove(Mode::OffNeverRecorded)?);
    }
    prove(Mode::On)?; // warm-up: installs the subscriber, fills the device's event pool
    let (mut block_overheads, mut block_cpu_overheads) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let block = [Mode::Off, Mode::On, Mode::On, Mode::Off]
            .into_iter()
            .map(&prove)
            .collect::<Result<Vec<_>, _>>()?;
        let overhead = |f: fn(&Sample) -> f64| -> f64 {
            let sum = |m: Mode| -> f64 { block.iter().filter(|s| s.mode == m).map(f).sum() };
            (sum(Mode::On) - sum(Mode::Off)) / sum(Mode::Off)
        };
        block_overheads.push(overhead(|s| s.prove_seconds));
        block_cpu_overheads.push(overhead(|s| s.prove_cpu_seconds));
        samples.extend(block);
    }
    let report = OverheadReport {
        command: "timeline overhead",
        workload: name.into(),
        size,
        preset: preset.into(),
        backend: backend.name(),
        rounds,
        modes: [Mode::OffNeverRecorded, Mode::Off, Mode::On]
            .into_iter()
            .map(|m| stats(m, &samples))
            .collect(),
        median_overhead: median(block_overheads.clone()),
        block_overheads,
        median_cpu_overhead: median(block_cpu_overheads.clone()),
        block_cpu_overheads,
        samples,
    };
    if json {
        output::json(&report);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

impl OverheadReport {
    fn text(&self) -> String {
        let mut out = format!(
            "timeline overhead: {} (size {}) on the {} backend, preset {}, {} blocks of off-on-on-off, every proof verified\n",
            self.workload, self.size, self.backend, self.preset, self.rounds
        );
        out += &format!(
            "  {:<22} {:>5} {:>12} {:>12} {:>12} {:>14}\n",
            "prove time", "runs", "median", "mean", "min", "median CPU"
        );
        for m in &self.modes {
            let name = match m.mode {
                Mode::OffNeverRecorded => "off (before any)",
                Mode::Off => "off",
                Mode::On => "on",
            };
            out += &format!(
                "  {:<22} {:>5} {:>9.3} ms {:>9.3} ms {:>9.3} ms {:>11.3} ms\n",
                name,
                m.runs,
                m.median_seconds * 1e3,
                m.mean_seconds * 1e3,
                m.min_seconds * 1e3,
                m.median_cpu_seconds * 1e3
            );
        }
        let pct = |v: &[f64]| -> String {
            v.iter()
                .map(|o| format!("{:+.2}%", o * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out += &format!(
            "  on vs off, per block, wall: {} (median {:+.2}%)\n",
            pct(&self.block_overheads),
            self.median_overhead * 100.0
        );
        out += &format!(
            "  on vs off, per block, CPU:  {} (median {:+.2}%)\n",
            pct(&self.block_cpu_overheads),
            self.median_cpu_overhead * 100.0
        );
        let on: Vec<&Sample> = self.samples.iter().filter(|s| s.mode == Mode::On).collect();
        if let Some(s) = on.first() {
            let finish: f64 =
                on.iter().map(|s| s.finish_seconds).sum::<f64>() / on.len() as f64 * 1e3;
            out += &format!(
                "  a recorded proof: {} events, {} bytes of JSON; stopping + encoding {finish:.3} ms (mean)\n",
                s.events, s.json_bytes
            );
        }
        out
    }
}
