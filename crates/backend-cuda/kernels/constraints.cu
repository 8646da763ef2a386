// Composition polynomial on the GPU: interprets a compiled constraint program (crate
// rstark-constraints, format in docs/ARCHITECTURE.md "Constraint compilation") once per
// quotient-domain row and writes Q(x_j) = (sum_i alpha^i C_i(x_j)) / Z_H(x_j) as 3 words.
//
// One thread per row (grid-stride over rows, so the register scratch is bounded). The program's
// registers live in a global scratch buffer laid out register-major (register r of thread t at
// r * n_threads + t), so a warp's accesses to one register are coalesced. The program is uniform
// across threads: every branch on an opcode or operand source is taken by the whole warp.
// The host validates the program (ConstraintProgram::validate) before launching: the kernel
// trusts its indices.
#include "constraints.cuh"

// Opcodes and operand sources: crates/constraints/src/program.rs.
#define CP_ADD 0
#define CP_SUB 1
#define CP_MUL 2
#define CP_NEG 3
#define CP_ACC 4
#define CP_EADD 8
#define CP_ESUB 9
#define CP_EMUL 10
#define CP_EADDB 11
#define CP_ESUBB 12
#define CP_EMULB 13
#define CP_EACC 14

struct CpRow {
  const u64* mc;  // main, current row
  const u64* mn;  // main, next row
  const u64* ac;  // aux (flattened EF), current row
  const u64* an;  // aux, next row
  const u64* pub;
  const u64* cst;
  const u64* chal;  // EF, 3 words each
  u64* rb;          // base registers of this thread (stride `stride`)
  u64* re;          // ext registers: component c of register r at re[(3r + c) * stride]
  u64 stride;
  u64 s0, s1, s2;  // is_first_row, is_last_row, is_transition
};

__device__ __forceinline__ u64 cp_base(const CpRow& r, u32 w) {
  u32 i = w & CP_MASK;
  switch (w >> CP_SHIFT) {
    case 0: return r.rb[(u64)i * r.stride];
    case 1: return r.mc[i];
    case 2: return r.mn[i];
    case 3: return r.pub[i];
    case 4: return r.cst[i];
    default: return i == 0 ? r.s0 : (i == 1 ? r.s1 : r.s2);
  }
}

__device__ __forceinline__ gl3 cp_ext(const CpRow& r, u32 w) {
  u32 i = w & CP_MASK;
  const u64* p;
  u64 s = 1;
  switch (w >> CP_SHIFT) {
    case 0:
      p = r.re + (u64)3 * i * r.stride;
      s = r.stride;
      break;
    case 1: p = r.ac + 3 * (u64)i; break;
    case 2: p = r.an + 3 * (u64)i; break;
    default: p = r.chal + 3 * (u64)i; break;
  }
  return gl3{p[0], p[s], p[2 * s]};
}

__device__ __forceinline__ void cp_set_ext(const CpRow& r, u32 i, gl3 v) {
  u64* p = r.re + (u64)3 * i * r.stride;
  p[0] = v.c0;
  p[r.stride] = v.c1;
  p[2 * r.stride] = v.c2;
}

__device__ __forceinline__ u64 cp_get(const CpRow& r, u32 w) { return cp_base(r, w); }
__device__ __forceinline__ gl3 cp_get_ext(const CpRow& r, u32 w) { return cp_ext(r, w); }
__device__ __forceinline__ void cp_put(CpRow& r, u32 i, u64 v) { r.rb[(u64)i * r.stride] = v; }
__device__ __forceinline__ void cp_put_ext(CpRow& r, u32 i, gl3 v) { cp_set_ext(r, i, v); }

// A row of a table with fixed columns, for either kernel's row type (the *_fixed kernels; the
// plain kernels keep their row type, never see source CP_FIXED and keep their code). Only base
// operand reads change; every other access is the base row's.
template <typename Base>
struct CpRowFixed : Base {
  CpFixedRow fx;
};

template <typename Base>
__device__ __forceinline__ u64 cp_get(const CpRowFixed<Base>& r, u32 w) {
  return (w >> CP_SHIFT) == CP_FIXED ? cp_fixed(r.fx, w & CP_MASK)
                                     : cp_get(static_cast<const Base&>(r), w);
}
template <typename Row>
__device__ __forceinline__ void cp_set_fixed(Row&, const CpFixed&, u64, u64, u64) {}
template <typename Base>
__device__ __forceinline__ void cp_set_fixed(CpRowFixed<Base>& r, const CpFixed& f, u64 j, u64 nj,
                                             u64 k) {
  r.fx = cp_fixed_row(f, j, nj, k);
}

// The interpreter loop both kernel versions share: one row's program, returning sum_i alpha^i C_i.
template <typename Row>
__device__ __forceinline__ gl3 cp_run(Row& r, const uint4* __restrict__ code, u32 n_instr,
                                      const u64* __restrict__ chal) {
  gl3 acc{0, 0, 0};
  // The next instruction is loaded while this one runs (its load latency is not on the
  // critical path of every instruction).
  uint4 next = code[0];
  for (u32 pc = 0; pc < n_instr; pc++) {
    uint4 ins = next;
    if (pc + 1 < n_instr) next = code[pc + 1];
    switch (ins.x) {
      case CP_ADD: cp_put(r, ins.y, gl_add(cp_get(r, ins.z), cp_get(r, ins.w))); break;
      case CP_SUB: cp_put(r, ins.y, gl_sub(cp_get(r, ins.z), cp_get(r, ins.w))); break;
      case CP_MUL: cp_put(r, ins.y, gl_mul(cp_get(r, ins.z), cp_get(r, ins.w))); break;
      case CP_NEG: cp_put(r, ins.y, gl_neg(cp_get(r, ins.z))); break;
      case CP_ACC: {
        const u64* c = chal + 3 * (u64)ins.y;
        acc = gl3_add(acc, gl3_scale(gl3{c[0], c[1], c[2]}, cp_get(r, ins.z)));
        break;
      }
      case CP_EACC: {
        const u64* c = chal + 3 * (u64)ins.y;
        acc = gl3_add(acc, gl3_mul(gl3{c[0], c[1], c[2]}, cp_get_ext(r, ins.z)));
        break;
      }
      case CP_EADD: cp_put_ext(r, ins.y, gl3_add(cp_get_ext(r, ins.z), cp_get_ext(r, ins.w))); break;
      case CP_ESUB: cp_put_ext(r, ins.y, gl3_sub(cp_get_ext(r, ins.z), cp_get_ext(r, ins.w))); break;
      case CP_EMUL: cp_put_ext(r, ins.y, gl3_mul(cp_get_ext(r, ins.z), cp_get_ext(r, ins.w))); break;
      case CP_EADDB: {
        gl3 v = cp_get_ext(r, ins.z);
        v.c0 = gl_add(v.c0, cp_get(r, ins.w));
        cp_put_ext(r, ins.y, v);
        break;
      }
      case CP_ESUBB: {
        gl3 v = cp_get_ext(r, ins.z);
        v.c0 = gl_sub(v.c0, cp_get(r, ins.w));
        cp_put_ext(r, ins.y, v);
        break;
      }
      case CP_EMULB: cp_put_ext(r, ins.y, gl3_scale(cp_get_ext(r, ins.z), cp_get(r, ins.w))); break;
      default: break;  // unreachable for validated programs
    }
  }
  return acc;
}

// out[3j..3j+3] = Q(x_j) for rows j < 2^log_q of the quotient domain g.<omega_q> (bit-reversed).
// main/aux: row-major matrices whose first 2^log_q rows are that domain (an LDE prefix);
// scratch: (nb + 3 ne) * n_threads words. Row: CpRow, or CpRowFixed<CpRow> with the fixed
// columns `fixed`.
template <typename Row>
__device__ __forceinline__ void cp_quotient(
    const uint4* __restrict__ code, u32 n_instr, const u64* __restrict__ consts,
    const u64* __restrict__ chal, const u64* __restrict__ pub, const u64* __restrict__ main,
    u32 main_w, const u64* __restrict__ aux, u32 aux_w, const CpFixed& fixed,
    const u64* __restrict__ frame, u32 log_q, u32 log_d, u64* __restrict__ scratch, u32 nb,
    u64 n_threads, u64* __restrict__ out) {
  u64 tid = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (tid >= n_threads) return;
  const u64 q = 1ull << log_q;
  const u64 parts = 1ull << log_d;
  const u64 shift = frame[CPF_SHIFT], omega_q = frame[CPF_OMEGA_Q];
  const u64 w_inv = frame[CPF_OMEGA_INV], n_inv = frame[CPF_N_INV];
  Row r;
  r.pub = pub;
  r.cst = consts;
  r.chal = chal;
  r.stride = n_threads;
  r.rb = scratch + tid;
  r.re = scratch + (u64)nb * n_threads + tid;
  for (u64 j = tid; j < q; j += n_threads) {
    u64 k = bitrev_bits(j, log_q);
    u64 part = k & (parts - 1);
    u64 nj = bitrev_bits((k + parts) & (q - 1), log_q);
    cp_selectors(shift, omega_q, w_inv, n_inv, frame[CPF_ZH + part], k, r.s0, r.s1, r.s2);
    r.mc = main + j * main_w;
    r.mn = main + nj * main_w;
    r.ac = aux + j * aux_w;
    r.an = aux + nj * aux_w;
    cp_set_fixed(r, fixed, j, nj, k);
    gl3 acc = cp_run(r, code, n_instr, chal);
    acc = gl3_scale(acc, frame[CPF_ZH_INV + part]);
    out[3 * j] = acc.c0;
    out[3 * j + 1] = acc.c1;
    out[3 * j + 2] = acc.c2;
  }
}

extern "C" __global__ void __launch_bounds__(256) constraints_quotient(
    const uint4* __restrict__ code, u32 n_instr, const u64* __restrict__ consts,
    const u64* __restrict__ chal, const u64* __restrict__ pub, const u64* __restrict__ main,
    u32 main_w, const u64* __restrict__ aux, u32 aux_w, const u64* __restrict__ frame, u32 log_q,
    u32 log_d, u64* __restrict__ scratch, u32 nb, u64 n_threads, u64* __restrict__ out) {
  cp_quotient<CpRow>(code, n_instr, consts, chal, pub, main, main_w, aux, aux_w, CpFixed{}, frame,
                     log_q, log_d, scratch, nb, n_threads, out);
}

// constraints_quotient for a table with preprocessed or periodic columns (`fixed`).
extern "C" __global__ void __launch_bounds__(256) constraints_quotient_fixed(
    const uint4* __restrict__ code, u32 n_instr, const u64* __restrict__ consts,
    const u64* __restrict__ chal, const u64* __restrict__ pub, const u64* __restrict__ main,
    u32 main_w, const u64* __restrict__ aux, u32 aux_w, CpFixed fixed,
    const u64* __restrict__ frame, u32 log_q, u32 log_d, u64* __restrict__ scratch, u32 nb,
    u64 n_threads, u64* __restrict__ out) {
  cp_quotient<CpRowFixed<CpRow>>(code, n_instr, consts, chal, pub, main, main_w, aux, aux_w, fixed,
                                 frame, log_q, log_d, scratch, nb, n_threads, out);
}

// ---------------------------------------------------------------------------------------------
// Version 2 (docs/GPU.md "Constraint kernel v2"). Same values; what moves:
// - it runs the program with results forwarded (ConstraintProgram::forward_results): the last
//   base result stays in a hardware register (`last`, operand source CP_PREV), and results read
//   only there are written nowhere (dst CP_NO_REG); most register traffic goes away;
// - the program's hottest registers live in shared memory: the compiler numbers registers by
//   access count (hottest first), so base registers r < kb and extension registers e < ke sit in
//   slots of this block's dynamic shared memory (slot s of thread x at sm[s * blockDim + x]); the
//   rest stay in the global scratch, numbered from kb / ke;
// - current-row main operands come from a column-major copy of a chunk of rows (made by
//   cp_rows_to_cols), so a warp's read of one column is 256 contiguous bytes instead of 32
//   different rows' lines. Next-row operands (few) still come from the row-major matrix.
// One launch covers the chunk of rows [row0, row0 + chunk); a thread takes rows t, t + n_threads...
// of the chunk.

// v2's registers in shared memory (dynamic size: (kb + 3 ke) * blockDim.x words). Indexed from
// the array itself, not through a pointer, so the accesses compile to shared loads and stores.
extern __shared__ u64 cp_smem[];

struct CpRow2 {
  const u64* mc;   // main, current row: column i at mc[i * mcs]
  u64 mcs;
  const u64* mn;   // main, next row: column i at mn[i * mns]
  u64 mns;
  const u64* ac;   // aux (flattened EF), current row: base column i at ac[i * acs]
  u64 acs;
  const u64* an;
  u64 ans;
  const u64* pub;
  const u64* cst;
  const u64* chal;
  u32 smo;         // this thread's first shared slot word in cp_smem (slot s at smo + s * sms)
  u32 sms;
  u32 kb, ke;      // registers below these are in shared memory
  u64* rb;         // global base registers kb.. of this thread (stride `stride`)
  u64* re;         // global ext registers ke.. (component c of register e at (3(e-ke)+c)*stride)
  u64 stride;
  u64 s0, s1, s2;
  u64 last;        // the previous instruction's result (operand source CP_PREV)
};

__device__ __forceinline__ u64 cp2_reg(const CpRow2& r, u32 i) {
  return i < r.kb ? cp_smem[r.smo + i * r.sms] : r.rb[(u64)(i - r.kb) * r.stride];
}

__device__ __forceinline__ void cp2_set(const CpRow2& r, u32 i, u64 v) {
  if (i < r.kb)
    cp_smem[r.smo + i * r.sms] = v;
  else
    r.rb[(u64)(i - r.kb) * r.stride] = v;
}

__device__ __forceinline__ u64 cp2_base(const CpRow2& r, u32 w) {
  u32 i = w & CP_MASK;
  switch (w >> CP_SHIFT) {
    case 0: return cp2_reg(r, i);
    case 1: return r.mc[(u64)i * r.mcs];
    case 2: return r.mn[(u64)i * r.mns];
    case 3: return r.pub[i];
    case 4: return r.cst[i];
    case 5: return i == 0 ? r.s0 : (i == 1 ? r.s1 : r.s2);
    default: return r.last;  // CP_PREV
  }
}

// A base operation's result: kept as `last`, written to its register unless dst is CP_NO_REG.
__device__ __forceinline__ void cp2_put(CpRow2& r, u32 dst, u64 v) {
  r.last = v;
  if (dst != CP_NO_REG) cp2_set(r, dst, v);
}

__device__ __forceinline__ gl3 cp2_ext(const CpRow2& r, u32 w) {
  u32 i = w & CP_MASK;
  const u64* p;
  u64 s = 1;
  switch (w >> CP_SHIFT) {
    case 0:
      if (i < r.ke) {
        u32 o = r.smo + (r.kb + 3 * i) * r.sms;
        return gl3{cp_smem[o], cp_smem[o + r.sms], cp_smem[o + 2 * r.sms]};
      }
      p = r.re + (u64)3 * (i - r.ke) * r.stride;
      s = r.stride;
      break;
    case 1:
      p = r.ac + 3 * (u64)i * r.acs;
      s = r.acs;
      break;
    case 2:
      p = r.an + 3 * (u64)i * r.ans;
      s = r.ans;
      break;
    default: p = r.chal + 3 * (u64)i; break;
  }
  return gl3{p[0], p[s], p[2 * s]};
}

__device__ __forceinline__ void cp2_set_ext(const CpRow2& r, u32 i, gl3 v) {
  if (i < r.ke) {
    u32 o = r.smo + (r.kb + 3 * i) * r.sms;
    cp_smem[o] = v.c0;
    cp_smem[o + r.sms] = v.c1;
    cp_smem[o + 2 * r.sms] = v.c2;
    return;
  }
  u64* p = r.re + (u64)3 * (i - r.ke) * r.stride;
  p[0] = v.c0;
  p[r.stride] = v.c1;
  p[2 * r.stride] = v.c2;
}

__device__ __forceinline__ u64 cp_get(const CpRow2& r, u32 w) { return cp2_base(r, w); }
__device__ __forceinline__ gl3 cp_get_ext(const CpRow2& r, u32 w) { return cp2_ext(r, w); }
__device__ __forceinline__ void cp_put(CpRow2& r, u32 i, u64 v) { cp2_put(r, i, v); }
__device__ __forceinline__ void cp_put_ext(CpRow2& r, u32 i, gl3 v) { cp2_set_ext(r, i, v); }

// dst[c * rows + t] = src[(row0 + t) * w + c] for t < rows, c < w: rows [row0, row0 + rows) of a
// row-major matrix as a column-major one. 32 x 32 tiles through shared memory (both sides
// coalesced); block (32, 8), grid (ceil(w / 32), at most 65535): blocks stride over the row tiles
// in y, so any number of rows fits the grid.
extern "C" __global__ void __launch_bounds__(256) cp_rows_to_cols(const u64* __restrict__ src,
                                                                  u32 w, u64 row0, u64 rows,
                                                                  u64* __restrict__ dst) {
  __shared__ u64 tile[32][33];
  u64 c0 = (u64)blockIdx.x * 32;
  for (u64 t0 = (u64)blockIdx.y * 32; t0 < rows; t0 += (u64)gridDim.y * 32) {
    for (u32 k = threadIdx.y; k < 32; k += 8) {
      u64 t = t0 + k, c = c0 + threadIdx.x;
      if (t < rows && c < w) tile[k][threadIdx.x] = src[(row0 + t) * w + c];
    }
    __syncthreads();
    for (u32 k = threadIdx.y; k < 32; k += 8) {
      u64 c = c0 + k, t = t0 + threadIdx.x;
      if (t < rows && c < w) dst[c * rows + t] = tile[threadIdx.x][k];
    }
    __syncthreads();
  }
}

// As constraints_quotient, for rows [row0, row0 + chunk) of the quotient domain, reading
// current rows from `main_cur`/`aux_cur` and next rows from `main_next`/`aux_next` (CpSrc: a whole
// row-major LDE, a column-major copy of the chunk, or recomputed column-major blocks). Dynamic
// shared memory: (kb + 3 ke) * blockDim.x words. scratch: (nb - kb + 3 (ne - ke)) * n_threads
// words (nb_g = nb - kb global base registers). Row: CpRow2, or CpRowFixed<CpRow2> with the fixed
// columns.
template <typename Row>
__device__ __forceinline__ void cp_quotient_v2(
    const uint4* __restrict__ code, u32 n_instr, const u64* __restrict__ consts,
    const u64* __restrict__ chal, const u64* __restrict__ pub, const CpSrc& main_cur,
    const CpSrc& main_next, const CpSrc& aux_cur, const CpSrc& aux_next, const CpFixed& fixed,
    const u64* __restrict__ frame, u32 log_q, u32 log_d, u64 row0, u64 chunk, u32 kb, u32 ke,
    u64* __restrict__ scratch, u32 nb_g, u64 n_threads, u64* __restrict__ out) {
  u64 tid = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (tid >= n_threads) return;
  const u64 q = 1ull << log_q;
  const u64 parts = 1ull << log_d;
  const u64 shift = frame[CPF_SHIFT], omega_q = frame[CPF_OMEGA_Q];
  const u64 w_inv = frame[CPF_OMEGA_INV], n_inv = frame[CPF_N_INV];
  Row r;
  r.pub = pub;
  r.cst = consts;
  r.chal = chal;
  r.smo = threadIdx.x;
  r.sms = blockDim.x;
  r.kb = kb;
  r.ke = ke;
  r.stride = n_threads;
  r.rb = scratch + tid;
  r.re = scratch + (u64)nb_g * n_threads + tid;
  r.mcs = main_cur.col_stride;
  r.mns = main_next.col_stride;
  r.acs = aux_cur.col_stride;
  r.ans = aux_next.col_stride;
  for (u64 t = tid; t < chunk; t += n_threads) {
    u64 j = row0 + t;
    u64 k = bitrev_bits(j, log_q);
    u64 part = k & (parts - 1);
    u64 nj = bitrev_bits((k + parts) & (q - 1), log_q);
    cp_selectors(shift, omega_q, w_inv, n_inv, frame[CPF_ZH + part], k, r.s0, r.s1, r.s2);
    r.mc = cp_src_row(main_cur, j);
    r.mn = cp_src_row(main_next, nj);
    r.ac = cp_src_row(aux_cur, j);
    r.an = cp_src_row(aux_next, nj);
    cp_set_fixed(r, fixed, j, nj, k);
    r.last = 0;
    gl3 acc = cp_run(r, code, n_instr, chal);
    acc = gl3_scale(acc, frame[CPF_ZH_INV + part]);
    out[3 * j] = acc.c0;
    out[3 * j + 1] = acc.c1;
    out[3 * j + 2] = acc.c2;
  }
}

extern "C" __global__ void __launch_bounds__(128, 8) constraints_quotient_v2(
    const uint4* __restrict__ code, u32 n_instr, const u64* __restrict__ consts,
    const u64* __restrict__ chal, const u64* __restrict__ pub, CpSrc main_cur, CpSrc main_next,
    CpSrc aux_cur, CpSrc aux_next, const u64* __restrict__ frame, u32 log_q, u32 log_d, u64 row0,
    u64 chunk, u32 kb, u32 ke, u64* __restrict__ scratch, u32 nb_g, u64 n_threads,
    u64* __restrict__ out) {
  cp_quotient_v2<CpRow2>(code, n_instr, consts, chal, pub, main_cur, main_next, aux_cur, aux_next,
                         CpFixed{}, frame, log_q, log_d, row0, chunk, kb, ke, scratch, nb_g,
                         n_threads, out);
}

// constraints_quotient_v2 for a table with preprocessed or periodic columns (`fixed`).
extern "C" __global__ void __launch_bounds__(128, 8) constraints_quotient_v2_fixed(
    const uint4* __restrict__ code, u32 n_instr, const u64* __restrict__ consts,
    const u64* __restrict__ chal, const u64* __restrict__ pub, CpSrc main_cur, CpSrc main_next,
    CpSrc aux_cur, CpSrc aux_next, CpFixed fixed, const u64* __restrict__ frame, u32 log_q,
    u32 log_d, u64 row0, u64 chunk, u32 kb, u32 ke, u64* __restrict__ scratch, u32 nb_g,
    u64 n_threads, u64* __restrict__ out) {
  cp_quotient_v2<CpRowFixed<CpRow2>>(code, n_instr, consts, chal, pub, main_cur, main_next,
                                     aux_cur, aux_next, fixed, frame, log_q, log_d, row0, chunk, kb,
                                     ke, scratch, nb_g, n_threads, out);
}
