// Running kernel sources on the host, one "thread" after another, for the host-compiled kernel
// tests (crates/constraints/tests/host/kernel_host.cpp, tests/host/devwitness_host.cpp): the
// CUDA qualifiers compile away (the kernels these harnesses run never synchronize threads, so a
// block's threads may run in turn), and cases come as files of little-endian u64 words.
// Not a kernel source (build.rs compiles only kernels/*.cu).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__
#define __restrict__
#define __syncthreads()
struct uint4 {
  unsigned x, y, z, w;
};
struct Dim3 {
  unsigned x, y, z;
};
static Dim3 blockIdx, blockDim, threadIdx, gridDim = {1, 1, 1};
// Used by the kernels that include it (witness, LogUp), not by every harness.
[[maybe_unused]] static void atomicMin(unsigned long long* p, unsigned long long v) {
  if (v < *p) *p = v;
}

// The case file's words, read in order.
static std::vector<uint64_t> case_words;
static size_t case_pos = 0;

static bool read_case(const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) return false;
  uint64_t w;
  while (fread(&w, 8, 1, f) == 1) case_words.push_back(w);
  fclose(f);
  return true;
}

static uint64_t next() {
  if (case_pos >= case_words.size()) {
    fprintf(stderr, "case file too short\n");
    exit(2);
  }
  return case_words[case_pos++];
}

// A length-prefixed array of words.
[[maybe_unused]] static std::vector<uint64_t> array() {
  uint64_t n = next();
  std::vector<uint64_t> v(n);
  for (uint64_t i = 0; i < n; i++) v[i] = next();
  return v;
}
