//! With the `cuda` feature: compile kernels/*.cu into one fatbin (cubins for sm_80, 86, 89, 90 and
//! every newer architecture this nvcc knows, plus PTX of the newest) and embed it via OUT_DIR.
//! Without the feature: nothing. nvcc is looked up in NVCC, CUDA_HOME/CUDA_PATH, PATH, then the
//! toolchain that scripts/install-cuda-toolchain.sh installs.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const BASE_ARCHS: [u32; 4] = [80, 86, 89, 90];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=kernels");
    for var in [
        "NVCC",
        "CUDA_HOME",
        "CUDA_PATH",
        "RSTARK_CUDA_TOOLCHAIN",
        "RSTARK_CUDA_ARCHS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let nvcc = find_nvcc(&manifest).unwrap_or_else(|| {
        panic!(
            "\n\nrstark-backend-cuda: the `cuda` feature needs nvcc (CUDA >= 12.8), and none was found \
             in $NVCC, $CUDA_HOME/bin, $CUDA_PATH/bin, $PATH or the project toolchain.\n\
             Install the project toolchain (from PyPI, ~1 GB) with:\n\n    \
             bash scripts/install-cuda-toolchain.sh\n\n\
             or point NVCC at an existing nvcc.\n\n"
        )
    });

    let kernel_dir = manifest.join("kernels");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&kernel_dir)
        .expect("kernels/ directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .collect();
    sources.sort();
    // One translation unit including every kernel file -> one fatbin.
    let unit = out.join("rstark_kernels.cu");
    let body: String = sources
        .iter()
        .map(|p| format!("#include \"{}\"\n", p.display()))
        .collect();
    std::fs::write(&unit, body).unwrap();

    let archs = archs(&nvcc);
    let fatbin = out.join("rstark_kernels.fatbin");
    let mut cmd = Command::new(&nvcc);
    cmd.arg("-fatbin")
        .arg("-O3")
        .arg("-std=c++17")
        .arg("--extended-lambda")
        .arg("-I")
        .arg(&kernel_dir)
        .arg("-o")
        .arg(&fatbin);
    let newest = *archs.iter().max().unwrap();
    for a in &archs {
        cmd.arg(format!("-gencode=arch=compute_{a},code=sm_{a}"));
    }
    cmd.arg(format!(
        "-gencode=arch=compute_{newest},code=compute_{newest}"
    ));
    cmd.arg(&unit);
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running {}: {e}", nvcc.display()));
    assert!(
        status.success(),
        "nvcc failed compiling kernels/*.cu ({})",
        nvcc.display()
    );
    println!(
        "cargo:rustc-env=RSTARK_CUDA_ARCHS={}",
        archs
            .iter()
            .map(|a| format!("sm_{a}"))
            .collect::<Vec<_>>()
            .join(",")
    );
}

/// sm_80, 86, 89, 90 and every newer compute_XY (XY >= 100) this nvcc lists, unless
/// RSTARK_CUDA_ARCHS (comma-separated numbers, e.g. "90") narrows it for quick local builds.
fn archs(nvcc: &Path) -> Vec<u32> {
    if let Ok(list) = env::var("RSTARK_CUDA_ARCHS") {
        let v: Vec<u32> = list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        if !v.is_empty() {
            return v;
        }
    }
    let mut v = BASE_ARCHS.to_vec();
    if let Ok(o) = Command::new(nvcc).arg("--list-gpu-arch").output() {
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            if let Some(n) = line
                .trim()
                .strip_prefix("compute_")
                .and_then(|s| s.parse::<u32>().ok())
                && n >= 100
                && !v.contains(&n)
            {
                v.push(n);
            }
        }
    }
    v
}

fn find_nvcc(manifest: &Path) -> Option<PathBuf> {
    let exe = |p: PathBuf| p.is_file().then_some(p);
    if let Some(p) = env::var_os("NVCC") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "rstark-backend-cuda: NVCC={} is not a file",
            p.display()
        );
        return Some(p);
    }
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(p) = env::var_os(var).and_then(|d| exe(PathBuf::from(d).join("bin/nvcc"))) {
            return Some(p);
        }
    }
    if let Some(path) = env::var_os("PATH") {
        for dir in env::split_paths(&path) {
            if let Some(p) = exe(dir.join("nvcc")) {
                return Some(p);
            }
        }
    }
    // The PyPI toolchain: <venv>/lib/python3.*/site-packages/nvidia/cu*/bin/nvcc
    let workspace = manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf();
    let mut venvs: Vec<PathBuf> = env::var_os("RSTARK_CUDA_TOOLCHAIN")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    venvs.push(workspace.join("target/cuda-toolchain"));
    venvs.push(PathBuf::from("/opt/nvcc"));
    for venv in venvs {
        let Ok(libs) = std::fs::read_dir(venv.join("lib")) else {
            continue;
        };
        for py in libs.flatten() {
            let nvidia = py.path().join("site-packages/nvidia");
            let Ok(dirs) = std::fs::read_dir(&nvidia) else {
                continue;
            };
            let mut cands: Vec<PathBuf> =
                dirs.flatten().map(|d| d.path().join("bin/nvcc")).collect();
            cands.sort();
            if let Some(p) = cands.into_iter().rev().find(|p| p.is_file()) {
                return Some(p);
            }
        }
    }
    None
}
