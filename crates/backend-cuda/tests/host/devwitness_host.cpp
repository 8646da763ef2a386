// Runs the device witness check (kernels/witness.cu, with the interpreter of constraints.cu) and
// the LogUp aux kernels (kernels/logup.cu) on the host: CUDA qualifiers compile away and each
// "thread" of a launch runs in turn (the kernels' threads are independent: none synchronizes
// with another; atomicMin becomes a plain min). Driven by tests/witness_logup_on_host.rs.
// Usage: devwitness_host witness|logup <case file> <output file>; files are little-endian u64
// words.
#include <cstring>

#include "host_run.h"

#include "constraints.cu"
#include "logup.cu"
#include "witness.cu"

u64 cp_smem[1];  // constraints_quotient_v2's `extern __shared__` array (not run here)

// Runs `body` once per thread of a grid of `blocks` blocks of `threads` threads.
template <typename F>
static void launch(u64 blocks, u32 threads, F body) {
  gridDim = Dim3{(unsigned)blocks, 1, 1};
  blockDim = Dim3{threads, 1, 1};
  for (u64 b = 0; b < blocks; b++)
    for (u32 t = 0; t < threads; t++) {
      blockIdx = Dim3{(unsigned)b, 0, 0};
      threadIdx = Dim3{t, 0, 0};
      body();
    }
}

static u64 blocks_for(u64 n, u32 threads) { return n == 0 ? 1 : (n + threads - 1) / threads; }

// Case: code, consts, chal, pub, rows (the block), tail (one row), then w, n_rows, first_row,
// log_n, nb, ne, n_threads. Output: the smallest failing row (~0 if none).
static std::vector<u64> witness() {
  std::vector<u64> code64 = array(), consts = array(), chal = array(), pub = array(),
                   rows = array(), tail = array();
  std::vector<uint4> code(code64.size() / 4 + 1);
  for (size_t i = 0; i < code64.size() / 4; i++)
    code[i] = uint4{(unsigned)code64[4 * i], (unsigned)code64[4 * i + 1],
                    (unsigned)code64[4 * i + 2], (unsigned)code64[4 * i + 3]};
  u32 n_instr = (u32)(code64.size() / 4);
  u32 w = (u32)next();
  u64 n_rows = next(), first_row = next();
  u32 log_n = (u32)next(), nb = (u32)next(), ne = (u32)next();
  u64 n_threads = next();
  std::vector<u64> scratch((nb + 3 * (u64)ne) * n_threads + 1);
  unsigned long long fail = ~0ull;
  const u32 block = 256;
  launch(blocks_for(n_threads, block), block, [&] {
    witness_check(code.data(), n_instr, consts.data(), chal.data(), pub.data(), rows.data(), w,
                  n_rows, tail.data(), 0, first_row, log_n, scratch.data(), nb, n_threads, &fail);
  });
  return {(u64)fail};
}

// Case: table, k, w, log_n, blocks (count, then each: rows, n_rows, first, rev, log_rev,
// shift, colmajor), chunk_rows, group. logup_rows runs as a grid-stride launch of 2 x 4
// threads.
// Output: zero flag, then (if ~0) the aux matrix and the 3 (k + 1) column sums.
static std::vector<u64> logup() {
  std::vector<u64> tab = array();
  u32 k = (u32)next(), w = (u32)next(), log_n = (u32)next();
  u64 n = 1ull << log_n, k1 = (u64)k + 1;
  std::vector<u64> aux(n * 3 * k1, 0xDEADBEEFDEADBEEFull);
  unsigned long long zero = ~0ull;
  u64 nblocks = next();
  for (u64 b = 0; b < nblocks; b++) {
    std::vector<u64> rows = array();
    u64 n_rows = next(), first = next();
    u32 rev = (u32)next(), log_rev = (u32)next(), shift = (u32)next();
    bool colmajor = next() != 0;
    u64 rs = colmajor ? 1 : w, cs = colmajor ? n_rows : 1;
    launch(2, 4, [&] {
      logup_rows(tab.data(), k, rows.data(), rs, cs, n_rows, first, rev, log_rev, shift,
                 aux.data(), &zero);
    });
  }
  u64 chunk_rows = next(), group = next();
  if (zero != ~0ull) return {(u64)zero};
  u64 chunks = (n + chunk_rows - 1) / chunk_rows, groups = (chunks + group - 1) / group;
  std::vector<u64> chunk_sums(3 * chunks * k1), group_sums(3 * groups * k1), totals(3 * k1);
  launch(blocks_for(chunks * k1, 8), 8,
         [&] { logup_chunk_sums(aux.data(), (u32)k1, n, chunk_rows, chunks, chunk_sums.data()); });
  launch(blocks_for(groups * k1, 8), 8, [&] {
    logup_scan_groups(chunk_sums.data(), (u32)k1, chunks, group, group_sums.data());
  });
  launch(blocks_for(k1, 8), 8,
         [&] { logup_scan_groups(group_sums.data(), (u32)k1, groups, groups, totals.data()); });
  launch(blocks_for(chunks, 8), 8, [&] {
    logup_running_sum(aux.data(), k, n, chunk_rows, chunks, chunk_sums.data(), group_sums.data(),
                      group);
  });
  std::vector<u64> out{(u64)zero};
  out.insert(out.end(), aux.begin(), aux.end());
  out.insert(out.end(), totals.begin(), totals.end());
  return out;
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  if (!read_case(argv[2])) return 2;
  std::vector<u64> out;
  if (!strcmp(argv[1], "witness"))
    out = witness();
  else if (!strcmp(argv[1], "logup"))
    out = logup();
  else
    return 2;
  FILE* o = fopen(argv[3], "wb");
  if (!o) return 2;
  fwrite(out.data(), 8, out.size(), o);
  fclose(o);
  return 0;
}
