//! The CUDA source of a constraint kernel compiled for one program (issue 9: constraint kernels
//! compiled per AIR), and where compiled kernels are cached on disk. Host-only: built with or
//! without `cuda`, so sources can be written and compiled ahead of time on a machine without a
//! GPU (`jit_source` binary, scripts/jit-precompile.sh).
//!
//! The source is self-contained (NVRTC has no include path here): a fixed prelude, then
//! `kernels/common.cuh`, `field.cuh`, `constraints.cuh` and `constraints_jit.cuh` with their
//! `#include` lines removed, then the program's `cj_eval`
//! (`rstark_constraints::cuda_eval_source`). It is a pure function of the program, so the whole
//! source (not a hash of it) is the cache key: a disk entry is used only when its stored source
//! equals the one wanted byte for byte.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use rstark_constraints::{
    ConstraintError, ConstraintProgram, cuda_eval_source, max_live_words, rematerialize,
    split_program, uses_selectors,
};

const HEADERS: [(&str, &str); 5] = [
    ("common.cuh", include_str!("../kernels/common.cuh")),
    ("field.cuh", include_str!("../kernels/field.cuh")),
    ("field_acc.cuh", include_str!("../kernels/field_acc.cuh")),
    (
        "constraints.cuh",
        include_str!("../kernels/constraints.cuh"),
    ),
    (
        "constraints_jit.cuh",
        include_str!("../kernels/constraints_jit.cuh"),
    ),
];

/// The compiled kernel's entry point.
pub const KERNEL_NAME: &str = "constraints_quotient_jit";

/// Whether a program reads preprocessed or periodic columns: it runs a `*_fixed` interpreter, and
/// its compiled kernel takes v2_fixed's arguments.
pub fn has_fixed(p: &ConstraintProgram) -> bool {
    p.preprocessed_width > 0 || p.num_periodic > 0
}

/// Instructions a slice of a large program is cut to (`RSTARK_JIT_SLICE_INSTRUCTIONS`): one
/// kernel per slice, compiled in parallel (NVVM's time grows faster than the program; docs/PERF.md).
pub const SLICE_INSTRUCTIONS: usize = 512;

/// Blocks of 128 threads each SM must fit at once (`CJ_MIN_BLOCKS` in kernels/constraints_jit.cuh,
/// `RSTARK_JIT_MIN_BLOCKS`): the register cap that keeps enough warps resident to hide the trace
/// loads' latency.
pub const MIN_BLOCKS: u32 = 8;

/// Values a compiled program may keep alive at once before it is rematerialized
/// (`RSTARK_JIT_MAX_LIVE`): a u64 takes two of a thread's at most 255 32-bit registers.
pub const MAX_LIVE: usize = 48;

/// How a program's compiled kernel is cut and built; part of its source, so of its cache key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelShape {
    /// At most this many instructions a slice (a program that fits is one slice).
    pub max_slice: usize,
    /// `CJ_MIN_BLOCKS` (1..=16).
    pub min_blocks: u32,
    /// A program that keeps more values alive at once ([`rstark_constraints::max_live_words`])
    /// is compiled rematerialized ([`rstark_constraints::rematerialize`], `CJ_REMAT`).
    pub max_live: usize,
}

impl Default for KernelShape {
    fn default() -> Self {
        Self {
            max_slice: SLICE_INSTRUCTIONS,
            min_blocks: MIN_BLOCKS,
            max_live: MAX_LIVE,
        }
    }
}

impl KernelShape {
    /// `RSTARK_JIT_SLICE_INSTRUCTIONS` and `RSTARK_JIT_MIN_BLOCKS`, else the defaults.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
        };
        let d = Self::default();
        Self {
            max_slice: var("RSTARK_JIT_SLICE_INSTRUCTIONS")
                .filter(|&n| n > 0)
                .unwrap_or(d.max_slice),
            min_blocks: var("RSTARK_JIT_MIN_BLOCKS")
                .filter(|n| (1..=16).contains(n))
                .map_or(d.min_blocks, |n| n as u32),
            max_live: var("RSTARK_JIT_MAX_LIVE").unwrap_or(d.max_live),
        }
    }
}

/// The translation units of `p`'s compiled kernel: one per slice of `shape.max_slice`
/// instructions (`rstark_constraints::split_program`; one for a program that fits), to be run in
/// this order over the same rows (the first writes the quotient values, the others add to them).
pub fn kernel_sources(
    p: &ConstraintProgram,
    shape: KernelShape,
) -> Result<Vec<String>, ConstraintError> {
    let (slices, remat) = kernel_slices(p, shape)?;
    slices
        .iter()
        .enumerate()
        .map(|(i, s)| slice_source(s, i > 0, shape.min_blocks, remat))
        .collect()
}

/// The programs [`kernel_sources`] compiles, one per kernel, and whether they are rematerialized.
pub fn kernel_slices(
    p: &ConstraintProgram,
    shape: KernelShape,
) -> Result<(Vec<ConstraintProgram>, bool), ConstraintError> {
    p.validate()?;
    let remat = max_live_words(p) > shape.max_live;
    let whole = if remat { rematerialize(p) } else { p.clone() };
    Ok((split_program(&whole, shape.max_slice), remat))
}

/// The whole program as one translation unit (one slice).
pub fn kernel_source(p: &ConstraintProgram) -> Result<String, ConstraintError> {
    slice_source(p, false, KernelShape::from_env().min_blocks, false)
}

/// One slice's translation unit; `accumulate`: it adds to the values earlier slices wrote.
fn slice_source(
    p: &ConstraintProgram,
    accumulate: bool,
    min_blocks: u32,
    remat: bool,
) -> Result<String, ConstraintError> {
    let eval = cuda_eval_source(p)?;
    let mut s = String::with_capacity(eval.len() + (16 << 10));
    // NVRTC has no <stdint.h>: the two types common.cuh takes from it.
    s.push_str(
        "// rstark: constraint kernel compiled for one program (crates/backend-cuda/src/jit_source.rs)\n\
         typedef unsigned long long uint64_t;\ntypedef unsigned int uint32_t;\n",
    );
    if has_fixed(p) {
        s.push_str("#define CJ_FIXED 1\n");
    }
    if accumulate {
        s.push_str("#define CJ_ACCUMULATE 1\n");
    }
    if !uses_selectors(p) {
        s.push_str("#define CJ_NO_SELECTORS 1\n");
    }
    s.push_str(&format!("#define CJ_MIN_BLOCKS {min_blocks}\n"));
    if remat {
        s.push_str("#define CJ_REMAT 1\n");
    }
    for (name, text) in HEADERS {
        s.push_str(&format!("// ---- kernels/{name}\n"));
        for line in text.lines() {
            let t = line.trim_start();
            if t.starts_with("#include") || t.starts_with("#pragma once") {
                continue;
            }
            s.push_str(line);
            s.push('\n');
        }
    }
    s.push_str("// ---- the program\n");
    s.push_str(&eval);
    Ok(s)
}

/// The file stem of `source` compiled for `arch` (e.g. "sm_90") in the disk cache: a 64-bit
/// digest (only a name: the stored source is compared in full), the arch, the length.
pub fn cache_stem(source: &str, arch: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut h);
    format!("cj-{:016x}-{}-{arch}", h.finish(), source.len())
}

/// The disk cache: `$RSTARK_KERNEL_CACHE` (`off` disables it), else
/// `$XDG_CACHE_HOME/rstark/kernels`, else `$HOME/.cache/rstark/kernels`.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("RSTARK_KERNEL_CACHE") {
        Some(v) if v == "off" || v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("rstark").join("kernels")),
    }
}

/// A cached cubin for (`source`, `arch`) in `dir`, if its stored source is exactly `source`.
pub fn cache_read(dir: &std::path::Path, source: &str, arch: &str) -> Option<Vec<u8>> {
    let stem = cache_stem(source, arch);
    let stored = std::fs::read(dir.join(format!("{stem}.cu"))).ok()?;
    if stored != source.as_bytes() {
        return None;
    }
    std::fs::read(dir.join(format!("{stem}.cubin"))).ok()
}

/// Stores a cubin (and its source, the key) in `dir`; written to temporary names and renamed,
/// the cubin last, so a reader never sees a partial entry.
pub fn cache_write(
    dir: &std::path::Path,
    source: &str,
    arch: &str,
    cubin: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stem = cache_stem(source, arch);
    let tmp = format!(".tmp-{}-{stem}", std::process::id());
    for (ext, bytes) in [("cu", source.as_bytes()), ("cubin", cubin)] {
        let t = dir.join(format!("{tmp}.{ext}"));
        std::fs::write(&t, bytes)?;
        std::fs::rename(&t, dir.join(format!("{stem}.{ext}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_air::examples::{FibonacciAir, PreprocessedRangeAir};

    #[test]
    fn the_source_has_no_includes_and_fixed_programs_say_so() {
        let p = rstark_constraints::compile_table(&FibonacciAir, 3).unwrap();
        let s = kernel_source(&p).unwrap();
        assert!(!s.lines().any(|l| l.trim_start().starts_with("#include")));
        assert!(s.contains(KERNEL_NAME) && s.contains("cj_eval") && !s.contains("CJ_FIXED 1"));
        let air = PreprocessedRangeAir { log_height: 3 };
        let q = rstark_constraints::compile_table(&air, 0).unwrap();
        assert!(kernel_source(&q).unwrap().contains("#define CJ_FIXED 1"));
    }

    #[test]
    fn the_disk_cache_returns_only_the_exact_source() {
        let dir = std::env::temp_dir().join(format!("rstark-jit-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        cache_write(&dir, "source A", "sm_90", b"cubin A").unwrap();
        assert_eq!(cache_read(&dir, "source A", "sm_90").unwrap(), b"cubin A");
        assert!(cache_read(&dir, "source A", "sm_80").is_none());
        assert!(cache_read(&dir, "source B", "sm_90").is_none());
        // a stem collision with a different stored source is a miss
        let stem = cache_stem("source C", "sm_90");
        std::fs::write(dir.join(format!("{stem}.cu")), "not source C").unwrap();
        std::fs::write(dir.join(format!("{stem}.cubin")), "x").unwrap();
        assert!(cache_read(&dir, "source C", "sm_90").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
