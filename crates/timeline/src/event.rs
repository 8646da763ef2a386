//! The Chrome trace-event format (the JSON object form that Perfetto and chrome://tracing open):
//! complete events (`"ph": "X"`, a start and a duration) and metadata events (`"ph": "M"`,
//! process and thread names). Times are kept in nanoseconds and written in microseconds, the
//! format's unit, with three decimals, so a file read back gives the same integers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Event categories rstark writes (the `cat` field).
pub mod cat {
    /// A named phase of a proof or of a CLI command; phases on one thread never overlap.
    pub const PHASE: &str = "phase";
    /// The span a phase table is taken over (a CLI command, a bench run).
    pub const RUN: &str = "run";
    /// One table's work inside a phase.
    pub const TABLE: &str = "table";
    /// One backend operation (commit a trace, DEEP, …).
    pub const OP: &str = "op";
    /// Any other host span.
    pub const SPAN: &str = "span";
    /// A device kernel.
    pub const KERNEL: &str = "kernel";
    /// A host-to-device copy.
    pub const H2D: &str = "h2d";
    /// A device-to-host copy.
    pub const D2H: &str = "d2h";
    /// A copy from another device (or another context of the same device).
    pub const P2P: &str = "p2p";
}

/// The process id of the host's tracks; devices get [`HOST_PID`] + 1 + their index.
pub const HOST_PID: u32 = 1;

/// One trace event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEvent {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cat: String,
    /// "X" (complete event) or "M" (metadata).
    pub ph: String,
    /// Start, nanoseconds after the recording began (written as µs).
    #[serde(default, with = "micros")]
    pub ts: u64,
    /// Duration of an "X" event, nanoseconds (written as µs).
    #[serde(default, with = "opt_micros", skip_serializing_if = "Option::is_none")]
    pub dur: Option<u64>,
    pub pid: u32,
    pub tid: u32,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub args: Map<String, Value>,
}

impl TraceEvent {
    /// A complete event.
    pub fn span(name: impl Into<String>, cat: &str, pid: u32, tid: u32, ts: u64, dur: u64) -> Self {
        Self {
            name: name.into(),
            cat: cat.to_string(),
            ph: "X".into(),
            ts,
            dur: Some(dur),
            pid,
            tid,
            args: Map::new(),
        }
    }

    /// A `process_name` or `thread_name` metadata event.
    pub fn metadata(what: &str, pid: u32, tid: u32, name: &str) -> Self {
        let mut args = Map::new();
        args.insert("name".into(), Value::from(name));
        Self {
            name: what.to_string(),
            cat: String::new(),
            ph: "M".into(),
            ts: 0,
            dur: None,
            pid,
            tid,
            args,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.ph == "X"
    }

    /// End of a complete event (its start for any other).
    pub fn end(&self) -> u64 {
        self.ts + self.dur.unwrap_or(0)
    }

    /// A numeric argument.
    pub fn arg_u64(&self, key: &str) -> Option<u64> {
        self.args.get(key).and_then(Value::as_u64)
    }

    /// A string argument.
    pub fn arg_str(&self, key: &str) -> Option<&str> {
        self.args.get(key).and_then(Value::as_str)
    }
}

mod micros {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ns: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(*ns as f64 / 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let us = f64::deserialize(d)?;
        if !us.is_finite() || us < 0.0 {
            return Err(serde::de::Error::custom(format!("bad time {us} µs")));
        }
        Ok((us * 1000.0).round() as u64)
    }
}

mod opt_micros {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ns: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match ns {
            Some(ns) => super::micros::serialize(ns, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        super::micros::deserialize(d).map(Some)
    }
}

/// What rstark adds to the file beside the events (`otherData`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineInfo {
    /// "rstark-timeline <version>".
    #[serde(default)]
    pub producer: String,
    /// Problems met while recording (e.g. a device whose events could not be read); the events
    /// that were recorded are still there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A recorded timeline: what a `--timeline` file holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    #[serde(rename = "traceEvents")]
    pub events: Vec<TraceEvent>,
    #[serde(rename = "displayTimeUnit", default = "default_unit")]
    pub display_time_unit: String,
    #[serde(rename = "otherData", default)]
    pub info: TimelineInfo,
}

fn default_unit() -> String {
    "ms".into()
}

/// A timeline file that is not what rstark writes.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a trace-event JSON object: {0}")]
    Json(#[from] serde_json::Error),
    #[error("event {index} ({name:?}): {reason}")]
    Event {
        index: usize,
        name: String,
        reason: String,
    },
    #[error("track {track}: {inner:?} starts inside {outer:?} but ends after it")]
    Overlap {
        track: String,
        outer: String,
        inner: String,
    },
}

impl Timeline {
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Self, FormatError> {
        let t: Timeline = serde_json::from_str(s)?;
        t.check()?;
        Ok(t)
    }

    /// Complete events only.
    pub fn spans(&self) -> impl Iterator<Item = &TraceEvent> {
        self.events.iter().filter(|e| e.is_complete())
    }

    /// Names given by the metadata events: (pid, tid) → thread name, with tid u32::MAX for the
    /// process's own name.
    pub fn track_names(&self) -> BTreeMap<(u32, u32), String> {
        self.events
            .iter()
            .filter(|e| e.ph == "M")
            .filter_map(|e| {
                let name = e.arg_str("name")?.to_string();
                match e.name.as_str() {
                    "thread_name" => Some(((e.pid, e.tid), name)),
                    "process_name" => Some(((e.pid, u32::MAX), name)),
                    _ => None,
                }
            })
            .collect()
    }

    /// "process / thread" for a track.
    pub fn track_name(&self, pid: u32, tid: u32) -> String {
        let names = self.track_names();
        let p = names
            .get(&(pid, u32::MAX))
            .cloned()
            .unwrap_or_else(|| format!("pid {pid}"));
        let t = names
            .get(&(pid, tid))
            .cloned()
            .unwrap_or_else(|| format!("tid {tid}"));
        format!("{p} / {t}")
    }

    /// Every event is an "X" with a duration or an "M", and on each track (pid, tid) the
    /// complete events nest: one that starts inside another ends inside it too.
    pub fn check(&self) -> Result<(), FormatError> {
        for (index, e) in self.events.iter().enumerate() {
            let bad = |reason: &str| FormatError::Event {
                index,
                name: e.name.clone(),
                reason: reason.to_string(),
            };
            match e.ph.as_str() {
                "X" if e.dur.is_none() => return Err(bad("a complete event without \"dur\"")),
                "X" | "M" => {}
                _ => return Err(bad("only \"X\" and \"M\" events are written")),
            }
        }
        for ((pid, tid), mut spans) in self.by_track() {
            // Outer first: by start, the longer of two with one start first.
            spans.sort_by_key(|e| (e.ts, std::cmp::Reverse(e.end())));
            let mut open: Vec<&TraceEvent> = Vec::new();
            for e in spans {
                while open.last().is_some_and(|o| o.end() <= e.ts) {
                    open.pop();
                }
                if let Some(o) = open.last()
                    && e.end() > o.end()
                {
                    return Err(FormatError::Overlap {
                        track: self.track_name(pid, tid),
                        outer: o.name.clone(),
                        inner: e.name.clone(),
                    });
                }
                open.push(e);
            }
        }
        Ok(())
    }

    /// Complete events by track (pid, tid).
    pub fn by_track(&self) -> BTreeMap<(u32, u32), Vec<&TraceEvent>> {
        let mut m: BTreeMap<(u32, u32), Vec<&TraceEvent>> = BTreeMap::new();
        for e in self.spans() {
            m.entry((e.pid, e.tid)).or_default().push(e);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(name: &str, tid: u32, ts: u64, dur: u64) -> TraceEvent {
        TraceEvent::span(name, cat::SPAN, HOST_PID, tid, ts, dur)
    }

    #[test]
    fn times_survive_a_round_trip_exactly() {
        let t = Timeline {
            events: vec![
                TraceEvent::metadata("thread_name", HOST_PID, 0, "main"),
                x("a", 0, 1_234_567_891, 987_654_321),
                x("b", 0, 1, 1),
            ],
            display_time_unit: "ms".into(),
            info: TimelineInfo::default(),
        };
        let json = t.to_json();
        assert!(json.contains("\"ts\":1234567.891"), "{json}");
        assert_eq!(Timeline::from_json(&json).unwrap(), t);
    }

    #[test]
    fn nesting_is_checked_per_track() {
        let mut t = Timeline {
            events: vec![
                x("outer", 0, 0, 100),
                x("inner", 0, 10, 90),
                x("next", 0, 100, 5),
            ],
            ..Default::default()
        };
        t.check().unwrap();
        // Overlap on another thread is fine: tracks are independent.
        t.events.push(x("other thread", 1, 50, 100));
        t.check().unwrap();
        t.events.push(x("crossing", 0, 50, 60));
        let e = t.check().unwrap_err();
        assert!(e.to_string().contains("crossing"), "{e}");
    }

    #[test]
    fn foreign_events_are_refused() {
        let bad = r#"{"traceEvents":[{"name":"a","ph":"B","ts":1,"pid":1,"tid":1}]}"#;
        assert!(Timeline::from_json(bad).is_err());
        let no_dur = r#"{"traceEvents":[{"name":"a","ph":"X","ts":1,"pid":1,"tid":1}]}"#;
        assert!(Timeline::from_json(no_dur).is_err());
        assert!(Timeline::from_json("[1, 2]").is_err());
    }
}
