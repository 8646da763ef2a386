//! What the commands print: aligned text for people, one JSON object for machines.

use std::time::Duration;

use serde::Serialize;

use crate::commands::CliError;
use crate::engine::{DeviceMemory, DevicesReport, Transfers};
use crate::peak_memory::{self, PeakMemory};

/// The parameters and security level a proof was made with.
#[derive(Serialize)]
pub struct ParamsReport {
    pub preset: String,
    pub log_blowup: u8,
    pub num_queries: u16,
    pub pow_bits: u8,
    pub log_final_poly_len: u8,
    pub security_bits: u32,
}

impl ParamsReport {
    pub fn new(preset: &str, p: &rstark_protocol::StarkParams) -> Self {
        Self {
            preset: preset.to_string(),
            log_blowup: p.log_blowup,
            num_queries: p.num_queries,
            pow_bits: p.pow_bits,
            log_final_poly_len: p.log_final_poly_len,
            security_bits: p.conjectured_security_bits(),
        }
    }

    fn line(&self) -> String {
        format!(
            "preset {} (blowup {}, {} queries, {} PoW bits): {} conjectured security bits",
            self.preset,
            1u32 << self.log_blowup,
            self.num_queries,
            self.pow_bits,
            self.security_bits
        )
    }
}

#[derive(Serialize)]
pub struct TableReport {
    pub name: String,
    pub rows: usize,
    pub width: usize,
    pub public_values: usize,
}

#[derive(Serialize)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
}

impl Phase {
    pub fn new(name: impl Into<String>, d: Duration) -> Self {
        Self {
            name: name.into(),
            seconds: d.as_secs_f64(),
        }
    }
}

/// Appends the time no phase covers, so the rows add up to `total_seconds`.
pub fn add_other(phases: &mut Vec<Phase>, total_seconds: f64) {
    let covered: f64 = phases.iter().map(|p| p.seconds).sum();
    phases.push(Phase {
        name: rstark_timeline::OUTSIDE_PHASES.into(),
        seconds: (total_seconds - covered).max(0.0),
    });
}

#[derive(Serialize)]
pub struct ProveReport {
    pub command: &'static str,
    pub workload: String,
    pub size: usize,
    pub params: ParamsReport,
    pub tables: Vec<TableReport>,
    /// The workload build, starting the backend, the prover's phases, writing the file, and
    /// last the time outside them: they add up to `total_seconds`. With a timeline, all are
    /// read from it.
    pub phases: Vec<Phase>,
    /// "cpu" or "cuda".
    pub backend: &'static str,
    /// Host↔device bytes of the proof (CUDA backend only).
    pub transfers: Option<Transfers>,
    /// The device memory the proof used, and how its matrices were held (CUDA backend only).
    pub device_memory: Option<DeviceMemory>,
    /// Several GPUs (`--devices`, `--gpus`): each one's tables, memory and traffic, and the
    /// bytes copied between them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<DevicesReport>,
    /// Peak host memory (resident set) while proving, in bytes; `null` where the system does not
    /// say.
    pub peak_host_bytes: Option<u64>,
    /// What the peak covers: "proof" (the mark was reset when the proof started) or "process"
    /// (the reset was refused: everything the process did before too).
    pub peak_host_scope: Option<&'static str>,
    pub prove_seconds: f64,
    pub total_seconds: f64,
    pub proof_bytes: usize,
    pub file_bytes: usize,
    pub out: String,
    /// The timeline file written (`--timeline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
}

#[derive(Serialize)]
pub struct VerifyReport {
    pub command: &'static str,
    pub valid: bool,
    pub workload: String,
    pub size: u64,
    pub params: ParamsReport,
    pub tables: Vec<TableReport>,
    pub public_values: Vec<Vec<u64>>,
    pub proof_bytes: usize,
    pub verify_seconds: f64,
}

#[derive(Serialize)]
pub struct BenchReport {
    pub command: &'static str,
    pub workload: String,
    pub size: usize,
    pub params: ParamsReport,
    pub tables: Vec<TableReport>,
    pub runs: usize,
    pub trace_seconds_median: f64,
    pub prove_seconds_median: f64,
    pub verify_seconds_median: f64,
    pub prove_seconds: Vec<f64>,
    pub verify_seconds: Vec<f64>,
    /// The prover's phases of the median run, and last its time outside them: they add up to
    /// `prove_seconds_median`.
    pub phases: Vec<Phase>,
    pub proof_bytes: usize,
    /// "cpu" or "cuda".
    pub backend: &'static str,
    /// Host↔device bytes of the last run's proof (CUDA backend only).
    pub transfers: Option<Transfers>,
    /// The last run's device memory (CUDA backend only).
    pub device_memory: Option<DeviceMemory>,
    /// The last run's devices (`--devices`, `--gpus`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<DevicesReport>,
    /// The largest peak host memory (resident set) of the runs' proofs, in bytes.
    pub peak_host_bytes: Option<u64>,
    /// As in the prove report.
    pub peak_host_scope: Option<&'static str>,
    /// Each run's peak host memory while proving, in bytes.
    pub peak_host_bytes_per_run: Vec<Option<u64>>,
    /// The timeline file of the last run (`--timeline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
}

pub fn json<T: Serialize>(report: &T) {
    match serde_json::to_string_pretty(report) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot encode the report as JSON: {e}"),
    }
}

pub fn error(e: &CliError, json: bool) {
    if json {
        let v = serde_json::json!({ "error": e.to_string(), "exit_code": e.exit_code() });
        println!("{v}");
    }
    eprintln!("error: {e}");
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

fn tables_text(tables: &[TableReport]) -> String {
    let mut out = format!(
        "  {:<10} {:>10} {:>7} {:>8}\n",
        "table", "rows", "width", "publics"
    );
    for t in tables {
        out += &format!(
            "  {:<10} {:>10} {:>7} {:>8}\n",
            t.name, t.rows, t.width, t.public_values
        );
    }
    out
}

fn phases_text(phases: &[Phase]) -> String {
    let name_width = phases
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("  {:<name_width$} {:>12}\n", "phase", "time");
    for p in phases {
        out += &format!("  {:<name_width$} {:>12}\n", p.name, seconds(p.seconds));
    }
    out
}

/// "timeline: FILE" and how to read it, if one was written.
fn timeline_text(file: &Option<String>) -> String {
    file.as_ref()
        .map(|f| {
            format!(
                "timeline: {f} (open it in ui.perfetto.dev or chrome://tracing; `rstark timeline summarize {f}`)\n"
            )
        })
        .unwrap_or_default()
}

/// "\n  peak host memory …" where the system reports it, nothing otherwise.
fn peak_text(bytes: Option<u64>, scope: Option<&'static str>) -> String {
    match (bytes, scope) {
        (Some(bytes), Some(scope)) => format!(
            "\n  peak host memory {}",
            peak_memory::text(&PeakMemory { bytes, scope })
        ),
        _ => String::new(),
    }
}

/// " · host→device … B, device→host … B" for a CUDA proof, nothing otherwise.
fn transfers_text(t: Option<Transfers>) -> String {
    t.map(|t| {
        format!(
            "\n  host→device {} B · device→host {} B",
            t.host_to_device_bytes, t.device_to_host_bytes
        )
    })
    .unwrap_or_default()
}

/// The device-memory line of a CUDA proof, nothing otherwise.
fn device_memory_text(m: &Option<DeviceMemory>) -> String {
    let Some(m) = m else {
        return String::new();
    };
    let gib = |b: u64| format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64);
    let streamed = if m.streamed.is_empty() {
        "every LDE kept on the device".to_string()
    } else {
        format!("recomputed when needed: {}", m.streamed.join(", "))
    };
    format!(
        "\n  device memory: peak {} of a {} budget ({streamed})",
        gib(m.peak_bytes),
        gib(m.budget_bytes)
    )
}

/// The several-GPU lines (placement, memory and traffic per GPU, bytes moved between them).
fn devices_text(d: &Option<DevicesReport>) -> String {
    let Some(d) = d else {
        return String::new();
    };
    let gib = |b: u64| format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64);
    let mut out = format!("\n  {} devices, placed:\n{}", d.devices.len(), d.placement);
    for (i, g) in d.devices.iter().enumerate() {
        out += &format!(
            "\n  device {i}: peak {} of {} · host→device {} B · device→host {} B{}",
            gib(g.peak_bytes),
            gib(g.budget_bytes),
            g.host_to_device_bytes,
            g.device_to_host_bytes,
            if g.streamed.is_empty() {
                String::new()
            } else {
                format!(" · recomputed when needed: {}", g.streamed.join(", "))
            }
        );
    }
    out + &format!(
        "\n  between devices: {} B in {} copies to device {} (predicted {} B)",
        d.moved_bytes, d.moved_copies, d.fri_device, d.moved_bytes_predicted
    )
}

impl ProveReport {
    pub fn text(&self) -> String {
        format!(
            "proved {} (size {}) on the {} backend with {}\n{}\n{}\n  prove {} · total {}{}{}{}{}\nproof: {} bytes ({} bytes with the file header) → {}\n{}",
            self.workload,
            self.size,
            self.backend,
            self.params.line(),
            tables_text(&self.tables),
            phases_text(&self.phases),
            seconds(self.prove_seconds),
            seconds(self.total_seconds),
            transfers_text(self.transfers),
            device_memory_text(&self.device_memory),
            devices_text(&self.devices),
            peak_text(self.peak_host_bytes, self.peak_host_scope),
            self.proof_bytes,
            self.file_bytes,
            self.out,
            timeline_text(&self.timeline)
        )
    }
}

impl VerifyReport {
    pub fn text(&self) -> String {
        let publics: Vec<String> = self
            .tables
            .iter()
            .zip(&self.public_values)
            .filter(|(_, v)| !v.is_empty())
            .map(|(t, v)| format!("  {} public values: {v:?}\n", t.name))
            .collect();
        format!(
            "proof OK: {} (size {}) with {}\n{}{}  {} proof bytes, verified in {}\n",
            self.workload,
            self.size,
            self.params.line(),
            tables_text(&self.tables),
            publics.concat(),
            self.proof_bytes,
            seconds(self.verify_seconds)
        )
    }
}

impl BenchReport {
    pub fn text(&self) -> String {
        format!(
            "bench {} (size {}) on the {} backend, {} runs, {}\n{}\nmedian prover phases:\n{}\n  trace generation {} · prove {} · verify {} (medians){}{}{}{}\n  proof: {} bytes\n{}",
            self.workload,
            self.size,
            self.backend,
            self.runs,
            self.params.line(),
            tables_text(&self.tables),
            phases_text(&self.phases),
            seconds(self.trace_seconds_median),
            seconds(self.prove_seconds_median),
            seconds(self.verify_seconds_median),
            transfers_text(self.transfers),
            device_memory_text(&self.device_memory),
            devices_text(&self.devices),
            peak_text(self.peak_host_bytes, self.peak_host_scope),
            self.proof_bytes,
            timeline_text(&self.timeline)
        )
    }
}
