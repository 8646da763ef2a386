//! Keccak-256 (Ethereum's: padding 0x01, not SHA3) of leaves and nodes.

use rstark_field::{F, PrimeField64};
use tiny_keccak::{Hasher, Keccak};

/// A 32-byte Keccak-256 output.
pub type Digest = [u8; 32];

/// Keccak-256 of `bytes`.
pub fn keccak256(bytes: &[u8]) -> Digest {
    let mut k = Keccak::v256();
    k.update(bytes);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

/// Internal node: Keccak256(left ‖ right).
#[inline]
pub fn hash_node(left: &Digest, right: &Digest) -> Digest {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left);
    buf[32..].copy_from_slice(right);
    keccak256(&buf)
}

/// Elements buffered before each `update` (a multiple of the 136-byte rate: 17 elements).
const BUF_ELEMS: usize = 17 * 4;

/// Leaf: Keccak256(canonical bytes of row0 ‖ row1). Bytes go through a stack buffer, so no
/// allocation happens per leaf.
pub fn hash_leaf(row0: &[F], row1: &[F]) -> Digest {
    let mut k = Keccak::v256();
    let mut buf = [0u8; BUF_ELEMS * 8];
    let mut filled = 0;
    for x in row0.iter().chain(row1) {
        buf[filled..filled + 8].copy_from_slice(&x.as_canonical_u64().to_le_bytes());
        filled += 8;
        if filled == buf.len() {
            k.update(&buf);
            filled = 0;
        }
    }
    k.update(&buf[..filled]);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_field::write_row_bytes;

    #[test]
    fn keccak_is_ethereum_keccak() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hex::encode(keccak256(b"abc")),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
        );
    }

    #[test]
    fn leaf_hash_equals_hash_of_concatenated_bytes() {
        for width in [0, 1, 5, 34, 68, 100] {
            let r0 = rstark_poly::golden::elements(width, 1);
            let r1 = rstark_poly::golden::elements(width, 2);
            let mut bytes = Vec::new();
            write_row_bytes(&r0, &mut bytes);
            write_row_bytes(&r1, &mut bytes);
            assert_eq!(hash_leaf(&r0, &r1), keccak256(&bytes));
        }
    }
}
