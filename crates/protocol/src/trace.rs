//! Where a table's main trace comes from: values already on the host, or a generator that a
//! backend may run where the trace will live (docs/ARCHITECTURE.md, "Trace sources").
//!
//! A generator always produces its trace on the host ([`TraceGenerator::generate`], the reference
//! and what the CPU backend commits). A device backend that recognizes a generator (through
//! [`TraceGenerator::as_any`]) may instead generate the same values in device memory, so only the
//! generator's inputs cross PCIe. The prover asks for host values only where the protocol reads
//! them (the witness check, LogUp auxiliary traces).

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use p3_keccak_air::{NUM_KECCAK_COLS, NUM_ROUNDS, generate_trace_rows};
use rstark_field::F;
use rstark_poly::RowMajor;

/// A deterministic trace generator: the same values wherever it runs.
pub trait TraceGenerator: Send + Sync + fmt::Debug {
    /// Columns of the trace.
    fn width(&self) -> usize;
    /// Rows of the trace (a power of two for a provable table).
    fn height(&self) -> usize;
    /// The trace on the host (natural order, `height() × width()` values).
    fn generate(&self) -> RowMajor;
    /// For backends that can run some generators themselves (downcast to the concrete type).
    fn as_any(&self) -> &dyn Any;
}

/// A table's main trace: host values, or a generator.
#[derive(Clone)]
pub enum TraceSource {
    Host(RowMajor),
    Generated(Arc<dyn TraceGenerator>),
}

impl TraceSource {
    pub fn generated(g: impl TraceGenerator + 'static) -> Self {
        Self::Generated(Arc::new(g))
    }

    pub fn width(&self) -> usize {
        match self {
            Self::Host(m) => m.width,
            Self::Generated(g) => g.width(),
        }
    }

    pub fn height(&self) -> usize {
        match self {
            Self::Host(m) => m.values.len().checked_div(m.width).unwrap_or(0),
            Self::Generated(g) => g.height(),
        }
    }

    /// The host values (generated now for a generator).
    pub fn host(&self) -> Cow<'_, RowMajor> {
        match self {
            Self::Host(m) => Cow::Borrowed(m),
            Self::Generated(g) => Cow::Owned(g.generate()),
        }
    }

    /// The host values, mutable (a generator is replaced by the values it generates).
    pub fn host_mut(&mut self) -> &mut RowMajor {
        if let Self::Generated(g) = self {
            *self = Self::Host(g.generate());
        }
        match self {
            Self::Host(m) => m,
            Self::Generated(_) => unreachable!("replaced by host values above"),
        }
    }

    pub fn into_host(self) -> RowMajor {
        match self {
            Self::Host(m) => m,
            Self::Generated(g) => g.generate(),
        }
    }
}

impl From<RowMajor> for TraceSource {
    fn from(m: RowMajor) -> Self {
        Self::Host(m)
    }
}

impl fmt::Debug for TraceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(m) => write!(f, "Host({}x{})", self.height(), m.width),
            Self::Generated(g) => write!(f, "Generated({g:?})"),
        }
    }
}

/// The trace of `p3_keccak_air::KeccakAir` for Keccak-f[1600] permutations of `inputs` (lanes
/// indexed x + 5y): `generate_trace_rows::<Goldilocks>(inputs, 0)`, 24 rows per permutation,
/// padded to a power of two with the rows of the all-zero input. The CUDA backend generates it
/// on the device from the inputs alone (200 bytes per permutation).
#[derive(Clone)]
pub struct KeccakTrace {
    pub inputs: Arc<Vec<[u64; 25]>>,
}

impl KeccakTrace {
    pub fn new(inputs: Vec<[u64; 25]>) -> Self {
        Self {
            inputs: Arc::new(inputs),
        }
    }
}

impl fmt::Debug for KeccakTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeccakTrace({} permutations)", self.inputs.len())
    }
}

impl TraceGenerator for KeccakTrace {
    fn width(&self) -> usize {
        NUM_KECCAK_COLS
    }

    fn height(&self) -> usize {
        (self.inputs.len() * NUM_ROUNDS).next_power_of_two()
    }

    fn generate(&self) -> RowMajor {
        let m = generate_trace_rows::<F>(self.inputs.to_vec(), 0);
        RowMajor {
            values: m.values,
            width: m.width,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
