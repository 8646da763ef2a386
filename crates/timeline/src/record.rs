//! Recording: a `tracing` layer that turns host spans into complete events, one track per
//! thread, and the sink that device backends hand their timed operations to.
//!
//! Only one [`Recording`] runs at a time, process-wide. While none runs, the layer's filter
//! disables every span (nothing is allocated or timed; `tracing` learns it once per callsite and
//! skips them at its level check) and [`recording`] — the one check a device backend makes per
//! operation — is a relaxed atomic load that reads `false`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use serde_json::{Map, Value};
use tracing::level_filters::LevelFilter;
use tracing::span;
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber, field::Field};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::event::{HOST_PID, Timeline, TimelineInfo, TraceEvent, cat};

static RECORDING: AtomicBool = AtomicBool::new(false);
/// Bumped by every [`Recording::start`]; threads compare it with the one they cached.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static CURRENT: Mutex<Option<Arc<Session>>> = Mutex::new(None);

/// Whether a recording is running (one relaxed load: what a device backend checks per launch).
#[inline]
pub fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Session {
    generation: u64,
    origin: Instant,
    /// Each thread's finished spans (its own buffer: threads never wait for each other).
    host: Mutex<Vec<Buffer>>,
    /// (tid, name) of every thread that entered a span.
    threads: Mutex<Vec<(u32, String)>>,
    devices: Mutex<Vec<(String, Box<dyn DeviceSink>)>>,
    warnings: Mutex<Vec<String>>,
}

impl Session {
    fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.origin).as_nanos() as u64
    }
}

/// Why a recording cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("a timeline is already being recorded in this process")]
    AlreadyRecording,
}

/// A running recording; [`finish`](Self::finish) stops it and returns the timeline (dropping it
/// stops it too, and discards what it recorded).
pub struct Recording {
    done: bool,
}

impl Recording {
    /// Starts recording host spans (every thread) and device operations. The first call
    /// installs the process-wide `tracing` subscriber that feeds the layer; if another global
    /// subscriber was installed first, only subscribers that include [`layer`] are recorded
    /// (the timeline says so in its warnings).
    pub fn start() -> Result<Self, RecordError> {
        let ours = install();
        let mut current = lock(&CURRENT);
        if current.is_some() {
            return Err(RecordError::AlreadyRecording);
        }
        let generation = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
        let mut warnings = Vec::new();
        if !ours {
            warnings.push(
                "another global tracing subscriber was installed first: host spans are recorded \
                 only by subscribers that include rstark_timeline::layer()"
                    .to_string(),
            );
        }
        *current = Some(Arc::new(Session {
            generation,
            origin: Instant::now(),
            host: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
            devices: Mutex::new(Vec::new()),
            warnings: Mutex::new(warnings),
        }));
        RECORDING.store(true, Ordering::Release);
        tracing::callsite::rebuild_interest_cache();
        Ok(Self { done: false })
    }

    /// Stops recording, waits for the devices' operations and returns the timeline.
    pub fn finish(mut self) -> Timeline {
        self.done = true;
        stop()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if !self.done {
            drop(stop());
        }
    }
}

/// Installs `registry + layer()` as the global subscriber, once; false if another was first.
fn install() -> bool {
    static OURS: OnceLock<bool> = OnceLock::new();
    *OURS.get_or_init(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer()))
            .is_ok()
    })
}

fn stop() -> Timeline {
    RECORDING.store(false, Ordering::Release);
    tracing::callsite::rebuild_interest_cache();
    let Some(s) = lock(&CURRENT).take() else {
        return Timeline::default();
    };
    let mut events = vec![TraceEvent::metadata("process_name", HOST_PID, 0, "host")];
    let mut threads = std::mem::take(&mut *lock(&s.threads));
    threads.sort();
    for (tid, name) in &threads {
        events.push(TraceEvent::metadata("thread_name", HOST_PID, *tid, name));
    }
    let mut host: Vec<HostSpan> = std::mem::take(&mut *lock(&s.host))
        .iter()
        .flat_map(|b| std::mem::take(&mut *lock(b)))
        .collect();
    host.sort_by_key(|e| (e.tid, e.ts));
    events.extend(host.into_iter().map(|h| {
        let mut e = TraceEvent::span(h.data.name(), h.data.cat, HOST_PID, h.tid, h.ts, h.dur);
        e.args = h
            .data
            .args
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        e
    }));
    let mut warnings = std::mem::take(&mut *lock(&s.warnings));
    let devices = std::mem::take(&mut *lock(&s.devices));
    for (i, (device, sink)) in devices.into_iter().enumerate() {
        let pid = HOST_PID + 1 + i as u32;
        events.push(TraceEvent::metadata("process_name", pid, 0, &device));
        match sink.flush() {
            Ok(ops) => device_events(pid, ops, &mut events),
            Err(e) => warnings.push(format!("{device}: its operations could not be read: {e}")),
        }
    }
    Timeline {
        events,
        display_time_unit: "ms".into(),
        info: TimelineInfo {
            producer: concat!("rstark-timeline ", env!("CARGO_PKG_VERSION")).into(),
            warnings,
        },
    }
}

fn device_events(pid: u32, mut ops: Vec<DeviceOp>, events: &mut Vec<TraceEvent>) {
    let mut streams: Vec<&'static str> = Vec::new();
    ops.sort_by_key(|o| o.start_ns);
    for o in &ops {
        if !streams.contains(&o.stream) {
            streams.push(o.stream);
        }
    }
    for (tid, s) in streams.iter().enumerate() {
        events.push(TraceEvent::metadata(
            "thread_name",
            pid,
            tid as u32,
            &format!("stream: {s}"),
        ));
    }
    for o in ops {
        let tid = streams.iter().position(|s| *s == o.stream).unwrap_or(0) as u32;
        let (cat, name) = match o.kind {
            OpKind::Kernel => (cat::KERNEL, o.name),
            OpKind::HostToDevice => (cat::H2D, format!("H2D {}", o.name)),
            OpKind::DeviceToHost => (cat::D2H, format!("D2H {}", o.name)),
            OpKind::PeerToPeer => (cat::P2P, format!("P2P {}", o.name)),
        };
        let mut e = TraceEvent::span(name, cat, pid, tid, o.start_ns, o.dur_ns);
        let a = &mut e.args;
        if o.kind == OpKind::Kernel {
            a.insert("threads".into(), o.threads.into());
        } else {
            a.insert("bytes".into(), o.bytes.into());
            if o.dur_ns > 0 {
                let gbps = o.bytes as f64 / o.dur_ns as f64;
                a.insert("GB/s".into(), ((gbps * 100.0).round() / 100.0).into());
            }
        }
        o.tags.insert_into(a);
        events.push(e);
    }
}

/// What a span looks like on the timeline: its name there (its label, or the span's name), its
/// category and its fields.
struct SpanData {
    label: Option<Arc<str>>,
    span_name: &'static str,
    cat: &'static str,
    args: Vec<(&'static str, Value)>,
}

impl SpanData {
    fn new(attrs: &span::Attributes<'_>) -> Self {
        let mut v = Fields::default();
        attrs.record(&mut v);
        let meta = attrs.metadata();
        let cat = match &v.label {
            Some(_) if meta.target().starts_with("rstark") => category(meta.name()),
            _ => cat::SPAN,
        };
        Self {
            label: v.label.map(Arc::from),
            span_name: meta.name(),
            cat,
            args: v.args,
        }
    }

    fn name(&self) -> &str {
        self.label.as_deref().unwrap_or(self.span_name)
    }

    fn arg_u64(&self, key: &str) -> Option<u64> {
        self.args
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.as_u64())
    }
}

/// The category of one of rstark's labelled spans (see [`crate::spans`]).
fn category(span_name: &str) -> &'static str {
    match span_name {
        "phase" => cat::PHASE,
        "run" => cat::RUN,
        "table" => cat::TABLE,
        "op" => cat::OP,
        _ => cat::SPAN,
    }
}

/// A span's fields: `label` names it on the timeline, the others become its arguments.
#[derive(Default)]
struct Fields {
    label: Option<String>,
    args: Vec<(&'static str, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, v: Value) {
        if field.name() == "label" {
            self.label = Some(match v {
                Value::String(s) => s,
                v => v.to_string(),
            });
        } else {
            self.args.push((field.name(), v));
        }
    }
}

impl tracing::field::Visit for Fields {
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.put(f, v.into());
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.put(f, v.into());
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.put(f, v.into());
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.put(f, v.into());
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.put(f, v.into());
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.put(f, format!("{v:?}").into());
    }
}

/// A span's `label` field, if it has one (what a progress display shows).
pub fn span_label(attrs: &span::Attributes<'_>) -> Option<String> {
    let mut v = Fields::default();
    attrs.record(&mut v);
    v.label
}

/// One thread's finished spans.
type Buffer = Arc<Mutex<Vec<HostSpan>>>;

/// A span that was entered and exited: made into an event when the recording stops.
struct HostSpan {
    data: Arc<SpanData>,
    tid: u32,
    ts: u64,
    dur: u64,
}

/// A span entered on this thread and not yet exited.
struct Open {
    id: span::Id,
    start: Instant,
    data: Arc<SpanData>,
}

/// This thread's view of the current recording.
#[derive(Default)]
struct Local {
    generation: u64,
    session: Option<Arc<Session>>,
    tid: u32,
    buffer: Buffer,
    open: Vec<Open>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

/// Runs `f` on this thread's state, first catching up with a recording started since.
fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|l| {
            let mut l = l.try_borrow_mut().ok()?;
            let generation = GENERATION.load(Ordering::Acquire);
            if l.generation != generation {
                l.generation = generation;
                l.open.clear();
                l.session = lock(&CURRENT)
                    .clone()
                    .filter(|s| s.generation == generation);
                if let Some(s) = l.session.clone() {
                    let mut threads = lock(&s.threads);
                    let tid = threads.len() as u32;
                    threads.push((tid, thread_name(tid)));
                    l.tid = tid;
                    l.buffer = Buffer::default();
                    lock(&s.host).push(l.buffer.clone());
                }
            }
            Some(f(&mut l))
        })
        .ok()
        .flatten()
}

fn thread_name(tid: u32) -> String {
    if let Some(i) = rayon::current_thread_index() {
        return format!("rayon worker {i}");
    }
    match std::thread::current().name() {
        Some(n) => n.to_string(),
        None => format!("thread {tid}"),
    }
}

/// The layer that records spans while a [`Recording`] runs (what the global subscriber that
/// [`Recording::start`] installs holds). Add it to a thread's own subscriber (a
/// `tracing::subscriber::set_default`) so that thread's spans are recorded too.
pub fn layer<S>() -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    SpanLayer.with_filter(WhileRecording)
}

/// Spans only, and only while a recording runs. Off, it tells `tracing` so once per callsite
/// (the interest cache is rebuilt when a recording starts and stops) and caps the level at OFF,
/// so a span costs what it costs with no subscriber at all: a level check.
struct WhileRecording;

impl<S> Filter<S> for WhileRecording {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        meta.is_span() && recording()
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.is_span() && recording() {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        if recording() {
            None
        } else {
            Some(LevelFilter::OFF)
        }
    }
}

struct SpanLayer;

impl<S> Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Arc::new(SpanData::new(attrs)));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(data) = ext.get_mut::<Arc<SpanData>>() {
            let mut v = Fields::default();
            values.record(&mut v);
            if let Some(d) = Arc::get_mut(data) {
                d.args.extend(v.args);
            }
        }
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        if !recording() {
            return;
        }
        let Some(data) = ctx
            .span(id)
            .and_then(|s| s.extensions().get::<Arc<SpanData>>().cloned())
        else {
            return;
        };
        let start = Instant::now();
        with_local(|l| {
            if l.session.is_some() {
                l.open.push(Open {
                    id: id.clone(),
                    start,
                    data,
                });
            }
        });
    }

    fn on_exit(&self, id: &span::Id, _ctx: Context<'_, S>) {
        let end = Instant::now();
        with_local(|l| {
            let Some(pos) = l.open.iter().rposition(|o| o.id == *id) else {
                return;
            };
            let o = l.open.remove(pos);
            if let Some(s) = &l.session {
                let ts = s.ns(o.start);
                lock(&l.buffer).push(HostSpan {
                    data: o.data,
                    tid: l.tid,
                    ts,
                    dur: s.ns(end).saturating_sub(ts),
                });
            }
        });
    }
}

/// The innermost phase, table and backend operation open on this thread: what a device
/// operation launched from here is tagged with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    pub phase: Option<Arc<str>>,
    pub table: Option<Arc<str>>,
    /// The table's rows (its span's `rows` field).
    pub rows: Option<u64>,
    pub op: Option<Arc<str>>,
}

impl Tags {
    /// This thread's tags (empty when no recording runs).
    pub fn current() -> Self {
        if !recording() {
            return Self::default();
        }
        with_local(|l| {
            let mut t = Tags::default();
            for o in l.open.iter().rev() {
                let d = &o.data;
                match d.cat {
                    cat::PHASE if t.phase.is_none() => t.phase = d.label.clone(),
                    cat::OP if t.op.is_none() => t.op = d.label.clone(),
                    cat::TABLE if t.table.is_none() => {
                        t.table = d.label.clone();
                        t.rows = d.arg_u64("rows");
                    }
                    _ => {}
                }
            }
            t
        })
        .unwrap_or_default()
    }

    fn insert_into(self, args: &mut Map<String, Value>) {
        for (k, v) in [
            ("phase", self.phase),
            ("table", self.table),
            ("op", self.op),
        ] {
            if let Some(v) = v {
                args.insert(k.into(), Value::from(v.as_ref()));
            }
        }
        if let Some(r) = self.rows {
            args.insert("rows".into(), r.into());
        }
    }
}

/// What a device operation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Kernel,
    HostToDevice,
    DeviceToHost,
    /// A copy into this device from another device (or another context of this device).
    PeerToPeer,
}

/// One timed device operation, in the recording's time (nanoseconds after its start).
#[derive(Clone, Debug)]
pub struct DeviceOp {
    pub kind: OpKind,
    /// The kernel's name, or what was copied.
    pub name: String,
    /// The stream it ran on (one track each).
    pub stream: &'static str,
    pub start_ns: u64,
    pub dur_ns: u64,
    /// Bytes copied (copies).
    pub bytes: u64,
    /// Threads launched (kernels).
    pub threads: u64,
    pub tags: Tags,
}

/// A device's pending operations: flushed when the recording finishes.
pub trait DeviceSink: Send {
    /// Waits for the device and reads the operations' times.
    fn flush(self: Box<Self>) -> Result<Vec<DeviceOp>, String>;
}

/// The running recording as a device backend sees it: its clock and its identity.
#[derive(Clone)]
pub struct DeviceClock {
    generation: u64,
    origin: Instant,
}

impl DeviceClock {
    /// The running recording's clock, if one runs.
    pub fn current() -> Option<Self> {
        if !recording() {
            return None;
        }
        lock(&CURRENT).as_ref().map(|s| Self {
            generation: s.generation,
            origin: s.origin,
        })
    }

    /// Which recording this is (a new one has another number).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// `t` in the recording's time, nanoseconds (0 before it started).
    pub fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.origin).as_nanos() as u64
    }

    /// Hands `sink` (named `device` on the timeline) to this recording; false if the recording
    /// already ended (the sink is dropped).
    pub fn attach(&self, device: String, sink: Box<dyn DeviceSink>) -> bool {
        match lock(&CURRENT).as_ref() {
            Some(s) if s.generation == self.generation => {
                lock(&s.devices).push((device, sink));
                true
            }
            _ => false,
        }
    }

    /// Notes a problem in the running recording's warnings.
    pub fn warn(&self, msg: String) {
        if let Some(s) = lock(&CURRENT).as_ref()
            && s.generation == self.generation
        {
            lock(&s.warnings).push(msg);
        }
    }
}
