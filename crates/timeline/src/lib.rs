//! Timelines of rstark proofs: where the time goes, on the host and on the device.
//!
//! While a [`Recording`] runs, every `tracing` span of the process becomes a complete event on
//! its thread's track (rstark's phases, runs, tables and backend operations are labelled spans,
//! see [`spans`]), and a device backend hands in its kernels and copies, timed on the device, one
//! track per stream ([`DeviceClock`], [`DeviceSink`]). [`Recording::finish`] returns a
//! [`Timeline`]: the Chrome trace-event format that Perfetto (ui.perfetto.dev) and
//! chrome://tracing open. [`Summary`] reads one back as text: the phase table, the top kernels,
//! the device's idle gaps, the bytes moved.
//!
//! Off (no recording): spans are disabled by the layer's filter, and [`recording`] — a device
//! backend's one check per operation — is a relaxed atomic load.
//!
//! Why not `tracing-chrome`: its writer's channel and its thread ids are cached in thread-locals
//! shared by every layer of the process, so a second recording in one process (a bench's last
//! run after the others, an on/off comparison, several tests) sends the threads' events to the
//! first, finished recording; and it has no way to share its clock with device events. The
//! format itself is five fields of JSON ([`TraceEvent`], with serde).

mod event;
mod record;
pub mod spans;
mod summary;

pub use event::{FormatError, HOST_PID, Timeline, TimelineInfo, TraceEvent, cat};
pub use record::{
    DeviceClock, DeviceOp, DeviceSink, OpKind, RecordError, Recording, Tags, layer, recording,
    span_label,
};
pub use summary::{
    CopyRow, Gap, KernelRow, OUTSIDE_PHASES, PhaseRow, PhaseTable, StreamRow, Summary, ThreadRow,
};
