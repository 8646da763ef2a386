//! The AIR API on the GPU (docs/GUIDE.md): tables with preprocessed and periodic columns and a
//! LogUp bus, and AIRs from published Plonky3 crates, prove on the CUDA backend with the same
//! bytes as on the CPU; the `*_fixed` constraint kernels equal the interpreter on random rows.
//! Built only with `--features cuda`; without a GPU every test FAILS (never skips). Seconds each.
#![cfg(feature = "cuda")]

use std::sync::Arc;
use std::time::Instant;

use rstark_air::examples::{PreprocessedRangeAir, preprocessed_range_traces};
use rstark_air::logup::LogupChallenges;
use rstark_air::{AirTable, BaseAir, Interactions, Table};
use rstark_backend_cpu::CpuBackend;
use rstark_backend_cuda::constraints::{
    ConstraintKernel, ConstraintVariant, DeviceConstraintProgram, QuotientDomain,
};
use rstark_backend_cuda::residency::Residency;
use rstark_backend_cuda::{CudaBackend, DeviceMatrix, GpuContext};
use rstark_constraints::{QuotientInputs, compile_table, quotient_values};
use rstark_field::{EF, F, PrimeField64, ef_from_base, flatten_ext};
use rstark_poly::RowMajor;
use rstark_protocol::{Backend, PeriodicColumns, StarkParams, VerifyingKey, presets};
use rstark_prover::{TableInput, prove, prove_with_key, setup};
use rstark_verifier::{VerifierTable, verify_bytes_with_key};

/// The guide's user AIR (examples/src/weighted_sum.rs), compiled into this test as it is.
#[path = "../../../examples/src/weighted_sum.rs"]
#[allow(dead_code)]
mod weighted_sum;

/// The guide's published AIRs and their trace generators (examples/src/published.rs).
#[path = "../../../examples/src/published.rs"]
#[allow(dead_code)]
mod published;

fn gpu() -> CudaBackend {
    let be =
        CudaBackend::new(0).unwrap_or_else(|e| panic!("GPU AIR API tests need a CUDA GPU: {e}"));
    be.context().set_poison(true);
    be
}

fn log(msg: String) {
    println!("[air-api] {msg}");
}

fn names(tables: &[TableInput]) -> Vec<(&str, &dyn Table)> {
    tables
        .iter()
        .map(|t| (t.name.as_str(), t.air.as_ref()))
        .collect()
}

fn statement(tables: &[TableInput]) -> Vec<VerifierTable> {
    tables
        .iter()
        .map(|t| VerifierTable::new(t.name.clone(), t.air.clone(), t.public_values.clone()))
        .collect()
}

/// Setup and proof on `be`: (verifying key, proof bytes).
fn keyed_proof<B: Backend>(
    be: &B,
    params: &StarkParams,
    tables: &[TableInput],
) -> (VerifyingKey, Vec<u8>) {
    let (pk, vk) = setup(be, params, &names(tables)).unwrap();
    let proof = prove_with_key(be, params, &pk, tables).unwrap().to_bytes();
    (vk, proof)
}

/// The CUDA backend's key and proof equal the CPU backend's, with every matrix as the budget
/// places it and with every matrix streamed (the composition then recomputes the preprocessed
/// rows in blocks from their coefficients); the proof verifies.
fn keyed_parity(be: &CudaBackend, what: &str, params: &StarkParams, tables: &[TableInput]) {
    let t = Instant::now();
    let (cpu_vk, cpu) = keyed_proof(&CpuBackend, params, tables);
    let cpu_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (gpu_vk, gpu) = keyed_proof(be, params, tables);
    let gpu_s = t.elapsed().as_secs_f64();
    log(format!(
        "{what}: proof {} B, identical={}, keys identical={}, cpu {cpu_s:.3} s, cuda {gpu_s:.3} s",
        cpu.len(),
        cpu == gpu,
        cpu_vk == gpu_vk
    ));
    assert!(cpu_vk == gpu_vk, "{what}: the CUDA verifying key differs");
    assert!(
        cpu == gpu,
        "{what}: the CUDA proof differs from the CPU proof"
    );
    be.force_residency(Some(Residency::Streamed));
    let (_, streamed) = keyed_proof(be, params, tables);
    be.force_residency(None);
    assert!(streamed == cpu, "{what}: the streamed CUDA proof differs");
    verify_bytes_with_key(params, &cpu_vk, &statement(tables), &gpu).unwrap();
    log(format!(
        "{what}: identical with every matrix streamed; verifies"
    ));
}

fn range_tables(log_n: usize) -> Vec<TableInput> {
    rstark_prover::golden::preprocessed_range_tables(log_n, 4 << log_n, 7)
}

#[test]
fn preprocessed_periodic_bus_proofs_match_cpu() {
    let be = gpu();
    for (log_b, log_n) in [(1, 3), (1, 10), (2, 9), (3, 8)] {
        let params = StarkParams {
            log_blowup: log_b,
            ..presets::FAST_TEST
        };
        keyed_parity(
            &be,
            &format!("preprocessed range 2^{log_n}, blowup 2^{log_b}"),
            &params,
            &range_tables(log_n),
        );
    }
}

#[test]
fn weighted_sum_example_matches_cpu() {
    let be = gpu();
    for (params, log_rows) in [(presets::FAST_TEST, 8), (presets::DEFAULT, 12)] {
        let bytes: Vec<u8> = (0..1usize << log_rows)
            .map(|i| (i * 37 % 251) as u8)
            .collect();
        let (sum, publics, table) = weighted_sum::traces(&bytes, 42);
        let tables = vec![
            TableInput::new(
                "weighted-sum",
                Arc::new(weighted_sum::WeightedSumAir { log_rows }),
                RowMajor::new(sum, 2).unwrap(),
                publics,
            ),
            TableInput::new(
                "bytes",
                Arc::new(weighted_sum::ByteTableAir),
                RowMajor::new(table, 2).unwrap(),
                vec![],
            ),
        ];
        keyed_parity(&be, &format!("weighted sum 2^{log_rows}"), &params, &tables);
    }
}

/// One proving key, several proofs: the preprocessed columns are committed once (setup) and
/// never uploaded again; every proof equals the CPU's.
#[test]
fn a_proving_key_serves_many_proofs() {
    let be = gpu();
    let params = presets::FAST_TEST;
    let log_n = 9;
    let tables = range_tables(log_n);
    let (cpu_pk, _) = setup(&CpuBackend, &params, &names(&tables)).unwrap();
    be.reset_transfers();
    let (pk, _) = setup(&be, &params, &names(&tables)).unwrap();
    let setup_phases: Vec<_> = be
        .transfers_by_phase()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(setup_phases.contains(&"preprocessed upload + LDE + commit"));
    for x0 in [7u64, 8, 9] {
        let (main, publics, user) = preprocessed_range_traces(log_n, 4 << log_n, x0);
        let mut tables = tables.clone();
        tables[0].trace = RowMajor::new(main, 4).unwrap().into();
        tables[0].public_values = publics;
        tables[1].trace = RowMajor::new(user, 2).unwrap().into();
        be.reset_transfers();
        let gpu = prove_with_key(&be, &params, &pk, &tables).unwrap();
        let phases: Vec<_> = be
            .transfers_by_phase()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(
            !phases.contains(&"preprocessed upload + LDE + commit"),
            "a proof re-committed the preprocessed columns: {phases:?}"
        );
        let cpu = prove_with_key(&CpuBackend, &params, &cpu_pk, &tables).unwrap();
        assert!(cpu == gpu, "x0 = {x0}: the CUDA proof differs");
    }
    log("three proofs with one key: identical to the CPU's, no preprocessed upload".into());
}

#[test]
fn published_airs_match_cpu() {
    let be = gpu();
    let params = presets::FAST_TEST;
    let poseidon2 = published::poseidon2_trace(&published::poseidon2_inputs(1 << 8)).unwrap();
    let blake3 = published::blake3_trace(&published::blake3_inputs(4)).unwrap();
    let keccak = published::keccak_trace(&published::keccak_inputs(8)).unwrap();
    let cases: Vec<(&str, Arc<dyn Table>, RowMajor)> = vec![
        (
            "p3-poseidon2-air",
            Arc::new(AirTable::new(published::poseidon2_air())),
            poseidon2,
        ),
        (
            "p3-blake3-air",
            Arc::new(AirTable::new(p3_blake3_air::Blake3Air {})),
            blake3,
        ),
        (
            "p3-keccak-air",
            Arc::new(AirTable::new(p3_keccak_air::KeccakAir {})),
            keccak,
        ),
    ];
    for (name, air, trace) in cases {
        let tables = vec![TableInput::new(name, air, trace, vec![])];
        let t = Instant::now();
        let cpu = prove(&CpuBackend, &params, &tables).unwrap().to_bytes();
        let cpu_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let gpu = prove(&be, &params, &tables).unwrap().to_bytes();
        log(format!(
            "{name}: proof {} B, identical={}, cpu {cpu_s:.3} s, cuda {:.3} s",
            cpu.len(),
            cpu == gpu,
            t.elapsed().as_secs_f64()
        ));
        assert!(
            cpu == gpu,
            "{name}: the CUDA proof differs from the CPU proof"
        );
    }
}

/// Random field elements (SplitMix64, `rstark_poly::golden`), a new seed per draw.
struct Rng(u64);

impl Rng {
    fn fs(&mut self, n: usize) -> Vec<F> {
        self.0 += 1;
        rstark_poly::golden::elements(n, self.0)
    }
    fn ef(&mut self) -> EF {
        let v = self.fs(3);
        ef_from_base([v[0], v[1], v[2]])
    }
}

fn words(v: &[F]) -> Vec<u64> {
    v.iter().map(|x| x.as_canonical_u64()).collect()
}

/// The `*_fixed` kernels (every variant) on random main, aux and preprocessed rows with the
/// periodic table equal the interpreter byte for byte; outputs poisoned first.
#[test]
fn fixed_constraint_kernels_match_interpreter() {
    let ctx = GpuContext::new(0).unwrap_or_else(|e| panic!("needs a CUDA GPU: {e}"));
    ctx.set_poison(true);
    let kernel = ConstraintKernel::load(&ctx).unwrap();
    let variants = [
        ConstraintVariant::Global,
        ConstraintVariant::Shared {
            slots: 0,
            columns: false,
        },
        ConstraintVariant::Shared {
            slots: 24,
            columns: true,
        },
        ConstraintVariant::Shared {
            slots: 48,
            columns: true,
        },
    ];
    let mut rng = Rng(11);
    for (log_n, log_d) in [(2usize, 1usize), (6, 1), (11, 2), (14, 1)] {
        let air = PreprocessedRangeAir { log_height: log_n };
        let program = compile_table(&air, 1).unwrap();
        let dev = DeviceConstraintProgram::upload(&ctx, &program).unwrap();
        let interactions = air.interactions();
        let alpha: Vec<EF> = (0..program.num_constraints).map(|_| rng.ef()).collect();
        let logup = LogupChallenges::new(rng.ef(), rng.ef(), &[&interactions]);
        let chal = program
            .challenge_values(&alpha, logup.alpha, &logup.beta_pows, rng.ef())
            .unwrap();
        let q = 1usize << (log_n + log_d);
        // twice the quotient domain: only the prefix may be read
        let (mw, aw, pw) = (4, 3 * program.aux_ext_width, 2);
        let main = rng.fs(2 * q * mw);
        let aux = rng.fs(2 * q * aw);
        let prep = rng.fs(2 * q * pw);
        let publics = rng.fs(1);
        let periodic = PeriodicColumns::new(
            &BaseAir::<F>::periodic_columns(&air),
            BaseAir::<F>::num_periodic_columns(&air),
            log_n,
        )
        .unwrap()
        .unwrap()
        .on_quotient_domain(log_n, log_d)
        .unwrap();
        let want = quotient_values(
            &program,
            &QuotientInputs {
                main: &main,
                main_width: mw,
                aux: Some(&aux),
                aux_width: aw,
                preprocessed: Some(&prep),
                preprocessed_width: pw,
                periodic: &periodic.values,
                periodic_rows: periodic.height(),
                log_height: log_n,
                log_quotient_degree: log_d,
                public_values: &publics,
            },
            &chal,
        )
        .unwrap();
        let want = words(&flatten_ext(&want));
        let up = |v: &[F], w: usize| DeviceMatrix::upload_words(&ctx, &words(v), 2 * q, w).unwrap();
        let (main_d, aux_d, prep_d) = (up(&main, mw), up(&aux, aw), up(&prep, pw));
        let domain = QuotientDomain {
            main: &main_d,
            aux: Some(&aux_d),
            preprocessed: Some(&prep_d),
            periodic: Some(&periodic),
            log_height: log_n,
            log_quotient_degree: log_d,
        };
        for v in variants {
            kernel.set_variant(v);
            let got = kernel
                .quotient_values(&ctx, &dev, &domain, &publics, &chal)
                .unwrap()
                .download_words(&ctx)
                .unwrap();
            assert!(
                got == want,
                "2^{log_n} x D 2^{log_d} ({v:?}): the fixed kernel differs from the interpreter"
            );
        }
        log(format!(
            "fixed kernels: 2^{log_n} rows, D = 2^{log_d}: {q} quotient rows match in every variant"
        ));
        // A missing preprocessed matrix or periodic table is an error, not a read out of bounds.
        let no_prep = QuotientDomain {
            preprocessed: None,
            ..domain
        };
        assert!(
            kernel
                .quotient_values(&ctx, &dev, &no_prep, &publics, &chal)
                .is_err()
        );
        let no_per = QuotientDomain {
            periodic: None,
            ..domain
        };
        assert!(
            kernel
                .quotient_values(&ctx, &dev, &no_per, &publics, &chal)
                .is_err()
        );
    }
}
