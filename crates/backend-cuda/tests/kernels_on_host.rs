//! Kernels that loop over a grid dimension (so that any width or height fits the hardware's
//! 65535 blocks along y) run on the host with a real block (tests/host/grid_host.cpp: a thread
//! per CUDA thread, a barrier for `__syncthreads`), each with a grid smaller than its work, and
//! match a plain reference: `cp_rows_to_cols` (row tiles along y) and
//! `trace_to_colmajor_bitrev` (column groups along y). Needs a C++20 compiler (`$CXX`, else
//! `g++`), no GPU; runs in CI. The GPU runs them at full size in tests/gpu_limits.rs.

use std::path::Path;
use std::process::Command;

/// The source of `extern "C"` kernel `name` in `src`: from its `extern "C"` to its closing brace.
fn kernel_source(src: &str, name: &str) -> String {
    let at = src
        .find(&format!("{name}("))
        .unwrap_or_else(|| panic!("kernel {name} not found"));
    let start = src[..at]
        .rfind("extern \"C\"")
        .expect("extern \"C\" before the kernel");
    let open = at + src[at..].find('{').expect("kernel body");
    let mut depth = 0;
    for (i, ch) in src[open..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return src[start..open + i + 1].to_string();
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced braces in kernel {name}");
}

#[test]
fn grid_looped_kernels_match_reference() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kernels = manifest.join("kernels");
    let read = |f: &str| std::fs::read_to_string(kernels.join(f)).unwrap();
    let (ntt, constraints) = (read("ntt.cu"), read("constraints.cu"));
    let tb_cols = ntt
        .lines()
        .find(|l| l.starts_with("#define TB_COLS"))
        .expect("TB_COLS");
    let pasted = format!(
        "{tb_cols}\n{}\n{}\n",
        kernel_source(&ntt, "trace_to_colmajor_bitrev"),
        kernel_source(&constraints, "cp_rows_to_cols")
    );
    let harness = std::fs::read_to_string(manifest.join("tests/host/grid_host.cpp")).unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let cpp = dir.join("grid_host.cpp");
    std::fs::write(&cpp, harness.replace("// KERNELS_HERE", &pasted)).unwrap();
    let exe = dir.join("grid_host");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
    let status = Command::new(&cxx)
        .args(["-O1", "-std=c++20", "-pthread", "-Wall", "-I"])
        .arg(&kernels)
        .arg("-o")
        .arg(&exe)
        .arg(&cpp)
        .status()
        .unwrap_or_else(|e| panic!("this test needs a C++20 compiler ({cxx}): {e}"));
    assert!(
        status.success(),
        "compiling the kernels for the host failed"
    );
    let out = Command::new(&exe).output().unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "a grid-looped kernel differs from its reference"
    );
}
