//! Traces generated on the device (kernels/keccak_trace.cu): a table whose trace follows from
//! small inputs needs only those inputs uploaded, never the trace itself.

use cudarc::driver::{LaunchConfig, PushKernelArg};

use crate::context::GpuContext;
use crate::error::{CudaError, Result};
use crate::matrix::DeviceMatrix;
use crate::memory::DeviceBuf;

/// Columns of p3-keccak-air's trace (`p3_keccak_air::NUM_KECCAK_COLS`).
pub const KECCAK_TRACE_WIDTH: usize = 2633;
/// Rows per Keccak-f permutation.
const ROUNDS: usize = 24;
/// Words of one row's round lanes (KT_REC in kernels/keccak_trace.cu).
const ROUND_STATE_WORDS: usize = 87;
/// Largest trace generated on the device (rows), as the prover's height limit.
const MAX_LOG_ROWS: u32 = 30;

/// Permutation inputs on the device, ready to generate any rows of their trace.
pub struct DeviceKeccakInputs {
    lanes: DeviceBuf<u64>,
    perms: usize,
    rows: usize,
}

impl DeviceKeccakInputs {
    /// Rows of the trace (a power of two).
    pub fn rows(&self) -> usize {
        self.rows
    }
}

impl GpuContext {
    /// The main trace `p3_keccak_air::generate_trace_rows::<Goldilocks>(inputs, 0)` of the
    /// permutations `inputs` (lanes indexed x + 5y), generated on the device: rows = the next
    /// power of two of 24·len, padded with the all-zero input's rows as p3 pads. Only the
    /// inputs (200 bytes each) are copied to the device.
    pub fn keccak_trace(&self, inputs: &[[u64; 25]]) -> Result<DeviceMatrix> {
        let dev = self.keccak_inputs(inputs)?;
        let mut out = self.alloc_words(dev.rows * KECCAK_TRACE_WIDTH, "the Keccak trace")?;
        self.keccak_trace_rows(&dev, 0, dev.rows, &mut out)?;
        Ok(DeviceMatrix::from_parts(out, dev.rows, KECCAK_TRACE_WIDTH))
    }

    /// Uploads the permutations' inputs (the trace's height is checked here).
    pub fn keccak_inputs(&self, inputs: &[[u64; 25]]) -> Result<DeviceKeccakInputs> {
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
        // The inputs' lanes are contiguous already: uploaded from where they are, no host copy.
        let zero = [0u64; 25];
        let lanes: &[u64] = if inputs.is_empty() {
            &zero
        } else {
            inputs.as_flattened()
        };
        Ok(DeviceKeccakInputs {
            lanes: self.upload(lanes, "Keccak-f inputs")?,
            perms: inputs.len(),
            rows,
        })
    }

    /// The whole trace in the layout the LDE starts from: column-major with bit-reversed rows
    /// (word c·N + bitrev(r) = trace[r][c]), generated in place: every row's round lanes first
    /// (87 words a row), then the columns from them, so no row-major trace is held or
    /// transposed. Traces of fewer than 32 rows go through the row-major kernel.
    pub fn keccak_trace_bitrev_cols(&self, inputs: &DeviceKeccakInputs) -> Result<DeviceBuf<u64>> {
        let rows = inputs.rows;
        let log_n = rows.trailing_zeros();
        let mut out = self.alloc_words(
            rows * KECCAK_TRACE_WIDTH,
            "the Keccak trace (bit-reversed columns)",
        )?;
        if rows < 32 {
            let mut m = self.alloc_words(rows * KECCAK_TRACE_WIDTH, "the Keccak trace")?;
            self.keccak_trace_rows(inputs, 0, rows, &mut m)?;
            self.transpose_bitrev(&m, &mut out.as_view_mut(), log_n, KECCAK_TRACE_WIDTH)?;
            return Ok(out);
        }
        let slots = rows.div_ceil(ROUNDS);
        let mut states =
            self.alloc_words(slots * ROUNDS * ROUND_STATE_WORDS, "Keccak round states")?;
        let (n, slots64) = (inputs.perms as u64, slots as u64);
        let mut b = self.func(&self.k.keccak_round_states);
        b.arg(&inputs.lanes).arg(&n).arg(&slots64).arg(&mut states);
        self.launch(
            b,
            crate::context::grid_1d(slots64, 32),
            "keccak_round_states",
        )?;
        let mut b = self.func(&self.k.keccak_trace_colmajor_bitrev);
        b.arg(&states)
            .arg(&inputs.lanes)
            .arg(&n)
            .arg(&log_n)
            .arg(&mut out);
        let cfg = LaunchConfig {
            grid_dim: (
                u32::try_from(rows / 32)
                    .map_err(|_| CudaError::Shape(format!("{rows} Keccak trace rows")))?,
                1,
                1,
            ),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        self.launch(b, cfg, "keccak_trace_colmajor_bitrev")?;
        Ok(out)
    }

    /// Rows row0 .. row0 + nrows of the trace, row-major into `out`.
    pub fn keccak_trace_rows(
        &self,
        inputs: &DeviceKeccakInputs,
        row0: usize,
        nrows: usize,
        out: &mut cudarc::driver::CudaSlice<u64>,
    ) -> Result<()> {
        if row0 + nrows > inputs.rows || out.len() < nrows * KECCAK_TRACE_WIDTH {
            return Err(CudaError::Shape(format!(
                "Keccak trace rows {row0}..{} of {} into {} words",
                row0 + nrows,
                inputs.rows,
                out.len()
            )));
        }
        if nrows == 0 {
            return Ok(());
        }
        let slots = (row0 + nrows).div_ceil(ROUNDS) - row0 / ROUNDS;
        let (n, rows64, r064, nr64) = (
            inputs.perms as u64,
            inputs.rows as u64,
            row0 as u64,
            nrows as u64,
        );
        let mut b = self.func(&self.k.keccak_trace_rows);
        b.arg(&inputs.lanes)
            .arg(&n)
            .arg(&rows64)
            .arg(&r064)
            .arg(&nr64)
            .arg(out);
        let cfg = LaunchConfig {
            grid_dim: (
                u32::try_from(slots)
                    .map_err(|_| CudaError::Shape(format!("{slots} Keccak trace slots")))?,
                1,
                1,
            ),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        self.launch(b, cfg, "keccak_trace_rows")
    }
}
