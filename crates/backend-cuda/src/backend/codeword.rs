//! FRI codewords on the device: EF values as a width-3 base matrix (`flatten_ext` layout),
//! folded, added and committed there; only roots, opened rows/paths and the tiny final codeword
//! come back.

use cudarc::driver::PushKernelArg;
use rstark_field::{EF, F, Field, PrimeCharacteristicRing, PrimeField64, ef_to_base, omega};
use rstark_protocol::{Backend, MerkleOpening, QueryOpenings};

use crate::context::grid_1d;
use crate::error::{CudaError, Result};
use crate::matrix::{DeviceMatrix, to_field};
use crate::merkle::DeviceMerkleTree;
use crate::openings::{OpenRequest, open_batch};

use super::CudaBackend;
use super::committed::CudaCommitted;

/// Evaluations over shift·⟨ω_log_size⟩ (bit-reversed), as a 2^log_size × 3 device matrix.
pub struct CudaCodeword {
    pub values: DeviceMatrix,
    pub log_size: usize,
    pub shift: F,
    pub tree: Option<DeviceMerkleTree>,
}

impl CudaBackend {
    pub(crate) fn add_cw(&self, acc: &mut CudaCodeword, other: &CudaCodeword) -> Result<()> {
        if acc.values.rows() != other.values.rows() || acc.tree.is_some() {
            return Err(CudaError::Shape(
                "codeword sizes differ (or the accumulator is committed)".into(),
            ));
        }
        let n = (3 * acc.values.rows()) as u64;
        let mut b = self.ctx.func(&self.pk.add);
        b.arg(&mut acc.values.buf).arg(other.values.words()).arg(&n);
        self.ctx.launch(b, grid_1d(n, 256), "pv_add")
    }

    pub(crate) fn fold_cw(&self, cw: &CudaCodeword, beta: EF) -> Result<CudaCodeword> {
        let half = cw.values.rows() / 2;
        if half == 0 {
            return Err(CudaError::Shape(
                "cannot fold a codeword of one point".into(),
            ));
        }
        let log_half = cw.log_size - 1;
        let shift_inv = cw.shift.inverse().as_canonical_u64();
        let w_inv = omega(cw.log_size).inverse().as_canonical_u64();
        let two_inv = F::TWO.inverse().as_canonical_u64();
        let [b0, b1, b2] = ef_to_base(beta).map(|v| v.as_canonical_u64());
        let mut out = self.ctx.alloc_words(3 * half, "folded codeword")?;
        let (half64, log_half32) = (half as u64, log_half as u32);
        let mut b = self.ctx.func(&self.pk.fold);
        b.arg(cw.values.words())
            .arg(&half64)
            .arg(&log_half32)
            .arg(&shift_inv)
            .arg(&w_inv)
            .arg(&b0)
            .arg(&b1)
            .arg(&b2)
            .arg(&two_inv)
            .arg(&mut out);
        self.ctx.launch(b, grid_1d(half64, 256), "pv_fold")?;
        Ok(CudaCodeword {
            values: DeviceMatrix::from_parts(out, half, 3),
            log_size: log_half,
            shift: cw.shift.square(),
            tree: None,
        })
    }

    pub(crate) fn commit_cw(&self, cw: &mut CudaCodeword) -> Result<rstark_merkle::Digest> {
        let tree = DeviceMerkleTree::commit(&self.ctx, &cw.values)?;
        let root = tree.root();
        cw.tree = Some(tree);
        Ok(root)
    }

    pub(crate) fn open_cw(&self, cw: &CudaCodeword, leaf: usize) -> Result<MerkleOpening> {
        let tree = cw
            .tree
            .as_ref()
            .ok_or_else(|| CudaError::Shape("codeword not committed".into()))?;
        open_leaf(self, &cw.values, tree, leaf)
    }

    pub(crate) fn open_cw_many(
        &self,
        cw: &CudaCodeword,
        leaves: &[usize],
    ) -> Result<Vec<MerkleOpening>> {
        let tree = cw
            .tree
            .as_ref()
            .ok_or_else(|| CudaError::Shape("codeword not committed".into()))?;
        open_leaves(self, &cw.values, tree, leaves)
    }

    /// The query phase's openings: every resident matrix and FRI layer in one batch (one
    /// gather buffer, one copy back); a streamed matrix from its recomputed rows.
    pub(crate) fn open_queries_dev(
        &self,
        matrices: &[(&CudaCommitted, &[usize])],
        layers: &[(&CudaCodeword, &[usize])],
    ) -> Result<QueryOpenings> {
        let mut reqs = Vec::with_capacity(matrices.len() + layers.len());
        for (c, leaves) in matrices {
            if let Some(m) = &c.lde {
                reqs.push(OpenRequest {
                    m,
                    tree: &c.tree,
                    leaves,
                });
            }
        }
        for (cw, leaves) in layers {
            let tree = cw
                .tree
                .as_ref()
                .ok_or_else(|| CudaError::Shape("codeword not committed".into()))?;
            reqs.push(OpenRequest {
                m: &cw.values,
                tree,
                leaves,
            });
        }
        let mut batch = open_batch(&self.ctx, &reqs)?.into_iter();
        let mut next = || {
            batch
                .next()
                .ok_or_else(|| CudaError::Shape("short batch opening".into()))
        };
        let mut opened = QueryOpenings::default();
        for (c, leaves) in matrices {
            opened.matrices.push(match c.lde {
                Some(_) => next()?,
                None => open_committed(self, c, leaves)?,
            });
        }
        for _ in layers {
            opened.layers.push(next()?);
        }
        Ok(opened)
    }

    /// The final codeword is tiny: it comes back and the CPU's interpolation gives the bytes.
    pub(crate) fn final_poly_cw(
        &self,
        cw: &CudaCodeword,
        len: usize,
    ) -> std::result::Result<Vec<EF>, rstark_protocol::BackendError> {
        let words = cw
            .values
            .download_words(&self.ctx)
            .and_then(to_field)
            .map_err(super::dev_err)?;
        let values = rstark_field::unflatten_ext(&words).ok_or_else(|| {
            rstark_protocol::BackendError::BadInput("ragged final codeword".into())
        })?;
        let host = rstark_backend_cpu::CpuCodeword::new(values, cw.log_size, cw.shift);
        rstark_backend_cpu::CpuBackend.final_poly(&host, len)
    }
}

/// Openings of `leaves` (in that order, repeats allowed) with one device gather of the distinct
/// leaves: only the opened rows and paths come back.
pub(crate) fn open_leaves(
    be: &CudaBackend,
    m: &DeviceMatrix,
    tree: &DeviceMerkleTree,
    leaves: &[usize],
) -> Result<Vec<MerkleOpening>> {
    let req = OpenRequest { m, tree, leaves };
    open_batch(&be.ctx, &[req])?
        .pop()
        .ok_or_else(|| CudaError::Shape("empty batch opening".into()))
}

/// Openings of a committed matrix: gathered from its LDE when resident, else from column chunks
/// of its LDE recomputed for the opened rows only (one pass over the coefficients).
pub(crate) fn open_committed(
    be: &CudaBackend,
    c: &CudaCommitted,
    leaves: &[usize],
) -> Result<Vec<MerkleOpening>> {
    if let Some(lde) = &c.lde {
        return open_leaves(be, lde, &c.tree, leaves);
    }
    let mut distinct = leaves.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let paths = c.tree.gather_paths(&be.ctx, &distinct)?;
    let rows: Vec<usize> = distinct.iter().flat_map(|&l| [2 * l, 2 * l + 1]).collect();
    let shape = c.coefs.shape(c.log_blowup as u32);
    let cols = shape.chunk_cols(be.chunk_room(shape)) as usize;
    let mut values = be
        .ctx
        .lde_rows(&c.coefs, c.log_blowup as u32, &rows, cols)?
        .into_iter();
    let mut by_leaf = Vec::with_capacity(distinct.len());
    for (&leaf, path) in distinct.iter().zip(paths) {
        let (row0, row1) = (values.next(), values.next());
        let (Some(row0), Some(row1)) = (row0, row1) else {
            return Err(CudaError::Shape("too few recomputed rows".into()));
        };
        by_leaf.push((leaf, MerkleOpening { row0, row1, path }));
    }
    leaves
        .iter()
        .map(|&leaf| {
            let k = by_leaf
                .binary_search_by_key(&leaf, |(l, _)| *l)
                .map_err(|_| CudaError::Shape(format!("leaf {leaf} missing from an opening")))?;
            Ok(by_leaf[k].1.clone())
        })
        .collect()
}

pub(crate) fn open_leaf(
    be: &CudaBackend,
    m: &DeviceMatrix,
    tree: &DeviceMerkleTree,
    leaf: usize,
) -> Result<MerkleOpening> {
    open_leaves(be, m, tree, &[leaf])?
        .pop()
        .ok_or_else(|| CudaError::Shape("empty opening".into()))
}
