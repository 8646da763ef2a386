//! The CUDA backend end to end: for every workload, `prove(&CudaBackend)` gives the same proof
//! bytes as `prove(&CpuBackend)`, the golden proofs match, and a CUDA proof verifies with the
//! host verifier. Built only with `--features cuda`; without a GPU every test FAILS (never skips).
#![cfg(feature = "cuda")]

use std::sync::Arc;
use std::time::Instant;

use rstark_air::examples::{RangeTableAir, RangeUserAir, range_pair_traces};
use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::CudaBackend;
use rstark_backend_cuda::residency::Residency;
use rstark_field::{EF, F, PrimeCharacteristicRing, ef_from_base};
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
    // the same proof with every matrix streamed (LDEs recomputed from coefficients)
    be.force_residency(Some(Residency::Streamed));
    let streamed = prove(be, params, tables);
    be.force_residency(None);
    let streamed = streamed
        .unwrap_or_else(|e| panic!("{what}: CUDA prove (streamed) failed: {e}"))
        .to_bytes();
    assert!(
        streamed == cpu,
        "{what}: CUDA proof with every matrix streamed differs"
    );
    log(format!("{what}: identical with every matrix streamed"));
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

/// Keccak with its trace generated on the device (`build_generated`: only the inputs go up)
/// proves the same bytes as the CPU backend on the host trace.
#[test]
fn keccak_device_trace_proof_matches_cpu() {
    let be = gpu();
    for (size, params, preset) in [
        (4, &presets::FAST_TEST, "fast-test"),
        (171, &presets::FAST_TEST, "fast-test"),
        (40, &presets::DEFAULT, "default"),
        // 2^15 rows: the LDE's fused inverse-last / forward-first pass (2^14 .. 2^17)
        (683, &presets::FAST_TEST, "fast-test"),
    ] {
        let cpu = prove(&CpuBackend, params, &workload("keccak", size))
            .unwrap()
            .to_bytes();
        let generated: Vec<TableInput> = rstark_workloads::build_generated("keccak", size)
            .unwrap()
            .tables
            .into_iter()
            .map(|t| TableInput::new(t.name, Arc::new(t.air), t.trace, t.public_values))
            .collect();
        assert!(matches!(
            generated[0].trace,
            rstark_protocol::TraceSource::Generated(_)
        ));
        // A first proof fills the context's twiddle and coset caches (uploaded once per size),
        // so the measured one moves only what every proof moves.
        prove(&be, params, &generated).unwrap();
        be.reset_transfers();
        let t = Instant::now();
        let gpu = prove(&be, params, &generated)
            .unwrap_or_else(|e| panic!("keccak {size}: CUDA prove failed: {e}"))
            .to_bytes();
        let gpu_s = t.elapsed().as_secs_f64();
        let phases = be.transfers_by_phase();
        let tr = be.total_transfers();
        log(format!(
            "keccak {size} {preset}, device-generated trace: identical={} cuda {gpu_s:.3} s, \
             h2d {} B, d2h {} B",
            cpu == gpu,
            tr.h2d_bytes,
            tr.d2h_bytes
        ));
        for (phase, t) in &phases {
            log(format!(
                "  {phase}: h2d {} B ({} copies), d2h {} B ({} copies)",
                t.h2d_bytes, t.h2d_copies, t.d2h_bytes, t.d2h_copies
            ));
        }
        assert!(cpu == gpu, "keccak {size}: device-trace proof differs");
        // Only the inputs went up for the main trace, and no host trace was uploaded.
        let generation = phases
            .iter()
            .find(|(p, _)| *p == "trace generation + LDE + commit")
            .map(|(_, t)| (t.h2d_bytes, t.h2d_copies));
        assert_eq!(generation, Some((size as u64 * 200, 1)), "keccak {size}");
        assert!(
            phases
                .iter()
                .all(|(p, _)| *p != "trace upload + LDE + commit"),
            "keccak {size}: a trace was uploaded"
        );
    }
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

/// The device split of the quotient into its parts (and their LDE and tree) equals the CPU's
/// `split_quotient` + `lde_from_coefficients` + `MerkleTree::commit`, byte for byte, on random
/// quotient values (any values are a quotient of degree < N·D) of several shapes.
#[test]
fn quotient_split_matches_host() {
    use rstark_backend_cuda::DeviceMatrix;
    use rstark_field::{GENERATOR, unflatten_ext};
    use rstark_merkle::MerkleTree;
    use rstark_poly::{golden, lde_from_coefficients};

    let be = gpu();
    let cases = [
        (1, 0, 1),
        (1, 1, 1),
        (2, 4, 2),
        (3, 2, 1),
        (5, 3, 2),
        (9, 1, 1),
        (10, 4, 3),
        (12, 2, 1),
        (13, 0, 2),
        (16, 1, 1),
    ];
    for (seed, &(n, d, b)) in cases.iter().enumerate() {
        let size = 1usize << (n + d);
        let values = golden::elements(3 * size, 1000 + seed as u64);
        let quotient = unflatten_ext(&values).unwrap();
        let host = rstark_backend_cpu::split_quotient(&quotient, n, d).unwrap();
        let dev_q = DeviceMatrix::upload(be.context(), &RowMajor::new(values, 3).unwrap()).unwrap();
        let parts = be
            .split_quotient(&dev_q, n, d)
            .unwrap()
            .download(be.context())
            .unwrap();
        assert_eq!(parts.width, host.width, "n={n} d={d}: width");
        assert!(parts.values == host.values, "n={n} d={d}: parts differ");
        let committed = be.commit_quotient_parts(&dev_q, n, d, b, None).unwrap();
        let host_lde = lde_from_coefficients(&host, n + b, GENERATOR);
        let dev_lde = committed
            .lde
            .as_ref()
            .expect("resident")
            .download(be.context())
            .unwrap();
        assert!(
            dev_lde.values == host_lde.values,
            "n={n} d={d} b={b}: LDE differs"
        );
        assert_eq!(
            committed.tree.root(),
            MerkleTree::commit(&host_lde).unwrap().root(),
            "n={n} d={d} b={b}: root differs"
        );
        let streamed = be
            .commit_quotient_parts(&dev_q, n, d, b, Some(Residency::Streamed))
            .unwrap();
        assert!(streamed.lde.is_none());
        assert_eq!(
            streamed.tree.root(),
            committed.tree.root(),
            "n={n} d={d} b={b}: streamed root differs"
        );
        log(format!(
            "quotient split n={n} d={d} b={b}: parts, LDE and root (resident and streamed) equal the CPU's"
        ));
    }
    // wrong shapes are errors, not panics
    let q = DeviceMatrix::upload(
        be.context(),
        &RowMajor::new(golden::elements(3 * 8, 7), 3).unwrap(),
    )
    .unwrap();
    assert!(
        be.split_quotient(&q, 2, 0).is_err(),
        "8 points for 2^2 x 2^0"
    );
    assert!(be.split_quotient(&q, 1, 5).is_err(), "32 parts");
    assert!(
        be.commit_quotient_parts(&q, 3, 0, 9, None).is_err(),
        "blowup 2^9"
    );
}

/// Resident and streamed commitments give the CPU's root; the resident LDE and the streamed
/// matrix's recomputed openings give the CPU's rows, for shapes with one LDE chunk, several, a
/// ragged last one, one row block or several, and non-canonical input words.
#[test]
fn residencies_commit_the_same_words() {
    use rstark_poly::golden;
    use rstark_protocol::Backend;

    let be = gpu();
    for (seed, &(log_n, w, b)) in [
        (12usize, 40usize, 1usize),
        (10, 300, 1),
        (14, 129, 2),
        (17, 70, 1),
        (15, 3, 4),
        (7, 2633, 1),
    ]
    .iter()
    .enumerate()
    {
        let mut trace = RowMajor::new(golden::elements(w << log_n, 50 + seed as u64), w).unwrap();
        // p3 keeps Goldilocks values not necessarily canonical: put p + small values in (the
        // same field elements), which the upload must reduce.
        let p_plus = |v: u64| {
            let x: rstark_field::F = unsafe { std::mem::transmute(rstark_field::P + v) };
            x
        };
        for i in (0..trace.values.len()).step_by(97) {
            trace.values[i] = p_plus(i as u64 % 1000);
        }
        let cpu = CpuBackend.commit_trace(&trace, b).unwrap();
        let leaves: Vec<usize> = (0..40)
            .map(|i| (i * 7919 + seed * 31) % (cpu.lde.height() / 2))
            .chain([0, cpu.lde.height() / 2 - 1])
            .collect();
        let want = CpuBackend.open_many(&cpu, &leaves).unwrap();
        for r in [Residency::Resident, Residency::Streamed] {
            be.force_residency(Some(r));
            let what = format!("{r:?} 2^{log_n} x {w}, blowup 2^{b}");
            let dev = be.commit_trace(&trace, b).unwrap();
            be.force_residency(None);
            assert_eq!(dev.residency(), r, "{what}");
            assert_eq!(dev.tree.root(), cpu.tree.root(), "{what}: root vs CPU");
            if let Some(lde) = &dev.lde {
                let lde = lde.download(be.context()).unwrap();
                assert!(lde.values == cpu.lde.values, "{what}: LDE differs");
            }
            let got = be.open_many(&dev, &leaves).unwrap();
            assert!(got == want, "{what}: openings differ");
            for z in [
                EF::from(F::from_u64(5)),
                ef_from_base([F::from_u64(3), F::ONE, F::TWO]),
            ] {
                assert_eq!(
                    be.evaluate_at(&dev, z).unwrap(),
                    CpuBackend.evaluate_at(&cpu, z).unwrap(),
                    "{what}: values at {z:?}"
                );
            }
            // both points in one pass (pv_ood2_coef_partial), as the prover asks for them
            let (a, b) = (
                ef_from_base([F::from_u64(3), F::ONE, F::TWO]),
                ef_from_base([F::from_u64(7), F::from_u64(11), F::ZERO]),
            );
            assert_eq!(
                be.evaluate_at_pair(&dev, a, b).unwrap(),
                (
                    CpuBackend.evaluate_at(&cpu, a).unwrap(),
                    CpuBackend.evaluate_at(&cpu, b).unwrap()
                ),
                "{what}: values at two points"
            );
            log(format!(
                "commit {what}: root, openings and out-of-domain values equal the CPU's"
            ));
        }
    }
}

/// The query phase's batch: matrices of several shapes (one streamed) opened at repeated and
/// extreme leaves in one call equal the CPU's openings, with one upload of the indices and two
/// copies back (the range flag and the gathered rows and paths) for all the resident ones.
#[test]
fn open_queries_batch_matches_cpu_in_one_copy() {
    use rstark_poly::golden;
    use rstark_protocol::Backend;

    let be = gpu();
    let shapes = [
        (10usize, 40usize, 1usize),
        (12, 3, 2),
        (7, 2633, 1),
        (9, 70, 3),
    ];
    let traces: Vec<(RowMajor, usize)> = shapes
        .iter()
        .enumerate()
        .map(|(i, &(log_n, w, b))| {
            let m = RowMajor::new(golden::elements(w << log_n, 90 + i as u64), w).unwrap();
            (m, b)
        })
        .collect();
    let cpu: Vec<_> = traces
        .iter()
        .map(|(t, b)| CpuBackend.commit_trace(t, *b).unwrap())
        .collect();
    let leaves: Vec<Vec<usize>> = cpu
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let l = c.lde.height() / 2;
            (0..30)
                .map(|q| (q * 7919 + i * 31) % l)
                .chain([0, l - 1, 5 % l, 5 % l])
                .collect()
        })
        .collect();
    let want: Vec<_> = cpu
        .iter()
        .zip(&leaves)
        .map(|(c, l)| CpuBackend.open_many(c, l).unwrap())
        .collect();
    for streamed in [None, Some(2)] {
        let dev: Vec<_> = traces
            .iter()
            .enumerate()
            .map(|(i, (t, b))| {
                let r = if Some(i) == streamed {
                    Residency::Streamed
                } else {
                    Residency::Resident
                };
                be.force_residency(Some(r));
                let c = be.commit_trace(t, *b).unwrap();
                be.force_residency(None);
                c
            })
            .collect();
        let asked: Vec<_> = dev
            .iter()
            .zip(&leaves)
            .map(|(d, l)| (d, l.as_slice()))
            .collect();
        be.reset_transfers();
        let got = be.open_queries(&asked, &[]).unwrap();
        let tr = be.total_transfers();
        assert!(got.layers.is_empty());
        assert!(
            got.matrices == want,
            "streamed {streamed:?}: openings differ from the CPU's"
        );
        log(format!(
            "open_queries, streamed matrix {streamed:?}: {} up / {} down copies, {} B down",
            tr.h2d_copies, tr.d2h_copies, tr.d2h_bytes
        ));
        if streamed.is_none() {
            assert_eq!(
                (tr.h2d_copies, tr.d2h_copies),
                (1, 1),
                "one batch up, one copy back (the range flag rides in it)"
            );
        }
    }
}

/// A second proof of the same AIR reuses the compiled constraint program, and the composition
/// round moves nothing but the constraint kernel's small inputs and one root.
#[test]
fn constraint_cache_and_composition_traffic() {
    let be = gpu();
    let tables = workload("keccak", 4);
    parity(&be, "keccak 4 (cache miss)", &presets::FAST_TEST, &tables);
    let after_first = be.constraint_cache_stats();
    parity(&be, "keccak 4 (cache hit)", &presets::FAST_TEST, &tables);
    let after_second = be.constraint_cache_stats();
    log(format!(
        "constraint cache: after one proof {after_first:?}, after two {after_second:?}"
    ));
    // (parity proves once more per upload mode: every proof after the first is a hit)
    assert_eq!(after_first.misses, 1, "one table, compiled once");
    assert_eq!(after_second.misses, 1, "the second proof recompiled");
    assert!(after_second.hits > after_first.hits);
    // the second proof's own traffic (parity also proves once per upload mode: reset first)
    be.reset_transfers();
    prove(&be, &presets::FAST_TEST, &tables).unwrap();
    let phases = be.transfers_by_phase();
    let get = |name: &str| {
        phases
            .iter()
            .find(|(p, _)| *p == name)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("no phase {name}"))
    };
    let split = get("composition (split + parts LDE + commit)");
    assert_eq!(
        (split.h2d_bytes, split.d2h_bytes),
        (0, 32),
        "the split moves only the root"
    );
    let kernel = get("composition (constraint kernel)");
    let alpha_pows = 24 * (rstark_air::constraint_info(tables[0].air.as_ref(), 0).num_constraints);
    assert_eq!(kernel.d2h_bytes, 0);
    assert!(
        kernel.h2d_bytes < alpha_pows as u64 + 4096,
        "constraint kernel: {} B up on a cache hit (the α powers are {alpha_pows} B; the \
         program is not uploaded again)",
        kernel.h2d_bytes
    );
}

/// Runs both backends in lockstep through a whole proof and names every method whose result
/// differs (the CPU's result carries the proof on), so a parity failure points at one kernel.
mod lockstep {
    use std::sync::Mutex;

    use rstark_air::{SymbolicConstraints, Table};
    use rstark_backend_cpu::{CpuBackend, CpuCodeword, CpuCommitted};
    use rstark_backend_cuda::{CudaBackend, CudaCodeword, CudaCommitted};
    use rstark_field::{EF, unflatten_ext};
    use rstark_merkle::Digest;
    use rstark_poly::RowMajor;
    use rstark_protocol::{
        Backend, BackendError, CompositionInputs, DeepInputs, MerkleOpening, QueryOpenings,
    };

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
        fn begin_proof(&self, plan: &rstark_protocol::ProofPlan) -> Result<(), BackendError> {
            self.gpu.begin_proof(plan)
        }
        fn end_proof(&self) {
            self.gpu.end_proof()
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
        fn evaluate_at_pair(
            &self,
            m: &Self::Committed,
            a: EF,
            b: EF,
        ) -> Result<(Vec<EF>, Vec<EF>), BackendError> {
            let c = (
                CpuBackend.evaluate_at(&m.0, a)?,
                CpuBackend.evaluate_at(&m.0, b)?,
            );
            let g = self.gpu.evaluate_at_pair(&m.1, a, b)?;
            self.check("evaluate_at_pair", c == g);
            Ok(c)
        }
        fn composition(
            &self,
            i: &CompositionInputs<'_, Self::Committed>,
        ) -> Result<Self::Committed, BackendError> {
            macro_rules! side {
                ($k:tt) => {
                    CompositionInputs {
                        table: i.table,
                        air: i.air,
                        main: &i.main.$k,
                        aux: i.aux.map(|a| &a.$k),
                        preprocessed: i.preprocessed.map(|p| &p.$k),
                        periodic: i.periodic,
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
                        table: i.table,
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
        fn constraints_known(&self, table: usize, air: &dyn Table, c: &SymbolicConstraints) {
            self.gpu.constraints_known(table, air, c)
        }
        fn open_queries(
            &self,
            matrices: &[(&Self::Committed, &[usize])],
            layers: &[(&Self::Codeword, &[usize])],
        ) -> Result<QueryOpenings, BackendError> {
            let cm: Vec<_> = matrices.iter().map(|(m, l)| (&m.0, *l)).collect();
            let gm: Vec<_> = matrices.iter().map(|(m, l)| (&m.1, *l)).collect();
            let cl: Vec<_> = layers.iter().map(|(cw, l)| (&cw.0, *l)).collect();
            let gl: Vec<_> = layers.iter().map(|(cw, l)| (&cw.1, *l)).collect();
            let c = CpuBackend.open_queries(&cm, &cl)?;
            let g = self.gpu.open_queries(&gm, &gl)?;
            self.check("open_queries", c == g);
            Ok(c)
        }
        fn final_poly(&self, cw: &Self::Codeword, len: usize) -> Result<Vec<EF>, BackendError> {
            let c = CpuBackend.final_poly(&cw.0, len)?;
            let g = self.gpu.final_poly(&cw.1, len);
            self.check("final_poly", g.as_ref().ok() == Some(&c));
            Ok(c)
        }
        fn grind(&self, state: &[u8; 32], bits: u32) -> Result<Option<u64>, BackendError> {
            let c = rstark_transcript::least_nonce(state, bits).unwrap();
            let g = self.gpu.grind(state, bits);
            self.check("grind", g == Ok(Some(c)));
            Ok(Some(c))
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

/// Leading zero bits of Keccak256(0x02 ‖ state ‖ le64(nonce)).
fn pow_zeros(state: &[u8; 32], nonce: u64) -> u32 {
    use tiny_keccak::{Hasher, Keccak};
    let mut k = Keccak::v256();
    k.update(&[2]);
    k.update(state);
    k.update(&nonce.to_le_bytes());
    let mut d = [0u8; 32];
    k.finalize(&mut d);
    rstark_transcript::leading_zero_bits(&d)
}

/// Proof of work on the device (`Backend::grind`): the least nonce, the host's
/// (`rstark_transcript::least_nonce`), for random states and 0..=20 bits (and 24), with nothing
/// uploaded and 8 bytes back per check; 32 bits (the parameters' limit) gives a valid nonce;
/// more than 256 bits is refused. Prints the time per grind on each side. A proof with 20
/// bits is the CPU's.
#[test]
fn grind_matches_cpu() {
    use rstark_protocol::{Backend, BackendError};
    use rstark_transcript::least_nonce;
    let be = gpu();
    let mut seed = 0x9E37_79B9_u64;
    let mut state = || {
        let mut s = [0u8; 32];
        for c in s.chunks_exact_mut(8) {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            c.copy_from_slice(&(seed ^ (seed >> 29)).to_le_bytes());
        }
        s
    };
    // The first launch loads the kernel: not timed.
    be.grind(&state(), 4).unwrap();
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let bit_counts: Vec<u32> = (0..=20).chain([24]).collect();
    for bits in bit_counts {
        let reps = if bits > 20 { 2 } else { 6 };
        let (mut gpu_ms, mut cpu_ms) = (0.0, 0.0);
        for r in 0..reps {
            let s = state();
            be.reset_transfers();
            let t = Instant::now();
            let got = be.grind(&s, bits);
            gpu_ms += ms(t);
            let t = Instant::now();
            let want = least_nonce(&s, bits).unwrap();
            cpu_ms += ms(t);
            assert_eq!(
                got,
                Ok(Some(want)),
                "{bits} bits, state {r}: {}",
                hex::encode(s)
            );
            let phases = be.transfers_by_phase();
            if bits == 0 {
                assert!(phases.iter().all(|(_, t)| t.d2h_bytes == 0), "{phases:?}");
                continue;
            }
            let pow = phases
                .iter()
                .find(|(p, _)| *p == "proof of work")
                .map(|(_, t)| *t)
                .unwrap_or_else(|| panic!("no proof-of-work phase: {phases:?}"));
            assert_eq!(pow.h2d_bytes, 0, "{bits} bits: {pow:?}");
            assert!(
                pow.d2h_copies >= 1 && pow.d2h_bytes == 8 * pow.d2h_copies,
                "{bits} bits: {pow:?}"
            );
        }
        log(format!(
            "grind {bits:2} bits: gpu {:8.3} ms, cpu {:8.3} ms per grind ({reps} states)",
            gpu_ms / reps as f64,
            cpu_ms / reps as f64
        ));
    }
    for _ in 0..2 {
        let s = state();
        let t = Instant::now();
        let n = be.grind(&s, 32).unwrap().expect("a nonce");
        log(format!(
            "grind 32 bits: gpu {:.1} ms, nonce {n} (valid; least not checked on the CPU)",
            ms(t)
        ));
        assert!(pow_zeros(&s, n) >= 32, "nonce {n} has too few zero bits");
    }
    assert!(
        matches!(be.grind(&[0; 32], 257), Err(BackendError::BadInput(_))),
        "257 bits must be refused"
    );
    let params = StarkParams {
        pow_bits: 20,
        ..presets::FAST_TEST
    };
    parity(
        &be,
        "fib 64 with 20 PoW bits",
        &params,
        &workload("fib", 64),
    );
}
