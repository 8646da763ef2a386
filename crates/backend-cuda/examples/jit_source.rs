//! Writes the compiled-constraint-kernel source of every table of a workload into a directory,
//! named as the disk cache names it (`rstark_backend_cuda::jit_source`), so that
//! scripts/jit-precompile.sh can compile them ahead of time with nvcc (no GPU needed) into a
//! cache directory the CUDA backend reads (`RSTARK_KERNEL_CACHE`).
//!
//! Usage: `jit_source <workload> <size> <dir> [arch, default sm_90]`; prints one line per
//! translation unit (a table's program, or each slice of a large one,
//! `RSTARK_JIT_SLICE_INSTRUCTIONS`, `RSTARK_JIT_MIN_BLOCKS`): the file stem, the table and slice, its statement count.

use rstark_backend_cuda::jit_source::{KernelShape, cache_stem, kernel_slices, kernel_sources};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: jit_source <workload> <size> <dir> [arch]");
        std::process::exit(2);
    }
    let size: usize = args[2].parse().expect("size");
    let dir = std::path::PathBuf::from(&args[3]);
    let arch = args.get(4).map_or("sm_90", |s| s.as_str());
    std::fs::create_dir_all(&dir).expect("creating the directory");
    let w = rstark_workloads::build(&args[1], size).expect("workload");
    for t in &w.tables {
        let npv = t.public_values.len(); // as the prover compiles it
        let p = rstark_constraints::compile_table(&t.air, npv).expect("compiles");
        let shape = KernelShape::from_env();
        let (slices, _) = kernel_slices(&p, shape).expect("slices");
        let sources = kernel_sources(&p, shape).expect("source");
        for (i, (src, s)) in sources.iter().zip(&slices).enumerate() {
            let stem = cache_stem(src, arch);
            std::fs::write(dir.join(format!("{stem}.cu")), src).expect("writing");
            let n = sources.len();
            println!("{stem} {}[{}/{n}] {}", t.name, i + 1, s.num_instructions());
        }
    }
}
