//! Kernels that loop over a grid dimension (so that any width or height fits the hardware's
//! 65535 blocks along y) run on the host with a real block (tests/host/grid_host.cpp: a thread
//! per CUDA thread, a barrier for `__syncthreads`), each with a grid smaller than its work, and
//! match a plain reference: `cp_rows_to_cols` (row tiles along y) and
//! `trace_to_colmajor_bitrev` (column groups along y). Needs a C++20 compiler (`$CXX`, else
//! `g++`), no GPU; runs in CI. The GPU runs them at full size in tests/gpu_limits.rs.
//!
//! The proof-of-work kernel (kernels/pow.cu, through tests/host/pow_host.cpp, each thread in
//! turn) launched on `rstark_backend_cuda::pow::Schedule`'s batches finds
//! `rstark_transcript::least_nonce`'s nonce for random states and 1..=18 bits, with the
//! device's batches and with small ones; near the top of the nonce range it finds a scalar
//! search's; batches queued after a hit hash nothing. The GPU: tests/gpu_backend.rs.

use std::path::{Path, PathBuf};
use std::process::Command;

use rstark_backend_cuda::pow::{NO_HIT, Schedule, batch_log, state_words};
use rstark_transcript::{leading_zero_bits, least_nonce};
use tiny_keccak::{Hasher, Keccak};

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

fn pow_harness() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pow_host");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
    let status = Command::new(&cxx)
        // -O3: the host Keccak-f is 6 times faster than at -O2 (millions of hashes here)
        .args(["-O3", "-std=c++17", "-Wall", "-I"])
        .arg(manifest.join("kernels"))
        .arg("-o")
        .arg(&exe)
        .arg(manifest.join("tests/host/pow_host.cpp"))
        .status()
        .unwrap_or_else(|e| panic!("this test needs a C++ compiler ({cxx}): {e}"));
    assert!(
        status.success(),
        "compiling the proof-of-work kernel for the host failed"
    );
    exe
}

fn run_pow(exe: &Path, mode: &str, case: &[u64]) -> Vec<u64> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let input = dir.join(format!("pow_{mode}.in"));
    let output = dir.join(format!("pow_{mode}.out"));
    let bytes: Vec<u8> = case.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&input, bytes).unwrap();
    let status = Command::new(exe)
        .arg(mode)
        .arg(&input)
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success(), "pow_host {mode} failed");
    std::fs::read(&output)
        .unwrap()
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Leading zero bits of Keccak256(0x02 ‖ state ‖ le64(nonce)).
fn zeros(state: &[u8; 32], nonce: u64) -> u32 {
    let mut k = Keccak::v256();
    k.update(&[2]);
    k.update(state);
    k.update(&nonce.to_le_bytes());
    let mut d = [0u8; 32];
    k.finalize(&mut d);
    leading_zero_bits(&d)
}

/// SplitMix64.
fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One search of the case file: the state, the bits, and the schedule's checks that cover
/// nonces up to at least `upto` (or all of it, when it ends sooner).
fn push_search(case: &mut Vec<u64>, state: &[u8; 32], bits: u32, schedule: Schedule, upto: u64) {
    case.extend(state_words(state));
    case.push(u64::from(bits));
    let mut checks = Vec::new();
    for check in schedule {
        let end = check.last().map_or(0, |&(f, c)| f + c);
        checks.push(check);
        if end > upto {
            break;
        }
    }
    case.push(checks.len() as u64);
    for check in checks {
        case.push(check.len() as u64);
        for (first, count) in check {
            case.extend([first, count]);
        }
    }
}

#[test]
fn pow_kernel_finds_the_least_nonce() {
    let exe = pow_harness();
    // The mask: a digest passes iff its leading zero bits are at least `bits`.
    let masks = run_pow(&exe, "mask", &[]);
    assert_eq!(masks.len(), 258 * 4);
    for bits in 0..=257u32 {
        let mut want = [0u64; 4];
        for i in 0..bits.min(256) {
            let (byte, bit) = (i / 8, 7 - i % 8);
            want[(byte / 8) as usize] |= 1u64 << (8 * (byte % 8) + bit);
        }
        let i = bits as usize * 4;
        assert_eq!(masks[i..i + 4], want, "mask of {bits} bits");
    }

    let mut seed = 0x5eed_u64;
    let mut random_state = || {
        let mut s = [0u8; 32];
        for c in s.chunks_exact_mut(8) {
            c.copy_from_slice(&splitmix(&mut seed).to_le_bytes());
        }
        s
    };
    // (state, bits, batch log, start, expected nonce or NO_HIT)
    let mut searches: Vec<([u8; 32], u32, u32, u64, u64)> = Vec::new();
    for bits in 1..=18u32 {
        for k in 0..3 {
            let s = random_state();
            let want = least_nonce(&s, bits).unwrap();
            // Small batches (the kernel does not care), several checks per search.
            let log = [4, 7, bits.saturating_sub(3).clamp(5, 12)][k];
            searches.push((s, bits, log, 0, want));
        }
    }
    // The device's own batches (2^18 nonces or more: a few, each is slow here).
    for bits in [1u32, 9, 17] {
        let s = random_state();
        let want = least_nonce(&s, bits).unwrap();
        searches.push((s, bits, batch_log(bits), 0, want));
    }
    // High nonces (every byte of the nonce set, across the lanes) against a scalar search; the
    // end of the range (2^64 − 1 is never searched); 0 bits.
    for (bits, start) in [
        (6u32, (1u64 << 56) - 40),
        (7, u64::MAX - 100_000),
        (5, 0xFEDC_BA98_7654_3210),
    ] {
        let s = random_state();
        let want = (start..u64::MAX).find(|&n| zeros(&s, n) >= bits).unwrap();
        searches.push((s, bits, 6, start, want));
    }
    let s = random_state();
    let start = u64::MAX - 40;
    assert!((start..u64::MAX).all(|n| zeros(&s, n) < 20));
    searches.push((s, 20, 4, start, NO_HIT));
    searches.push((random_state(), 0, 4, 1234, 1234));

    let mut case = vec![searches.len() as u64];
    for &(s, bits, log, start, want) in &searches {
        push_search(&mut case, &s, bits, Schedule::starting_at(start, log), want);
    }
    let out = run_pow(&exe, "search", &case);
    assert_eq!(out.len(), 2 * searches.len());
    for (i, &(_, bits, log, start, want)) in searches.iter().enumerate() {
        let (got, hashed) = (out[2 * i], out[2 * i + 1]);
        assert_eq!(
            got, want,
            "search {i}: {bits} bits, batches of 2^{log} from {start}"
        );
        if want != NO_HIT {
            // Every batch up to the hit's hashed, none after it.
            let batch = 1u64 << log;
            let end = start.saturating_add(((want - start) / batch + 1) * batch);
            assert_eq!(hashed, end - start, "search {i}: batches after the hit");
        }
    }
    println!(
        "pow kernel on the host: {} searches match least_nonce and the scalar search",
        searches.len()
    );
}
