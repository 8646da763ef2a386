//! rstark's built-in workloads: a statement (name + size) → tables (AIR, trace, public values)
//! ready for the prover, and the same AIRs rebuilt on the verifier's side.
//!
//! - `fib`: Fibonacci, size = trace rows (rounded up to a power of two, at least 8).
//! - `keccak`: Keccak-f[1600] permutations through `p3-keccak-air`, size = permutations.
//! - `vm`: a register VM with CPU, memory and 16-bit range tables linked by LogUp, size = CPU
//!   steps (rounded up to a power of two, at least 8).
//! - `multi`: sixteen Keccak tables of three heights and the VM's tables in one proof (for
//!   several devices: [`multi`]), size = the largest Keccak tables' permutations.

pub mod air;
pub mod check;
pub mod fib;
pub mod keccak;
pub mod multi;
pub mod vm;

use rstark_field::F;
use rstark_poly::RowMajor;
use rstark_protocol::{KeccakTrace, TraceSource};

pub use air::WorkloadAir;

/// Largest accepted size of each workload (keeps a typo from allocating the machine away).
const MAX_LOG_ROWS: u32 = 24;

/// Errors of the workload registry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkloadError {
    #[error("unknown workload {0:?} (known: fib, keccak, vm, multi)")]
    Unknown(String),
    #[error("workload {workload}: size {size} is out of range ({reason})")]
    Size {
        workload: &'static str,
        size: usize,
        reason: &'static str,
    },
    #[error("workload {workload}: trace generation failed: {reason}")]
    Trace {
        workload: &'static str,
        reason: String,
    },
}

/// The built-in workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fib,
    Keccak,
    Vm,
    Multi,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Fib, Kind::Keccak, Kind::Vm, Kind::Multi];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Fib => "fib",
            Kind::Keccak => "keccak",
            Kind::Vm => "vm",
            Kind::Multi => "multi",
        }
    }

    pub fn parse(name: &str) -> Result<Self, WorkloadError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| WorkloadError::Unknown(name.to_string()))
    }
}

/// What the verifier needs of one table: its name, AIR and the height the statement fixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableShape {
    pub name: &'static str,
    pub air: WorkloadAir,
    /// The height the statement implies, or `None` where it is the prover's choice (the VM's
    /// memory table: its height follows from the execution, and soundness does not depend on it,
    /// so the verifier need not replay the program to know it).
    pub height: Option<usize>,
}

/// One table ready for the prover.
#[derive(Clone, Debug)]
pub struct WorkloadTable {
    pub name: &'static str,
    pub air: WorkloadAir,
    /// Host values ([`build`]), or a generator ([`build_generated`]).
    pub trace: TraceSource,
    pub public_values: Vec<F>,
}

/// A workload instance: all its tables.
#[derive(Clone, Debug)]
pub struct Workload {
    pub kind: Kind,
    pub size: usize,
    pub tables: Vec<WorkloadTable>,
}

fn check_size(kind: Kind, size: usize) -> Result<(), WorkloadError> {
    let max_rows = 1usize << MAX_LOG_ROWS;
    let rows = match kind {
        Kind::Keccak | Kind::Multi => size.saturating_mul(p3_keccak_air::NUM_ROUNDS),
        _ => size,
    };
    let reason = if size == 0 {
        "must be at least 1"
    } else if rows > max_rows {
        "more than 2^24 trace rows"
    } else {
        return Ok(());
    };
    Err(WorkloadError::Size {
        workload: kind.name(),
        size,
        reason,
    })
}

/// The tables' names, AIRs and heights of a statement, without generating traces.
pub fn shapes(name: &str, size: usize) -> Result<Vec<TableShape>, WorkloadError> {
    let kind = Kind::parse(name)?;
    check_size(kind, size)?;
    let shape = |name, air, height| TableShape { name, air, height };
    Ok(match kind {
        Kind::Fib => vec![shape("fib", WorkloadAir::Fib, Some(fib_rows(size)))],
        Kind::Keccak => vec![shape(
            "keccak",
            WorkloadAir::Keccak,
            Some(keccak::keccak_rows(size)),
        )],
        Kind::Vm => vm_shapes(size),
        Kind::Multi => multi::KECCAK_TABLES
            .iter()
            .enumerate()
            .map(|(k, (name, _))| {
                let rows = keccak::keccak_rows(multi::keccak_perms(size, k));
                shape(name, WorkloadAir::Keccak, Some(rows))
            })
            .chain(vm_shapes(multi::vm_steps(size)))
            .collect(),
    })
}

fn vm_shapes(steps: usize) -> Vec<TableShape> {
    let shape = |name, air, height| TableShape { name, air, height };
    vec![
        shape("cpu", WorkloadAir::VmCpu, Some(vm::exec::cpu_rows(steps))),
        shape("memory", WorkloadAir::VmMemory, None),
        shape("range", WorkloadAir::VmRange, Some(vm::range::RANGE_ROWS)),
    ]
}

fn fib_rows(size: usize) -> usize {
    size.next_power_of_two().max(8)
}

/// Builds a workload: generates every table's trace and public values.
pub fn build(name: &str, size: usize) -> Result<Workload, WorkloadError> {
    let kind = Kind::parse(name)?;
    check_size(kind, size)?;
    build_host(kind, size)
}

/// Like [`build`], but a table whose trace follows from small inputs (Keccak's: 200 bytes per
/// permutation) gets a [`TraceSource::Generated`] instead of host values, so a backend that
/// generates it itself (CUDA) never has the trace on the host. Same statement, same proof.
pub fn build_generated(name: &str, size: usize) -> Result<Workload, WorkloadError> {
    let kind = Kind::parse(name)?;
    check_size(kind, size)?;
    let generated = |name, perms, seed| WorkloadTable {
        name,
        air: WorkloadAir::Keccak,
        trace: TraceSource::generated(KeccakTrace::new(keccak::keccak_inputs_seeded(perms, seed))),
        public_values: Vec::new(),
    };
    let tables = match kind {
        Kind::Keccak => vec![generated("keccak", size, keccak::DEFAULT_SEED)],
        Kind::Multi => {
            let mut tables: Vec<WorkloadTable> = multi::KECCAK_TABLES
                .iter()
                .enumerate()
                .map(|(k, (name, _))| {
                    generated(name, multi::keccak_perms(size, k), multi::keccak_seed(k))
                })
                .collect();
            tables.extend(build_host(Kind::Vm, multi::vm_steps(size))?.tables);
            tables
        }
        _ => return build_host(kind, size),
    };
    Ok(Workload { kind, size, tables })
}

fn build_host(kind: Kind, size: usize) -> Result<Workload, WorkloadError> {
    let table = |name, air: WorkloadAir, values: Vec<F>, public_values| {
        // Every generator writes whole rows of the AIR's width, so this cannot fail.
        let trace = RowMajor::new(values, air.main_width()).map_err(|e| WorkloadError::Trace {
            workload: kind.name(),
            reason: e.to_string(),
        })?;
        Ok(WorkloadTable {
            name,
            air,
            trace: trace.into(),
            public_values,
        })
    };
    let tables = match kind {
        Kind::Fib => {
            let (values, pv) = fib::fib_trace(fib_rows(size));
            vec![table("fib", WorkloadAir::Fib, values, pv)?]
        }
        Kind::Keccak => vec![table(
            "keccak",
            WorkloadAir::Keccak,
            keccak::keccak_trace(size),
            Vec::new(),
        )?],
        Kind::Vm => vm_tables(size, &table)?,
        Kind::Multi => {
            let mut tables = multi::KECCAK_TABLES
                .iter()
                .enumerate()
                .map(|(k, (name, _))| {
                    let perms = multi::keccak_perms(size, k);
                    let values = keccak::keccak_trace_seeded(perms, multi::keccak_seed(k));
                    table(name, WorkloadAir::Keccak, values, Vec::new())
                })
                .collect::<Result<Vec<_>, _>>()?;
            tables.extend(vm_tables(multi::vm_steps(size), &table)?);
            tables
        }
    };
    Ok(Workload { kind, size, tables })
}

type MakeTable<'a> =
    dyn Fn(&'static str, WorkloadAir, Vec<F>, Vec<F>) -> Result<WorkloadTable, WorkloadError> + 'a;

fn vm_tables(steps: usize, table: &MakeTable<'_>) -> Result<Vec<WorkloadTable>, WorkloadError> {
    let t =
        vm::exec::generate(vm::exec::cpu_rows(steps)).map_err(|reason| WorkloadError::Trace {
            workload: "vm",
            reason,
        })?;
    Ok(vec![
        table("cpu", WorkloadAir::VmCpu, t.cpu, t.cpu_public_values)?,
        table("memory", WorkloadAir::VmMemory, t.memory, Vec::new())?,
        table("range", WorkloadAir::VmRange, t.range, Vec::new())?,
    ])
}
