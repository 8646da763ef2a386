//! Golden LDE vectors (tests/golden/lde.txt): for each `golden::lde_cases()` case, the
//! Keccak-256 of the LDE's canonical bytes (row-major, bit-reversed rows) and of the trace's
//! coefficient matrix. Regenerate with `RSTARK_BLESS=1 cargo test -p rstark-poly --release`.

use rstark_field::{
    F, GENERATOR, PrimeCharacteristicRing, ef_to_bytes, unflatten_ext, write_row_bytes,
};
use rstark_poly::{RowMajor, coefficients, eval_columns_at, golden, lde, lde_from_coefficients};
use tiny_keccak::{Hasher, Keccak};

fn matrix_hash(m: &RowMajor) -> String {
    let mut bytes = Vec::with_capacity(m.values.len() * 8);
    write_row_bytes(&m.values, &mut bytes);
    keccak_hex(&bytes)
}

fn keccak_hex(bytes: &[u8]) -> String {
    let mut k = Keccak::v256();
    k.update(bytes);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    hex::encode(out)
}

#[test]
fn golden_lde_vectors() {
    let mut got = String::from(
        "# log_n width log_blowup seed keccak256(lde bytes) keccak256(coefficient bytes)\n\
         # inputs: rstark_poly::golden::matrix(log_n, width, seed); see PROTOCOL.md §2\n",
    );
    for c in golden::lde_cases() {
        let trace = golden::matrix(c.log_n, c.width, c.seed);
        let ext = lde(&trace, c.log_blowup).unwrap();
        got.push_str(&format!(
            "{} {} {} {} {} {}\n",
            c.log_n,
            c.width,
            c.log_blowup,
            c.seed,
            matrix_hash(&ext),
            matrix_hash(&coefficients(&trace))
        ));
    }
    check("lde.txt", &got);
}

/// Compares with (or, under RSTARK_BLESS=1, writes) tests/golden/<name>.
fn check(name: &str, got: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("RSTARK_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(&path).expect("golden file missing: run with RSTARK_BLESS=1");
    assert_eq!(
        got, want,
        "golden vectors in {name} changed (PROTOCOL.md §2)"
    );
}

/// Out-of-domain evaluation and coset evaluation of coefficients (tests/golden/eval.txt).
#[test]
fn golden_eval_vectors() {
    let mut got = String::from(
        "# ood log_n width seed z H(values)  — eval_columns_at(golden::matrix(log_n, width, seed), z),\n\
         #   z = the EF element of golden::elements(3, seed + 1) (bytes hex), H = Keccak-256 of the\n\
         #   values' canonical EF bytes concatenated\n\
         # coset log_rows width log_size shift seed H(out) — lde_from_coefficients(\n\
         #   golden::matrix(log_rows, width, seed), log_size, shift), H as in lde.txt\n",
    );
    for (log_n, width, seed) in [(0, 1, 1), (1, 2, 2), (4, 3, 3), (9, 5, 4), (12, 2, 5)] {
        let trace = golden::matrix(log_n, width, seed);
        let z = unflatten_ext(&golden::elements(3, seed + 1)).unwrap()[0];
        let values = eval_columns_at(&trace, z);
        let bytes: Vec<u8> = values.iter().flat_map(|v| ef_to_bytes(*v)).collect();
        got.push_str(&format!(
            "ood {log_n} {width} {seed} {} {}\n",
            hex::encode(ef_to_bytes(z)),
            keccak_hex(&bytes)
        ));
    }
    let shifts = [F::ONE, GENERATOR, GENERATOR.square()];
    for (i, (log_rows, width, log_size)) in [(0, 1, 0), (0, 2, 3), (2, 3, 2), (3, 1, 6), (8, 4, 10)]
        .into_iter()
        .enumerate()
    {
        let shift = shifts[i % 3];
        let seed = 900 + i as u64;
        let out = lde_from_coefficients(&golden::matrix(log_rows, width, seed), log_size, shift);
        got.push_str(&format!(
            "coset {log_rows} {width} {log_size} {shift} {seed} {}\n",
            matrix_hash(&out)
        ));
    }
    check("eval.txt", &got);
}
