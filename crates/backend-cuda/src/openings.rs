//! Openings of many committed matrices at once: every matrix's opened rows and paths gathered
//! into one device buffer by one launch (`gather_openings`, a descriptor per matrix uploaded with
//! the indices), and one copy back with the range flag as its last word, instead of two uploads,
//! two launches and four synchronous copies per matrix. The query phase of a Keccak proof opens
//! ~15 matrices and FRI layers: their launches and copies were most of its device time.

use cudarc::driver::PushKernelArg;
use rayon::prelude::*;
use rstark_field::F;
use rstark_protocol::MerkleOpening;

use crate::context::{GpuContext, grid_1d};
use crate::error::{CudaError, DriverContext, Result};
use crate::matrix::{DeviceMatrix, check_canonical, words_to_field};
use crate::merkle::{DeviceMerkleTree, words_to_digest};

/// A matrix (an LDE, column-major, or a codeword, row-major) and its tree, to be opened at `leaves` (rows 2·leaf
/// and 2·leaf + 1 and the path; in that order, repeats allowed).
pub(crate) struct OpenRequest<'a> {
    pub m: &'a DeviceMatrix,
    pub tree: &'a DeviceMerkleTree,
    pub leaves: &'a [usize],
}

/// Words of one request's descriptor (GJ_WORDS in kernels/merkle.cu).
const JOB_WORDS: usize = 14;

/// Where one request's distinct leaves sit in the index and output buffers (in words).
struct Slot {
    distinct: Vec<usize>,
    width: usize,
    depth: usize,
    /// Row indices (2 per leaf), then the leaves themselves, in the index buffer.
    idx_rows: usize,
    idx_leaves: usize,
    /// The gathered rows, and the paths, in the output buffer.
    out_rows: usize,
    out_paths: usize,
}

/// Every request's openings, in the requests' order.
pub(crate) fn open_batch(
    ctx: &GpuContext,
    reqs: &[OpenRequest<'_>],
) -> Result<Vec<Vec<MerkleOpening>>> {
    let mut slots = Vec::with_capacity(reqs.len());
    let (mut idx_len, mut rows_len, mut paths_len) = (0usize, 0usize, 0usize);
    for r in reqs {
        let num_leaves = r.tree.num_leaves();
        if r.m.rows() != 2 * num_leaves {
            return Err(CudaError::Shape(format!(
                "a matrix of {} rows does not match a tree of {num_leaves} leaves",
                r.m.rows()
            )));
        }
        let mut distinct = r.leaves.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        if let Some(&leaf) = distinct.last().filter(|&&l| l >= num_leaves) {
            return Err(CudaError::LeafOutOfRange {
                index: leaf as u64,
                num_leaves: num_leaves as u64,
            });
        }
        let n = distinct.len();
        let (width, depth) = (r.m.width(), r.tree.depth() as usize);
        slots.push(Slot {
            idx_rows: idx_len,
            idx_leaves: idx_len + 2 * n,
            out_rows: rows_len,
            out_paths: paths_len,
            distinct,
            width,
            depth,
        });
        idx_len += 3 * n;
        rows_len += 2 * n * width;
        paths_len += n * depth * 4;
    }
    if rows_len == 0 {
        // nothing asked for (a leaf opens at least its two rows)
        return Ok(reqs.iter().map(|_| Vec::new()).collect());
    }
    // One upload: the indices, then a descriptor per request (GJ_WORDS in kernels/merkle.cu).
    let mut buf = Vec::with_capacity(idx_len + reqs.len() * JOB_WORDS);
    for s in &slots {
        buf.extend(
            s.distinct
                .iter()
                .flat_map(|&l| [2 * l as u64, 2 * l as u64 + 1]),
        );
        buf.extend(s.distinct.iter().map(|&l| l as u64));
    }
    let jobs_at = buf.len() as u64;
    let mut threads = 0u64;
    for (r, s) in reqs.iter().zip(&slots) {
        let n = s.distinct.len() as u64;
        let (rs, cs) = r.m.strides();
        let job: [u64; JOB_WORDS] = [
            ctx.device_address(r.m.words()),
            r.m.rows() as u64,
            rs,
            cs,
            s.width as u64,
            s.depth as u64,
            ctx.device_address(r.tree.nodes()),
            r.tree.num_leaves() as u64,
            s.idx_rows as u64,
            s.idx_leaves as u64,
            n,
            s.out_rows as u64,
            (rows_len + s.out_paths) as u64,
            threads,
        ];
        buf.extend(job);
        threads += n * (2 * s.width + s.depth) as u64;
    }
    let dev_buf = ctx.upload(&buf, "opening indices")?;
    // The rows, the paths, and one flag word (zeroed; set by an index out of range).
    let total = rows_len + paths_len;
    let mut out = ctx.alloc_words(total + 1, "opened rows and paths")?;
    ctx.stream()
        .memset_zeros(&mut out.slice_mut(total..total + 1))
        .ctx("clearing the gather flag")?;
    let (n_jobs, flag_at) = (reqs.len() as u32, total as u64);
    let mut b = ctx.func(&ctx.k.gather_openings);
    b.arg(&dev_buf)
        .arg(&n_jobs)
        .arg(&jobs_at)
        .arg(&threads)
        .arg(&mut out)
        .arg(&flag_at);
    ctx.launch(b, grid_1d(threads, 256), "gather_openings")?;
    // Straight from pinned memory into the openings, leaves in parallel: each opened row is
    // checked and converted once into its own vector (no intermediate host copies). On one
    // thread this took 1.6 ms of the 2^16 keccak proof (4.8 MB; docs/PERF.md, session 15).
    ctx.download_with(&out.slice(..total + 1), "opened rows and paths", |words| {
        let _span = rstark_timeline::spans::op("openings (host assembly)");
        if words[total] != 0 {
            return Err(CudaError::Shape(
                "an opening index was out of range on the device".into(),
            ));
        }
        let (rows, paths) = words[..total].split_at(rows_len);
        let leaves: Vec<&[usize]> = reqs.iter().map(|r| r.leaves).collect();
        leaves
            .par_iter()
            .zip(&slots)
            .map(|(leaves, s)| {
                let opening = |k: usize| -> Result<MerkleOpening> {
                    let row = |j: usize| -> Result<Vec<F>> {
                        let at = s.out_rows + (2 * k + j) * s.width;
                        let words = &rows[at..at + s.width];
                        check_canonical(words)?;
                        Ok(words_to_field(words))
                    };
                    let at = s.out_paths + k * s.depth * 4;
                    let path = paths[at..at + s.depth * 4]
                        .chunks_exact(4)
                        .map(words_to_digest)
                        .collect();
                    Ok(MerkleOpening {
                        row0: row(0)?,
                        row1: row(1)?,
                        path,
                    })
                };
                leaves
                    .par_iter()
                    .map(|leaf| {
                        let k = s.distinct.binary_search(leaf).map_err(|_| {
                            CudaError::Shape(format!("leaf {leaf} missing from a batch opening"))
                        })?;
                        opening(k)
                    })
                    .collect()
            })
            .collect()
    })?
}
