// What every constraint kernel shares: the operand encoding a row reads fixed columns with,
// the quotient frame, where a launch reads rows (CpSrc), fixed columns, and the row selectors.
// Included by constraints.cu (the interpreters) and by the kernels compiled per program at run
// time (src/jit.rs: constraints_jit.cuh after this header).
#pragma once
#include "field.cuh"

#define CP_SHIFT 29
#define CP_MASK ((1u << CP_SHIFT) - 1u)
// v2 only (programs from ConstraintProgram::forward_results): operand source "the previous
// instruction's result", and the dst of a result that needs no register.
#define CP_PREV 6
#define CP_NO_REG 0xFFFFFFFFu
// Operand source "a fixed column" (programs of tables with preprocessed or periodic columns, run
// by the *_fixed kernels): the index's top two bits say which (CP_FIXED_*), the low 27 bits the
// column.
#define CP_FIXED 7
#define CP_FIXED_KIND_SHIFT 27
#define CP_FIXED_COL_MASK ((1u << CP_FIXED_KIND_SHIFT) - 1u)
#define CP_FIXED_PREP_CUR 0
#define CP_FIXED_PREP_NEXT 1

// Frame words (QuotientFrame, src/constraints.rs): shift, omega_q, omega_n^-1, N^-1,
// zh[16], zh_inv[16].
#define CPF_SHIFT 0
#define CPF_OMEGA_Q 1
#define CPF_OMEGA_INV 2
#define CPF_N_INV 3
#define CPF_ZH 4
#define CPF_ZH_INV 20

// Where a launch reads a matrix's rows: element (row j, column c) at
// base[(j - first) * row_stride + c * col_stride]. A whole row-major matrix is {m, 0, W, 1}; a
// column-major block of R rows starting at row r0 is {b, r0, 1, R}. The kernel reads row j of the
// current-row source and row nj (the next row) of the next-row source; a source need only hold
// the rows the launch reads.
struct CpSrc {
  const u64* base;
  u64 first;
  u64 row_stride;
  u64 col_stride;
};

RS_HD const u64* cp_src_row(const CpSrc& s, u64 j) { return s.base + (j - s.first) * s.row_stride; }

// A table's fixed columns (operand source CP_FIXED): the preprocessed columns' current and next
// rows, and its periodic columns on the quotient domain as a table of n_per values per row,
// quotient row j (natural index k = bitrev(j)) reading row k & per_mask
// (rstark_protocol::PeriodicColumns::on_quotient_domain).
struct CpFixed {
  CpSrc prep_cur;
  CpSrc prep_next;
  const u64* per;
  u64 n_per;
  u64 per_mask;
};

// One row's fixed columns: preprocessed current row (column c at pc[c * pcs]), next row (column c
// at pn[c * pns]), periodic values.
struct CpFixedRow {
  const u64* pc;
  u64 pcs;
  const u64* pn;
  u64 pns;
  const u64* per;
};

RS_HD CpFixedRow cp_fixed_row(const CpFixed& f, u64 j, u64 nj, u64 k) {
  return CpFixedRow{cp_src_row(f.prep_cur, j), f.prep_cur.col_stride, cp_src_row(f.prep_next, nj),
                    f.prep_next.col_stride, f.per + (k & f.per_mask) * f.n_per};
}

RS_HD u64 cp_fixed(const CpFixedRow& f, u32 i) {
  u32 c = i & CP_FIXED_COL_MASK;
  switch (i >> CP_FIXED_KIND_SHIFT) {
    case CP_FIXED_PREP_CUR: return f.pc[(u64)c * f.pcs];
    case CP_FIXED_PREP_NEXT: return f.pn[(u64)c * f.pns];
    default: return f.per[c];
  }
}

// Selectors at x = g * omega_q^k (docs/PROTOCOL.md 5.4), one inversion for both denominators:
// is_first_row, is_last_row, is_transition.
__device__ __forceinline__ void cp_selectors(u64 shift, u64 omega_q, u64 w_inv, u64 n_inv, u64 zh,
                                             u64 k, u64& s0, u64& s1, u64& s2) {
  u64 x = gl_mul(shift, gl_pow(omega_q, k));
  u64 a = gl_sub(x, 1), b = gl_sub(x, w_inv);
  u64 inv = gl_pow(gl_mul(a, b), GL_P - 2);
  s0 = gl_mul(gl_mul(zh, gl_mul(inv, b)), n_inv);
  s1 = gl_mul(gl_mul(gl_mul(zh, gl_mul(inv, a)), w_inv), n_inv);
  s2 = b;
}
