//! The examples' command line: which backend proves (`--backend cpu|cuda|both`), the size, the
//! parameter preset. With `both`, the CUDA proof's bytes must equal the CPU proof's.

use std::time::Instant;

use rstark_backend_cpu::CpuBackend;
use rstark_protocol::{Backend, StarkParams, presets};

use crate::{Proved, Result};

/// One walk from an AIR to a verified proof, runnable on any backend.
pub trait Walk {
    fn name(&self) -> String;
    fn run<B: Backend>(&self, backend: &B) -> Result<Proved>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    Cpu,
    Cuda,
    /// Both, and the proofs compared byte for byte.
    Both,
}

/// `--backend B`, `--size N`, `--preset P` (defaults: cpu, `default_size`, `fast-test`).
#[derive(Clone, Debug)]
pub struct Args {
    pub backend: BackendChoice,
    pub size: usize,
    pub params: StarkParams,
}

impl Args {
    pub fn parse(args: impl IntoIterator<Item = String>, default_size: usize) -> Result<Self> {
        let mut out = Self {
            backend: BackendChoice::Cpu,
            size: default_size,
            params: presets::FAST_TEST,
        };
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
            match a.as_str() {
                "--backend" => {
                    out.backend = match value()?.as_str() {
                        "cpu" => BackendChoice::Cpu,
                        "cuda" => BackendChoice::Cuda,
                        "both" => BackendChoice::Both,
                        b => return Err(format!("unknown backend `{b}` (cpu, cuda, both)").into()),
                    }
                }
                "--size" => out.size = value()?.parse()?,
                "--preset" => {
                    let p = value()?;
                    out.params = presets::by_name(&p).ok_or(format!("unknown preset `{p}`"))?;
                }
                _ => {
                    return Err(
                        format!("unknown argument `{a}` (--backend, --size, --preset)").into(),
                    );
                }
            }
        }
        Ok(out)
    }
}

/// Runs `walk` on the chosen backend(s), printing each proof's size, hash and time.
pub fn run(walk: &impl Walk, backend: BackendChoice) -> Result<()> {
    let report = |who: &str, p: &Proved, t: Instant| {
        println!(
            "{}: {who}: proof {} bytes, keccak256 {}, proved and verified in {:.2?}",
            walk.name(),
            p.proof.len(),
            p.proof_hash(),
            t.elapsed()
        );
    };
    let cpu = |()| -> Result<Proved> {
        let t = Instant::now();
        let p = walk.run(&CpuBackend)?;
        report("cpu", &p, t);
        Ok(p)
    };
    match backend {
        BackendChoice::Cpu => cpu(()).map(|_| ()),
        BackendChoice::Cuda => run_cuda(walk, &report).map(|_| ()),
        BackendChoice::Both => {
            let c = cpu(())?;
            let g = run_cuda(walk, &report)?;
            if c != g {
                return Err(
                    format!("{}: the CUDA proof differs from the CPU proof", walk.name()).into(),
                );
            }
            println!("{}: cuda proof identical to cpu proof", walk.name());
            Ok(())
        }
    }
}

#[cfg(feature = "cuda")]
fn run_cuda(walk: &impl Walk, report: &dyn Fn(&str, &Proved, Instant)) -> Result<Proved> {
    let backend = rstark_backend_cuda::CudaBackend::new(0)?;
    let t = Instant::now();
    let p = walk.run(&backend)?;
    report("cuda", &p, t);
    Ok(p)
}

#[cfg(not(feature = "cuda"))]
fn run_cuda(_: &impl Walk, _: &dyn Fn(&str, &Proved, Instant)) -> Result<Proved> {
    Err("built without the `cuda` feature (cargo ... --features cuda)".into())
}
