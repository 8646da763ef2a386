//! Keccak-256 row-pair Merkle trees built and kept on the device (docs/PROTOCOL.md §3).

use cudarc::driver::{LaunchConfig, PushKernelArg};
use rstark_field::F;
use rstark_merkle::{Digest, LeafOpening};

use crate::context::{GpuContext, grid_1d};
use crate::error::{CudaError, Result};
use crate::matrix::DeviceMatrix;
use crate::memory::DeviceBuf;

const LEAF_THREADS: u32 = 128;

/// The node array (2L digests, heap order) stays on the device; the root is copied back.
pub struct DeviceMerkleTree {
    nodes: DeviceBuf<u64>,
    num_leaves: usize,
    root: Digest,
}

impl DeviceMerkleTree {
    /// Commit to a device matrix (either layout): leaf i hashes rows 2i and 2i+1.
    pub fn commit(ctx: &GpuContext, m: &DeviceMatrix) -> Result<Self> {
        let num_leaves = check_leaves(m.rows())?;
        let mut nodes = ctx.alloc_words(2 * num_leaves * 4, "Merkle nodes")?;
        let (l, w) = (num_leaves as u64, m.width() as u32);
        if m.is_col_major() {
            let rows = m.rows() as u64;
            let mut b = ctx.func(&ctx.k.hash_leaves_colmajor);
            b.arg(&m.buf).arg(&rows).arg(&w).arg(&mut nodes);
            ctx.launch(b, grid_1d(l, LEAF_THREADS), "hash_leaves_colmajor")?;
        } else {
            let mut b = ctx.func(&ctx.k.hash_leaves_rowmajor);
            b.arg(&m.buf).arg(&l).arg(&w).arg(&mut nodes);
            ctx.launch(b, grid_1d(l, LEAF_THREADS), "hash_leaves_rowmajor")?;
        }
        Self::finish(ctx, nodes, num_leaves)
    }

    /// Build the layers above the leaves (already at nodes L..2L) and fetch the root.
    pub(crate) fn finish(
        ctx: &GpuContext,
        mut nodes: DeviceBuf<u64>,
        num_leaves: usize,
    ) -> Result<Self> {
        let mut first = (num_leaves / 2) as u64;
        while first >= 1 {
            let per_block = first.min(256);
            // Large layers: one per launch, every thread busy. Small ones: up to 9 per launch in
            // shared memory (launches would dominate; idle threads there cost little).
            let levels = if first > 1 << 15 {
                1
            } else {
                per_block.trailing_zeros() + 1
            };
            let cfg = LaunchConfig {
                grid_dim: ((first / per_block) as u32, 1, 1),
                block_dim: (per_block as u32, 1, 1),
                shared_mem_bytes: 0,
            };
            let mut b = ctx.func(&ctx.k.merkle_layers);
            b.arg(&mut nodes).arg(&first).arg(&levels);
            ctx.launch(b, cfg, "merkle_layers")?;
            first >>= levels;
        }
        // Root = node 1 (= leaf 0 when L = 1). Zero node 0 so the array equals the CPU's.
        let mut zero = nodes.slice_mut(0..4);
        ctx.stream()
            .memset_zeros(&mut zero)
            .map_err(|source| CudaError::Driver {
                what: "clearing node 0".into(),
                source,
            })?;
        let root_view = nodes.slice(4..8);
        let mut root_words = [0u64; 4];
        let mark = ctx.tl_begin(ctx.stream(), crate::timeline::COMPUTE);
        ctx.stream()
            .memcpy_dtoh(&root_view, &mut root_words)
            .map_err(|source| CudaError::Driver {
                what: "copying the Merkle root to the host".into(),
                source,
            })?;
        ctx.tl_copy(
            mark,
            rstark_timeline::OpKind::DeviceToHost,
            "a Merkle root",
            32,
        );
        ctx.synchronize()?;
        ctx.count_d2h(32);
        Ok(Self {
            nodes,
            num_leaves,
            root: words_to_digest(&root_words),
        })
    }

    pub fn root(&self) -> Digest {
        self.root
    }

    /// The 2L nodes (heap order, 4 words each) on the device.
    pub(crate) fn nodes(&self) -> &DeviceBuf<u64> {
        &self.nodes
    }

    pub fn num_leaves(&self) -> usize {
        self.num_leaves
    }

    /// log2(L): the length of every authentication path.
    pub fn depth(&self) -> u32 {
        self.num_leaves.trailing_zeros()
    }

    /// All 2L nodes, for tests (a full copy: counted like any other).
    pub fn download_nodes(&self, ctx: &GpuContext) -> Result<Vec<Digest>> {
        let words = ctx.download(&self.nodes, "Merkle nodes")?;
        Ok(words.chunks_exact(4).map(words_to_digest).collect())
    }

    /// Authentication paths of the given leaves, gathered on the device: only the paths cross PCIe.
    pub fn gather_paths(&self, ctx: &GpuContext, leaves: &[usize]) -> Result<Vec<Vec<Digest>>> {
        let l = self.num_leaves as u64;
        let idx: Vec<u64> = leaves
            .iter()
            .map(|&i| {
                let i = i as u64;
                if i < l {
                    Ok(i)
                } else {
                    Err(CudaError::LeafOutOfRange {
                        index: i,
                        num_leaves: l,
                    })
                }
            })
            .collect::<Result<_>>()?;
        let depth = self.depth();
        if idx.is_empty() || depth == 0 {
            return Ok(vec![Vec::new(); idx.len()]);
        }
        let nq = idx.len() as u64;
        let dev_idx = ctx.upload(&idx, "leaf indices")?;
        let total = nq * depth as u64;
        let mut out = ctx.alloc_words(total as usize * 4, "authentication paths")?;
        let mut bad = ctx.alloc_zeroed_u32(1, "gather flag")?;
        let mut b = ctx.func(&ctx.k.gather_paths);
        b.arg(&self.nodes)
            .arg(&l)
            .arg(&depth)
            .arg(&dev_idx)
            .arg(&nq)
            .arg(&mut out)
            .arg(&mut bad);
        ctx.launch(b, grid_1d(total, 256), "gather_paths")?;
        if ctx.download(&bad, "gather flag")?[0] != 0 {
            return Err(CudaError::LeafOutOfRange {
                index: u64::MAX,
                num_leaves: l,
            });
        }
        let words = ctx.download(&out, "authentication paths")?;
        Ok(words[..total as usize * 4]
            .chunks_exact(depth as usize * 4)
            .map(|p| p.chunks_exact(4).map(words_to_digest).collect())
            .collect())
    }

    /// Openings of distinct leaves (sorted, deduplicated as in PROTOCOL.md §3): rows 2i, 2i+1
    /// and the path of each, all gathered on the device.
    pub fn open_batch(
        &self,
        ctx: &GpuContext,
        m: &DeviceMatrix,
        leaves: &[usize],
    ) -> Result<Vec<LeafOpening>> {
        if m.rows() != 2 * self.num_leaves {
            return Err(CudaError::Shape(format!(
                "a matrix of {} rows does not match a tree of {} leaves",
                m.rows(),
                self.num_leaves
            )));
        }
        let mut leaves = leaves.to_vec();
        leaves.sort_unstable();
        leaves.dedup();
        let paths = self.gather_paths(ctx, &leaves)?;
        let row_idx: Vec<usize> = leaves.iter().flat_map(|&i| [2 * i, 2 * i + 1]).collect();
        let mut rows = m.gather_rows(ctx, &row_idx)?.into_iter();
        let mut next = || rows.next().unwrap_or_default();
        Ok(leaves
            .iter()
            .zip(paths)
            .map(|(&leaf_index, path)| {
                let row0: Vec<F> = next();
                let row1: Vec<F> = next();
                LeafOpening {
                    leaf_index,
                    row0,
                    row1,
                    path,
                }
            })
            .collect())
    }
}

/// L = rows / 2 leaves; rows must be a power of two, at least 2.
pub(crate) fn check_leaves(rows: usize) -> Result<usize> {
    if rows < 2 || !rows.is_power_of_two() {
        return Err(CudaError::Shape(format!(
            "a Merkle commitment needs a power-of-two number of rows >= 2, got {rows}"
        )));
    }
    Ok(rows / 2)
}

pub(crate) fn words_to_digest(w: &[u64]) -> Digest {
    let mut d = [0u8; 32];
    for (chunk, x) in d.chunks_exact_mut(8).zip(w) {
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    d
}
