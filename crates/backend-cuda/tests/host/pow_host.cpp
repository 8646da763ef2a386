// Runs the proof-of-work kernel (kernels/pow.cu) on the host: CUDA qualifiers compile away, each
// "thread" of a launch runs in turn (they are independent; atomicMin becomes a plain min), and
// launches run in queue order, as on the device's one stream. Driven by tests/kernels_on_host.rs.
// Usage: pow_host search|mask <case file> <output file>; files are little-endian u64 words.
#include <cstring>

#include "host_run.h"

#include "pow.cu"

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

// Case: number of searches, then each: s0..s3, bits, number of checks, then each check: number
// of launches, then (first, count) of each. A search runs its checks in order, launching
// pow_grind as src/backend/grind.rs does, and stops after the first check with a hit.
// Output per search: the nonce (~0 if none), and the nonces hashed (threads past the early exit).
static std::vector<u64> search() {
  u64 searches = next();
  std::vector<u64> out;
  for (u64 q = 0; q < searches; q++) {
    u64 s0 = next(), s1 = next(), s2 = next(), s3 = next();
    u32 bits = (u32)next();
    u64 checks = next();
    unsigned long long found = ~0ull;
    u64 hashed = 0;
    bool done = false;
    for (u64 c = 0; c < checks; c++) {
      u64 launches = next();
      for (u64 l = 0; l < launches; l++) {
        u64 first = next(), count = next();
        if (done) continue;
        // Count the threads that hash: those past the kernel's early exit.
        if (!(found < first)) hashed += count;
        launch((count + POW_THREADS - 1) / POW_THREADS, POW_THREADS,
               [&] { pow_grind(s0, s1, s2, s3, bits, first, count, &found); });
      }
      if (found != ~0ull) done = true;
    }
    out.push_back((u64)found);
    out.push_back(hashed);
  }
  return out;
}

// Output: pow_mask(bits) for bits = 0 ..= 257, 4 words each.
static std::vector<u64> mask() {
  std::vector<u64> out;
  for (u32 bits = 0; bits <= 257; bits++) {
    u64 m[4];
    pow_mask(bits, m);
    out.insert(out.end(), m, m + 4);
  }
  return out;
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  if (!read_case(argv[2])) return 2;
  std::vector<u64> out;
  if (!strcmp(argv[1], "search"))
    out = search();
  else if (!strcmp(argv[1], "mask"))
    out = mask();
  else
    return 2;
  FILE* o = fopen(argv[3], "wb");
  if (!o) return 2;
  fwrite(out.data(), 8, out.size(), o);
  fclose(o);
  return 0;
}
