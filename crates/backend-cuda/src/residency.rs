//! Where each committed matrix of a proof lives on the device, decided before any expensive work
//! (`Backend::begin_proof`) so that the proof's device memory stays within the VRAM budget.
//! Compiled without the `cuda` feature: CI tests the planning on any machine.
//!
//! Every committed matrix (a table's main trace, its LogUp auxiliary trace, its composition
//! parts) keeps its coefficients (N × W words) and its Merkle tree on the device. A *resident*
//! matrix also keeps its LDE (N·B × W words), so composition reads it and openings gather from
//! it. A *streamed* matrix does not: its LDE is recomputed from the coefficients when a round
//! needs it, in column chunks (the commitment, whose leaf sponges absorb chunk after chunk, and
//! the openings) or in row blocks (the composition), so only the coefficients and a chunk or
//! block are ever held. The proof bytes do not depend on the choice (docs/GPU.md, "Streamed
//! commitments"). The alternative for a matrix not needed until a later round — copying its LDE
//! to page-locked host memory and back — moves 2 × N·B·W·8 bytes over PCIe (38.6 GB/s
//! measured) where the recomputation reads N·W·8 bytes at device speed, so it is not offered
//! (docs/PERF.md, "VRAM budget").
//!
//! The planner models the live device bytes along the proof's rounds (what each round keeps and
//! what it needs while it runs), starts with every matrix resident and streams the matrices with
//! the largest LDEs until the modelled peak fits the budget. If it cannot fit even with every
//! matrix streamed, the proof is refused with the bytes it needs.

use rstark_protocol::{PlannedTable, ProofPlan};

const WORD: u64 = 8;
/// Keccak-f state per leaf while a streamed commitment absorbs its chunks (25 lanes).
const SPONGE_BYTES: u64 = 25 * WORD;
/// A Merkle node (digest).
const NODE: u64 = 32;
/// Register scratch of the constraint kernel (src/constraints.rs SCRATCH_BYTES).
pub const CONSTRAINT_SCRATCH_BYTES: u64 = 256 << 20;
/// The column-major copy of a chunk of current rows the constraint kernel reads (at most).
pub const CONSTRAINT_COLUMNS_BYTES: u64 = 3 << 30;
/// Kept free of the budget for small allocations the model does not itemise (index lists,
/// challenges, twiddle and coset tables, the pinned-staging bookkeeping).
pub const SLACK_BYTES: u64 = 256 << 20;
/// Columns of an LDE chunk (commitments and openings) when memory allows.
pub const MAX_CHUNK_COLS: u64 = 64;
/// Rows of a streamed block (composition) at least and at most (log2). Each block folds all of
/// the coefficients, so the fewer (larger) blocks memory allows, the less the folding costs.
pub const MIN_BLOCK_LOG: u32 = 10;
pub const MAX_BLOCK_LOG: u32 = 22;
/// Rows of the trace blocks a streamed commitment takes in (log2): at least (what the plan
/// counts on), and at most when the budget leaves room (each block is one launch of the
/// witness check and of the scatter into the coefficients: larger blocks fill the GPU better).
pub const TRACE_BLOCK_LOG: u32 = 14;
pub const MAX_TRACE_BLOCK_LOG: u32 = 18;

/// Rows of a streamed commitment's trace blocks for a trace of `rows` × `width` when `room`
/// bytes are free: the largest power of two in [2^TRACE_BLOCK_LOG, 2^MAX_TRACE_BLOCK_LOG] that
/// fits, at most the trace's height.
pub fn trace_block_rows(rows: usize, width: usize, room: u64) -> usize {
    let row_bytes = (width.max(1) * 8) as u64;
    let k = (TRACE_BLOCK_LOG..=MAX_TRACE_BLOCK_LOG)
        .rev()
        .find(|&k| row_bytes << k <= room)
        .unwrap_or(TRACE_BLOCK_LOG);
    rows.min(1 << k)
}

/// Where a committed matrix's LDE lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residency {
    /// LDE, coefficients and tree on the device.
    Resident,
    /// Coefficients and tree on the device; the LDE recomputed when needed.
    Streamed,
}

/// One committed matrix's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatrixShape {
    pub log_height: u32,
    pub width: u64,
    pub log_blowup: u32,
}

impl MatrixShape {
    pub fn rows(&self) -> u64 {
        1 << self.log_height
    }
    pub fn lde_rows(&self) -> u64 {
        1 << (self.log_height + self.log_blowup)
    }
    /// Coefficients (or the trace): N × W words.
    pub fn coef_bytes(&self) -> u64 {
        self.rows() * self.width * WORD
    }
    pub fn lde_bytes(&self) -> u64 {
        self.lde_rows() * self.width * WORD
    }
    /// 2L nodes of 32 bytes, L = N·B/2 leaves.
    pub fn tree_bytes(&self) -> u64 {
        self.lde_rows() * NODE
    }
    /// What the matrix keeps once committed.
    pub fn kept_bytes(&self, r: Residency) -> u64 {
        self.coef_bytes()
            + self.tree_bytes()
            + match r {
                Residency::Resident => self.lde_bytes(),
                Residency::Streamed => 0,
            }
    }
    /// Columns of one LDE chunk (N·B rows each) that fit in `avail` bytes: at least 1, at most
    /// [`MAX_CHUNK_COLS`] and the width.
    pub fn chunk_cols(&self, avail: u64) -> u64 {
        (avail / (self.lde_rows() * WORD)).clamp(1, MAX_CHUNK_COLS.min(self.width))
    }
    /// What committing it needs beyond what it keeps, with an LDE chunk of `cols` columns.
    /// Resident: the values on the trace domain (uploaded or generated) besides the
    /// coefficients, and the chunk. Streamed: a block of trace rows, the leaf sponges and the
    /// chunk.
    pub fn commit_bytes(&self, r: Residency, cols: u64) -> u64 {
        let chunk = self.lde_rows() * cols * WORD;
        match r {
            Residency::Resident => self.coef_bytes() + chunk,
            Residency::Streamed => {
                let block = self.rows().min(1 << TRACE_BLOCK_LOG) * self.width * WORD;
                block + self.lde_rows() / 2 * SPONGE_BYTES + chunk
            }
        }
    }
}

/// One table's matrices and how each is held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableResidency {
    pub name: String,
    pub main: Residency,
    pub aux: Residency,
    pub comp: Residency,
}

/// The plan for one proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    pub budget: u64,
    pub tables: Vec<TableResidency>,
    /// The modelled peak of device memory (bytes).
    pub peak: u64,
}

impl MemoryPlan {
    /// The matrices that do not keep their LDE, as "table/main" names (for reports).
    pub fn streamed(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tables {
            for (kind, r) in [("main", t.main), ("aux", t.aux), ("composition", t.comp)] {
                if r == Residency::Streamed {
                    out.push(format!("{}/{kind}", t.name));
                }
            }
        }
        out
    }
}

/// Why a proof does not fit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the proof needs at least {} of device memory with every matrix streamed, and the VRAM \
         budget is {}: {detail}",
        gib(*needed),
        gib(*budget)
    )]
    TooLarge {
        needed: u64,
        budget: u64,
        detail: String,
    },
}

/// Bytes as "12.34 GiB (13249974108 bytes)".
pub fn gib(bytes: u64) -> String {
    format!(
        "{:.2} GiB ({bytes} bytes)",
        bytes as f64 / (1u64 << 30) as f64
    )
}

/// A byte count as users write it: `24GiB`, `1.5 GiB`, `512MiB`, `32G` (binary, as GiB), `80GB`
/// (decimal), `1000000` (bytes). The CLI's `--vram-budget` and `RSTARK_VRAM_BUDGET` take it.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a byte count (e.g. 24GiB, 512MiB, 80GB)"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => (1u64 << 10) as f64,
        "m" | "mib" => (1u64 << 20) as f64,
        "g" | "gib" => (1u64 << 30) as f64,
        "t" | "tib" => (1u64 << 40) as f64,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        u => {
            return Err(format!(
                "unknown unit {u:?} in {s:?} (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
            ));
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(format!("{s:?} is not a usable byte count"));
    }
    Ok(bytes as u64)
}

fn shapes(t: &PlannedTable, log_blowup: u32) -> [MatrixShape; 3] {
    let n = t.log_height as u32;
    [
        MatrixShape {
            log_height: n,
            width: t.main_width as u64,
            log_blowup,
        },
        MatrixShape {
            log_height: n,
            width: t.aux_width as u64,
            log_blowup,
        },
        MatrixShape {
            log_height: n,
            width: 3 << t.log_quotient_degree,
            log_blowup,
        },
    ]
}

/// Rows of a composition block for a table whose main or aux is streamed: the largest power of
/// two in [2^MIN_BLOCK_LOG, min(N, 2^MAX_BLOCK_LOG)] whose working set (current and next rows of
/// main and aux, column-major) fits in `avail`, else the smallest.
pub fn block_log(log_height: u32, row_bytes: u64, avail: u64) -> u32 {
    let hi = log_height.min(MAX_BLOCK_LOG);
    let lo = MIN_BLOCK_LOG.min(hi);
    (lo..=hi)
        .rev()
        .find(|&k| 2 * (row_bytes << k) <= avail)
        .unwrap_or(lo)
}

/// What the composition round of table `t` needs while it runs (beyond what is kept), with its
/// main and aux held as given.
fn composition_bytes(
    t: &PlannedTable,
    s: &[MatrixShape; 3],
    main: Residency,
    aux: Residency,
) -> u64 {
    let q_rows = 1u64 << (t.log_height + t.log_quotient_degree);
    // the quotient values, then its column-major copy and the parts' coefficients
    let quotient = 3 * q_rows * WORD * 3;
    let row_bytes = (s[0].width + s[1].width) * WORD;
    let d_fits = t.log_quotient_degree as u32 <= s[0].log_blowup;
    let rows_source = if main == Residency::Resident && aux == Residency::Resident && d_fits {
        // the resident LDEs' prefix; a column-major copy of a chunk of current rows
        (q_rows.min(1 << 21) * s[0].width * WORD).min(CONSTRAINT_COLUMNS_BYTES)
    } else {
        // recomputed blocks of current and next rows (at their smallest)
        2 * (row_bytes << MIN_BLOCK_LOG.min(t.log_height as u32))
    };
    quotient + rows_source + CONSTRAINT_SCRATCH_BYTES
}

/// Plans a proof within `budget` bytes: every matrix resident if that fits, else the largest
/// LDEs streamed first.
pub fn plan(proof: &ProofPlan, budget: u64) -> Result<MemoryPlan, PlanError> {
    let b = proof.log_blowup as u32;
    let mut tables: Vec<TableResidency> = proof
        .tables
        .iter()
        .map(|t| TableResidency {
            name: t.name.clone(),
            main: Residency::Resident,
            aux: Residency::Resident,
            comp: Residency::Resident,
        })
        .collect();
    // Candidates to stream, largest LDE first.
    let mut order: Vec<(u64, usize, usize)> = Vec::new();
    for (i, t) in proof.tables.iter().enumerate() {
        for (k, s) in shapes(t, b).iter().enumerate() {
            if s.width > 0 {
                order.push((s.lde_bytes(), i, k));
            }
        }
    }
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut next = order.into_iter();
    loop {
        let peak = modelled_peak(proof, &tables);
        if peak + SLACK_BYTES <= budget {
            return Ok(MemoryPlan {
                budget,
                tables,
                peak,
            });
        }
        match next.next() {
            Some((_, i, k)) => {
                let t = &mut tables[i];
                *[&mut t.main, &mut t.aux, &mut t.comp][k] = Residency::Streamed;
            }
            None => {
                let (worst, what) = largest_kept(proof);
                return Err(PlanError::TooLarge {
                    needed: peak + SLACK_BYTES,
                    budget,
                    detail: format!(
                        "the largest matrix, {what}, keeps {} of coefficients and tree on the device",
                        gib(worst)
                    ),
                });
            }
        }
    }
}

fn largest_kept(proof: &ProofPlan) -> (u64, String) {
    let b = proof.log_blowup as u32;
    let mut best = (0, String::new());
    for t in &proof.tables {
        for (s, kind) in shapes(t, b).iter().zip(["main", "aux", "composition"]) {
            let bytes = s.kept_bytes(Residency::Streamed);
            if bytes > best.0 {
                best = (
                    bytes,
                    format!(
                        "table `{}` {kind} (2^{} rows × {} columns)",
                        t.name, s.log_height, s.width
                    ),
                );
            }
        }
    }
    best
}

/// The largest live byte count along the proof with the matrices held as `tables` says.
pub fn modelled_peak(proof: &ProofPlan, tables: &[TableResidency]) -> u64 {
    let b = proof.log_blowup as u32;
    let mut live = 0u64;
    let mut peak = 0u64;
    let mut step = |live: &mut u64, transient: u64, kept: u64| {
        peak = peak.max(*live + transient + kept);
        *live += kept;
    };
    let all: Vec<[MatrixShape; 3]> = proof.tables.iter().map(|t| shapes(t, b)).collect();
    // Round 1: main traces; round 2: auxiliary traces, built on the device from the main
    // trace's values on H (a resident main keeps them from its commitment until then; a
    // streamed one recomputes them in blocks) and held whole until committed.
    let kept_trace = |s: &[MatrixShape; 3], r: &TableResidency| {
        if s[1].width > 0 && r.main == Residency::Resident {
            s[0].coef_bytes()
        } else {
            0
        }
    };
    for k in 0..2 {
        for (s, r) in all.iter().zip(tables) {
            let m = s[k];
            if m.width == 0 {
                continue;
            }
            let res = if k == 0 { r.main } else { r.aux };
            let cols = m.width.min(MAX_CHUNK_COLS);
            if k == 0 {
                step(
                    &mut live,
                    m.commit_bytes(res, cols),
                    m.kept_bytes(res) + kept_trace(s, r),
                );
            } else {
                let whole = match res {
                    Residency::Resident => 0,
                    Residency::Streamed => m.coef_bytes(),
                };
                step(
                    &mut live,
                    m.commit_bytes(res, cols) + whole,
                    m.kept_bytes(res),
                );
                live -= kept_trace(s, r);
            }
        }
    }
    // Round 3: composition (quotient on the quotient domain, its parts committed).
    for ((t, s), r) in proof.tables.iter().zip(&all).zip(tables) {
        let c = s[2];
        let transient = composition_bytes(t, s, r.main, r.aux)
            .max(c.commit_bytes(r.comp, c.width.min(MAX_CHUNK_COLS)));
        step(&mut live, transient, c.kept_bytes(r.comp));
    }
    // Round 5: DEEP codewords (kept until FRI), each needing A and C's coefficients and LDE.
    let mut max_lde_rows = 0;
    for s in &all {
        let m = s[0];
        max_lde_rows = max_lde_rows.max(m.lde_rows());
        step(
            &mut live,
            6 * (m.rows() + m.lde_rows()) * WORD,
            3 * m.lde_rows() * WORD,
        );
    }
    // Round 6: FRI layers (each half the last, with its tree) and the folding.
    step(&mut live, 0, 2 * (3 * WORD + NODE) * max_lde_rows);
    peak
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, log_height: usize, main: usize, aux: usize, d: usize) -> PlannedTable {
        PlannedTable {
            name: name.into(),
            log_height,
            main_width: main,
            preprocessed_width: 0,
            aux_width: aux,
            log_quotient_degree: d,
            num_constraints: 1,
        }
    }

    fn proof(tables: Vec<PlannedTable>) -> ProofPlan {
        ProofPlan {
            tables,
            log_blowup: 1,
            num_queries: 100,
            log_final_poly_len: 3,
        }
    }

    const GIB: u64 = 1 << 30;

    #[test]
    fn small_proofs_keep_everything_resident() {
        let p = proof(vec![table("fib", 10, 2, 0, 0)]);
        let plan = plan(&p, 80 * GIB).unwrap();
        assert!(plan.streamed().is_empty());
        assert!(plan.peak < GIB);
    }

    #[test]
    fn keccak_2_20_under_24_gib_streams_its_main_trace() {
        // 2^20 rows × 2633 columns: the trace alone is 20.6 GiB, its LDE 41.1 GiB.
        let p = proof(vec![table("keccak", 20, 2633, 0, 1)]);
        let plan24 = plan(&p, 24 * GIB).unwrap();
        assert_eq!(plan24.streamed(), vec!["keccak/main".to_string()]);
        assert!(plan24.peak + SLACK_BYTES <= 24 * GIB);
        let full = plan(&p, 139 * GIB).unwrap();
        assert!(full.streamed().is_empty());
        // 2^21 rows on an H200 (default budget ~125 GiB): streamed.
        let p21 = proof(vec![table("keccak", 21, 2633, 0, 1)]);
        let plan21 = plan(&p21, 125 * GIB).unwrap();
        assert_eq!(plan21.streamed(), vec!["keccak/main".to_string()]);
    }

    #[test]
    fn a_budget_below_the_coefficients_names_the_minimum() {
        let p = proof(vec![table("keccak", 20, 2633, 0, 1)]);
        let err = plan(&p, 16 * GIB).unwrap_err();
        let PlanError::TooLarge { needed, budget, .. } = &err;
        assert!(*needed > 20 * GIB && *needed < 24 * GIB, "{err}");
        assert_eq!(*budget, 16 * GIB);
        let msg = err.to_string();
        assert!(msg.contains("keccak") && msg.contains("GiB"), "{msg}");
    }

    #[test]
    fn the_plan_is_monotone_in_the_budget() {
        let p = proof(vec![
            table("cpu", 22, 20, 6, 1),
            table("memory", 23, 8, 9, 1),
            table("range", 16, 2, 6, 1),
        ]);
        let mut last = usize::MAX;
        for gib in [1u64, 2, 4, 8, 16, 32, 64] {
            if let Ok(plan) = plan(&p, gib * GIB) {
                let n = plan.streamed().len();
                assert!(n <= last, "more streamed with more memory at {gib} GiB");
                assert!(plan.peak + SLACK_BYTES <= gib * GIB);
                last = n;
            }
        }
        assert_eq!(last, 0);
    }

    #[test]
    fn trace_blocks_fit_the_room() {
        assert_eq!(trace_block_rows(1 << 20, 2633, 0), 1 << TRACE_BLOCK_LOG);
        assert_eq!(
            trace_block_rows(1 << 20, 2633, 1 << 40),
            1 << MAX_TRACE_BLOCK_LOG
        );
        assert_eq!(trace_block_rows(1 << 12, 2633, 1 << 40), 1 << 12);
        let r = trace_block_rows(1 << 20, 2633, 3 << 30);
        assert!(r * 2633 * 8 <= 3 << 30 && 2 * r * 2633 * 8 > 3 << 30);
    }

    #[test]
    fn byte_counts_parse() {
        assert_eq!(parse_bytes("24GiB"), Ok(24 * GIB));
        assert_eq!(parse_bytes("24 GiB"), Ok(24 * GIB));
        assert_eq!(parse_bytes("32G"), Ok(32 * GIB));
        assert_eq!(parse_bytes("1.5gib"), Ok(3 * GIB / 2));
        assert_eq!(parse_bytes("80GB"), Ok(80_000_000_000));
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        for bad in ["", "GiB", "24 parsecs", "-1G", "0", "1e400"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn block_sizes_fit_what_is_left() {
        let row = 2633 * 8;
        assert_eq!(block_log(20, row, 1 << 50), 20);
        assert_eq!(block_log(24, row, 1 << 50), MAX_BLOCK_LOG);
        let k = block_log(20, row, 2 << 30);
        assert!(2 * (row << k) <= 2 << 30 && 2 * (row << (k + 1)) > 2 << 30);
        assert_eq!(block_log(20, row, 0), MIN_BLOCK_LOG);
        assert_eq!(block_log(5, 16, 1 << 30), 5);
    }
}
