//! rstark's labelled spans, in one place: each is a `tracing` span whose `label` field names it on
//! the timeline and whose span name is its category (`phase`, `run`, `table`, `op`). They cost
//! what any disabled `tracing` span costs when no recording (or other subscriber) runs.

use std::time::{Duration, Instant};

use tracing::info_span;
use tracing::span::EnteredSpan;

/// A named phase: a span, and its wall time measured around it (what a report's phase table
/// shows when no timeline is recorded). Phases on one thread follow each other, never nest.
pub struct Phase {
    name: &'static str,
    start: Instant,
    span: EnteredSpan,
}

/// Starts phase `name`; [`Phase::end`] ends it.
pub fn phase(name: &'static str) -> Phase {
    let start = Instant::now();
    Phase {
        name,
        start,
        span: info_span!("phase", label = name).entered(),
    }
}

impl Phase {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Ends the phase; its wall time.
    pub fn end(self) -> Duration {
        drop(self.span);
        self.start.elapsed()
    }
}

/// The span a phase table is taken over: a CLI command, one bench run.
pub fn run(label: &str) -> EnteredSpan {
    info_span!("run", label).entered()
}

/// One table's work inside a phase (device operations launched inside it carry its name and
/// rows).
pub fn table(name: &str, rows: usize) -> EnteredSpan {
    info_span!("table", label = name, rows = rows as u64).entered()
}

/// One backend operation.
pub fn op(name: &'static str) -> EnteredSpan {
    info_span!("op", label = name).entered()
}
