//! The guide's walks (docs/GUIDE.md) at small sizes on the CPU: every AIR proves, the proof
//! bytes verify, and a second run gives the same bytes.

use rstark_backend_cpu::CpuBackend;
use rstark_examples::cli::{Args, BackendChoice};
use rstark_examples::{prove_blake3, prove_keccak, prove_poseidon2, prove_weighted_sum};
use rstark_protocol::{StarkParams, VerifyingKey, presets};

const PARAMS: StarkParams = presets::FAST_TEST;

#[test]
fn weighted_sum_user_air() {
    for log_rows in [3, 6] {
        let p = prove_weighted_sum(&CpuBackend, &PARAMS, log_rows).unwrap();
        let vk = VerifyingKey::from_bytes(p.verifying_key.as_ref().unwrap()).unwrap();
        assert!(vk.tables[0].preprocessed.is_some());
        assert_eq!(
            prove_weighted_sum(&CpuBackend, &PARAMS, log_rows).unwrap(),
            p
        );
    }
    // Another preset (blowup 4).
    prove_weighted_sum(&CpuBackend, &presets::BALANCED, 4).unwrap();
}

#[test]
fn published_poseidon2_air() {
    let p = prove_poseidon2(&CpuBackend, &PARAMS, 2).unwrap();
    assert_eq!(p.public_values.len(), 3);
}

#[test]
fn published_blake3_air() {
    prove_blake3(&CpuBackend, &PARAMS, 1).unwrap();
}

#[test]
fn published_keccak_air() {
    prove_keccak(&CpuBackend, &PARAMS, 1).unwrap();
}

#[test]
fn command_line() {
    let args = |s: &str| Args::parse(s.split_whitespace().map(String::from), 7);
    let a = args("--backend both --size 3 --preset compact").unwrap();
    assert_eq!((a.backend, a.size), (BackendChoice::Both, 3));
    assert_eq!(a.params, presets::COMPACT);
    assert_eq!(args("").unwrap().size, 7);
    assert!(args("--backend tpu").is_err());
    assert!(args("--size").is_err());
    assert!(args("--preset nope").is_err());
    // Without the `cuda` feature the CUDA backend is an error, not a panic.
    #[cfg(not(feature = "cuda"))]
    assert!(rstark_examples::cli::run(&Tiny, BackendChoice::Cuda).is_err());
}

#[cfg(not(feature = "cuda"))]
struct Tiny;

#[cfg(not(feature = "cuda"))]
impl rstark_examples::cli::Walk for Tiny {
    fn name(&self) -> String {
        "tiny".into()
    }
    fn run<B: rstark_protocol::Backend>(
        &self,
        backend: &B,
    ) -> rstark_examples::Result<rstark_examples::Proved> {
        prove_weighted_sum(backend, &PARAMS, 3)
    }
}
