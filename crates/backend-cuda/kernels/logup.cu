// LogUp auxiliary traces on the device (src/logup.rs; docs/PROTOCOL.md §5.3). For K
// interactions the aux matrix has N natural-order rows of 3(K+1) words (flatten_ext): h_k =
// m_k / (alpha - fp_k) for each interaction, then the running sum S (S_r = sum over rows i <= r
// of sum_k h_k(i)). Field arithmetic is exact, so the words equal rstark_air::logup's.
//
// The interactions arrive as a flat table of affine forms (src/logup_table.rs): per interaction
// 8 header words [d0, d1, d2, m, den_off, den_len, mul_off, mul_len], alpha - fp_k = (d0, d1, d2)
// + sum of its den terms and m_k = m + sum of its mul terms, each term 4 words
// [column, c0, c1, c2] (a mul term's c1 = c2 = 0) at word offset den_off / mul_off of the table.
//
// logup_rows writes the h columns of any set of rows (a block of rows may be a strided,
// bit-reversed subset of the trace) and puts each row's sum of h in the S slot; then, over the
// whole matrix, per-chunk column sums (logup_chunk_sums), exclusive scans of those in groups and
// of the group totals (logup_scan_groups, twice), and the running sum inside each chunk
// (logup_running_sum). No kernel synchronizes inside a block (each thread scans its own range),
// so tests/host/logup_host.cpp runs them on the CPU thread by thread.
#include "field.cuh"

RS_HD gl3 lg_load(const u64* p) { return gl3{p[0], p[1], p[2]}; }
RS_HD void lg_store(u64* p, gl3 v) {
  p[0] = v.c0;
  p[1] = v.c1;
  p[2] = v.c2;
}

// One main row (column c at row[c * cs]): h_0 .. h_{K-1} into out[0 .. 3K], their sum into
// out[3K .. 3K+3]. Returns the first interaction whose denominator is zero (its h is written as
// 0), or K.
RS_HD u32 lg_row(const u64* tab, u32 k, const u64* row, u64 cs, u64* out) {
  gl3 total{0, 0, 0};
  u32 zero = k;
  for (u32 j = 0; j < k; j++) {
    const u64* h = tab + 8 * (u64)j;
    gl3 d{h[0], h[1], h[2]};
    const u64* t = tab + h[4];
    for (u64 e = 0; e < h[5]; e++, t += 4) d = gl3_add(d, gl3_scale(gl3{t[1], t[2], t[3]}, row[t[0] * cs]));
    u64 m = h[3];
    t = tab + h[6];
    for (u64 e = 0; e < h[7]; e++, t += 4) m = gl_add(m, gl_mul(t[1], row[t[0] * cs]));
    gl3 v{0, 0, 0};
    if ((d.c0 | d.c1 | d.c2) == 0) {
      if (zero == k) zero = j;
    } else {
      v = gl3_scale(gl3_inv(d), m);
    }
    lg_store(out + 3 * (u64)j, v);
    total = gl3_add(total, v);
  }
  lg_store(out + 3 * (u64)k, total);
  return zero;
}

// Rows i < n_rows of a block (element (i, c) at rows[i * rs + c * cs]: row-major rs = W,
// cs = 1; column-major rs = 1, cs = n_rows) are natural rows
// first + (rev ? bitrev_{log_rev}(i) << shift : i); each writes its aux row. A zero denominator
// at (row, interaction j) keeps the smallest row * K + j in *zero (start at ~0). Grid-stride.
extern "C" __global__ void logup_rows(const u64* __restrict__ tab, u32 k, const u64* __restrict__ rows,
                                      u64 rs, u64 cs, u64 n_rows, u64 first, u32 rev, u32 log_rev,
                                      u32 shift, u64* __restrict__ aux,
                                      unsigned long long* __restrict__ zero) {
  const u64 stride = 3 * ((u64)k + 1);
  const u64 step = (u64)gridDim.x * blockDim.x;
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n_rows; i += step) {
    u64 nat = first + (rev ? bitrev_bits(i, log_rev) << shift : i);
    u32 z = lg_row(tab, k, rows + i * rs, cs, aux + nat * stride);
    if (z < k) atomicMin(zero, (unsigned long long)(nat * k + z));
  }
}

// sums[3 (c k1 + col)] = sum of column col (k1 = K + 1 extension columns) over the aux rows
// [c chunk_rows, (c + 1) chunk_rows) below n, for chunks c < chunks. One thread per (chunk, col).
extern "C" __global__ void logup_chunk_sums(const u64* __restrict__ aux, u32 k1, u64 n,
                                            u64 chunk_rows, u64 chunks, u64* __restrict__ sums) {
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= chunks * k1) return;
  u64 c = t / k1, col = t % k1;
  u64 r0 = c * chunk_rows, r1 = r0 + chunk_rows < n ? r0 + chunk_rows : n;
  const u64 stride = 3 * (u64)k1;
  gl3 acc{0, 0, 0};
  for (u64 r = r0; r < r1; r++) acc = gl3_add(acc, lg_load(aux + r * stride + 3 * col));
  lg_store(sums + 3 * t, acc);
}

// vals holds `entries` rows of k1 extension values. Within each group of `group` consecutive
// rows, every column becomes its exclusive prefix sum, and the group's column totals go to
// totals[3 (g k1 + col)]. One thread per (group, col).
extern "C" __global__ void logup_scan_groups(u64* __restrict__ vals, u32 k1, u64 entries,
                                             u64 group, u64* __restrict__ totals) {
  u64 groups = (entries + group - 1) / group;
  u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= groups * k1) return;
  u64 g = t / k1, col = t % k1;
  u64 e0 = g * group, e1 = e0 + group < entries ? e0 + group : entries;
  gl3 acc{0, 0, 0};
  for (u64 e = e0; e < e1; e++) {
    u64* p = vals + 3 * (e * k1 + col);
    gl3 v = lg_load(p);
    lg_store(p, acc);
    acc = gl3_add(acc, v);
  }
  lg_store(totals + 3 * t, acc);
}

// The S column (column K): each chunk starts from its offset (its exclusive prefix within its
// group, chunk_off, plus its group's, group_off) and adds its rows' sums of h (left in S by
// logup_rows) in order. One thread per chunk.
extern "C" __global__ void logup_running_sum(u64* __restrict__ aux, u32 k, u64 n, u64 chunk_rows,
                                             u64 chunks, const u64* __restrict__ chunk_off,
                                             const u64* __restrict__ group_off, u64 group) {
  u64 c = (u64)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= chunks) return;
  const u64 k1 = (u64)k + 1, stride = 3 * k1;
  gl3 acc = gl3_add(lg_load(chunk_off + 3 * (c * k1 + k)), lg_load(group_off + 3 * ((c / group) * k1 + k)));
  u64 r0 = c * chunk_rows, r1 = r0 + chunk_rows < n ? r0 + chunk_rows : n;
  for (u64 r = r0; r < r1; r++) {
    u64* p = aux + r * stride + 3 * (u64)k;
    acc = gl3_add(acc, lg_load(p));
    lg_store(p, acc);
  }
}
