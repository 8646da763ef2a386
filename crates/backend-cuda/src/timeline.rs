//! The device side of a timeline (rstark-timeline): while a recording runs, every kernel launch
//! and host<->device copy is bracketed by a pair of CUDA events on its stream, tagged with the
//! kernel's name (or what was copied and its bytes) and the phase, table and backend operation
//! open on the launching thread. When the recording finishes, the events are read (after waiting
//! for them) relative to one reference event recorded on the idle compute stream at a known host
//! time, and handed over as the device's tracks, one per stream. Events are pooled.
//!
//! Off, [`GpuContext::tl_begin`] is one relaxed atomic load and no event is created or recorded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaContext, CudaEvent, CudaStream, LaunchConfig};
use rstark_timeline::{DeviceClock, DeviceOp, DeviceSink, OpKind, Tags};

use crate::context::GpuContext;
use crate::error::{DriverContext, Result};

/// The compute stream's track name (every stream passed to `tl_begin` names its own track).
pub(crate) const COMPUTE: &str = "compute";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type Pool = Arc<Mutex<Vec<CudaEvent>>>;

/// One recording's operations, and where their times are measured from.
struct Pending {
    generation: u64,
    /// Recorded on the idle compute stream at `reference_ns` (recording time).
    reference: CudaEvent,
    reference_ns: u64,
    ops: Vec<PendingOp>,
}

struct PendingOp {
    start: CudaEvent,
    end: CudaEvent,
    kind: OpKind,
    name: String,
    stream: &'static str,
    bytes: u64,
    threads: u64,
    tags: Tags,
}

/// A context's timeline state: the recording it is attached to, and its event pool.
pub(crate) struct GpuTimeline {
    device: String,
    current: Mutex<Option<Arc<Mutex<Pending>>>>,
    pool: Pool,
    pairs: AtomicU64,
}

/// A started operation: its start event is recorded on `stream`.
pub(crate) struct Mark {
    pending: Arc<Mutex<Pending>>,
    stream: Arc<CudaStream>,
    stream_name: &'static str,
    start: CudaEvent,
}

impl GpuTimeline {
    pub(crate) fn new(device: String) -> Self {
        Self {
            device,
            current: Mutex::new(None),
            pool: Arc::new(Mutex::new(Vec::new())),
            pairs: AtomicU64::new(0),
        }
    }
}

fn event(ctx: &Arc<CudaContext>, pool: &Pool) -> Result<CudaEvent> {
    if let Some(e) = lock(pool).pop() {
        return Ok(e);
    }
    ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
        .ctx("creating a timing event")
}

impl GpuContext {
    /// Starts timing an operation on `stream` (named `stream_name` on the timeline) if a
    /// recording runs; `None` (after one relaxed load) otherwise.
    #[inline]
    pub(crate) fn tl_begin(
        &self,
        stream: &Arc<CudaStream>,
        stream_name: &'static str,
    ) -> Option<Mark> {
        if !rstark_timeline::recording() {
            return None;
        }
        let clock = DeviceClock::current()?;
        match self.tl_start(&clock, stream, stream_name) {
            Ok(m) => Some(m),
            Err(e) => {
                clock.warn(format!(
                    "{}: an operation was not timed: {e}",
                    self.timeline.device
                ));
                None
            }
        }
    }

    fn tl_start(
        &self,
        clock: &DeviceClock,
        stream: &Arc<CudaStream>,
        stream_name: &'static str,
    ) -> Result<Mark> {
        let pending = self.tl_pending(clock)?;
        let start = event(self.cuda_context(), &self.timeline.pool)?;
        start.record(stream).ctx("recording a timing event")?;
        Ok(Mark {
            pending,
            stream: stream.clone(),
            stream_name,
            start,
        })
    }

    /// This recording's pending operations; the first operation of a recording records its
    /// reference event and attaches the context to it.
    fn tl_pending(&self, clock: &DeviceClock) -> Result<Arc<Mutex<Pending>>> {
        let tl = &self.timeline;
        let mut current = lock(&tl.current);
        if let Some(p) = current.as_ref()
            && lock(p).generation == clock.generation()
        {
            return Ok(p.clone());
        }
        // With the stream idle, the reference fires as soon as it is recorded: its host time
        // is known to within half the time these three calls take.
        self.synchronize()?;
        let reference = event(self.cuda_context(), &tl.pool)?;
        let before = Instant::now();
        reference
            .record(self.stream())
            .ctx("recording the timeline's reference event")?;
        reference
            .synchronize()
            .ctx("waiting for the timeline's reference event")?;
        let after = Instant::now();
        let pending = Arc::new(Mutex::new(Pending {
            generation: clock.generation(),
            reference,
            reference_ns: (clock.ns(before) + clock.ns(after)) / 2,
            ops: Vec::new(),
        }));
        clock.attach(
            tl.device.clone(),
            Box::new(Sink {
                pending: pending.clone(),
                pool: tl.pool.clone(),
            }),
        );
        *current = Some(pending.clone());
        Ok(pending)
    }

    /// Ends a kernel launch started with [`tl_begin`](Self::tl_begin).
    #[inline]
    pub(crate) fn tl_kernel(&self, mark: Option<Mark>, name: &str, cfg: &LaunchConfig) {
        if let Some(m) = mark {
            let (g, b) = (cfg.grid_dim, cfg.block_dim);
            let threads = [g.0, g.1, g.2, b.0, b.1, b.2]
                .iter()
                .map(|&x| u64::from(x))
                .product();
            self.tl_end(m, OpKind::Kernel, name, 0, threads);
        }
    }

    /// Ends a copy of `bytes` started with [`tl_begin`](Self::tl_begin).
    #[inline]
    pub(crate) fn tl_copy(&self, mark: Option<Mark>, kind: OpKind, what: &str, bytes: u64) {
        if let Some(m) = mark {
            self.tl_end(m, kind, what, bytes, 0);
        }
    }

    fn tl_end(&self, m: Mark, kind: OpKind, name: &str, bytes: u64, threads: u64) {
        let recorded = event(self.cuda_context(), &self.timeline.pool).and_then(|end| {
            end.record(&m.stream).ctx("recording a timing event")?;
            Ok(end)
        });
        match recorded {
            Ok(end) => {
                self.timeline.pairs.fetch_add(1, Ordering::Relaxed);
                lock(&m.pending).ops.push(PendingOp {
                    start: m.start,
                    end,
                    kind,
                    name: name.to_string(),
                    stream: m.stream_name,
                    bytes,
                    threads,
                    tags: Tags::current(),
                });
            }
            Err(e) => {
                if let Some(clock) = DeviceClock::current() {
                    clock.warn(format!(
                        "{}: {name} was not timed: {e}",
                        self.timeline.device
                    ));
                }
            }
        }
    }

    /// Event pairs recorded for timelines since the context was made (none while no recording
    /// runs: tests check it).
    pub fn timeline_event_pairs(&self) -> u64 {
        self.timeline.pairs.load(Ordering::Relaxed)
    }
}

/// What the recording flushes when it finishes.
struct Sink {
    pending: Arc<Mutex<Pending>>,
    pool: Pool,
}

impl DeviceSink for Sink {
    fn flush(self: Box<Self>) -> std::result::Result<Vec<DeviceOp>, String> {
        let mut p = lock(&self.pending);
        let ops = std::mem::take(&mut p.ops);
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            // Both wait for their events.
            let start_ms = p
                .reference
                .elapsed_ms(&op.start)
                .map_err(|e| format!("reading a timing event: {e}"))?;
            let dur_ms = op
                .start
                .elapsed_ms(&op.end)
                .map_err(|e| format!("reading a timing event: {e}"))?;
            let start_ns = p.reference_ns as f64 + f64::from(start_ms) * 1e6;
            out.push(DeviceOp {
                kind: op.kind,
                name: op.name,
                stream: op.stream,
                start_ns: start_ns.max(0.0) as u64,
                dur_ns: (f64::from(dur_ms) * 1e6).max(0.0) as u64,
                bytes: op.bytes,
                threads: op.threads,
                tags: op.tags,
            });
            lock(&self.pool).extend([op.start, op.end]);
        }
        sequential_per_stream(&mut out);
        Ok(out)
    }
}

/// Operations on one stream run one after the other; the reference-relative start (an f32 of
/// milliseconds) can land a fraction of a microsecond inside the previous one's end: move it out.
fn sequential_per_stream(ops: &mut [DeviceOp]) {
    ops.sort_by_key(|o| (o.stream, o.start_ns));
    for i in 1..ops.len() {
        if ops[i].stream == ops[i - 1].stream {
            let prev_end = ops[i - 1].start_ns + ops[i - 1].dur_ns;
            if ops[i].start_ns < prev_end {
                let shift = prev_end - ops[i].start_ns;
                ops[i].start_ns = prev_end;
                ops[i].dur_ns = ops[i].dur_ns.saturating_sub(shift);
            }
        }
    }
}
