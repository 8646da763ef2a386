use std::time::Duration;

/// Per-phase timings and sizes of one proof, for the CLI's timing table.
#[derive(Clone, Default)]
pub struct ProveReport {
    pub backend: &'static str,
    /// (phase name, wall time), in protocol order.
    pub phases: Vec<(&'static str, Duration)>,
    pub total: Duration,
    pub proof_bytes: usize,
    pub conjectured_security_bits: u32,
    pub(crate) on_phase: Option<crate::prove::PhaseCallback>,
}

impl std::fmt::Debug for ProveReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProveReport")
            .field("backend", &self.backend)
            .field("phases", &self.phases)
            .field("total", &self.total)
            .field("proof_bytes", &self.proof_bytes)
            .field("conjectured_security_bits", &self.conjectured_security_bits)
            .finish()
    }
}

impl ProveReport {
    /// The proof's time outside every phase (statement binding, proof assembly, …): the phases
    /// and this add up to [`total`](Self::total).
    pub fn other(&self) -> Duration {
        let phases: Duration = self.phases.iter().map(|(_, d)| *d).sum();
        self.total.saturating_sub(phases)
    }

    /// Ends phase `p` and records it.
    pub(crate) fn end(&mut self, p: rstark_timeline::spans::Phase) {
        let name = p.name();
        self.record(name, p.end());
    }

    pub(crate) fn record(&mut self, phase: &'static str, d: Duration) {
        tracing::debug!(phase, ms = d.as_secs_f64() * 1e3, "prover phase done");
        self.phases.push((phase, d));
        if let Some(cb) = &self.on_phase {
            cb(phase, d);
        }
    }
}
