//! The code of docs/GUIDE.md: p3-air AIRs proved and verified with rstark.
//!
//! Each `prove_*` function is one walk from an AIR to a verified proof, generic over the backend
//! (`rstark_backend_cpu::CpuBackend`, or the CUDA backend with the `cuda` feature): the tables,
//! the parameters, the keys when the AIR has preprocessed columns, the proof bytes, and the
//! verification of those bytes. The examples `weighted_sum` and `published_airs` run them from
//! the command line; `tests/examples.rs` runs them at small sizes.

use std::error::Error;
use std::sync::Arc;

use rstark_air::{AirTable, Interaction, LinearCombination, Table};
use rstark_field::{F, PrimeCharacteristicRing};
use rstark_poly::RowMajor;
use rstark_protocol::{Backend, StarkParams, VerifyingKey};
use rstark_prover::{TableInput, prove, prove_with_key, setup};
use rstark_verifier::{VerifierTable, verify_bytes, verify_bytes_with_key};

pub mod cli;
pub mod published;
pub mod weighted_sum;

/// What a walk produced: the proof's bytes (what a prover sends), the verifying key's bytes
/// (what a verifier keeps, when the statement needs a key), and the statement's public values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proved {
    pub proof: Vec<u8>,
    pub verifying_key: Option<Vec<u8>>,
    pub public_values: Vec<Vec<F>>,
}

impl Proved {
    /// Keccak-256 of the proof bytes, hex: equal on every backend.
    pub fn proof_hash(&self) -> String {
        hex::encode(rstark_merkle::keccak256(&self.proof))
    }
}

pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The verifier's statement: the same names, AIRs and public values as the prover's tables.
fn statement(tables: &[TableInput]) -> Vec<VerifierTable> {
    tables
        .iter()
        .map(|t| VerifierTable::new(t.name.clone(), t.air.clone(), t.public_values.clone()))
        .collect()
}

/// The user AIR of [`weighted_sum`] (preprocessed weights, periodic round constants, bytes
/// range-checked over a LogUp bus) on 2^log_rows bytes.
pub fn prove_weighted_sum<B: Backend>(
    backend: &B,
    params: &StarkParams,
    log_rows: usize,
) -> Result<Proved> {
    use weighted_sum::{ByteTableAir, WeightedSumAir, traces};

    // 1. The witness: the bytes to absorb, and both tables' traces.
    let bytes: Vec<u8> = (0..1usize << log_rows)
        .map(|i| (i * 37 % 251) as u8)
        .collect();
    let (sum, publics, byte_table) = traces(&bytes, 42);

    // 2. The tables: name, AIR, trace (row-major values and width), public values. Our own AIRs
    //    implement `Interactions` beside `Air`, so they are tables as they are.
    let tables = vec![
        TableInput::new(
            "weighted-sum",
            Arc::new(WeightedSumAir { log_rows }),
            RowMajor::new(sum, 2)?,
            publics,
        ),
        TableInput::new(
            "bytes",
            Arc::new(ByteTableAir),
            RowMajor::new(byte_table, 2)?,
            vec![],
        ),
    ];

    // 3. Setup, once per statement: commits the preprocessed weights. The proving key keeps the
    //    committed matrices (resident on the GPU with the CUDA backend) for every proof; the
    //    verifying key is their roots and shapes, and travels as bytes.
    let named: Vec<(&str, &dyn Table)> = tables
        .iter()
        .map(|t| (t.name.as_str(), t.air.as_ref()))
        .collect();
    let (proving_key, verifying_key) = setup(backend, params, &named)?;
    let vk_bytes = verifying_key.to_bytes();

    // 4. Prove with the key; the proof is bytes.
    let proof = prove_with_key(backend, params, &proving_key, &tables)?.to_bytes();

    // 5. Verify: from the key's bytes, the statement and the proof's bytes.
    let vk = VerifyingKey::from_bytes(&vk_bytes)?;
    verify_bytes_with_key(params, &vk, &statement(&tables), &proof)?;
    Ok(Proved {
        proof,
        verifying_key: Some(vk_bytes),
        public_values: tables.iter().map(|t| t.public_values.clone()).collect(),
    })
}

/// p3-poseidon2-air's AIR (Goldilocks, width 12) on 2^log_perms permutations, unchanged: one line
/// makes it a table. A second copy of the table shows interactions declared beside a foreign
/// AIR: the first sends each permutation's first output word on a bus, the second receives it.
pub fn prove_poseidon2<B: Backend>(
    backend: &B,
    params: &StarkParams,
    log_perms: usize,
) -> Result<Proved> {
    use published::{poseidon2_air, poseidon2_inputs, poseidon2_trace};

    let trace = poseidon2_trace(&poseidon2_inputs(1 << log_perms))?;
    let width = trace.width;
    // The output's first word is the row's 12th-from-last column.
    let out0 = || vec![LinearCombination::column(width - 12)];
    let one = || LinearCombination::constant(F::ONE);
    let sender =
        AirTable::new(poseidon2_air()).with_interactions(vec![Interaction::send(5, out0(), one())]);
    let receiver = AirTable::new(poseidon2_air()).with_interactions(vec![Interaction::receive(
        5,
        out0(),
        one(),
    )]);
    let tables = vec![
        TableInput::new(
            "poseidon2",
            Arc::new(AirTable::new(poseidon2_air())),
            trace.clone(),
            vec![],
        ),
        TableInput::new("poseidon2-send", Arc::new(sender), trace.clone(), vec![]),
        TableInput::new("poseidon2-receive", Arc::new(receiver), trace, vec![]),
    ];
    // No preprocessed columns: no key needed.
    let proof = prove(backend, params, &tables)?.to_bytes();
    verify_bytes(params, &statement(&tables), &proof)?;
    Ok(Proved {
        proof,
        verifying_key: None,
        public_values: vec![vec![]; 3],
    })
}

/// p3-blake3-air's AIR on 2^log_compressions Blake3 compressions (9 168 columns per row).
pub fn prove_blake3<B: Backend>(
    backend: &B,
    params: &StarkParams,
    log_compressions: usize,
) -> Result<Proved> {
    use published::{blake3_inputs, blake3_trace};
    let trace = blake3_trace(&blake3_inputs(1 << log_compressions))?;
    prove_one(
        backend,
        params,
        "blake3",
        Arc::new(AirTable::new(p3_blake3_air::Blake3Air {})),
        trace,
    )
}

/// p3-keccak-air's AIR on `permutations` Keccak-f[1600] permutations (24 rows each).
pub fn prove_keccak<B: Backend>(
    backend: &B,
    params: &StarkParams,
    permutations: usize,
) -> Result<Proved> {
    use published::{keccak_inputs, keccak_trace};
    let trace = keccak_trace(&keccak_inputs(permutations))?;
    prove_one(
        backend,
        params,
        "keccak",
        Arc::new(AirTable::new(p3_keccak_air::KeccakAir {})),
        trace,
    )
}

/// One table without public values, proved and verified.
fn prove_one<B: Backend>(
    backend: &B,
    params: &StarkParams,
    name: &str,
    air: Arc<dyn Table>,
    trace: RowMajor,
) -> Result<Proved> {
    let tables = vec![TableInput::new(name, air, trace, vec![])];
    let proof = prove(backend, params, &tables)?.to_bytes();
    verify_bytes(params, &statement(&tables), &proof)?;
    Ok(Proved {
        proof,
        verifying_key: None,
        public_values: vec![vec![]],
    })
}
