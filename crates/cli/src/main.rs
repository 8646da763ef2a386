//! `rstark`: prove, verify and benchmark the built-in workloads.
//!
//! Exit codes: 0 success, 1 a proof was rejected (or a witness was invalid), 2 bad input or I/O.

mod commands;
mod engine;
mod output;
mod peak_memory;
mod progress;
mod proof_file;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use engine::BackendKind;

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
        /// Workload: fib, keccak or vm.
        #[arg(long, short)]
        workload: String,
        /// Size: rows (fib), permutations (keccak) or CPU steps (vm).
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (json, result) = match cli.command {
        Command::Prove {
            workload,
            size,
            preset,
            out,
            json,
            backend,
        } => (
            json,
            commands::prove(&workload, size, &preset, &out, json, backend),
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
        } => (
            json,
            commands::bench(&workload, size, &preset, runs, json, backend),
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
