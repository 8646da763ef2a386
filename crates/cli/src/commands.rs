//! The three commands: prove, verify, bench.

use std::path::Path;
use std::time::{Duration, Instant};

use rstark_field::PrimeField64;
use rstark_protocol::{StarkParams, presets};
use rstark_timeline::spans::{self, phase};
use rstark_workloads::{TableShape, Workload, WorkloadError};

use crate::engine::{self, BackendOptions};
use crate::output::{
    self, BenchReport, ParamsReport, Phase, ProveReport, TableReport, VerifyReport,
};
use crate::progress::Progress;
use crate::proof_file::{FileError, ProofFile};
use crate::timeline;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    #[error("unknown preset {0:?} (known: {known})", known = presets::NAMES.join(", "))]
    Preset(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    File(#[from] FileError),
    #[error("invalid witness: {0}")]
    Witness(String),
    #[error("prover failed: {0}")]
    Prover(String),
    #[error("proof rejected: {0}")]
    Rejected(String),
    #[error("--runs must be at least 1")]
    Runs,
    #[error("{0}")]
    Backend(String),
    #[error("timeline: {0}")]
    Timeline(String),
}

impl CliError {
    /// 1: the witness or the proof is not valid; 2: bad input, I/O or an internal failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Witness(_) | Self::Rejected(_) | Self::File(_) => 1,
            _ => 2,
        }
    }
}

pub fn preset_params(name: &str) -> Result<StarkParams, CliError> {
    presets::by_name(name).ok_or_else(|| CliError::Preset(name.to_string()))
}

fn table_reports(w: &Workload) -> Vec<TableReport> {
    w.tables
        .iter()
        .map(|t| TableReport {
            name: t.name.to_string(),
            rows: t.trace.height(),
            width: t.trace.width(),
            public_values: t.public_values.len(),
        })
        .collect()
}

/// `rstark prove`: its phases are the workload build, starting the backend, the prover's phases
/// and writing the file; with `timeline`, the table is read from the recorded timeline.
pub fn prove(
    name: &str,
    size: usize,
    preset: &str,
    out: &Path,
    json: bool,
    options: &BackendOptions,
    timeline_file: Option<&Path>,
) -> Result<(), CliError> {
    let backend = options.kind;
    let params = preset_params(preset)?;
    let recording = timeline::start(timeline_file)?;
    let start = Instant::now();
    let progress = Progress::new(json);
    let run = spans::run(&format!("rstark prove {name} {size}"));
    let mut phases = Vec::new();
    progress.step(format!("generating the {name} witness (size {size})"));
    let ph = phase("workload build");
    let workload = engine::build(name, size, backend)?;
    phases.push(Phase::new(ph.name(), ph.end()));
    let ph = phase("start backend");
    let engine = engine::Engine::start(options)?;
    phases.push(Phase::new(ph.name(), ph.end()));

    let tables = table_reports(&workload);
    let public_values: Vec<_> = workload
        .tables
        .iter()
        .map(|t| t.public_values.clone())
        .collect();
    progress.step(format!("proving {name} (size {size})"));
    let proved = engine.prove(&params, workload, true)?;
    phases.extend(proved.phases);

    progress.step("writing the proof file");
    let ph = phase("write proof file");
    let file = ProofFile {
        workload: name.to_string(),
        size: size as u64,
        preset: preset.to_string(),
        params,
        public_values,
        proof: proved.proof,
    };
    let bytes = file.to_bytes();
    std::fs::write(out, &bytes).map_err(|source| CliError::Io {
        path: out.display().to_string(),
        source,
    })?;
    phases.push(Phase::new(ph.name(), ph.end()));
    drop(run);
    let mut total = start.elapsed().as_secs_f64();
    drop(progress);

    if let Some(t) = timeline::finish(recording, timeline_file)? {
        (phases, total) = t;
    } else {
        output::add_other(&mut phases, total);
    }
    let report = ProveReport {
        command: "prove",
        workload: name.to_string(),
        size,
        params: ParamsReport::new(preset, &params),
        tables,
        phases,
        backend: backend.name(),
        transfers: proved.transfers,
        device_memory: proved.device_memory,
        devices: proved.devices,
        peak_host_bytes: proved.peak_host_memory.map(|p| p.bytes),
        peak_host_scope: proved.peak_host_memory.map(|p| p.scope),
        prove_seconds: proved.time.as_secs_f64(),
        total_seconds: total,
        proof_bytes: file.proof.len(),
        file_bytes: bytes.len(),
        out: out.display().to_string(),
        timeline: timeline_file.map(|p| p.display().to_string()),
    };
    if json {
        output::json(&report);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// The statement's tables, checked against the public values the file carries.
fn statement(file: &ProofFile) -> Result<Vec<TableShape>, CliError> {
    let size = usize::try_from(file.size)
        .map_err(|_| CliError::Rejected(format!("size {} is out of range", file.size)))?;
    let shapes = rstark_workloads::shapes(&file.workload, size)?;
    if shapes.len() != file.public_values.len() {
        return Err(CliError::Rejected(format!(
            "the file has public values for {} tables, workload {} has {}",
            file.public_values.len(),
            file.workload,
            shapes.len()
        )));
    }
    for (s, pv) in shapes.iter().zip(&file.public_values) {
        let expected = s.air.public_value_count();
        if pv.len() != expected {
            return Err(CliError::Rejected(format!(
                "table {}: {} public values, its AIR takes {expected}",
                s.name,
                pv.len()
            )));
        }
    }
    Ok(shapes)
}

pub fn verify(path: &Path, min_security_bits: u32, json: bool) -> Result<(), CliError> {
    let bytes = std::fs::read(path).map_err(|source| CliError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let progress = Progress::new(json);
    progress.step("verifying");
    let file = ProofFile::from_bytes(&bytes)?;
    if presets::by_name(&file.preset) != Some(file.params) {
        return Err(CliError::Rejected(format!(
            "the file's parameters are not those of preset {:?}",
            file.preset
        )));
    }
    let security = file.params.conjectured_security_bits();
    if security < min_security_bits {
        return Err(CliError::Rejected(format!(
            "the proof's parameters give {security} conjectured security bits, below the required {min_security_bits}"
        )));
    }
    let shapes = statement(&file)?;
    let start = Instant::now();
    let heights = engine::verify(&file.params, &shapes, &file.public_values, &file.proof)?;
    let verify_time = start.elapsed();
    drop(progress);

    let report = VerifyReport {
        command: "verify",
        valid: true,
        workload: file.workload.clone(),
        size: file.size,
        params: ParamsReport::new(&file.preset, &file.params),
        tables: shapes
            .iter()
            .zip(&file.public_values)
            .zip(heights)
            .map(|((s, pv), rows)| TableReport {
                name: s.name.to_string(),
                rows,
                width: s.air.main_width(),
                public_values: pv.len(),
            })
            .collect(),
        public_values: file
            .public_values
            .iter()
            .map(|v| v.iter().map(|x| x.as_canonical_u64()).collect())
            .collect(),
        proof_bytes: file.proof.len(),
        verify_seconds: verify_time.as_secs_f64(),
    };
    if json {
        output::json(&report);
    } else {
        print!("{}", report.text());
        if security < WARN_SECURITY_BITS {
            eprintln!(
                "warning: only {security} conjectured security bits (preset {}): not a secure proof",
                file.preset
            );
        }
    }
    Ok(())
}

/// Below this many conjectured bits `verify` warns that the proof is not secure.
const WARN_SECURITY_BITS: u32 = 100;

fn median(xs: &[Duration]) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    v[v.len() / 2]
}

/// `rstark bench`; with `timeline`, its last run is recorded (phases: the workload build, the
/// prover's phases, verifying).
pub fn bench(
    name: &str,
    size: usize,
    preset: &str,
    runs: usize,
    json: bool,
    options: &BackendOptions,
    timeline_file: Option<&Path>,
) -> Result<(), CliError> {
    let backend = options.kind;
    if runs == 0 {
        return Err(CliError::Runs);
    }
    let params = preset_params(preset)?;
    let shapes = rstark_workloads::shapes(name, size)?;
    let progress = Progress::new(json);
    let (mut trace, mut prove, mut verify) = (Vec::new(), Vec::new(), Vec::new());
    let mut phases_by_run = Vec::new();
    let mut proof_bytes = 0;
    let mut tables = Vec::new();
    let mut transfers = None;
    let mut device_memory = None;
    let mut devices = None;
    let mut peaks = Vec::new();
    // One backend for every run, started before the first (not timed).
    let engine = engine::Engine::start(options)?;
    let mut recording = None;
    for run in 1..=runs {
        if run == runs {
            recording = timeline::start(timeline_file)?;
        }
        let span = spans::run(&format!("rstark bench {name} {size}: run {run} of {runs}"));
        progress.step(format!("run {run}/{runs}: generating the witness"));
        let ph = phase("workload build");
        let workload = engine::build(name, size, backend)?;
        trace.push(ph.end());
        tables = table_reports(&workload);
        let publics: Vec<_> = workload
            .tables
            .iter()
            .map(|t| t.public_values.clone())
            .collect();
        progress.step(format!("run {run}/{runs}: proving"));
        // No witness check: it is not proving work, and the verifier catches a bad witness.
        let proved = engine.prove(&params, workload, false)?;
        prove.push(proved.time);
        peaks.push(proved.peak_host_memory);
        progress.step(format!("run {run}/{runs}: verifying"));
        let ph = phase("verify");
        engine::verify(&params, &shapes, &publics, &proved.proof)?;
        verify.push(ph.end());
        drop(span);
        proof_bytes = proved.proof.len();
        phases_by_run.push((proved.time, proved.phases));
        transfers = proved.transfers;
        device_memory = proved.device_memory;
        devices = proved.devices;
    }
    drop(progress);
    timeline::finish(recording, timeline_file)?;

    let prove_median = median(&prove);
    let mut phases = phases_by_run
        .into_iter()
        .find(|(t, _)| *t == prove_median)
        .map(|(_, p)| p)
        .unwrap_or_default();
    output::add_other(&mut phases, prove_median.as_secs_f64());
    let peak = peaks.iter().flatten().copied().max_by_key(|p| p.bytes);
    let report = BenchReport {
        command: "bench",
        workload: name.to_string(),
        size,
        params: ParamsReport::new(preset, &params),
        tables,
        runs,
        trace_seconds_median: median(&trace).as_secs_f64(),
        prove_seconds_median: prove_median.as_secs_f64(),
        verify_seconds_median: median(&verify).as_secs_f64(),
        prove_seconds: prove.iter().map(Duration::as_secs_f64).collect(),
        verify_seconds: verify.iter().map(Duration::as_secs_f64).collect(),
        phases,
        proof_bytes,
        backend: backend.name(),
        transfers,
        device_memory,
        devices,
        peak_host_bytes: peak.map(|p| p.bytes),
        peak_host_scope: peak.map(|p| p.scope),
        peak_host_bytes_per_run: peaks.iter().map(|p| p.map(|p| p.bytes)).collect(),
        timeline: timeline_file.map(|p| p.display().to_string()),
    };
    if json {
        output::json(&report);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
