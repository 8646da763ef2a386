//! Proof of work on the device: kernels/pow.cu launched on [`crate::pow::Schedule`]'s batches.

use cudarc::driver::PushKernelArg;

use super::CudaBackend;
use crate::context::grid_1d;
use crate::error::Result;
use crate::pow::{NO_HIT, POW_THREADS, Schedule, state_words};

impl CudaBackend {
    /// The least nonce whose Keccak256(0x02 ‖ `state` ‖ le64(nonce)) has `bits` leading zero
    /// bits (`bits <= 256`); `None` if no nonce below 2^64 − 1 has. Nothing goes up (the state
    /// is a kernel argument); 8 bytes come back per check.
    pub(crate) fn grind_dev(&self, state: &[u8; 32], bits: u32) -> Result<Option<u64>> {
        if bits == 0 {
            return Ok(Some(0));
        }
        let ctx = &self.ctx;
        let [s0, s1, s2, s3] = state_words(state);
        let mut found = ctx.alloc_words(1, "proof-of-work nonce")?;
        ctx.fill_words(&mut found, NO_HIT)?;
        for check in Schedule::for_bits(bits) {
            for (first, count) in check {
                let mut b = ctx.func(&ctx.k.pow_grind);
                b.arg(&s0)
                    .arg(&s1)
                    .arg(&s2)
                    .arg(&s3)
                    .arg(&bits)
                    .arg(&first)
                    .arg(&count)
                    .arg(&mut found);
                ctx.launch(b, grid_1d(count, POW_THREADS), "pow_grind")?;
            }
            let nonce = ctx.download(&found, "proof-of-work nonce")?[0];
            if nonce != NO_HIT {
                return Ok(Some(nonce));
            }
        }
        Ok(None)
    }
}
