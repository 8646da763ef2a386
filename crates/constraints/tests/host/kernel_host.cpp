// Runs the CUDA constraint kernel's source (crates/backend-cuda/kernels/constraints.cu) on the
// host: CUDA qualifiers compile away and each "thread" runs in turn (threads are independent:
// each owns its rows and its slice of the register scratch). Driven by tests/kernel_on_host.rs.
// Usage: kernel_host <case file> <output file>; files are little-endian u64 words.
#include <cstdio>
#include <cstdlib>
#include <vector>

#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(x)
struct uint4 {
  unsigned x, y, z, w;
};
struct Dim3 {
  unsigned x, y, z;
};
static Dim3 blockIdx, blockDim, threadIdx;

#include "constraints.cu"

static std::vector<u64> words;
static size_t pos = 0;

static u64 next() {
  if (pos >= words.size()) {
    fprintf(stderr, "case file too short\n");
    exit(2);
  }
  return words[pos++];
}

static std::vector<u64> array() {
  u64 n = next();
  std::vector<u64> v(n);
  for (u64 i = 0; i < n; i++) v[i] = next();
  return v;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  FILE* f = fopen(argv[1], "rb");
  if (!f) return 2;
  u64 w;
  while (fread(&w, 8, 1, f) == 1) words.push_back(w);
  fclose(f);
  std::vector<u64> code64 = array(), consts = array(), chal = array(), pub = array(),
                   main_m = array(), aux = array(), frame = array();
  std::vector<uint4> code(code64.size() / 4);
  for (size_t i = 0; i < code.size(); i++)
    code[i] = uint4{(unsigned)code64[4 * i], (unsigned)code64[4 * i + 1],
                    (unsigned)code64[4 * i + 2], (unsigned)code64[4 * i + 3]};
  u32 main_w = (u32)next(), aux_w = (u32)next(), log_q = (u32)next(), log_d = (u32)next();
  u32 nb = (u32)next(), ne = (u32)next();
  u64 n_threads = next();
  u32 block = 256;
  std::vector<u64> scratch((nb + 3 * (u64)ne) * n_threads + 1);
  std::vector<u64> out(3ull << log_q);
  blockDim = Dim3{block, 1, 1};
  for (u64 t = 0; t < (n_threads + block - 1) / block * block; t++) {
    blockIdx = Dim3{(unsigned)(t / block), 0, 0};
    threadIdx = Dim3{(unsigned)(t % block), 0, 0};
    constraints_quotient(code.data(), (u32)code.size(), consts.data(), chal.data(), pub.data(),
                         main_m.data(), main_w, aux.data(), aux_w, frame.data(), log_q, log_d,
                         scratch.data(), nb, n_threads, out.data());
  }
  f = fopen(argv[2], "wb");
  if (!f) return 2;
  fwrite(out.data(), 8, out.size(), f);
  fclose(f);
  return 0;
}
