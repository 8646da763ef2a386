//! One AIR type for every table of every workload, so a workload's tables share a type.

use p3_air::{Air, AirBuilder, BaseAir};
use p3_keccak_air::KeccakAir;
use rstark_air::{Interaction, Interactions};

use crate::fib::FibAir;
use crate::vm::{CpuAir, MemoryAir, RangeAir};

/// The AIR of one workload table. Forwards to the table's own AIR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadAir {
    Fib,
    /// `p3-keccak-air`'s `KeccakAir`.
    Keccak,
    VmCpu,
    VmMemory,
    VmRange,
}

impl WorkloadAir {
    /// Columns of the table's main trace.
    pub fn main_width(&self) -> usize {
        <Self as BaseAir<rstark_field::F>>::width(self)
    }

    /// Number of public values the table's AIR takes.
    pub fn public_value_count(&self) -> usize {
        <Self as BaseAir<rstark_field::F>>::num_public_values(self)
    }
}

impl<T> BaseAir<T> for WorkloadAir {
    fn width(&self) -> usize {
        match self {
            Self::Fib => <FibAir as BaseAir<T>>::width(&FibAir),
            Self::Keccak => <KeccakAir as BaseAir<T>>::width(&KeccakAir {}),
            Self::VmCpu => <CpuAir as BaseAir<T>>::width(&CpuAir),
            Self::VmMemory => <MemoryAir as BaseAir<T>>::width(&MemoryAir),
            Self::VmRange => <RangeAir as BaseAir<T>>::width(&RangeAir),
        }
    }

    fn num_public_values(&self) -> usize {
        match self {
            Self::Fib => <FibAir as BaseAir<T>>::num_public_values(&FibAir),
            Self::Keccak => <KeccakAir as BaseAir<T>>::num_public_values(&KeccakAir {}),
            Self::VmCpu => <CpuAir as BaseAir<T>>::num_public_values(&CpuAir),
            Self::VmMemory => <MemoryAir as BaseAir<T>>::num_public_values(&MemoryAir),
            Self::VmRange => <RangeAir as BaseAir<T>>::num_public_values(&RangeAir),
        }
    }
}

impl<AB: AirBuilder> Air<AB> for WorkloadAir {
    fn eval(&self, builder: &mut AB) {
        match self {
            Self::Fib => FibAir.eval(builder),
            Self::Keccak => KeccakAir {}.eval(builder),
            Self::VmCpu => CpuAir.eval(builder),
            Self::VmMemory => MemoryAir.eval(builder),
            Self::VmRange => RangeAir.eval(builder),
        }
    }
}

impl Interactions for WorkloadAir {
    fn interactions(&self) -> Vec<Interaction> {
        match self {
            Self::Fib => FibAir.interactions(),
            Self::Keccak => Vec::new(),
            Self::VmCpu => CpuAir.interactions(),
            Self::VmMemory => MemoryAir.interactions(),
            Self::VmRange => RangeAir.interactions(),
        }
    }
}
