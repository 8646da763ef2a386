//! Traces generated on the device (kernels/keccak_trace.cu): a table whose trace follows from
//! small inputs needs only those inputs uploaded, never the trace itself.

use cudarc::driver::{LaunchConfig, PushKernelArg};

use crate::context::GpuContext;
use crate::error::{CudaError, Result};
use crate::matrix::DeviceMatrix;

/// Columns of p3-keccak-air's trace (`p3_keccak_air::NUM_KECCAK_COLS`).
pub const KECCAK_TRACE_WIDTH: usize = 2633;
/// Rows per Keccak-f permutation.
const ROUNDS: usize = 24;
/// Largest trace generated on the device (rows), as the prover's height limit.
const MAX_LOG_ROWS: u32 = 30;

impl GpuContext {
    /// The main trace `p3_keccak_air::generate_trace_rows::<Goldilocks>(inputs, 0)` of the
    /// permutations `inputs` (lanes indexed x + 5y), generated on the device: rows = the next
    /// power of two of 24·len, padded with the all-zero input's rows as p3 pads. Only the
    /// inputs (200 bytes each) are copied to the device.
    pub fn keccak_trace(&self, inputs: &[[u64; 25]]) -> Result<DeviceMatrix> {
        let rows = inputs
            .len()
            .checked_mul(ROUNDS)
            .map(usize::next_power_of_two)
            .filter(|r| r.trailing_zeros() <= MAX_LOG_ROWS)
            .ok_or_else(|| {
                CudaError::Shape(format!(
                    "{} Keccak-f permutations exceed 2^{MAX_LOG_ROWS} trace rows",
                    inputs.len()
                ))
            })?;
        // An empty input list still yields p3's one padding row; the kernel reads no input then.
        let lanes: Vec<u64> = if inputs.is_empty() {
            vec![0; 25]
        } else {
            inputs.iter().flatten().copied().collect()
        };
        let dev_inputs = self.upload(&lanes, "Keccak-f inputs")?;
        let len = rows * KECCAK_TRACE_WIDTH;
        let mut out = self.alloc_words(len, "the Keccak trace")?;
        let (n, rows64) = (inputs.len() as u64, rows as u64);
        let mut b = self.func(&self.k.keccak_trace);
        b.arg(&dev_inputs).arg(&n).arg(&rows64).arg(&mut out);
        let cfg = LaunchConfig {
            grid_dim: (rows.div_ceil(ROUNDS) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        self.launch(b, cfg, "keccak_trace")?;
        Ok(DeviceMatrix::from_parts(out, rows, KECCAK_TRACE_WIDTH))
    }
}
