//! A codeword copied in from another backend (another GPU, or another context of this one):
//! what a scheduler over several devices moves at the FRI join (crate::peer).

use rstark_protocol::BackendError;

use crate::matrix::DeviceMatrix;

use super::{CudaBackend, CudaCodeword};

impl CudaBackend {
    /// `cw`, held by `from`, copied into this backend's device memory by a peer copy (values
    /// only: a codeword is moved before it is committed); and the bytes moved.
    pub fn import_codeword(
        &self,
        from: &CudaBackend,
        cw: &CudaCodeword,
    ) -> Result<(CudaCodeword, u64), BackendError> {
        if cw.tree.is_some() {
            return Err(BackendError::BadInput(
                "a committed codeword cannot be moved to another device".into(),
            ));
        }
        self.phase("peer copies", || {
            let rows = cw.values.rows();
            let buf = from.ctx.copy_to(
                &self.ctx,
                &cw.values.buf.slice(0..3 * rows),
                "a DEEP codeword",
            )?;
            let bytes = (buf.len() * std::mem::size_of::<u64>()) as u64;
            Ok((
                CudaCodeword {
                    values: DeviceMatrix::from_parts(buf, rows, 3),
                    log_size: cw.log_size,
                    shift: cw.shift,
                    tree: None,
                },
                bytes,
            ))
        })
    }
}
