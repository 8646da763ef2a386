//! The CLI's only contact with the prover and the verifier (CPU backend, or CUDA with the
//! `cuda` feature).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rstark_air::Table;
use rstark_backend_cpu::CpuBackend;
use rstark_field::F;
use rstark_protocol::{Backend, Proof, StarkParams};
use rstark_prover::{ProveOptions, ProverError, TableInput, prove_owned};
use rstark_verifier::VerifierTable;
use rstark_workloads::{TableShape, Workload, WorkloadAir};

use crate::commands::CliError;
use crate::output::Phase;
use crate::peak_memory::{PeakMemory, PeakMeter};

/// Which backend proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// The CPU backend (rayon), the reference.
    Cpu,
    /// The CUDA backend (GPU 0); needs a build with `--features cuda`.
    Cuda,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }
}

/// Which backend proves, and its settings.
#[derive(Clone, Debug)]
pub struct BackendOptions {
    pub kind: BackendKind,
    /// CUDA: the VRAM budget as the user wrote it (e.g. "24GiB"), per device.
    pub vram_budget: Option<String>,
    /// CUDA: prove on these GPU ordinals (`--devices`, `--gpus`; a repeated one is another
    /// context on that GPU) instead of GPU 0 alone.
    pub devices: Option<Vec<usize>>,
}

/// One device of a several-GPU proof.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DeviceReport {
    pub label: String,
    /// Its tables, in proof order.
    pub tables: Vec<String>,
    /// The placement's cost of its tables (measured on an earlier proof, else modelled).
    pub cost_seconds: f64,
    pub budget_bytes: u64,
    pub peak_bytes: u64,
    pub host_to_device_bytes: u64,
    pub device_to_host_bytes: u64,
    /// The matrices whose LDE was not kept but recomputed when needed.
    pub streamed: Vec<String>,
}

/// Where a several-GPU proof ran and what moved between the GPUs.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DevicesReport {
    pub devices: Vec<DeviceReport>,
    /// The device that ran FRI (the DEEP codewords of the others were copied to it).
    pub fri_device: usize,
    /// Bytes copied between devices, and what the placement predicted.
    pub moved_bytes: u64,
    pub moved_bytes_predicted: u64,
    pub moved_copies: u64,
    /// The placement as text (tables, costs, memory model peaks).
    pub placement: String,
}

/// Host↔device bytes of one proof (CUDA backend only).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Transfers {
    pub host_to_device_bytes: u64,
    pub device_to_host_bytes: u64,
}

/// The device memory of one proof (CUDA backend only).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DeviceMemory {
    /// The VRAM budget the proof ran under.
    pub budget_bytes: u64,
    /// The most bytes the proof's allocations held at once (never above the budget).
    pub peak_bytes: u64,
    /// Held after the proof (cached tables and compiled constraint programs).
    pub in_use_after_bytes: u64,
    /// The matrices whose LDE was not kept but recomputed when needed ("table/main", ...).
    pub streamed: Vec<String>,
    /// The memory plan's modelled peak.
    pub planned_peak_bytes: u64,
}

/// A proof's bytes and how long its phases took.
pub struct Proved {
    pub proof: Vec<u8>,
    pub time: Duration,
    pub phases: Vec<Phase>,
    pub transfers: Option<Transfers>,
    pub device_memory: Option<DeviceMemory>,
    /// Peak host memory (resident set) while proving, where the system reports it.
    pub peak_host_memory: Option<PeakMemory>,
    /// Several GPUs: where the tables ran.
    pub devices: Option<DevicesReport>,
}

/// Builds a workload's tables for `backend`: the CUDA backend generates Keccak's trace on the
/// device from its inputs ([`rstark_workloads::build_generated`]), so it is never built on the
/// host unless the witness check reads it; the CPU backend gets host traces.
pub fn build(name: &str, size: usize, backend: BackendKind) -> Result<Workload, CliError> {
    Ok(match backend {
        BackendKind::Cpu => rstark_workloads::build(name, size)?,
        BackendKind::Cuda => rstark_workloads::build_generated(name, size)?,
    })
}

/// A started backend and the workloads' AIR objects, kept across proofs, as a user proving
/// many segments keeps them: the CUDA backend keeps its context, its cached tables and its
/// compiled constraint programs, and every proof with the same AIR object reuses its symbolic
/// evaluation (the prover's `SymbolicCache`), so the proofs after the first do not pay for them
/// again (`rstark bench` times those).
pub struct Engine {
    backend: Started,
    airs: AirObjects,
}

/// The started backend.
enum Started {
    Cpu(CpuBackend),
    #[cfg(feature = "cuda")]
    Cuda(Box<rstark_backend_cuda::CudaBackend>),
    #[cfg(feature = "cuda")]
    MultiCuda(Box<rstark_backend_multi::MultiCudaBackend>),
}

/// One `Arc` per workload AIR, made by the first proof that has a table of it and given to
/// every later table of it (the several Keccak tables of `multi` share one).
#[derive(Default)]
struct AirObjects(Mutex<Vec<(WorkloadAir, Arc<dyn Table>)>>);

impl AirObjects {
    fn get(&self, air: WorkloadAir) -> Arc<dyn Table> {
        let mut airs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, a)) = airs.iter().find(|(w, _)| *w == air) {
            return Arc::clone(a);
        }
        let a: Arc<dyn Table> = Arc::new(air);
        airs.push((air, Arc::clone(&a)));
        a
    }
}

impl Engine {
    /// Starts `backend` (for CUDA: a context on GPU 0 and the kernels, with the VRAM budget
    /// `vram_budget` — e.g. "24GiB" — else `$RSTARK_VRAM_BUDGET`, else the default). A budget
    /// above what the device can give is lowered to it, with a warning on stderr.
    pub fn start(options: &BackendOptions) -> Result<Self, CliError> {
        Ok(Self {
            backend: Started::start(options)?,
            airs: AirObjects::default(),
        })
    }

    /// Proves a workload, which the prover takes: each table's host trace is freed once nothing
    /// reads it. With `check_witness` every constraint is checked first (a bad witness is then an
    /// error naming its table and row, never a proof that fails later; the CUDA backend checks
    /// on the device). On CUDA the result carries this proof's host↔device bytes.
    pub fn prove(
        &self,
        params: &StarkParams,
        workload: Workload,
        check_witness: bool,
    ) -> Result<Proved, CliError> {
        self.backend
            .prove(&self.airs, params, workload, check_witness)
    }
}

impl Started {
    fn start(options: &BackendOptions) -> Result<Self, CliError> {
        let vram_budget = options.vram_budget.as_deref();
        match (options.kind, &options.devices) {
            (BackendKind::Cpu, Some(_)) => Err(CliError::Backend(
                "--devices and --gpus need --backend cuda".into(),
            )),
            (BackendKind::Cpu, None) => {
                if vram_budget.is_some() {
                    eprintln!("warning: --vram-budget applies to the CUDA backend only");
                }
                Ok(Self::Cpu(CpuBackend::new()))
            }
            (BackendKind::Cuda, None) => start_cuda(vram_budget),
            (BackendKind::Cuda, Some(devices)) => start_multi_cuda(devices, vram_budget),
        }
    }

    fn prove(
        &self,
        airs: &AirObjects,
        params: &StarkParams,
        workload: Workload,
        check_witness: bool,
    ) -> Result<Proved, CliError> {
        match self {
            Self::Cpu(cpu) => prove_on(cpu, airs, params, workload, check_witness),
            #[cfg(feature = "cuda")]
            Self::Cuda(gpu) => {
                gpu.reset_transfers();
                gpu.reset_mem_peak();
                let mut proved = prove_on(gpu.as_ref(), airs, params, workload, check_witness)?;
                let t = gpu.total_transfers();
                proved.transfers = Some(Transfers {
                    host_to_device_bytes: t.h2d_bytes,
                    device_to_host_bytes: t.d2h_bytes,
                });
                let plan = gpu.memory_plan();
                proved.device_memory = Some(DeviceMemory {
                    budget_bytes: gpu.vram_budget(),
                    peak_bytes: gpu.mem_peak(),
                    in_use_after_bytes: gpu.mem_in_use(),
                    streamed: plan.as_ref().map(|p| p.streamed()).unwrap_or_default(),
                    planned_peak_bytes: plan.map_or(0, |p| p.peak),
                });
                Ok(proved)
            }
            #[cfg(feature = "cuda")]
            Self::MultiCuda(multi) => {
                for gpu in multi.members() {
                    gpu.reset_transfers();
                    gpu.reset_mem_peak();
                }
                multi.reset_moves();
                let mut proved = prove_on(multi.as_ref(), airs, params, workload, check_witness)?;
                let (devices, transfers) = multi_report(multi);
                proved.transfers = Some(transfers);
                proved.devices = Some(devices);
                Ok(proved)
            }
        }
    }
}

/// Each GPU's tables, memory and traffic, and the bytes copied between them.
#[cfg(feature = "cuda")]
fn multi_report(multi: &rstark_backend_multi::MultiCudaBackend) -> (DevicesReport, Transfers) {
    let placement = multi.placement();
    let moves = multi.moves();
    let mut total = Transfers::default();
    let devices = multi
        .members()
        .iter()
        .enumerate()
        .map(|(d, gpu)| {
            let t = gpu.total_transfers();
            total.host_to_device_bytes += t.h2d_bytes;
            total.device_to_host_bytes += t.d2h_bytes;
            let load = placement.as_ref().and_then(|p| p.members.get(d));
            let names = |p: &rstark_backend_multi::Placement| -> Vec<String> {
                let shares = p
                    .members
                    .get(d)
                    .map(|m| m.tables.clone())
                    .unwrap_or_default();
                shares
                    .iter()
                    .map(|&t| p.table_name(t).to_string())
                    .collect()
            };
            DeviceReport {
                label: gpu.context().label().to_string(),
                tables: placement.as_ref().map(names).unwrap_or_default(),
                cost_seconds: load.map_or(0.0, |l| l.seconds),
                budget_bytes: gpu.vram_budget(),
                peak_bytes: gpu.mem_peak(),
                host_to_device_bytes: t.h2d_bytes,
                device_to_host_bytes: t.d2h_bytes,
                streamed: gpu.memory_plan().map(|p| p.streamed()).unwrap_or_default(),
            }
        })
        .collect();
    let report = DevicesReport {
        devices,
        fri_device: placement.as_ref().map_or(0, |p| p.fri_member),
        moved_bytes: moves.bytes,
        moved_bytes_predicted: placement.as_ref().map_or(0, |p| p.moved_bytes),
        moved_copies: moves.copies,
        placement: placement.map(|p| p.to_string()).unwrap_or_default(),
    };
    (report, total)
}

#[cfg(feature = "cuda")]
fn start_cuda(vram_budget: Option<&str>) -> Result<Started, CliError> {
    let gpu = rstark_backend_cuda::CudaBackend::new(0)
        .map_err(|e| CliError::Backend(format!("cannot start the CUDA backend: {e}")))?;
    if let Some(set) = gpu
        .env_budget()
        .filter(|b| b.clamped() && vram_budget.is_none())
    {
        eprintln!("warning: RSTARK_VRAM_BUDGET lowered to {set}");
    }
    if let Some(b) = vram_budget {
        let bytes = rstark_backend_cuda::residency::parse_bytes(b)
            .map_err(|e| CliError::Backend(format!("--vram-budget: {e}")))?;
        let set = gpu
            .set_vram_budget(bytes)
            .map_err(|e| CliError::Backend(format!("--vram-budget: {e}")))?;
        if set.clamped() {
            eprintln!("warning: --vram-budget lowered to {set}");
        }
    }
    Ok(Started::Cuda(Box::new(gpu)))
}

/// Backends on `devices` (each with the budget), as one several-GPU backend.
#[cfg(feature = "cuda")]
fn start_multi_cuda(devices: &[usize], vram_budget: Option<&str>) -> Result<Started, CliError> {
    if devices.is_empty() {
        return Err(CliError::Backend("--devices: no device given".into()));
    }
    let gpus = rstark_backend_multi::open_devices(devices)
        .map_err(|e| CliError::Backend(format!("cannot start the CUDA backends: {e}")))?;
    if let Some(b) = vram_budget {
        let bytes = rstark_backend_cuda::residency::parse_bytes(b)
            .map_err(|e| CliError::Backend(format!("--vram-budget: {e}")))?;
        for gpu in &gpus {
            let set = gpu
                .set_vram_budget(bytes)
                .map_err(|e| CliError::Backend(format!("--vram-budget: {e}")))?;
            if set.clamped() {
                eprintln!(
                    "warning: --vram-budget lowered to {set} on {}",
                    gpu.context().label()
                );
            }
        }
    }
    let multi = rstark_backend_multi::MultiBackend::new(gpus)
        .map_err(|e| CliError::Backend(e.to_string()))?;
    Ok(Started::MultiCuda(Box::new(multi)))
}

#[cfg(not(feature = "cuda"))]
fn start_multi_cuda(_devices: &[usize], vram_budget: Option<&str>) -> Result<Started, CliError> {
    start_cuda(vram_budget)
}

#[cfg(not(feature = "cuda"))]
fn start_cuda(_vram_budget: Option<&str>) -> Result<Started, CliError> {
    Err(CliError::Backend(
        "this rstark was built without the CUDA backend: rebuild with \
         `cargo build --release --bin rstark --features rstark-cli/cuda`"
            .into(),
    ))
}

fn prove_on<B: Backend>(
    backend: &B,
    airs: &AirObjects,
    params: &StarkParams,
    workload: Workload,
    check_witness: bool,
) -> Result<Proved, CliError> {
    let options = ProveOptions {
        check_witness,
        ..Default::default()
    };
    let meter = PeakMeter::start();
    let start = Instant::now();
    // The traces move into the prover (no copy), which frees each once it is committed.
    let tables: Vec<TableInput> = workload
        .tables
        .into_iter()
        .map(|t| TableInput::new(t.name, airs.get(t.air), t.trace, t.public_values))
        .collect();
    let proved = prove_owned(backend, params, tables, &options);
    let time = start.elapsed();
    let peak_host_memory = meter.finish();
    let (proof, report) = proved.map_err(|e| match e {
        e @ (ProverError::ConstraintFailed { .. }
        | ProverError::BusUnbalanced(_)
        | ProverError::Logup { .. }) => CliError::Witness(e.to_string()),
        e => CliError::Prover(e.to_string()),
    })?;
    Ok(Proved {
        proof: proof.to_bytes(),
        time,
        phases: report
            .phases
            .iter()
            .map(|&(name, d)| Phase::new(name, d))
            .collect(),
        transfers: None,
        device_memory: None,
        peak_host_memory,
        devices: None,
    })
}

/// Verifies proof bytes against the statement's tables and public values; returns the tables'
/// heights.
pub fn verify(
    params: &StarkParams,
    shapes: &[TableShape],
    public_values: &[Vec<F>],
    proof: &[u8],
) -> Result<Vec<usize>, CliError> {
    let proof = Proof::from_bytes(proof).map_err(|e| CliError::Rejected(e.to_string()))?;
    // Heights the statement fixes are pinned; the verifier rejects a proof of other heights.
    let tables: Vec<VerifierTable> = shapes
        .iter()
        .zip(public_values)
        .map(|(s, pv)| {
            let table = VerifierTable::new(s.name, Arc::new(s.air), pv.clone());
            match s.height {
                Some(h) => table.with_log_height(h.trailing_zeros() as u8),
                None => table,
            }
        })
        .collect();
    rstark_verifier::verify(params, &tables, &proof)
        .map_err(|e| CliError::Rejected(e.to_string()))?;
    Ok(proof
        .tables
        .iter()
        .map(|t| 1usize.checked_shl(t.log_height.into()).unwrap_or(0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_air_object_per_workload_air() {
        let airs = AirObjects::default();
        let keccak = airs.get(WorkloadAir::Keccak);
        assert!(Arc::ptr_eq(&keccak, &airs.get(WorkloadAir::Keccak)));
        assert!(!Arc::ptr_eq(&keccak, &airs.get(WorkloadAir::Fib)));
    }
}
