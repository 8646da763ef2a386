//! LogUp auxiliary traces on the device (`kernels/logup.cu`; docs/PROTOCOL.md §5.3): the same
//! words as `rstark_air::logup::build_aux_trace`, built from the main trace already in device
//! memory. The interactions go up once as a flat table of affine forms
//! ([`crate::logup_table::interaction_table`]); rows are added in blocks ([`AuxBuilder::add_rows`]:
//! the whole trace at once, or blocks recomputed one after another, natural or bit-reversed
//! strided rows), then [`AuxBuilder::finish`] runs the running sum over the natural order and
//! returns the aux matrix, the claimed sum and each interaction's column sum.

use cudarc::driver::{CudaSlice, PushKernelArg};
use rstark_air::Interaction;
use rstark_air::logup::LogupChallenges;
use rstark_field::{EF, F, unflatten_ext};

use crate::context::{GpuContext, grid_1d};
use crate::error::{CudaError, Result};
use crate::logup_table::{ScanLevels, interaction_table};
use crate::matrix::{DeviceMatrix, to_field};
use crate::memory::DeviceBuf;
use crate::stream::grid_stride;

const THREADS: u32 = 256;

fn shape(msg: impl Into<String>) -> CudaError {
    CudaError::Shape(msg.into())
}

/// One table's interactions on the device, for a main trace of `main_width` columns.
pub struct DeviceInteractions {
    table: DeviceBuf<u64>,
    k: usize,
    main_width: usize,
}

impl DeviceInteractions {
    pub fn new(
        ctx: &GpuContext,
        interactions: &[Interaction],
        challenges: &LogupChallenges,
        main_width: usize,
    ) -> Result<Self> {
        if interactions.is_empty() || main_width == 0 {
            return Err(shape(
                "LogUp on the device needs interactions and main columns",
            ));
        }
        let table = interaction_table(interactions, challenges, main_width);
        Ok(Self {
            table: ctx.upload(&table, "LogUp interactions")?,
            k: interactions.len(),
            main_width,
        })
    }

    pub fn len(&self) -> usize {
        self.k
    }

    pub fn is_empty(&self) -> bool {
        self.k == 0
    }
}

/// Where a block's rows are in the trace: row i of the block is natural row `first + i`, or
/// (`BitReversed`, R = 2^log rows) `first + (bitrev_log(i) << shift)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOrder {
    Natural { first: usize },
    BitReversed { first: usize, shift: u32 },
}

/// How a block of R rows × W columns lies in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockLayout {
    /// Element (i, c) at i·W + c.
    RowMajor,
    /// Element (i, c) at c·R + i (as blocks recomputed from coefficients come).
    ColumnMajor,
}

/// A built aux trace.
pub struct DeviceAux {
    /// N natural-order rows of 3(K + 1) words (`flatten_ext` of K h columns and S).
    pub matrix: DeviceMatrix,
    /// S(N − 1).
    pub claimed_sum: EF,
    /// Σ over rows of each h_k.
    pub interaction_sums: Vec<EF>,
}

/// What [`AuxBuilder::finish`] gives.
pub enum AuxOutcome {
    Built(DeviceAux),
    /// α − fingerprint is zero here (the smallest row, then the smallest interaction, as the
    /// host reports it).
    ZeroDenominator {
        row: usize,
        interaction: usize,
    },
}

/// An aux trace being built: blocks of main rows added, then finished.
pub struct AuxBuilder {
    aux: DeviceBuf<u64>,
    n: usize,
    k: usize,
    zero: DeviceBuf<u64>,
}

impl AuxBuilder {
    /// For a trace of 2^log_height rows and `k` interactions.
    pub fn new(ctx: &GpuContext, log_height: usize, k: usize) -> Result<Self> {
        if k == 0 || log_height > crate::plan::MAX_LOG_N as usize {
            return Err(shape(format!(
                "a LogUp aux trace of 2^{log_height} rows, {k} interactions"
            )));
        }
        let n = 1usize << log_height;
        Ok(Self {
            aux: ctx.alloc_words(n * 3 * (k + 1), "LogUp aux trace")?,
            n,
            k,
            zero: ctx.upload(&[u64::MAX], "LogUp zero flag")?,
        })
    }

    /// Writes the aux rows of a block of `n_rows` main rows (in `rows` from word 0, laid out as
    /// `layout` says). Every natural row must be added once before [`finish`](Self::finish).
    pub fn add_rows(
        &mut self,
        ctx: &GpuContext,
        inter: &DeviceInteractions,
        rows: &CudaSlice<u64>,
        n_rows: usize,
        layout: BlockLayout,
        order: RowOrder,
    ) -> Result<()> {
        let w = inter.main_width;
        if inter.k != self.k {
            return Err(shape(format!(
                "{} interactions for an aux trace of {}",
                inter.k, self.k
            )));
        }
        if n_rows == 0 {
            return Ok(());
        }
        let (first, rev, log_rev, shift) = match order {
            RowOrder::Natural { first } => (first, 0u32, 0u32, 0u32),
            RowOrder::BitReversed { first, shift } => {
                if !n_rows.is_power_of_two() {
                    return Err(shape(
                        "a bit-reversed block of rows has a power-of-two length",
                    ));
                }
                (first, 1, n_rows.trailing_zeros(), shift)
            }
        };
        // the largest natural row the block names
        let last = match order {
            RowOrder::Natural { .. } => (n_rows - 1) as u128,
            RowOrder::BitReversed { shift, .. } => ((n_rows - 1) as u128) << shift,
        } + first as u128;
        if last >= self.n as u128 || rows.len() < n_rows * w {
            return Err(shape(format!(
                "{n_rows} main rows ({} words, width {w}) at {order:?} for an aux trace of {} rows",
                rows.len(),
                self.n
            )));
        }
        let (k32, n_rows64, first64) = (self.k as u32, n_rows as u64, first as u64);
        let (rs, cs) = match layout {
            BlockLayout::RowMajor => (w as u64, 1u64),
            BlockLayout::ColumnMajor => (1, n_rows64),
        };
        let mut b = ctx.func(&ctx.k.logup_rows);
        b.arg(&inter.table)
            .arg(&k32)
            .arg(rows)
            .arg(&rs)
            .arg(&cs)
            .arg(&n_rows64)
            .arg(&first64)
            .arg(&rev)
            .arg(&log_rev)
            .arg(&shift)
            .arg(&mut self.aux)
            .arg(&mut self.zero);
        ctx.launch(b, grid_stride(n_rows64, THREADS), "logup_rows")
    }

    /// The running sum and the sums, with [`ScanLevels::for_rows`].
    pub fn finish(self, ctx: &GpuContext) -> Result<AuxOutcome> {
        let levels = ScanLevels::for_rows(self.n);
        self.finish_with(ctx, levels)
    }

    /// [`finish`](Self::finish) with given scan levels (tests use small ones to run every level
    /// on small traces).
    pub fn finish_with(mut self, ctx: &GpuContext, levels: ScanLevels) -> Result<AuxOutcome> {
        let zero = ctx.download(&self.zero, "LogUp zero flag")?[0];
        if zero != u64::MAX {
            let k = self.k as u64;
            return Ok(AuxOutcome::ZeroDenominator {
                row: (zero / k) as usize,
                interaction: (zero % k) as usize,
            });
        }
        if levels.chunk_rows == 0 || levels.group == 0 {
            return Err(shape(format!("scan levels {levels:?}")));
        }
        let (n, k, k1) = (self.n, self.k, self.k + 1);
        let (chunks, groups) = (levels.chunks(n), levels.groups(n));
        let mut chunk_sums = ctx.alloc_words(3 * chunks * k1, "LogUp chunk sums")?;
        let mut group_sums = ctx.alloc_words(3 * groups * k1, "LogUp group sums")?;
        let mut totals = ctx.alloc_words(3 * k1, "LogUp column sums")?;
        let (k32, k1_32, n64) = (k as u32, k1 as u32, n as u64);
        let (rows64, chunks64, group64, groups64) = (
            levels.chunk_rows as u64,
            chunks as u64,
            levels.group as u64,
            groups as u64,
        );
        let mut b = ctx.func(&ctx.k.logup_chunk_sums);
        b.arg(&self.aux)
            .arg(&k1_32)
            .arg(&n64)
            .arg(&rows64)
            .arg(&chunks64)
            .arg(&mut chunk_sums);
        ctx.launch(
            b,
            grid_1d(chunks64 * k1 as u64, THREADS),
            "logup_chunk_sums",
        )?;
        let mut b = ctx.func(&ctx.k.logup_scan_groups);
        b.arg(&mut chunk_sums)
            .arg(&k1_32)
            .arg(&chunks64)
            .arg(&group64)
            .arg(&mut group_sums);
        ctx.launch(
            b,
            grid_1d(groups64 * k1 as u64, THREADS),
            "logup_scan_groups",
        )?;
        let mut b = ctx.func(&ctx.k.logup_scan_groups);
        b.arg(&mut group_sums)
            .arg(&k1_32)
            .arg(&groups64)
            .arg(&groups64)
            .arg(&mut totals);
        ctx.launch(b, grid_1d(k1 as u64, THREADS), "logup_scan_groups")?;
        let mut b = ctx.func(&ctx.k.logup_running_sum);
        b.arg(&mut self.aux)
            .arg(&k32)
            .arg(&n64)
            .arg(&rows64)
            .arg(&chunks64)
            .arg(&chunk_sums)
            .arg(&group_sums)
            .arg(&group64);
        ctx.launch(b, grid_1d(chunks64, THREADS), "logup_running_sum")?;
        let sums: Vec<F> = to_field(ctx.download(&totals, "LogUp column sums")?)?;
        let mut sums = unflatten_ext(&sums[..3 * k1]).ok_or_else(|| shape("LogUp column sums"))?;
        let claimed_sum = sums.pop().ok_or_else(|| shape("LogUp column sums"))?;
        Ok(AuxOutcome::Built(DeviceAux {
            matrix: DeviceMatrix::from_parts(self.aux, n, 3 * k1),
            claimed_sum,
            interaction_sums: sums,
        }))
    }
}
