//! Openings of many committed matrices at once: every matrix's opened rows and paths gathered
//! into one device buffer, with one upload of the indices and one copy back (and the 4-byte
//! range flag), instead of two uploads and four synchronous copies per matrix. The query phase
//! of a Keccak proof opens ~20 matrices and FRI layers: their copies were most of its time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::PushKernelArg;
use rstark_field::{F, PrimeCharacteristicRing};
use rstark_protocol::MerkleOpening;

use crate::context::{GpuContext, grid_1d};
use crate::error::{CudaError, Result};
use crate::matrix::{DeviceMatrix, check_canonical, words_to_field};
use crate::merkle::{DeviceMerkleTree, words_to_digest};

/// A matrix (an LDE, column-major, or a codeword, row-major) and its tree, to be opened at `leaves` (rows 2·leaf
/// and 2·leaf + 1 and the path; in that order, repeats allowed).
pub(crate) struct OpenRequest<'a> {
    pub m: &'a DeviceMatrix,
    pub tree: &'a DeviceMerkleTree,
    pub leaves: &'a [usize],
}

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

/// Host vectors for opened rows, allocated and written once ahead of the query phase (on a
/// background thread, while the device commits): filling 4.8 MB of fresh 21 KB vectors at the
/// end of a keccak 2^16 proof took 1.3 ms, most of it faulting in their pages.
#[derive(Default)]
pub(crate) struct RowPool {
    rows: Mutex<HashMap<usize, Vec<Vec<F>>>>,
}

/// Rows narrower than this are allocated when asked for (their pages are few).
const POOL_MIN_WIDTH: usize = 64;

impl RowPool {
    /// Empties the pool, then fills it on a background thread with `count` vectors of each
    /// width (`(width, count)` pairs) of at least [`POOL_MIN_WIDTH`] words.
    pub(crate) fn refill(self: &Arc<Self>, wanted: Vec<(usize, usize)>) {
        self.rows.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let wanted: Vec<_> = wanted
            .into_iter()
            .filter(|&(w, n)| w >= POOL_MIN_WIDTH && n > 0)
            .collect();
        if wanted.is_empty() {
            return;
        }
        let pool = Arc::clone(self);
        // A failed spawn only leaves the pool empty: rows are then allocated when opened.
        let _ = std::thread::Builder::new()
            .name("rstark opening rows".into())
            .spawn(move || {
                for (width, count) in wanted {
                    // written once, so the pages are mapped; cleared, the capacity stays
                    let fresh: Vec<Vec<F>> = (0..count)
                        .map(|_| {
                            let mut v = vec![F::ZERO; width];
                            v.clear();
                            v
                        })
                        .collect();
                    let mut rows = pool.rows.lock().unwrap_or_else(|e| e.into_inner());
                    rows.entry(width).or_default().extend(fresh);
                }
            });
    }

    /// `words` as field elements, in a pooled vector of that width when one is left.
    fn row(&self, words: &[u64]) -> Vec<F> {
        let pooled = self
            .rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&words.len())
            .and_then(Vec::pop);
        match pooled {
            Some(mut v) => {
                v.extend(words.iter().map(|&w| F::new(w)));
                v
            }
            None => words_to_field(words),
        }
    }
}

/// Every request's openings, in the requests' order (opened rows from `pool` when it has them).
pub(crate) fn open_batch(
    ctx: &GpuContext,
    reqs: &[OpenRequest<'_>],
    pool: Option<&RowPool>,
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
    let mut idx = Vec::with_capacity(idx_len);
    for s in &slots {
        idx.extend(
            s.distinct
                .iter()
                .flat_map(|&l| [2 * l as u64, 2 * l as u64 + 1]),
        );
        idx.extend(s.distinct.iter().map(|&l| l as u64));
    }
    let dev_idx = ctx.upload(&idx, "opening indices")?;
    let mut out = ctx.alloc_words(rows_len + paths_len, "opened rows and paths")?;
    let mut bad = ctx.alloc_zeroed_u32(1, "gather flag")?;
    for (r, s) in reqs.iter().zip(&slots) {
        let n = s.distinct.len();
        if n == 0 {
            continue;
        }
        let (rows, w, nr) = (r.m.rows() as u64, s.width as u32, 2 * n as u64);
        let (rs, cs) = r.m.strides();
        let ix = dev_idx.slice(s.idx_rows..s.idx_rows + 2 * n);
        let mut o = out.slice_mut(s.out_rows..s.out_rows + 2 * n * s.width);
        let mut b = ctx.func(&ctx.k.gather_rows);
        b.arg(r.m.words())
            .arg(&rows)
            .arg(&w)
            .arg(&rs)
            .arg(&cs)
            .arg(&ix)
            .arg(&nr)
            .arg(&mut o)
            .arg(&mut bad);
        ctx.launch(b, grid_1d(nr * s.width as u64, 256), "gather_rows")?;
        if s.depth == 0 {
            continue;
        }
        let (l, depth, nq) = (r.tree.num_leaves() as u64, s.depth as u32, n as u64);
        let ix = dev_idx.slice(s.idx_leaves..s.idx_leaves + n);
        let at = rows_len + s.out_paths;
        let mut o = out.slice_mut(at..at + n * s.depth * 4);
        let mut b = ctx.func(&ctx.k.gather_paths);
        b.arg(r.tree.nodes())
            .arg(&l)
            .arg(&depth)
            .arg(&ix)
            .arg(&nq)
            .arg(&mut o)
            .arg(&mut bad);
        ctx.launch(b, grid_1d(nq * s.depth as u64, 256), "gather_paths")?;
    }
    if ctx.download(&bad, "gather flag")?[0] != 0 {
        return Err(CudaError::Shape(
            "an opening index was out of range on the device".into(),
        ));
    }
    // Straight from pinned memory into the openings: one check of the rows' words, then each
    // opened row converted once into its own vector (no intermediate host copies).
    let total = rows_len + paths_len;
    ctx.download_with(&out.slice(..total), "opened rows and paths", |words| {
        let _span = rstark_timeline::spans::op("openings (host assembly)");
        let (rows, paths) = words.split_at(rows_len);
        check_canonical(rows)?;
        reqs.iter()
            .zip(&slots)
            .map(|(r, s)| {
                let opening = |k: usize| {
                    let row = |j: usize| {
                        let at = s.out_rows + (2 * k + j) * s.width;
                        let words = &rows[at..at + s.width];
                        match pool {
                            Some(p) => p.row(words),
                            None => words_to_field(words),
                        }
                    };
                    let at = s.out_paths + k * s.depth * 4;
                    let path = paths[at..at + s.depth * 4]
                        .chunks_exact(4)
                        .map(words_to_digest)
                        .collect();
                    MerkleOpening {
                        row0: row(0),
                        row1: row(1),
                        path,
                    }
                };
                r.leaves
                    .iter()
                    .map(|leaf| {
                        let k = s.distinct.binary_search(leaf).map_err(|_| {
                            CudaError::Shape(format!("leaf {leaf} missing from a batch opening"))
                        })?;
                        Ok(opening(k))
                    })
                    .collect()
            })
            .collect()
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_rows_equal_fresh_ones() {
        let pool = Arc::new(RowPool::default());
        pool.refill(vec![(100, 3), (8, 5)]);
        // the background fill (only the wide rows are pooled)
        for _ in 0..1000 {
            if pool.rows.lock().unwrap().get(&100).is_some_and(|v| v.len() == 3) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!pool.rows.lock().unwrap().contains_key(&8));
        let words: Vec<u64> = (0..100).map(|i| i * 7 + 1).collect();
        for _ in 0..4 {
            // three from the pool, then a fresh one
            assert_eq!(pool.row(&words), words_to_field(&words));
        }
        assert_eq!(pool.row(&words[..8]), words_to_field(&words[..8]));
        // a refill empties what was left
        pool.refill(vec![]);
        assert!(pool.rows.lock().unwrap().is_empty());
    }
}
