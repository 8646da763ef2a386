//! Transcript behaviour and the golden challenge vectors (tests/golden/transcript.txt).
//! Regenerate with `RSTARK_BLESS=1 cargo test -p rstark-transcript --release`.

use rstark_field::{EF, F, PrimeCharacteristicRing, PrimeField64, ef_from_base, ef_to_bytes};
use rstark_transcript::{Transcript, TranscriptError, leading_zero_bits};
use tiny_keccak::{Hasher, Keccak};

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut k = Keccak::v256();
    for p in parts {
        k.update(p);
    }
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

#[test]
fn state_updates_follow_the_spec() {
    let mut t = Transcript::new(b"lbl");
    let s0 = keccak(&[b"rstark-transcript-v1", b"lbl"]);
    assert_eq!(t.state(), s0);
    t.absorb_bytes(b"abc");
    let s1 = keccak(&[&[0], &s0, &3u64.to_le_bytes(), b"abc"]);
    assert_eq!(t.state(), s1);
    let block = t.squeeze_block();
    assert_eq!(block, keccak(&[&[1], &s1]));
    // Field elements are absorbed as one absorb of their canonical bytes.
    let xs = [F::new(3), -F::ONE];
    let mut a = t.clone();
    let mut b = t.clone();
    a.absorb_base(&xs);
    let mut bytes = 3u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(&(F::ORDER_U64 - 1).to_le_bytes());
    b.absorb_bytes(&bytes);
    assert_eq!(a, b);
    let e = ef_from_base([F::new(1), F::new(2), F::new(3)]);
    let mut a = t.clone();
    let mut b = t.clone();
    a.absorb_ext(&[e]);
    b.absorb_bytes(&ef_to_bytes(e));
    assert_eq!(a, b);
    let mut a = t.clone();
    let mut b = t.clone();
    a.absorb_digest(&[9; 32]);
    b.absorb_bytes(&[9; 32]);
    assert_eq!(a, b);
}

#[test]
fn samples_follow_the_spec() {
    let t = Transcript::new(b"samples");
    let mut a = t.clone();
    let mut b = t.clone();
    let x = a.sample_base();
    let block = b.squeeze_block();
    let w0 = u64::from_le_bytes(block[..8].try_into().unwrap());
    if w0 < F::ORDER_U64 {
        assert_eq!(x.as_canonical_u64(), w0);
    }
    assert_eq!(a, b, "a sample squeezes exactly one block (almost always)");
    let i = a.sample_index(1 << 10);
    let block = b.squeeze_block();
    assert_eq!(
        i as u64,
        u64::from_le_bytes(block[..8].try_into().unwrap()) & 1023
    );
    assert_eq!(a.sample_index(1), 0);
    assert!(a.try_sample_index(3).is_err());
    assert!(a.try_sample_index(0).is_err());
    assert!(a.try_sample_index(1 << 33).is_err());
    let before = a.clone();
    assert_eq!(
        a.try_grind(257),
        Err(rstark_transcript::TranscriptError::PowBitsTooLarge { bits: 257 })
    );
    for n in [0, 3, 1 << 33] {
        assert!(a.try_sample_indices(5, n).is_err());
        assert!(a.try_sample_indices(0, n).is_err());
    }
    assert_eq!(a, before, "a rejected range leaves the state untouched");
    let mut c = a.clone();
    assert_eq!(
        c.try_sample_indices(3, 8).unwrap(),
        a.clone().sample_indices(3, 8)
    );
    let idx = a.sample_indices(100, 1 << 4);
    assert_eq!(idx.len(), 100);
    assert!(idx.iter().all(|&i| i < 16));
    let e: EF = a.sample_ext();
    assert_ne!(e, EF::ZERO);
}

#[test]
fn grinding_finds_the_least_nonce_and_verifies() {
    for bits in [0, 1, 5, 10] {
        let mut p = Transcript::new(b"pow");
        p.absorb_bytes(&[bits as u8]);
        let before = p.clone();
        let nonce = p.grind(bits);
        // Least: no smaller nonce works.
        let s = before.state();
        for n in 0..nonce {
            let h = keccak(&[&[2], &s, &n.to_le_bytes()]);
            assert!(leading_zero_bits(&h) < bits);
        }
        let mut v = before.clone();
        v.verify_pow(bits, nonce).unwrap();
        assert_eq!(v, p, "verify_pow absorbs the nonce like grind");
        if nonce > 0 {
            // The nonce just below the least one has too few bits: rejected, state unchanged.
            let mut w = before.clone();
            let e = w.verify_pow(bits, nonce - 1).unwrap_err();
            assert!(matches!(e, TranscriptError::InsufficientWork { .. }));
            assert_eq!(w, before);
        }
    }
    let mut t = Transcript::new(b"pow");
    assert!(matches!(
        t.verify_pow(300, 0),
        Err(TranscriptError::PowBitsTooLarge { bits: 300 })
    ));
    assert_eq!(leading_zero_bits(&[0; 32]), 256);
    let mut d = [0u8; 32];
    d[1] = 0x10;
    assert_eq!(leading_zero_bits(&d), 11);
}

#[test]
fn grinding_agrees_with_a_scalar_search() {
    for seed in 0u8..24 {
        let bits = 1 + u32::from(seed) % 10;
        let mut t = Transcript::new(b"pow-ref");
        t.absorb_bytes(&[seed]);
        let s = t.state();
        let want = (0u64..)
            .find(|n| leading_zero_bits(&keccak(&[&[2], &s, &n.to_le_bytes()])) >= bits)
            .unwrap();
        assert_eq!(t.clone().grind(bits), want, "seed {seed} bits {bits}");
        assert_eq!(rstark_transcript::least_nonce(&s, bits), Ok(want));
    }
    assert_eq!(
        rstark_transcript::least_nonce(&[0; 32], 257),
        Err(TranscriptError::PowBitsTooLarge { bits: 257 })
    );
    assert_eq!(rstark_transcript::least_nonce(&[7; 32], 0), Ok(0));
}

fn golden_script() -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k} {v}\n"));
    let mut t = Transcript::new(b"rstark-golden");
    line("state_new", hex::encode(t.state()));
    t.absorb_bytes(b"hello rstark");
    line("state_absorb_bytes", hex::encode(t.state()));
    t.absorb_digest(&[0xab; 32]);
    line("state_absorb_digest", hex::encode(t.state()));
    t.absorb_base(&rstark_poly::golden::elements(5, 42));
    line("state_absorb_base", hex::encode(t.state()));
    let exts = rstark_field::unflatten_ext(&rstark_poly::golden::elements(6, 43)).unwrap();
    t.absorb_ext(&exts);
    line("state_absorb_ext", hex::encode(t.state()));
    line("squeeze_block", hex::encode(t.squeeze_block()));
    for i in 0..3 {
        line(
            &format!("sample_base_{i}"),
            t.sample_base().as_canonical_u64().to_string(),
        );
    }
    line("sample_ext", hex::encode(ef_to_bytes(t.sample_ext())));
    line("sample_index_2^20", t.sample_index(1 << 20).to_string());
    let idx: Vec<String> = t
        .sample_indices(8, 1 << 10)
        .iter()
        .map(|i| i.to_string())
        .collect();
    line("sample_indices_8_2^10", idx.join(","));
    line("grind_8", t.grind(8).to_string());
    line("grind_12", t.grind(12).to_string());
    line("state_end", hex::encode(t.state()));
    out
}

#[test]
fn golden_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/transcript.txt");
    let got = golden_script();
    if std::env::var("RSTARK_BLESS").as_deref() == Ok("1") {
        std::fs::write(path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).expect("golden file missing: run with RSTARK_BLESS=1");
    assert_eq!(
        got, want,
        "transcript golden vectors changed (PROTOCOL.md §4)"
    );
}
