// Runs the CUDA constraint kernel's source (crates/backend-cuda/kernels/constraints.cu, or with
// RSTARK_JIT a kernel generated for one program, kernels/constraints_jit.cuh) on the host: CUDA qualifiers compile away and each "thread" runs in turn (threads are independent:
// each owns its rows and its slice of the register scratch). Driven by tests/kernel_on_host.rs.
// Usage: kernel_host <case file> <output file> [initial output]; files are little-endian u64 words.
#include "host_run.h"

#include "constraints.cu"

// With RSTARK_JIT (the path of a generated cj_eval, rstark_constraints::cuda_eval_source): the
// kernel compiled per program runs in v2's place (v2_fixed's with CJ_FIXED), taking the same
// arguments; the interpreter v1 still runs for variant 0.
#ifdef RSTARK_JIT
#include "constraints_jit.cuh"
#include RSTARK_JIT
#ifdef CJ_FIXED
#define constraints_quotient_v2_fixed constraints_quotient_jit
#else
#define constraints_quotient_v2 constraints_quotient_jit
#endif
#endif

// constraints_quotient_v2's dynamic shared memory: threads run one after another, each in its
// own slots, and every register is written before it is read in a row.
u64 cp_smem[64 * 128];  // defines the kernel's `extern __shared__` array

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) return 2;
  if (!read_case(argv[1])) return 2;
  std::vector<u64> code64 = array(), consts = array(), chal = array(), pub = array(),
                   main_m = array(), aux = array(), frame = array();
  // Fixed columns: preprocessed rows (row-major, like main) and the periodic table.
  std::vector<u64> prep = array(), per = array();
  std::vector<uint4> code(code64.size() / 4);
  for (size_t i = 0; i < code.size(); i++)
    code[i] = uint4{(unsigned)code64[4 * i], (unsigned)code64[4 * i + 1],
                    (unsigned)code64[4 * i + 2], (unsigned)code64[4 * i + 3]};
  u32 main_w = (u32)next(), aux_w = (u32)next(), log_q = (u32)next(), log_d = (u32)next();
  u32 nb = (u32)next(), ne = (u32)next();
  u64 n_threads = next();
  u32 prep_w = (u32)next(), n_per = (u32)next();
  u64 per_rows = next();
  bool fixed = prep_w > 0 || n_per > 0;
  prep.push_back(0);  // a valid address when empty
  per.push_back(0);
  CpSrc prow{prep.data(), 0, prep_w, 1};
  CpFixed fx{prow, prow, per.data(), n_per, per_rows ? per_rows - 1 : 0};
  // Trailing words (optional): variant (0 = constraints_quotient, 1 = v2), kb, ke, columns,
  // chunk rows.
  u64 variant = case_pos < case_words.size() ? next() : 0;
  std::vector<u64> out(3ull << log_q);
  // A third argument: the values earlier slices wrote (a kernel compiled with CJ_ACCUMULATE adds
  // to them).
  if (argc == 4) {
    FILE* init = fopen(argv[3], "rb");
    if (!init || fread(out.data(), 8, out.size(), init) != out.size()) return 2;
    fclose(init);
  }
  if (variant == 0) {
    u32 block = 256;
    std::vector<u64> scratch((nb + 3 * (u64)ne) * n_threads + 1);
    blockDim = Dim3{block, 1, 1};
    for (u64 t = 0; t < (n_threads + block - 1) / block * block; t++) {
      blockIdx = Dim3{(unsigned)(t / block), 0, 0};
      threadIdx = Dim3{(unsigned)(t % block), 0, 0};
      if (fixed)
        constraints_quotient_fixed(code.data(), (u32)code.size(), consts.data(), chal.data(),
                                   pub.data(), main_m.data(), main_w, aux.data(), aux_w, fx,
                                   frame.data(), log_q, log_d, scratch.data(), nb, n_threads,
                                   out.data());
      else
        constraints_quotient(code.data(), (u32)code.size(), consts.data(), chal.data(), pub.data(),
                             main_m.data(), main_w, aux.data(), aux_w, frame.data(), log_q, log_d,
                             scratch.data(), nb, n_threads, out.data());
    }
  } else {
    u32 kb = (u32)next(), ke = (u32)next();
    // 0: every read from the row-major matrices; 1: current main rows from a column-major copy
    // of the chunk (the resident path); 2: recomputed blocks: current and next rows of main and
    // aux from column-major copies of the chunk and of the block holding its next rows (the
    // streamed path; chunk must be aligned and at most N rows).
    u64 columns = next();
    u64 chunk = next();
    u32 block = 128;
    if ((kb + 3 * ke) > 64) return 3;
    u64 q = 1ull << log_q;
    auto colmajor = [](const std::vector<u64>& m, u32 w, u64 r0, u64 rows) {
      std::vector<u64> c(rows * w + 1);
      for (u64 t = 0; t < rows; t++)
        for (u32 k = 0; k < w; k++) c[k * rows + t] = m[(r0 + t) * w + k];
      return c;
    };
    for (u64 row0 = 0; row0 < q; row0 += chunk) {
      u64 rows = chunk < q - row0 ? chunk : q - row0;
      CpSrc mrow{main_m.data(), 0, main_w, 1}, arow{aux.data(), 0, aux_w, 1};
      CpSrc mc = mrow, mn = mrow, ac = arow, an = arow;
      CpFixed f = fx;
      std::vector<u64> cols, ncols, acols, ancols, pcols, pncols;
      if (columns == 1) {
        cols = colmajor(main_m, main_w, row0, rows);
        mc = CpSrc{cols.data(), row0, 1, rows};
      } else if (columns == 2) {
        u64 k = bitrev_bits(row0, log_q);
        u64 nj = bitrev_bits((k + (1ull << log_d)) & (q - 1), log_q);
        u64 nfirst = nj / rows * rows;
        cols = colmajor(main_m, main_w, row0, rows);
        ncols = colmajor(main_m, main_w, nfirst, rows);
        acols = colmajor(aux, aux_w, row0, rows);
        ancols = colmajor(aux, aux_w, nfirst, rows);
        mc = CpSrc{cols.data(), row0, 1, rows};
        mn = CpSrc{ncols.data(), nfirst, 1, rows};
        ac = CpSrc{acols.data(), row0, 1, rows};
        an = CpSrc{ancols.data(), nfirst, 1, rows};
        pcols = colmajor(prep, prep_w, row0, rows);
        pncols = colmajor(prep, prep_w, nfirst, rows);
        f.prep_cur = CpSrc{pcols.data(), row0, 1, rows};
        f.prep_next = CpSrc{pncols.data(), nfirst, 1, rows};
      }
      u64 threads = n_threads < rows ? n_threads : rows;
      std::vector<u64> scratch((nb - kb + 3 * (u64)(ne - ke)) * threads + 1);
      blockDim = Dim3{block, 1, 1};
      for (u64 t = 0; t < (threads + block - 1) / block * block; t++) {
        blockIdx = Dim3{(unsigned)(t / block), 0, 0};
        threadIdx = Dim3{(unsigned)(t % block), 0, 0};
        if (fixed)
          constraints_quotient_v2_fixed(code.data(), (u32)code.size(), consts.data(), chal.data(),
                                        pub.data(), mc, mn, ac, an, f, frame.data(), log_q, log_d,
                                        row0, rows, kb, ke, scratch.data(), nb - kb, threads,
                                        out.data());
        else
          constraints_quotient_v2(code.data(), (u32)code.size(), consts.data(), chal.data(),
                                  pub.data(), mc, mn, ac, an, frame.data(), log_q, log_d, row0,
                                  rows, kb, ke, scratch.data(), nb - kb, threads, out.data());
      }
    }
  }
  FILE* f = fopen(argv[2], "wb");
  if (!f) return 2;
  fwrite(out.data(), 8, out.size(), f);
  fclose(f);
  return 0;
}
