// The row loop of a constraint kernel compiled for one program at run time (src/jit.rs, NVRTC):
// the same rows, selectors, Z_H scaling and output as constraints_quotient_v2, but each row runs
// `cj_eval`, the program as straight-line code (rstark_constraints::cuda_eval_source, appended
// after this header), so operands are hardware registers and literals instead of decoded words.
// The kernel takes exactly v2's arguments (or v2_fixed's when CJ_FIXED is defined), so the host
// launches it in v2's place; the interpreter's code, scratch and shared-register arguments are
// ignored. A large program is compiled as slices (rstark_constraints::split_program), one kernel
// each, run one after another over the same rows: the first writes Q, the others are compiled
// with CJ_ACCUMULATE and add their part. CJ_NO_SELECTORS: the program reads no row selector, so
// none is computed (an exponentiation and an inversion a row). Not compiled into the fatbin (build.rs compiles kernels/*.cu only); the host harness
// (crates/constraints/tests/host/kernel_host.cpp with RSTARK_JIT) runs it on the CPU.
#pragma once
#include "constraints.cuh"
#include "field_acc.cuh"

// One row's inputs, as the generated code reads them through the macros below.
struct CjRow {
  const u64* mc;  // main, current row: column i at mc[i * mcs]
  u64 mcs;
  const u64* mn;  // main, next row
  u64 mns;
  const u64* ac;  // aux (flattened EF), current row: base column i at ac[i * acs]
  u64 acs;
  const u64* an;
  u64 ans;
  const u64* pub;
  const u64* chal;  // EF, 3 words each
  u64 s0, s1, s2;
#ifdef CJ_FIXED
  CpFixedRow fx;
#endif
};

#define MC(i) r.mc[(u64)(i) * r.mcs]
#define MN(i) r.mn[(u64)(i) * r.mns]
#define AC(i) gl3{r.ac[(u64)(3 * (i)) * r.acs], r.ac[(u64)(3 * (i) + 1) * r.acs], r.ac[(u64)(3 * (i) + 2) * r.acs]}
#define AN(i) gl3{r.an[(u64)(3 * (i)) * r.ans], r.an[(u64)(3 * (i) + 1) * r.ans], r.an[(u64)(3 * (i) + 2) * r.ans]}
#define PUB(i) r.pub[i]
#define CH(i) gl3{r.chal[3 * (i)], r.chal[3 * (i) + 1], r.chal[3 * (i) + 2]}
#define S0 r.s0
#define S1 r.s1
#define S2 r.s2
#define FXC(c) r.fx.pc[(u64)(c) * r.fx.pcs]
#define FXN(c) r.fx.pn[(u64)(c) * r.fx.pns]
#define FXP(c) r.fx.per[c]

RS_HD gl3 cj_addb(gl3 a, u64 b) { return gl3{gl_add(a.c0, b), a.c1, a.c2}; }
RS_HD gl3 cj_subb(gl3 a, u64 b) { return gl3{gl_sub(a.c0, b), a.c1, a.c2}; }

// Σ_i challenge_i · C_i without a reduction per constraint: each component is a sum of
// 128-bit products kept unreduced (field_acc.cuh), reduced once when the row's program ends. Per
// base constraint that is 3 × 13 multiply-adds on carry chains instead of 3 × (product,
// reduction, addition): the accumulation was about 40% of Keccak-f's straight-line program
// (docs/PERF.md, session 12).
struct CjAcc {
  gl_acc192 c0, c1, c2;
};

// The generated code's accumulation statements (rstark_constraints::cuda_eval_source).
RS_HD void cj_acc_base(CjAcc& acc, gl3 ch, u64 c) {
  gl_mac(acc.c0, ch.c0, c);
  gl_mac(acc.c1, ch.c1, c);
  gl_mac(acc.c2, ch.c2, c);
}
RS_HD void cj_acc_ext(CjAcc& acc, gl3 ch, gl3 c) {
  gl3 t = gl3_mul(ch, c);
  gl_mac(acc.c0, t.c0, 1);
  gl_mac(acc.c1, t.c1, 1);
  gl_mac(acc.c2, t.c2, 1);
}
RS_HD gl3 cj_acc_done(const CjAcc& acc) {
  return gl3{gl_acc_reduce(acc.c0), gl_acc_reduce(acc.c1), gl_acc_reduce(acc.c2)};
}

// After each constraint (the generated code's `CJ_FENCE;`): in a rematerialized program
// (CJ_REMAT; rstark_constraints::rematerialize: every constraint computes its own operands) a
// compiler fence, so that NVVM neither merges the recomputed values back into long-lived ones
// nor hoists loads across constraints: the registers a thread needs stay few.
#ifdef CJ_REMAT
#define CJ_FENCE asm volatile("" ::: "memory")
#else
#define CJ_FENCE
#endif

#define CJ_EVAL_SIGNATURE __device__ __forceinline__ gl3 cj_eval(const CjRow& r)
CJ_EVAL_SIGNATURE;

#ifdef CJ_FIXED
#define CJ_FIXED_PARAM CpFixed fixed,
#else
#define CJ_FIXED_PARAM
#endif

// Blocks of 128 threads an SM must hold at once: caps the registers a thread may use at
// 65536 / (128 · CJ_MIN_BLOCKS). Straight-line code left alone takes ~253 (NVVM hoists loads for
// parallelism), so one SM ran 8 warps and the kernel was 22% slower than the interpreter
// (docs/PERF.md). jit_source sets it (RSTARK_JIT_MIN_BLOCKS).
#ifndef CJ_MIN_BLOCKS
#define CJ_MIN_BLOCKS 1
#endif

extern "C" __global__ void __launch_bounds__(128, CJ_MIN_BLOCKS) constraints_quotient_jit(
    const uint4* __restrict__ code, u32 n_instr, const u64* __restrict__ consts,
    const u64* __restrict__ chal, const u64* __restrict__ pub, CpSrc main_cur, CpSrc main_next,
    CpSrc aux_cur, CpSrc aux_next, CJ_FIXED_PARAM const u64* __restrict__ frame, u32 log_q,
    u32 log_d, u64 row0, u64 chunk, u32 kb, u32 ke, u64* __restrict__ scratch, u32 nb_g,
    u64 n_threads, u64* __restrict__ out) {
  (void)code, (void)n_instr, (void)consts, (void)kb, (void)ke, (void)scratch, (void)nb_g;
  u64 tid = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (tid >= n_threads) return;
  const u64 q = 1ull << log_q;
  const u64 parts = 1ull << log_d;
  const u64 shift = frame[CPF_SHIFT], omega_q = frame[CPF_OMEGA_Q];
  const u64 w_inv = frame[CPF_OMEGA_INV], n_inv = frame[CPF_N_INV];
  CjRow r;
  r.pub = pub;
  r.chal = chal;
  r.mcs = main_cur.col_stride;
  r.mns = main_next.col_stride;
  r.acs = aux_cur.col_stride;
  r.ans = aux_next.col_stride;
  for (u64 t = tid; t < chunk; t += n_threads) {
    u64 j = row0 + t;
    u64 k = bitrev_bits(j, log_q);
    u64 part = k & (parts - 1);
    u64 nj = bitrev_bits((k + parts) & (q - 1), log_q);
#ifdef CJ_NO_SELECTORS
    (void)shift, (void)omega_q, (void)w_inv, (void)n_inv;
    r.s0 = r.s1 = r.s2 = 0;
#else
    cp_selectors(shift, omega_q, w_inv, n_inv, frame[CPF_ZH + part], k, r.s0, r.s1, r.s2);
#endif
    r.mc = cp_src_row(main_cur, j);
    r.mn = cp_src_row(main_next, nj);
    r.ac = cp_src_row(aux_cur, j);
    r.an = cp_src_row(aux_next, nj);
#ifdef CJ_FIXED
    r.fx = cp_fixed_row(fixed, j, nj, k);
#endif
    gl3 acc = gl3_scale(cj_eval(r), frame[CPF_ZH_INV + part]);
#ifdef CJ_ACCUMULATE
    acc = gl3_add(acc, gl3{out[3 * j], out[3 * j + 1], out[3 * j + 2]});
#endif
    out[3 * j] = acc.c0;
    out[3 * j + 1] = acc.c1;
    out[3 * j + 2] = acc.c2;
  }
}
