//! Constraint programs looked up ahead of the composition round.
//!
//! The prover hands every table's symbolic constraints over right after `begin_proof`
//! (`Backend::constraints_known`: the evaluation it made for the table's shape). A host thread
//! then builds the cache key, looks it up and, on a miss, compiles the program, while the GPU
//! commits the main traces; the composition round only joins it and, on a miss, uploads the
//! program. Without that call (a composition outside the prover) the round evaluates the AIR
//! itself, as before. The device witness check (commit_main) compiles its AIR-only program
//! from the same constraints. The cache's guarantee is unchanged: the key is built from the
//! constraints the program is compiled from.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rstark_air::{SymbolicConstraints, Table};
use rstark_protocol::CompositionInputs;

use crate::constraints::DeviceConstraintProgram;
use crate::error::Result;
use crate::program_cache::{CompileInputs, Lookup, ProgramCache};

use super::CudaBackend;
use super::committed::CudaCommitted;

/// A lookup started for table `table` of the current proof.
struct Pending {
    table: usize,
    /// The AIR it was started for (its address: only used to refuse a lookup made for another
    /// AIR object, never to accept one).
    air: usize,
    num_public_values: usize,
    constraints: SymbolicConstraints,
    lookup: JoinHandle<Lookup<DeviceConstraintProgram>>,
}

impl Pending {
    fn is_for(&self, table: usize, air: &dyn Table, num_public_values: usize) -> bool {
        self.table == table
            && self.air == air_addr(air)
            && self.num_public_values == num_public_values
    }
}

/// The lookups started for the current proof.
#[derive(Default)]
pub(crate) struct PendingPrograms(Mutex<Vec<Pending>>);

fn air_addr(air: &dyn Table) -> usize {
    air as *const dyn Table as *const () as usize
}

impl PendingPrograms {
    /// Forgets the previous proof's lookups (a thread still running finishes on its own).
    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Starts table `table`'s lookup on a new host thread; if no thread can be started, the
    /// composition round looks it up itself.
    pub(crate) fn start(
        &self,
        cache: &Arc<ProgramCache<DeviceConstraintProgram>>,
        table: usize,
        air: &dyn Table,
        constraints: &SymbolicConstraints,
    ) {
        let inputs = CompileInputs::from_symbolic(air, constraints.clone());
        let cache = Arc::clone(cache);
        let spawned = std::thread::Builder::new()
            .name("rstark-constraint-program".into())
            .spawn(move || cache.lookup(inputs));
        if let Ok(lookup) = spawned {
            let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|p| p.table != table);
            pending.push(Pending {
                table,
                air: air_addr(air),
                num_public_values: constraints.num_public_values(),
                constraints: constraints.clone(),
                lookup,
            });
        }
    }

    /// The constraints handed over for `table` (with this AIR object and public-value count):
    /// the device witness check compiles the AIR-only program from them.
    pub(crate) fn constraints(
        &self,
        table: usize,
        air: &dyn Table,
        num_public_values: usize,
    ) -> Option<SymbolicConstraints> {
        let pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .iter()
            .find(|p| p.is_for(table, air, num_public_values))
            .map(|p| p.constraints.clone())
    }

    /// The lookup started for this composition's table, if one was (for the same AIR object
    /// and public-value count) and its thread finished without panicking.
    fn take(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
    ) -> Option<Lookup<DeviceConstraintProgram>> {
        let p = {
            let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let i = pending.iter().position(|p| p.table == inp.table)?;
            pending.swap_remove(i)
        };
        if !p.is_for(inp.table, inp.air, inp.public_values.len()) {
            return None;
        }
        p.lookup.join().ok()
    }
}

impl CudaBackend {
    /// This composition's compiled program on the device (`None`: the constraints do not
    /// compile): from the lookup started at `constraints_known`, else looked up now.
    pub(crate) fn constraint_program(
        &self,
        inp: &CompositionInputs<'_, CudaCommitted>,
    ) -> Result<Option<Arc<DeviceConstraintProgram>>> {
        let mode = self.constraints.jit_mode();
        let upload = |p| DeviceConstraintProgram::upload_with(&self.ctx, &p, mode);
        match self.pending.take(inp) {
            Some(lookup) => self.programs.finish(lookup, upload),
            None => self
                .programs
                .get_or_build(inp.air, inp.public_values.len(), upload),
        }
    }
}
