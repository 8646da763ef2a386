//! Golden LDE vectors (tests/golden/lde.txt): for each `golden::lde_cases()` case, the
//! Keccak-256 of the LDE's canonical bytes (row-major, bit-reversed rows) and of the trace's
//! coefficient matrix. Regenerate with `RSTARK_BLESS=1 cargo test -p rstark-poly --release`.

use rstark_field::write_row_bytes;
use rstark_poly::{RowMajor, coefficients, golden, lde};
use tiny_keccak::{Hasher, Keccak};

fn matrix_hash(m: &RowMajor) -> String {
    let mut bytes = Vec::with_capacity(m.values.len() * 8);
    write_row_bytes(&m.values, &mut bytes);
    let mut k = Keccak::v256();
    k.update(&bytes);
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
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/lde.txt");
    if std::env::var("RSTARK_BLESS").as_deref() == Ok("1") {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).expect("golden file missing: run with RSTARK_BLESS=1");
    assert_eq!(got, want, "LDE golden vectors changed (PROTOCOL.md §2)");
}
