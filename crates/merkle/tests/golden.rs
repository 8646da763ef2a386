//! Golden Merkle roots (tests/golden/roots.txt): the root of each `golden::lde_cases()` LDE and
//! of some raw matrices. Regenerate with `RSTARK_BLESS=1 cargo test -p rstark-merkle --release`.

use rstark_merkle::MerkleTree;
use rstark_poly::{golden, lde};

#[test]
fn golden_roots() {
    let mut got = String::from(
        "# lde log_n width log_blowup seed root  — root of lde(golden::matrix(log_n, width, seed))\n\
         # raw log_rows width seed root          — root of golden::matrix(log_rows, width, seed)\n",
    );
    for c in golden::lde_cases() {
        let ext = lde(&golden::matrix(c.log_n, c.width, c.seed), c.log_blowup).unwrap();
        let root = MerkleTree::commit(&ext).unwrap().root();
        got.push_str(&format!(
            "lde {} {} {} {} {}\n",
            c.log_n,
            c.width,
            c.log_blowup,
            c.seed,
            hex::encode(root)
        ));
    }
    for (i, (log_rows, width)) in [(1, 1), (1, 17), (2, 34), (4, 8), (9, 3), (11, 70), (14, 2)]
        .into_iter()
        .enumerate()
    {
        let seed = 500 + i as u64;
        let root = MerkleTree::commit(&golden::matrix(log_rows, width, seed))
            .unwrap()
            .root();
        got.push_str(&format!(
            "raw {log_rows} {width} {seed} {}\n",
            hex::encode(root)
        ));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/roots.txt");
    if std::env::var("RSTARK_BLESS").as_deref() == Ok("1") {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).expect("golden file missing: run with RSTARK_BLESS=1");
    assert_eq!(got, want, "Merkle golden roots changed (PROTOCOL.md §3)");
}
