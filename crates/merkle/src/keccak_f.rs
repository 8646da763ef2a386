//! Keccak-f[1600] over a generic 64-bit "word" that may hold several independent states:
//! `u64` (one state), AVX2 `__m256i` (four) or AVX-512 `__m512i` (eight). The SIMD impls use
//! `core::arch` intrinsics inside `#[inline(always)]` methods; they are only ever called from
//! functions compiled with the matching `#[target_feature]` (see lanes.rs), after run-time
//! detection. Checked against `tiny_keccak::keccakf` in the tests.

pub(crate) const RC: [u64; 24] = [
    0x0000000000000001,
    0x0000000000008082,
    0x800000000000808a,
    0x8000000080008000,
    0x000000000000808b,
    0x0000000080000001,
    0x8000000080008081,
    0x8000000000008009,
    0x000000000000008a,
    0x0000000000000088,
    0x0000000080008009,
    0x000000008000000a,
    0x000000008000808b,
    0x800000000000008b,
    0x8000000000008089,
    0x8000000000008003,
    0x8000000000008002,
    0x8000000000000080,
    0x000000000000800a,
    0x800000008000000a,
    0x8000000080008081,
    0x8000000000008080,
    0x0000000080000001,
    0x8000000080008008,
];

/// A 64-bit word of `LANES` independent Keccak states.
pub(crate) trait Word: Copy {
    const LANES: usize;
    fn splat(x: u64) -> Self;
    fn xor(self, o: Self) -> Self;
    /// `!self & o`
    fn andn(self, o: Self) -> Self;
    /// Rotate left by R; S = 64 − R (stable Rust cannot compute it from R in a const argument).
    fn rotl<const R: i32, const S: i32>(self) -> Self;
    /// The word whose lane l is `f(l)`.
    fn from_fn(f: impl FnMut(usize) -> u64) -> Self;
    /// Lane `l` (l < LANES).
    fn lane(self, l: usize) -> u64;
    /// A LANES × LANES transpose from memory: `out[j]` lane l = `src[l·stride + j]` (unaligned).
    ///
    /// # Safety
    /// `src[l·stride + j]` must be readable for all l, j < LANES; `out.len() == LANES`.
    unsafe fn load_block(src: *const u64, stride: usize, out: &mut [Self]);
    /// Every lane reduced from [0, 2^64) to [0, p) (a Goldilocks internal value may be ≥ p).
    fn canonical(self) -> Self;
    /// Every lane read as little-endian bytes (identity on little-endian targets).
    fn le_to_native(self) -> Self;
}

/// The Goldilocks modulus (inputs are reduced to [0, p) before hashing).
const P: u64 = 0xffff_ffff_0000_0001;

impl Word for u64 {
    const LANES: usize = 1;
    #[inline(always)]
    fn splat(x: u64) -> Self {
        x
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self ^ o
    }
    #[inline(always)]
    fn andn(self, o: Self) -> Self {
        !self & o
    }
    #[inline(always)]
    fn rotl<const R: i32, const S: i32>(self) -> Self {
        self.rotate_left(R as u32)
    }
    #[inline(always)]
    fn from_fn(mut f: impl FnMut(usize) -> u64) -> Self {
        f(0)
    }
    #[inline(always)]
    fn lane(self, _l: usize) -> u64 {
        self
    }
    #[inline(always)]
    unsafe fn load_block(src: *const u64, _stride: usize, out: &mut [Self]) {
        // SAFETY: the caller guarantees src[0] is readable.
        out[0] = unsafe { src.read_unaligned() };
    }
    #[inline(always)]
    fn canonical(self) -> Self {
        if self >= P { self - P } else { self }
    }
    #[inline(always)]
    fn le_to_native(self) -> Self {
        u64::from_le(self)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{P, Word};

    // SAFETY (all methods below): the intrinsics need AVX2 resp. AVX-512F; these methods are
    // inlined only into `#[target_feature]` functions that lanes.rs calls after detecting them.
    impl Word for __m256i {
        const LANES: usize = 4;
        #[inline(always)]
        fn splat(x: u64) -> Self {
            unsafe { _mm256_set1_epi64x(x as i64) }
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            unsafe { _mm256_xor_si256(self, o) }
        }
        #[inline(always)]
        fn andn(self, o: Self) -> Self {
            unsafe { _mm256_andnot_si256(self, o) }
        }
        #[inline(always)]
        fn rotl<const R: i32, const S: i32>(self) -> Self {
            unsafe { _mm256_or_si256(_mm256_slli_epi64::<R>(self), _mm256_srli_epi64::<S>(self)) }
        }
        #[inline(always)]
        fn from_fn(mut f: impl FnMut(usize) -> u64) -> Self {
            let v = [f(0), f(1), f(2), f(3)];
            unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
        }
        #[inline(always)]
        fn lane(self, l: usize) -> u64 {
            let mut v = [0u64; 4];
            unsafe { _mm256_storeu_si256(v.as_mut_ptr().cast(), self) };
            v[l]
        }
        #[inline(always)]
        unsafe fn load_block(src: *const u64, stride: usize, out: &mut [Self]) {
            // SAFETY: the caller guarantees the 4 × 4 words are readable.
            unsafe {
                let r: [__m256i; 4] =
                    std::array::from_fn(|l| _mm256_loadu_si256(src.add(l * stride).cast()));
                // r[l] = [x_l0 x_l1 x_l2 x_l3] → out[j] = [x_0j x_1j x_2j x_3j]
                let t0 = _mm256_unpacklo_epi64(r[0], r[1]); // x00 x10 x02 x12
                let t1 = _mm256_unpackhi_epi64(r[0], r[1]); // x01 x11 x03 x13
                let t2 = _mm256_unpacklo_epi64(r[2], r[3]); // x20 x30 x22 x32
                let t3 = _mm256_unpackhi_epi64(r[2], r[3]); // x21 x31 x23 x33
                out[0] = _mm256_permute2x128_si256::<0x20>(t0, t2);
                out[1] = _mm256_permute2x128_si256::<0x20>(t1, t3);
                out[2] = _mm256_permute2x128_si256::<0x31>(t0, t2);
                out[3] = _mm256_permute2x128_si256::<0x31>(t1, t3);
            }
        }
        #[inline(always)]
        fn canonical(self) -> Self {
            unsafe {
                // Unsigned v ≥ p  ⟺  signed (v ⊕ 2^63) > (p − 1) ⊕ 2^63.
                let sign = _mm256_set1_epi64x(i64::MIN);
                let p_minus_1 = _mm256_set1_epi64x(((P - 1) ^ (1 << 63)) as i64);
                let ge = _mm256_cmpgt_epi64(_mm256_xor_si256(self, sign), p_minus_1);
                _mm256_sub_epi64(self, _mm256_and_si256(ge, _mm256_set1_epi64x(P as i64)))
            }
        }
        #[inline(always)]
        fn le_to_native(self) -> Self {
            self // x86-64 is little-endian
        }
    }

    impl Word for __m512i {
        const LANES: usize = 8;
        #[inline(always)]
        fn splat(x: u64) -> Self {
            unsafe { _mm512_set1_epi64(x as i64) }
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            unsafe { _mm512_xor_si512(self, o) }
        }
        #[inline(always)]
        fn andn(self, o: Self) -> Self {
            unsafe { _mm512_andnot_si512(self, o) }
        }
        #[inline(always)]
        fn rotl<const R: i32, const S: i32>(self) -> Self {
            unsafe { _mm512_rol_epi64::<R>(self) }
        }
        #[inline(always)]
        fn from_fn(mut f: impl FnMut(usize) -> u64) -> Self {
            let v = [f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7)];
            unsafe { _mm512_loadu_si512(v.as_ptr().cast()) }
        }
        #[inline(always)]
        fn lane(self, l: usize) -> u64 {
            let mut v = [0u64; 8];
            unsafe { _mm512_storeu_si512(v.as_mut_ptr().cast(), self) };
            v[l]
        }
        #[inline(always)]
        unsafe fn load_block(src: *const u64, stride: usize, out: &mut [Self]) {
            // SAFETY: the caller guarantees the 8 × 8 words are readable.
            unsafe {
                let r: [__m512i; 8] =
                    std::array::from_fn(|l| _mm512_loadu_si512(src.add(l * stride).cast()));
                // Stage 1: pairs of rows → t[2i] = [a0 b0 a2 b2 a4 b4 a6 b6], t[2i+1] = odd words.
                let t: [__m512i; 8] = std::array::from_fn(|i| {
                    if i % 2 == 0 {
                        _mm512_unpacklo_epi64(r[i], r[i + 1])
                    } else {
                        _mm512_unpackhi_epi64(r[i - 1], r[i])
                    }
                });
                // Stage 2: quads of rows → s0 = [a0 b0 c0 d0 a4 b4 c4 d4], s2 = words 2 and 6, …
                let lo2 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
                let hi2 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
                let q = |a: __m512i, b: __m512i| {
                    (
                        _mm512_permutex2var_epi64(a, lo2, b),
                        _mm512_permutex2var_epi64(a, hi2, b),
                    )
                };
                let (s0, s2) = q(t[0], t[2]);
                let (s1, s3) = q(t[1], t[3]);
                let (s4, s6) = q(t[4], t[6]);
                let (s5, s7) = q(t[5], t[7]);
                // Stage 3: all eight rows → column j.
                let lo4 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
                let hi4 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
                let cols = [
                    _mm512_permutex2var_epi64(s0, lo4, s4),
                    _mm512_permutex2var_epi64(s1, lo4, s5),
                    _mm512_permutex2var_epi64(s2, lo4, s6),
                    _mm512_permutex2var_epi64(s3, lo4, s7),
                    _mm512_permutex2var_epi64(s0, hi4, s4),
                    _mm512_permutex2var_epi64(s1, hi4, s5),
                    _mm512_permutex2var_epi64(s2, hi4, s6),
                    _mm512_permutex2var_epi64(s3, hi4, s7),
                ];
                out.copy_from_slice(&cols);
            }
        }
        #[inline(always)]
        fn canonical(self) -> Self {
            unsafe {
                let p = _mm512_set1_epi64(P as i64);
                let ge = _mm512_cmpge_epu64_mask(self, p);
                _mm512_mask_sub_epi64(self, ge, self, p)
            }
        }
        #[inline(always)]
        fn le_to_native(self) -> Self {
            self // x86-64 is little-endian
        }
    }
}

/// Keccak-f[1600] on `W::LANES` states at once; word (x, y) of the state at index x + 5y.
/// The round is written out (θ, ρ+π, χ, ι) so every rotation amount is a constant.
#[inline(always)]
pub(crate) fn keccak_f<W: Word>(a: &mut [W; 25]) {
    for rc in RC {
        // θ
        let c0 = a[0].xor(a[5]).xor(a[10]).xor(a[15]).xor(a[20]);
        let c1 = a[1].xor(a[6]).xor(a[11]).xor(a[16]).xor(a[21]);
        let c2 = a[2].xor(a[7]).xor(a[12]).xor(a[17]).xor(a[22]);
        let c3 = a[3].xor(a[8]).xor(a[13]).xor(a[18]).xor(a[23]);
        let c4 = a[4].xor(a[9]).xor(a[14]).xor(a[19]).xor(a[24]);
        let d0 = c4.xor(c1.rotl::<1, 63>());
        let d1 = c0.xor(c2.rotl::<1, 63>());
        let d2 = c1.xor(c3.rotl::<1, 63>());
        let d3 = c2.xor(c4.rotl::<1, 63>());
        let d4 = c3.xor(c0.rotl::<1, 63>());
        // ρ and π: b[y + 5·((2x + 3y) mod 5)] = rot(a[x + 5y] ⊕ d[x], r[x, y])
        let b0 = a[0].xor(d0);
        let b16 = a[5].xor(d0).rotl::<36, 28>();
        let b7 = a[10].xor(d0).rotl::<3, 61>();
        let b23 = a[15].xor(d0).rotl::<41, 23>();
        let b14 = a[20].xor(d0).rotl::<18, 46>();
        let b10 = a[1].xor(d1).rotl::<1, 63>();
        let b1 = a[6].xor(d1).rotl::<44, 20>();
        let b17 = a[11].xor(d1).rotl::<10, 54>();
        let b8 = a[16].xor(d1).rotl::<45, 19>();
        let b24 = a[21].xor(d1).rotl::<2, 62>();
        let b20 = a[2].xor(d2).rotl::<62, 2>();
        let b11 = a[7].xor(d2).rotl::<6, 58>();
        let b2 = a[12].xor(d2).rotl::<43, 21>();
        let b18 = a[17].xor(d2).rotl::<15, 49>();
        let b9 = a[22].xor(d2).rotl::<61, 3>();
        let b5 = a[3].xor(d3).rotl::<28, 36>();
        let b21 = a[8].xor(d3).rotl::<55, 9>();
        let b12 = a[13].xor(d3).rotl::<25, 39>();
        let b3 = a[18].xor(d3).rotl::<21, 43>();
        let b19 = a[23].xor(d3).rotl::<56, 8>();
        let b15 = a[4].xor(d4).rotl::<27, 37>();
        let b6 = a[9].xor(d4).rotl::<20, 44>();
        let b22 = a[14].xor(d4).rotl::<39, 25>();
        let b13 = a[19].xor(d4).rotl::<8, 56>();
        let b4 = a[24].xor(d4).rotl::<14, 50>();
        // χ and ι
        a[0] = b0.xor(b1.andn(b2));
        a[1] = b1.xor(b2.andn(b3));
        a[2] = b2.xor(b3.andn(b4));
        a[3] = b3.xor(b4.andn(b0));
        a[4] = b4.xor(b0.andn(b1));
        a[5] = b5.xor(b6.andn(b7));
        a[6] = b6.xor(b7.andn(b8));
        a[7] = b7.xor(b8.andn(b9));
        a[8] = b8.xor(b9.andn(b5));
        a[9] = b9.xor(b5.andn(b6));
        a[10] = b10.xor(b11.andn(b12));
        a[11] = b11.xor(b12.andn(b13));
        a[12] = b12.xor(b13.andn(b14));
        a[13] = b13.xor(b14.andn(b10));
        a[14] = b14.xor(b10.andn(b11));
        a[15] = b15.xor(b16.andn(b17));
        a[16] = b16.xor(b17.andn(b18));
        a[17] = b17.xor(b18.andn(b19));
        a[18] = b18.xor(b19.andn(b15));
        a[19] = b19.xor(b15.andn(b16));
        a[20] = b20.xor(b21.andn(b22));
        a[21] = b21.xor(b22.andn(b23));
        a[22] = b22.xor(b23.andn(b24));
        a[23] = b23.xor(b24.andn(b20));
        a[24] = b24.xor(b20.andn(b21));
        a[0] = a[0].xor(W::splat(rc));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<W: Word>() {
        let mut ours: [W; 25] = std::array::from_fn(|i| {
            W::from_fn(|l| (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ l as u64)
        });
        let mut refs: Vec<[u64; 25]> = (0..W::LANES)
            .map(|l| std::array::from_fn(|i| ours[i].lane(l)))
            .collect();
        keccak_f(&mut ours);
        keccak_f(&mut ours);
        for (l, r) in refs.iter_mut().enumerate() {
            tiny_keccak::keccakf(r);
            tiny_keccak::keccakf(r);
            for i in 0..25 {
                assert_eq!(ours[i].lane(l), r[i], "lane {l} word {i}");
            }
        }
    }

    #[test]
    fn scalar_permutation_matches_tiny_keccak() {
        check::<u64>();
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_permutations_match_tiny_keccak() {
        #[target_feature(enable = "avx2")]
        fn avx2() {
            check::<core::arch::x86_64::__m256i>()
        }
        #[target_feature(enable = "avx512f")]
        fn avx512() {
            check::<core::arch::x86_64::__m512i>()
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: feature detected.
            unsafe { avx2() }
        }
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: feature detected.
            unsafe { avx512() }
        }
    }
}
