//! `rstark`: prove, verify and benchmark the built-in workloads.
//!
//! Exit codes: 0 success, 1 a proof was rejected (or a witness was invalid), 2 bad input or I/O.

mod commands;
mod engine;
mod output;
mod peak_memory;
mod progress;
mod proof_file;
mod timeline;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use engine::{BackendKind, BackendOptions};

#[derive(Parser)]
#[command(
    name = "rstark",
    version,
    about = "STARK prover and verifier for rstark's built-in workloads"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prove a workload and write the proof file.
    Prove {
        /// Workload: fib, keccak, vm or multi (sixteen Keccak tables and the VM's).
        #[arg(long, short)]
        workload: String,
        /// Size: rows (fib), permutations (keccak; multi: of its largest Keccak tables) or CPU
        /// steps (vm).
        #[arg(long, short)]
        size: usize,
        /// Parameter preset: default, compact, balanced or fast-test (not secure).
        #[arg(long, default_value = "default")]
        preset: String,
        /// Where to write the proof file.
        #[arg(long, short, default_value = "proof.bin")]
        out: PathBuf,
        /// Print one JSON object on stdout instead of text.
        #[arg(long)]
        json: bool,
        /// Backend: cpu (default) or cuda (a build with `--features rstark-cli/cuda`).
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendKind,
        /// CUDA: device memory the proof may use, e.g. 24GiB (default: $RSTARK_VRAM_BUDGET, else
        /// 90% of the free device memory). Matrices that do not fit are recomputed when needed.
        #[arg(long, value_name = "BYTES")]
        vram_budget: Option<String>,
        /// Write a timeline of the proof (Chrome trace-event JSON: ui.perfetto.dev,
        /// chrome://tracing): host spans per thread, device kernels and copies per stream. The
        /// phase table is then read from it.
        #[arg(long, value_name = "FILE.json")]
        timeline: Option<PathBuf>,
        #[command(flatten)]
        devices: DeviceArgs,
    },
    /// Verify a proof file (the file names its statement).
    Verify {
        /// The proof file.
        proof: PathBuf,
        /// Reject proofs whose parameters give fewer conjectured security bits than this.
        #[arg(long, default_value_t = 0)]
        min_security_bits: u32,
        /// Print one JSON object on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Prove and verify a workload several times; report median times and the proof size.
    Bench {
        #[arg(long, short)]
        workload: String,
        #[arg(long, short)]
        size: usize,
        #[arg(long, default_value = "default")]
        preset: String,
        /// Number of measured runs (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long)]
        json: bool,
        /// Backend: cpu (default) or cuda (a build with `--features rstark-cli/cuda`).
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendKind,
        /// CUDA: device memory the proofs may use (as for `prove`).
        #[arg(long, value_name = "BYTES")]
        vram_budget: Option<String>,
        /// Write a timeline of the last run (see `prove --timeline`).
        #[arg(long, value_name = "FILE.json")]
        timeline: Option<PathBuf>,
        #[command(flatten)]
        devices: DeviceArgs,
    },
    /// Read timelines written by `--timeline`, or measure what recording one costs.
    #[command(subcommand)]
    Timeline(TimelineCommand),
}

/// Several GPUs (CUDA backend).
#[derive(clap::Args)]
struct DeviceArgs {
    /// CUDA: prove on these GPUs, e.g. 0,1,2,3: each table is placed on one by its cost and
    /// memory (each GPU under the VRAM budget), its DEEP codeword copied to the FRI GPU. A
    /// repeated ordinal opens another context on that GPU (0,0 stands in for two GPUs on one).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "ORDINALS",
        conflicts_with = "gpus"
    )]
    devices: Option<Vec<usize>>,
    /// CUDA: prove on GPUs 0 … N−1 (`--devices 0,1,…`).
    #[arg(long, value_name = "N")]
    gpus: Option<usize>,
}

impl DeviceArgs {
    fn list(self) -> Option<Vec<usize>> {
        self.devices.or(self.gpus.map(|n| (0..n).collect()))
    }
}

#[derive(Subcommand)]
enum TimelineCommand {
    /// Summarise a timeline: the phase table, the top kernels, the device's idle gaps, the
    /// bytes moved, the host threads.
    Summarize {
        file: PathBuf,
        /// How many kernels to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        #[arg(long)]
        json: bool,
    },
    /// Prove a workload repeatedly in one process, the timeline off and on in off-on-on-off
    /// blocks, and report the prove times of each.
    Overhead {
        #[arg(long, short)]
        workload: String,
        #[arg(long, short)]
        size: usize,
        #[arg(long, default_value = "default")]
        preset: String,
        /// Blocks of four proofs (and as many proofs before any recording).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendKind,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    if let Some(missing) = missing_cpu_features() {
        eprintln!(
            "error: this rstark was built for x86-64-v3 (the workspace default, .cargo/config.toml) \
             but this CPU lacks {missing}; rebuild for it with \
             RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release"
        );
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let (json, result) = match cli.command {
        Command::Prove {
            workload,
            size,
            preset,
            out,
            json,
            backend,
            vram_budget,
            timeline,
            devices,
        } => (
            json,
            commands::prove(
                &workload,
                size,
                &preset,
                &out,
                json,
                &BackendOptions {
                    kind: backend,
                    vram_budget,
                    devices: devices.list(),
                },
                timeline.as_deref(),
            ),
        ),
        Command::Verify {
            proof,
            min_security_bits,
            json,
        } => (json, commands::verify(&proof, min_security_bits, json)),
        Command::Bench {
            workload,
            size,
            preset,
            runs,
            json,
            backend,
            vram_budget,
            timeline,
            devices,
        } => (
            json,
            commands::bench(
                &workload,
                size,
                &preset,
                runs,
                json,
                &BackendOptions {
                    kind: backend,
                    vram_budget,
                    devices: devices.list(),
                },
                timeline.as_deref(),
            ),
        ),
        Command::Timeline(TimelineCommand::Summarize { file, top, json }) => {
            (json, timeline::summarize(&file, json, top))
        }
        Command::Timeline(TimelineCommand::Overhead {
            workload,
            size,
            preset,
            rounds,
            backend,
            json,
        }) => (
            json,
            timeline::overhead(&workload, size, &preset, backend, rounds, json),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&e, json);
            ExitCode::from(e.exit_code())
        }
    }
}

/// The CPU features this binary was compiled to assume that the CPU running it lacks: a build for
/// x86-64-v3 on an older CPU would otherwise die of an illegal instruction somewhere in a proof.
#[inline(never)]
fn missing_cpu_features() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        if cfg!(target_feature = "avx2") && !std::is_x86_feature_detected!("avx2") {
            return Some("AVX2");
        }
        if cfg!(target_feature = "bmi2") && !std::is_x86_feature_detected!("bmi2") {
            return Some("BMI2");
        }
        if cfg!(target_feature = "fma") && !std::is_x86_feature_detected!("fma") {
            return Some("FMA");
        }
    }
    None
}
