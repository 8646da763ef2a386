//! Every opening verifies; any flipped bit in a row, a path digest, the index or the root fails.

use proptest::prelude::*;
use rstark_field::{F, PrimeCharacteristicRing, PrimeField64};
use rstark_merkle::{
    MerkleError, MerkleTree, RootOnlyTree, hash_leaf, hash_node, open, open_batch, verify_opening,
};
use rstark_poly::{RowMajor, golden};

/// Flips bit `bit` of the canonical value; a non-canonical result wraps mod p, still a change.
fn flip(x: F, bit: u32) -> F {
    let v = x.as_canonical_u64() ^ (1u64 << bit);
    F::new(v % F::ORDER_U64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn openings_verify_and_tampering_fails(
        log_rows in 1usize..8, width in 1usize..6, seed in any::<u64>(),
        pick in any::<usize>(), bit in 0u32..63, which in any::<usize>()
    ) {
        let m = golden::matrix(log_rows, width, seed);
        let tree = MerkleTree::commit(&m).unwrap();
        let root = tree.root();
        let l = tree.num_leaves();
        prop_assert_eq!(l, 1 << (log_rows - 1));
        for leaf in 0..l {
            let o = open(&m, &tree, leaf).unwrap();
            prop_assert_eq!(&o.row0[..], m.row(2 * leaf));
            prop_assert!(verify_opening(&root, l, &o).is_ok());
        }
        let leaf = pick % l;
        let o = open(&m, &tree, leaf).unwrap();
        // A flipped bit in a row element.
        let mut bad = o.clone();
        let row = if which % 2 == 0 { &mut bad.row0 } else { &mut bad.row1 };
        let c = which / 2 % width;
        let flipped = flip(row[c], bit);
        if flipped != row[c] {
            row[c] = flipped;
            prop_assert!(verify_opening(&root, l, &bad).is_err());
        }
        // A flipped bit in a path digest.
        if !o.path.is_empty() {
            let mut bad = o.clone();
            let d = which % bad.path.len();
            bad.path[d][(bit / 8) as usize % 32] ^= 1 << (bit % 8);
            prop_assert!(verify_opening(&root, l, &bad).is_err());
        }
        // A flipped bit in the root.
        let mut bad_root = root;
        bad_root[(bit / 8) as usize % 32] ^= 1 << (bit % 8);
        prop_assert!(verify_opening(&bad_root, l, &o).is_err());
        // Another leaf index.
        if l > 1 {
            let mut bad = o.clone();
            bad.leaf_index = (leaf + 1 + which % (l - 1)) % l;
            prop_assert!(verify_opening(&root, l, &bad).is_err());
        }
    }
}

#[test]
fn tree_layout_is_heap_order() {
    let m = golden::matrix(3, 2, 9);
    let tree = MerkleTree::commit(&m).unwrap();
    let n = tree.nodes();
    assert_eq!(n.len(), 8);
    assert_eq!(n[0], [0u8; 32]);
    for i in 0..4 {
        assert_eq!(n[4 + i], hash_leaf(m.row(2 * i), m.row(2 * i + 1)));
    }
    for k in 1..4 {
        assert_eq!(n[k], hash_node(&n[2 * k], &n[2 * k + 1]));
    }
    assert_eq!(tree.root(), n[1]);
    assert_eq!(tree.path(2).unwrap(), vec![n[7], n[2]]);
    // One leaf: the root is the leaf, the path is empty.
    let two = golden::matrix(1, 3, 1);
    let t = MerkleTree::commit(&two).unwrap();
    assert_eq!(t.root(), hash_leaf(two.row(0), two.row(1)));
    let o = open(&two, &t, 0).unwrap();
    assert!(o.path.is_empty());
    verify_opening(&t.root(), 1, &o).unwrap();
}

#[test]
fn batch_opening_is_distinct_and_sorted() {
    let m = golden::matrix(6, 3, 4);
    let tree = MerkleTree::commit(&m).unwrap();
    let batch = open_batch(&m, &tree, &[7, 3, 7, 0, 31, 3]).unwrap();
    let idx: Vec<usize> = batch.iter().map(|o| o.leaf_index).collect();
    assert_eq!(idx, vec![0, 3, 7, 31]);
    for o in &batch {
        assert_eq!(o, &open(&m, &tree, o.leaf_index).unwrap());
        verify_opening(&tree.root(), 32, o).unwrap();
    }
    assert!(matches!(
        open_batch(&m, &tree, &[1, 32]),
        Err(MerkleError::LeafOutOfRange {
            index: 32,
            num_leaves: 32
        })
    ));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let one_row = RowMajor::new(vec![F::ONE; 3], 3).unwrap();
    assert_eq!(
        MerkleTree::commit(&one_row),
        Err(MerkleError::BadRowCount { rows: 1 })
    );
    let six = RowMajor::new(vec![F::ONE; 6], 1).unwrap();
    assert_eq!(
        MerkleTree::commit(&six),
        Err(MerkleError::BadRowCount { rows: 6 })
    );
    let ragged = RowMajor {
        values: vec![F::ONE; 5],
        width: 2,
    };
    assert!(MerkleTree::commit(&ragged).is_err());
    let zero = RowMajor {
        values: vec![],
        width: 0,
    };
    assert!(MerkleTree::commit(&zero).is_err());

    let m = golden::matrix(4, 2, 3);
    let tree = MerkleTree::commit(&m).unwrap();
    assert!(tree.path(8).is_err());
    assert!(open(&m, &tree, 8).is_err());
    let other = golden::matrix(3, 2, 3);
    assert!(matches!(
        open(&other, &tree, 0),
        Err(MerkleError::MatrixTreeMismatch { .. })
    ));

    let o = open(&m, &tree, 5).unwrap();
    let root = tree.root();
    assert_eq!(
        verify_opening(&root, 6, &o),
        Err(MerkleError::BadLeafCount { num_leaves: 6 })
    );
    assert_eq!(
        verify_opening(&root, 0, &o),
        Err(MerkleError::BadLeafCount { num_leaves: 0 })
    );
    assert!(matches!(
        verify_opening(&root, 16, &o),
        Err(MerkleError::PathLength { .. })
    ));
    assert!(matches!(
        verify_opening(&root, 4, &o),
        Err(MerkleError::LeafOutOfRange { .. })
    ));
    let mut short = o.clone();
    short.row1.pop();
    assert!(matches!(
        verify_opening(&root, 8, &short),
        Err(MerkleError::RowWidthMismatch { .. })
    ));
    let mut index = o.clone();
    index.leaf_index = usize::MAX;
    assert!(verify_opening(&root, 8, &index).is_err());

    let r = RootOnlyTree::commit(&m).unwrap();
    assert_eq!(r.root(), root);
    assert_eq!(r.num_leaves(), 8);
    assert_eq!(RootOnlyTree::from(tree.clone()), r);
}
