// Runs kernels that loop over a grid dimension (so any size fits the hardware's grid) on the
// host, with a real block: one std::thread per CUDA thread, __syncthreads() a std::barrier,
// __shared__ arrays static (one block runs at a time). tests/kernels_on_host.rs pastes the
// kernels' source (taken from kernels/*.cu) where KERNELS_HERE is, compiles and runs this file.
// Each kernel runs with a grid deliberately smaller than its work along the looped dimension
// and is compared with a plain reference; exit status 0 iff every case matches.
#include <barrier>
#include <cstdio>
#include <thread>
#include <vector>

#include "common.cuh"

#define __global__
#define __launch_bounds__(...)
#define __shared__ static
struct Dim3 {
  unsigned x, y, z;
};
static thread_local Dim3 threadIdx, blockIdx;
static Dim3 blockDim, gridDim;
static std::barrier<>* block_barrier;
#define __syncthreads() block_barrier->arrive_and_wait()

// KERNELS_HERE

// Blocks run one after another; the block's threads are spawned once per launch and meet at a
// barrier after each block (its static shared arrays are reused by the next).
template <class Kernel>
static void launch(Dim3 grid, Dim3 block, Kernel k) {
  gridDim = grid;
  blockDim = block;
  unsigned n = block.x * block.y * block.z;
  std::barrier<> bar(n);
  block_barrier = &bar;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n; t++)
    threads.emplace_back([&, t] {
      threadIdx = Dim3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
      for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
          for (unsigned bx = 0; bx < grid.x; bx++) {
            blockIdx = Dim3{bx, by, bz};
            k();
            bar.arrive_and_wait();
          }
    });
  for (auto& th : threads) th.join();
}

static u64 state = 0x9E3779B97F4A7C15ull;
static u64 rnd() {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static int failures = 0;

static void rows_to_cols_case(u32 w, u64 rows, u64 row0, unsigned grid_y) {
  u64 total_rows = row0 + rows + 3;
  std::vector<u64> src(total_rows * w), dst(rows * w, ~0ull);
  for (auto& v : src) v = rnd();
  launch(Dim3{(w + 31) / 32, grid_y, 1}, Dim3{32, 8, 1},
         [&] { cp_rows_to_cols(src.data(), w, row0, rows, dst.data()); });
  for (u64 t = 0; t < rows; t++)
    for (u32 c = 0; c < w; c++)
      if (dst[c * rows + t] != src[(row0 + t) * w + c]) {
        printf("FAIL cp_rows_to_cols w=%u rows=%llu row0=%llu grid_y=%u at t=%llu c=%u\n", w,
               (unsigned long long)rows, (unsigned long long)row0, grid_y,
               (unsigned long long)t, c);
        failures++;
        return;
      }
}

static void transpose_case(u32 log_n, u32 width, unsigned grid_y) {
  u64 n = 1ull << log_n;
  std::vector<u64> src(n * width), dst(n * width, ~0ull);
  for (auto& v : src) v = rnd();
  launch(Dim3{1u << (log_n - 10), grid_y, 1}, Dim3{32, 8, 1},
         [&] { trace_to_colmajor_bitrev(src.data(), dst.data(), log_n, width); });
  for (u64 r = 0; r < n; r++)
    for (u32 c = 0; c < width; c++)
      if (dst[c * n + bitrev_bits(r, log_n)] != src[r * width + c]) {
        printf("FAIL trace_to_colmajor_bitrev log_n=%u width=%u grid_y=%u at r=%llu c=%u\n",
               log_n, width, grid_y, (unsigned long long)r, c);
        failures++;
        return;
      }
}

int main() {
  for (u32 w : {1u, 33u, 70u})
    for (u64 rows : {31ull, 100ull})
      for (u64 row0 : {0ull, 7ull})
        for (unsigned gy : {1u, 2u, (unsigned)((rows + 31) / 32)}) rows_to_cols_case(w, rows, row0, gy);
  for (u32 log_n : {10u, 11u})
    for (u32 width : {1u, 3u, 4u, 9u, 13u})
      for (unsigned gy : {1u, 2u, (width + 3) / 4}) transpose_case(log_n, width, gy);
  if (failures) {
    printf("%d case(s) failed\n", failures);
    return 1;
  }
  printf("grid-looped kernels match their references\n");
  return 0;
}
