//! The CUDA backend end to end: for every workload, `prove(&CudaBackend)` gives the same proof
//! bytes as `prove(&CpuBackend)`, the golden proofs match, and a CUDA proof verifies with the
//! host verifier. Built only with `--features cuda`; without a GPU every test FAILS (never skips).
#![cfg(feature = "cuda")]

use std::sync::Arc;
use std::time::Instant;

use rstark_air::examples::{RangeTableAir, RangeUserAir, range_pair_traces};
use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::CudaBackend;
use rstark_poly::RowMajor;
use rstark_protocol::{StarkParams, presets};
use rstark_prover::{TableInput, golden, prove};
use rstark_verifier::{VerifierTable, verify_bytes};

fn gpu() -> CudaBackend {
    let be =
        CudaBackend::new(0).unwrap_or_else(|e| panic!("GPU backend tests need a CUDA GPU: {e}"));
    be.context().set_poison(true);
    be
}

fn log(msg: String) {
    println!("[gpu-backend] {msg}");
}

fn workload(name: &str, size: usize) -> Vec<TableInput> {
    rstark_workloads::build(name, size)
        .unwrap()
        .tables
        .into_iter()
        .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
        .collect()
}

fn range_tables() -> Vec<TableInput> {
    let (t, u) = range_pair_traces(64, 256);
    vec![
        TableInput::new(
            "range",
            Arc::new(RangeTableAir),
            RowMajor::new(t, 2).unwrap(),
            vec![],
        ),
        TableInput::new(
            "user",
            Arc::new(RangeUserAir),
            RowMajor::new(u, 2).unwrap(),
            vec![],
        ),
    ]
}

/// CUDA proof bytes == CPU proof bytes.
fn parity(be: &CudaBackend, what: &str, params: &StarkParams, tables: &[TableInput]) -> Vec<u8> {
    let t = Instant::now();
    let cpu = prove(&CpuBackend, params, tables).unwrap().to_bytes();
    let cpu_s = t.elapsed().as_secs_f64();
    be.reset_transfers();
    let t = Instant::now();
    let gpu = prove(be, params, tables)
        .unwrap_or_else(|e| panic!("{what}: CUDA prove failed: {e}"))
        .to_bytes();
    let gpu_s = t.elapsed().as_secs_f64();
    let tr = be.total_transfers();
    let first_diff = cpu.iter().zip(&gpu).position(|(a, b)| a != b);
    log(format!(
        "{what}: proof {} B (cpu) {} B (cuda), identical={} first_diff={first_diff:?}, \
         cpu {cpu_s:.3} s, cuda {gpu_s:.3} s, h2d {} B, d2h {} B",
        cpu.len(),
        gpu.len(),
        cpu == gpu,
        tr.h2d_bytes,
        tr.d2h_bytes
    ));
    for (phase, t) in be.transfers_by_phase() {
        log(format!(
            "  {phase}: h2d {} B ({} copies), d2h {} B ({} copies)",
            t.h2d_bytes, t.h2d_copies, t.d2h_bytes, t.d2h_copies
        ));
    }
    assert!(cpu == gpu, "{what}: CUDA proof differs from the CPU proof");
    gpu
}

#[test]
fn fib_proof_bytes_match_cpu() {
    let be = gpu();
    parity(
        &be,
        "fib 1024 default",
        &presets::DEFAULT,
        &workload("fib", 1024),
    );
    parity(
        &be,
        "fib 64 fast-test",
        &presets::FAST_TEST,
        &workload("fib", 64),
    );
}

#[test]
fn logup_range_tables_match_cpu() {
    let be = gpu();
    parity(
        &be,
        "range/user LogUp",
        &presets::FAST_TEST,
        &range_tables(),
    );
    parity(
        &be,
        "range/user LogUp default",
        &presets::DEFAULT,
        &range_tables(),
    );
}

#[test]
fn keccak_proof_bytes_match_cpu() {
    let be = gpu();
    parity(&be, "keccak 4", &presets::FAST_TEST, &workload("keccak", 4));
    parity(
        &be,
        "keccak 40 default",
        &presets::DEFAULT,
        &workload("keccak", 40),
    );
}

#[test]
fn vm_proof_bytes_match_cpu() {
    let be = gpu();
    parity(&be, "vm 256", &presets::FAST_TEST, &workload("vm", 256));
    parity(
        &be,
        "vm 4096 default",
        &presets::DEFAULT,
        &workload("vm", 4096),
    );
}

#[test]
fn golden_proofs() {
    let be = gpu();
    golden::check_backend(&be).unwrap_or_else(|e| panic!("golden: {e}"));
    log("golden::check_backend passed".into());
}

#[test]
fn cuda_proof_verifies_on_host() {
    let be = gpu();
    let w = rstark_workloads::build("vm", 512).unwrap();
    let tables: Vec<TableInput> = w
        .tables
        .iter()
        .map(|t| {
            TableInput::new(
                t.name,
                Arc::new(t.air),
                t.trace.clone(),
                t.public_values.clone(),
            )
        })
        .collect();
    let statement: Vec<VerifierTable> = w
        .tables
        .iter()
        .map(|t| VerifierTable::new(t.name, Arc::new(t.air), t.public_values.clone()))
        .collect();
    let bytes = prove(&be, &presets::FAST_TEST, &tables).unwrap().to_bytes();
    verify_bytes(&presets::FAST_TEST, &statement, &bytes).unwrap();
    // and a flipped byte is refused
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    assert!(verify_bytes(&presets::FAST_TEST, &statement, &bad).is_err());
    log(format!(
        "vm 512: CUDA proof ({} B) verifies on the host; a flipped byte is refused",
        bytes.len()
    ));
}

#[test]
fn bad_input_is_an_error() {
    let be = gpu();
    let trace = RowMajor::new(vec![rstark_field::F::new(1); 6], 2).unwrap();
    use rstark_protocol::Backend;
    assert!(
        be.commit_trace(&trace, 1).is_err(),
        "3 rows is not a power of two"
    );
    let ok = be
        .commit_trace(
            &RowMajor::new(vec![rstark_field::F::new(1); 8], 2).unwrap(),
            1,
        )
        .unwrap();
    assert!(be.open(&ok, 1 << 20).is_err());
    log("bad inputs give typed errors".into());
}

/// Runs both backends in lockstep through a whole proof and names every method whose result
/// differs (the CPU's result carries the proof on), so a parity failure points at one kernel.
mod lockstep {
    use std::sync::Mutex;

    use rstark_backend_cpu::{CpuBackend, CpuCodeword, CpuCommitted};
    use rstark_backend_cuda::{CudaBackend, CudaCodeword, CudaCommitted};
    use rstark_field::{EF, unflatten_ext};
    use rstark_merkle::Digest;
    use rstark_poly::RowMajor;
    use rstark_protocol::{Backend, BackendError, CompositionInputs, DeepInputs, MerkleOpening};

    pub struct Pair<'a> {
        pub gpu: &'a CudaBackend,
        pub diffs: Mutex<Vec<String>>,
    }

    impl Pair<'_> {
        fn check(&self, what: &str, same: bool) {
            if !same {
                self.diffs.lock().unwrap().push(what.to_string());
            }
        }
        fn cw_values(&self, c: &CudaCodeword) -> Vec<EF> {
            let m = c.values.download(self.gpu.context()).unwrap();
            unflatten_ext(&m.values).unwrap()
        }
    }

    fn same_opening(a: &MerkleOpening, b: &MerkleOpening) -> bool {
        a.row0 == b.row0 && a.row1 == b.row1 && a.path == b.path
    }

    impl Backend for Pair<'_> {
        type Committed = (CpuCommitted, CudaCommitted);
        type Codeword = (CpuCodeword, CudaCodeword);
        fn name(&self) -> &'static str {
            "lockstep"
        }
        fn commit_trace(&self, t: &RowMajor, b: usize) -> Result<Self::Committed, BackendError> {
            let c = CpuBackend.commit_trace(t, b)?;
            let g = self.gpu.commit_trace(t, b)?;
            self.check("commit_trace root", c.tree.root() == g.tree.root());
            Ok((c, g))
        }
        fn root(&self, m: &Self::Committed) -> Digest {
            m.0.tree.root()
        }
        fn open(&self, m: &Self::Committed, leaf: usize) -> Result<MerkleOpening, BackendError> {
            let c = CpuBackend.open(&m.0, leaf)?;
            let g = self.gpu.open(&m.1, leaf)?;
            self.check("open", same_opening(&c, &g));
            Ok(c)
        }
        fn evaluate_at(&self, m: &Self::Committed, p: EF) -> Result<Vec<EF>, BackendError> {
            let c = CpuBackend.evaluate_at(&m.0, p)?;
            let g = self.gpu.evaluate_at(&m.1, p)?;
            let kind = if m.0.coefficients.is_some() {
                "composition"
            } else {
                "trace"
            };
            self.check(&format!("evaluate_at ({kind})"), c == g);
            Ok(c)
        }
        fn composition(
            &self,
            i: &CompositionInputs<'_, Self::Committed>,
        ) -> Result<Self::Committed, BackendError> {
            macro_rules! side {
                ($k:tt) => {
                    CompositionInputs {
                        air: i.air,
                        main: &i.main.$k,
                        aux: i.aux.map(|a| &a.$k),
                        log_height: i.log_height,
                        log_blowup: i.log_blowup,
                        log_quotient_degree: i.log_quotient_degree,
                        public_values: i.public_values,
                        alpha_pows: i.alpha_pows,
                        num_air_constraints: i.num_air_constraints,
                        interactions: i.interactions,
                        logup: i.logup,
                        claimed_sum: i.claimed_sum,
                    }
                };
            }
            let c = CpuBackend.composition(&side!(0))?;
            let g = self.gpu.composition(&side!(1))?;
            self.check(
                &format!("composition root (d={})", i.log_quotient_degree),
                c.tree.root() == g.tree.root(),
            );
            Ok((c, g))
        }
        fn deep(
            &self,
            i: &DeepInputs<'_, Self::Committed>,
        ) -> Result<Self::Codeword, BackendError> {
            macro_rules! side {
                ($k:tt) => {
                    DeepInputs {
                        matrices: i.matrices.iter().map(|m| &m.$k).collect(),
                        log_height: i.log_height,
                        log_blowup: i.log_blowup,
                        z: i.z,
                        z_next: i.z_next,
                        coeffs: i.coeffs,
                        scale: i.scale,
                    }
                };
            }
            let c = CpuBackend.deep(&side!(0))?;
            let g = self.gpu.deep(&side!(1))?;
            self.check("deep", c.values == self.cw_values(&g));
            Ok((c, g))
        }
        fn add_codeword(
            &self,
            acc: &mut Self::Codeword,
            o: &Self::Codeword,
        ) -> Result<(), BackendError> {
            CpuBackend.add_codeword(&mut acc.0, &o.0)?;
            self.gpu.add_codeword(&mut acc.1, &o.1)?;
            self.check("add_codeword", acc.0.values == self.cw_values(&acc.1));
            Ok(())
        }
        fn fold(&self, cw: &Self::Codeword, beta: EF) -> Result<Self::Codeword, BackendError> {
            let c = CpuBackend.fold(&cw.0, beta)?;
            let g = self.gpu.fold(&cw.1, beta)?;
            self.check("fold", c.values == self.cw_values(&g));
            Ok((c, g))
        }
        fn commit_codeword(&self, cw: &mut Self::Codeword) -> Result<Digest, BackendError> {
            let c = CpuBackend.commit_codeword(&mut cw.0)?;
            let g = self.gpu.commit_codeword(&mut cw.1)?;
            self.check("commit_codeword", c == g);
            Ok(c)
        }
        fn open_codeword(
            &self,
            cw: &Self::Codeword,
            leaf: usize,
        ) -> Result<MerkleOpening, BackendError> {
            let c = CpuBackend.open_codeword(&cw.0, leaf)?;
            let g = self.gpu.open_codeword(&cw.1, leaf)?;
            self.check("open_codeword", same_opening(&c, &g));
            Ok(c)
        }
        fn final_poly(&self, cw: &Self::Codeword, len: usize) -> Result<Vec<EF>, BackendError> {
            let c = CpuBackend.final_poly(&cw.0, len)?;
            let g = self.gpu.final_poly(&cw.1, len);
            self.check("final_poly", g.as_ref().ok() == Some(&c));
            Ok(c)
        }
    }
}

/// Every backend method, one by one, against the CPU's on real proofs (runs first: `aaa`).
#[test]
fn aaa_lockstep_methods_match_cpu() {
    let be = gpu();
    let mut all = true;
    let cases: Vec<(&str, StarkParams, Vec<TableInput>)> = vec![
        ("fib 64", presets::FAST_TEST, workload("fib", 64)),
        ("range/user", presets::FAST_TEST, range_tables()),
        ("vm 256", presets::FAST_TEST, workload("vm", 256)),
        ("keccak 4", presets::FAST_TEST, workload("keccak", 4)),
        (
            "golden pow9-blowup4",
            golden::cases()[4].params,
            golden::cases().remove(4).tables,
        ),
    ];
    for (what, params, tables) in cases {
        let pair = lockstep::Pair {
            gpu: &be,
            diffs: Default::default(),
        };
        let r = prove(&pair, &params, &tables);
        let mut diffs = pair.diffs.into_inner().unwrap();
        diffs.dedup();
        log(format!(
            "lockstep {what}: prove {}, methods differing: {diffs:?}",
            if r.is_ok() { "ok" } else { "failed" }
        ));
        all &= r.is_ok() && diffs.is_empty();
    }
    assert!(all, "some CUDA backend method differs from the CPU's");
}
