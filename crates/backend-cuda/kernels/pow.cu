// Proof-of-work search (docs/PROTOCOL.md §4): the least nonce whose
// Keccak256(0x02 ‖ s ‖ le64(nonce)) has `bits` leading zero bits (counted from the most
// significant bit of digest byte 0), as crates/transcript/src/pow.rs finds it on the host.
// One thread hashes one nonce: the 41-byte message fits one 136-byte rate block, so one
// Keccak-f per nonce. src/pow.rs launches batches from nonce 0 upward and stops after the first
// batch with a hit; atomicMin keeps the least hit of a batch, so the answer is the least nonce.
// tests/kernels_on_host.rs runs this file on the host (tests/host/pow_host.cpp).
#include "keccak.cuh"

#define POW_THREADS 256

// The digest bits that must be zero, as 4 little-endian lanes: bit i of the digest (i < bits) is
// bit 7 - i % 8 of byte i / 8. bits >= 256 masks every bit.
RS_HD void pow_mask(u32 bits, u64 mask[4]) {
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int j = 0; j < 4; j++) {
    u32 lo = 64u * (u32)j;
    u32 nb = bits <= lo ? 0u : (bits - lo >= 64u ? 64u : bits - lo);
    u32 full = nb / 8, part = nb % 8;
    u64 m = full == 8 ? ~0ull : (1ull << (8 * full)) - 1;
    if (part != 0) m |= (u64)((0xffu << (8 - part)) & 0xffu) << (8 * full);
    mask[j] = m;
  }
}

// Keccak256(0x02 ‖ s ‖ le64(nonce)), s = the transcript state as 4 little-endian words: lanes 0-3
// hold the tag and s[0..31], lane 4 s[31] and the nonce's low 7 bytes, lane 5 its top byte and
// the padding 0x01 (byte 41); 0x80 closes the block (byte 135).
RS_HD void pow_hash(const u64 s[4], u64 nonce, u64 out[4]) {
  u64 a[25];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 25; i++) a[i] = 0;
  a[0] = 0x02ull | (s[0] << 8);
  a[1] = (s[0] >> 56) | (s[1] << 8);
  a[2] = (s[1] >> 56) | (s[2] << 8);
  a[3] = (s[2] >> 56) | (s[3] << 8);
  a[4] = (s[3] >> 56) | (nonce << 8);
  a[5] = (nonce >> 56) | (0x01ull << 8);
  a[16] = 0x8000000000000000ull;
  keccak_f1600(a);
  out[0] = a[0]; out[1] = a[1]; out[2] = a[2]; out[3] = a[3];
}

// Whether `nonce` has `bits` leading zero bits for state s.
RS_HD bool pow_ok(const u64 s[4], u64 nonce, u32 bits) {
  u64 mask[4], d[4];
  pow_mask(bits, mask);
  pow_hash(s, nonce, d);
  return ((d[0] & mask[0]) | (d[1] & mask[1]) | (d[2] & mask[2]) | (d[3] & mask[3])) == 0;
}

// Nonces first .. first + count - 1, one per thread; *found = min(*found, every hit). A launch
// queued after one that already found a nonce (which is less than all of this launch's) returns
// at once. *found starts at ~0 (no hit; the host never searches nonce 2^64 - 1).
extern "C" __global__ void __launch_bounds__(POW_THREADS)
    pow_grind(u64 s0, u64 s1, u64 s2, u64 s3, u32 bits, u64 first, u64 count,
              unsigned long long* found) {
  u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  if (*(volatile unsigned long long*)found < first) return;
  const u64 s[4] = {s0, s1, s2, s3};
  u64 nonce = first + i;
  if (pow_ok(s, nonce, bits)) atomicMin(found, (unsigned long long)nonce);
}
