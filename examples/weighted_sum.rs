//! The user AIR of docs/GUIDE.md (preprocessed and periodic columns, a LogUp bus), proved and
//! verified:
//!
//!     cargo run --release -p rstark-examples --example weighted_sum -- --size 12
//!     cargo run --release -p rstark-examples --features cuda --example weighted_sum -- --backend both
//!
//! `--size N`: 2^N bytes absorbed (default 10).

use std::process::ExitCode;

use rstark_examples::cli::{Args, Walk, run};
use rstark_examples::{Proved, Result, prove_weighted_sum};
use rstark_protocol::{Backend, StarkParams};

struct WeightedSum(Args);

impl Walk for WeightedSum {
    fn name(&self) -> String {
        format!("weighted-sum 2^{}", self.0.size)
    }
    fn run<B: Backend>(&self, backend: &B) -> Result<Proved> {
        let params: &StarkParams = &self.0.params;
        prove_weighted_sum(backend, params, self.0.size)
    }
}

fn main() -> ExitCode {
    let go = || -> Result<()> {
        let args = Args::parse(std::env::args().skip(1), 10)?;
        run(&WeightedSum(args.clone()), args.backend)
    };
    match go() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
