//! AIRs from published Plonky3 crates (p3-poseidon2-air, p3-blake3-air, p3-keccak-air), each one
//! line from a table, proved and verified:
//!
//!     cargo run --release -p rstark-examples --example published_airs -- --size 4
//!     cargo run --release -p rstark-examples --features cuda --example published_airs -- --backend both --size 10
//!
//! `--size N`: 2^N Poseidon2 permutations, 2^(N−4) Blake3 compressions (at least 2), 2^(N−3)
//! Keccak-f permutations (at least 1) (default 4).

use std::process::ExitCode;

use rstark_examples::cli::{Args, Walk, run};
use rstark_examples::{Proved, Result, prove_blake3, prove_keccak, prove_poseidon2};
use rstark_protocol::Backend;

enum Published {
    Poseidon2(Args),
    Blake3(Args),
    Keccak(Args),
}

impl Published {
    fn args(&self) -> &Args {
        match self {
            Self::Poseidon2(a) | Self::Blake3(a) | Self::Keccak(a) => a,
        }
    }
}

impl Walk for Published {
    fn name(&self) -> String {
        let n = self.args().size;
        match self {
            Self::Poseidon2(_) => format!("p3-poseidon2-air 2^{n} permutations"),
            Self::Blake3(_) => format!(
                "p3-blake3-air 2^{} compressions",
                n.saturating_sub(4).max(1)
            ),
            Self::Keccak(_) => format!(
                "p3-keccak-air {} permutations",
                1usize << n.saturating_sub(3)
            ),
        }
    }
    fn run<B: Backend>(&self, backend: &B) -> Result<Proved> {
        let (p, n) = (&self.args().params, self.args().size);
        match self {
            Self::Poseidon2(_) => prove_poseidon2(backend, p, n),
            Self::Blake3(_) => prove_blake3(backend, p, n.saturating_sub(4).max(1)),
            Self::Keccak(_) => prove_keccak(backend, p, 1 << n.saturating_sub(3)),
        }
    }
}

fn main() -> ExitCode {
    let go = || -> Result<()> {
        let args = Args::parse(std::env::args().skip(1), 4)?;
        for walk in [
            Published::Poseidon2(args.clone()),
            Published::Blake3(args.clone()),
            Published::Keccak(args.clone()),
        ] {
            run(&walk, args.backend)?;
        }
        Ok(())
    };
    match go() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
