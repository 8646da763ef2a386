use std::time::Duration;

/// Per-phase timings and sizes of one proof, for the CLI's timing table.
#[derive(Clone, Debug, Default)]
pub struct ProveReport {
    pub backend: &'static str,
    /// (phase name, wall time), in protocol order.
    pub phases: Vec<(&'static str, Duration)>,
    pub total: Duration,
    pub proof_bytes: usize,
    pub conjectured_security_bits: u32,
}

impl ProveReport {
    pub(crate) fn record(&mut self, phase: &'static str, d: Duration) {
        tracing::debug!(phase, ms = d.as_secs_f64() * 1e3, "prover phase done");
        self.phases.push((phase, d));
    }
}
