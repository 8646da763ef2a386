//! What a timeline says, without a UI: the phase table (its rows and "outside phases" add up to
//! the run), the device's busiest kernels, its idle gaps, the bytes moved, and how busy each
//! host thread was.
//!
//! Only phases count towards the table, and only the outermost phases on the run's own thread:
//! spans on other threads overlap them and are never added to them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::event::{HOST_PID, Timeline, TraceEvent, cat};

/// The name of the table row for the run's time that no phase covers.
pub const OUTSIDE_PHASES: &str = "other (outside phases)";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseRow {
    pub name: String,
    pub seconds: f64,
    /// Time the device was busy (any stream, kernels and copies) inside this phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_busy_seconds: Option<f64>,
}

/// Phases in first-appearance order (repeated phases added up), and the rest of the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseTable {
    /// What the table covers: the run's label, or "all host spans" without a run span.
    pub run: String,
    pub rows: Vec<PhaseRow>,
    pub other_seconds: f64,
    pub total_seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KernelRow {
    pub name: String,
    pub launches: usize,
    pub seconds: f64,
    pub longest_seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gap {
    /// Start, milliseconds into the recording.
    pub at_ms: f64,
    pub seconds: f64,
    /// The phase running on the host when the gap began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamRow {
    pub track: String,
    pub operations: usize,
    /// From the first operation's start to the last one's end.
    pub window_seconds: f64,
    pub busy_seconds: f64,
    pub idle_seconds: f64,
    /// The longest idle gaps, longest first.
    pub longest_gaps: Vec<Gap>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CopyRow {
    pub direction: &'static str,
    pub copies: usize,
    pub bytes: u64,
    pub seconds: f64,
    /// Bytes over the copies' own time.
    pub gb_per_second: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThreadRow {
    pub track: String,
    pub spans: usize,
    pub busy_seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub phases: PhaseTable,
    /// Kernels by total time, longest first (all of them; the text shows the top ones).
    pub kernels: Vec<KernelRow>,
    pub streams: Vec<StreamRow>,
    pub copies: Vec<CopyRow>,
    pub threads: Vec<ThreadRow>,
    pub warnings: Vec<String>,
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Sorted, merged [start, end) intervals.
fn union(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn length(v: &[(u64, u64)]) -> u64 {
    v.iter().map(|(s, e)| e - s).sum()
}

/// Total length of `merged` (sorted, disjoint) inside [s, e).
fn overlap(merged: &[(u64, u64)], s: u64, e: u64) -> u64 {
    merged
        .iter()
        .map(|&(a, b)| b.min(e).saturating_sub(a.max(s)))
        .sum()
}

fn is_device(e: &TraceEvent) -> bool {
    e.pid != HOST_PID
}

/// The phase instances the table counts: outermost phases on the run's thread, inside the run.
struct Phases<'a> {
    run: String,
    total: u64,
    instances: Vec<&'a TraceEvent>,
}

fn phases(t: &Timeline) -> Phases<'_> {
    let host: Vec<&TraceEvent> = t.spans().filter(|e| !is_device(e)).collect();
    let root = host
        .iter()
        .filter(|e| e.cat == cat::RUN)
        .min_by_key(|e| e.ts)
        .copied();
    let all = host.iter().filter(|e| e.cat == cat::PHASE);
    let (run, total, mut candidates): (String, u64, Vec<&TraceEvent>) = match root {
        Some(r) => (
            r.name.clone(),
            r.dur.unwrap_or(0),
            all.filter(|e| e.tid == r.tid && e.ts >= r.ts && e.end() <= r.end())
                .copied()
                .collect(),
        ),
        None => {
            let start = host.iter().map(|e| e.ts).min().unwrap_or(0);
            let end = host.iter().map(|e| e.end()).max().unwrap_or(0);
            // Without a run span: the thread with the most phases.
            let mut count: BTreeMap<u32, usize> = BTreeMap::new();
            for e in all.clone() {
                *count.entry(e.tid).or_default() += 1;
            }
            let tid = count.iter().max_by_key(|(_, n)| **n).map(|(t, _)| *t);
            (
                "all host spans".into(),
                end - start,
                all.filter(|e| Some(e.tid) == tid).copied().collect(),
            )
        }
    };
    candidates.sort_by_key(|e| (e.ts, std::cmp::Reverse(e.end())));
    let mut instances: Vec<&TraceEvent> = Vec::new();
    for e in candidates {
        // A phase inside another phase is part of it, not added again.
        if instances.last().is_none_or(|o| e.ts >= o.end()) {
            instances.push(e);
        }
    }
    Phases {
        run,
        total,
        instances,
    }
}

impl Summary {
    pub fn of(t: &Timeline) -> Self {
        let device: Vec<&TraceEvent> = t.spans().filter(|e| is_device(e)).collect();
        let device_busy = union(device.iter().map(|e| (e.ts, e.end())).collect());
        let p = phases(t);
        let mut rows: Vec<(String, u64, u64)> = Vec::new();
        for e in &p.instances {
            let busy = overlap(&device_busy, e.ts, e.end());
            match rows.iter_mut().find(|r| r.0 == e.name) {
                Some(r) => {
                    r.1 += e.dur.unwrap_or(0);
                    r.2 += busy;
                }
                None => rows.push((e.name.clone(), e.dur.unwrap_or(0), busy)),
            }
        }
        let covered: u64 = rows.iter().map(|r| r.1).sum();
        let has_device = !device.is_empty();
        let phases = PhaseTable {
            run: p.run,
            rows: rows
                .into_iter()
                .map(|(name, ns, busy)| PhaseRow {
                    name,
                    seconds: secs(ns),
                    device_busy_seconds: has_device.then(|| secs(busy)),
                })
                .collect(),
            other_seconds: secs(p.total.saturating_sub(covered)),
            total_seconds: secs(p.total),
        };

        let mut kernels: BTreeMap<&str, KernelRow> = BTreeMap::new();
        for e in device.iter().filter(|e| e.cat == cat::KERNEL) {
            let d = secs(e.dur.unwrap_or(0));
            let k = kernels.entry(&e.name).or_insert_with(|| KernelRow {
                name: e.name.clone(),
                launches: 0,
                seconds: 0.0,
                longest_seconds: 0.0,
            });
            k.launches += 1;
            k.seconds += d;
            k.longest_seconds = k.longest_seconds.max(d);
        }
        let mut kernels: Vec<KernelRow> = kernels.into_values().collect();
        kernels.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));

        let phase_at = |ns: u64| {
            p.instances
                .iter()
                .find(|e| e.ts <= ns && ns < e.end())
                .map(|e| e.name.clone())
        };
        let streams = t
            .by_track()
            .into_iter()
            .filter(|((pid, _), _)| *pid != HOST_PID)
            .map(|((pid, tid), ops)| {
                let merged = union(ops.iter().map(|e| (e.ts, e.end())).collect());
                let (first, last) = (
                    merged.first().map_or(0, |m| m.0),
                    merged.last().map_or(0, |m| m.1),
                );
                let busy = length(&merged);
                let mut gaps: Vec<Gap> = merged
                    .windows(2)
                    .map(|w| Gap {
                        at_ms: w[0].1 as f64 * 1e-6,
                        seconds: secs(w[1].0 - w[0].1),
                        phase: phase_at(w[0].1),
                    })
                    .collect();
                gaps.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
                gaps.truncate(5);
                StreamRow {
                    track: t.track_name(pid, tid),
                    operations: ops.len(),
                    window_seconds: secs(last - first),
                    busy_seconds: secs(busy),
                    idle_seconds: secs((last - first) - busy),
                    longest_gaps: gaps,
                }
            })
            .collect();

        let copies = [
            (cat::H2D, "host→device"),
            (cat::D2H, "device→host"),
            (cat::P2P, "device→device"),
        ]
        .into_iter()
        .filter_map(|(c, direction)| {
            let v: Vec<&&TraceEvent> = device.iter().filter(|e| e.cat == c).collect();
            if v.is_empty() {
                return None;
            }
            let bytes: u64 = v.iter().filter_map(|e| e.arg_u64("bytes")).sum();
            let ns: u64 = v.iter().map(|e| e.dur.unwrap_or(0)).sum();
            Some(CopyRow {
                direction,
                copies: v.len(),
                bytes,
                seconds: secs(ns),
                gb_per_second: if ns > 0 {
                    bytes as f64 / ns as f64
                } else {
                    0.0
                },
            })
        })
        .collect();

        let threads = t
            .by_track()
            .into_iter()
            .filter(|((pid, _), _)| *pid == HOST_PID)
            .map(|((pid, tid), spans)| ThreadRow {
                track: t.track_name(pid, tid),
                spans: spans.len(),
                busy_seconds: secs(length(&union(
                    spans.iter().map(|e| (e.ts, e.end())).collect(),
                ))),
            })
            .collect();

        Summary {
            phases,
            kernels,
            streams,
            copies,
            threads,
            warnings: t.info.warnings.clone(),
        }
    }

    /// Aligned text: the phase table, the top `top` kernels, the streams' idle gaps, the bytes
    /// moved and the host threads.
    pub fn text(&self, top: usize) -> String {
        let p = &self.phases;
        let width = p
            .rows
            .iter()
            .map(|r| r.name.chars().count())
            .chain([OUTSIDE_PHASES.len()])
            .max()
            .unwrap_or(0);
        let device = p.rows.iter().any(|r| r.device_busy_seconds.is_some());
        let mut out = format!("phases of {} ({}):\n", p.run, ms(p.total_seconds));
        out += &format!("  {:<width$} {:>12}", "phase", "time");
        out += if device { "  device busy\n" } else { "\n" };
        for r in &p.rows {
            out += &format!("  {:<width$} {:>12}", r.name, ms(r.seconds));
            match r.device_busy_seconds {
                Some(b) if r.seconds > 0.0 => {
                    out += &format!("  {:>6.1}%\n", 100.0 * b / r.seconds);
                }
                _ => out += "\n",
            }
        }
        out += &format!(
            "  {:<width$} {:>12}\n  {:<width$} {:>12}\n",
            OUTSIDE_PHASES,
            ms(p.other_seconds),
            "total",
            ms(p.total_seconds)
        );
        if !self.kernels.is_empty() {
            let busy: f64 = self.kernels.iter().map(|k| k.seconds).sum();
            out += &format!(
                "\ntop kernels (of {}, {} in all):\n",
                self.kernels.len(),
                ms(busy)
            );
            for k in self.kernels.iter().take(top) {
                out += &format!(
                    "  {:<32} {:>6}× {:>12} {:>6.1}%  longest {}\n",
                    k.name,
                    k.launches,
                    ms(k.seconds),
                    100.0 * k.seconds / busy.max(f64::MIN_POSITIVE),
                    ms(k.longest_seconds)
                );
            }
        }
        for s in &self.streams {
            out += &format!(
                "\n{}: {} operations, busy {} of {} ({:.1}%), idle {}\n",
                s.track,
                s.operations,
                ms(s.busy_seconds),
                ms(s.window_seconds),
                100.0 * s.busy_seconds / s.window_seconds.max(f64::MIN_POSITIVE),
                ms(s.idle_seconds)
            );
            for g in &s.longest_gaps {
                out += &format!(
                    "  idle {:>12} at {:>10.3} ms{}\n",
                    ms(g.seconds),
                    g.at_ms,
                    g.phase
                        .as_ref()
                        .map(|p| format!(" (in {p})"))
                        .unwrap_or_default()
                );
            }
        }
        if !self.copies.is_empty() {
            out += "\nbytes moved:\n";
            for c in &self.copies {
                out += &format!(
                    "  {:<12} {:>6} copies {:>14} B {:>12} {:>8.2} GB/s\n",
                    c.direction,
                    c.copies,
                    c.bytes,
                    ms(c.seconds),
                    c.gb_per_second
                );
            }
        }
        if !self.threads.is_empty() {
            out += "\nhost threads (time inside spans):\n";
            for t in &self.threads {
                out += &format!(
                    "  {:<36} {:>6} spans {:>12}\n",
                    t.track,
                    t.spans,
                    ms(t.busy_seconds)
                );
            }
        }
        for w in &self.warnings {
            out += &format!("\nwarning: {w}\n");
        }
        out
    }
}

fn ms(s: f64) -> String {
    format!("{:.3} ms", s * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::TraceEvent;

    fn ev(name: &str, cat: &str, pid: u32, tid: u32, ts: u64, dur: u64) -> TraceEvent {
        TraceEvent::span(name, cat, pid, tid, ts, dur)
    }

    #[test]
    fn phases_and_other_add_up_and_worker_spans_are_not_counted() {
        let t = Timeline {
            events: vec![
                ev("rstark prove", cat::RUN, HOST_PID, 0, 0, 1000),
                ev("a", cat::PHASE, HOST_PID, 0, 100, 200),
                ev("inner", cat::PHASE, HOST_PID, 0, 150, 50),
                ev("b", cat::PHASE, HOST_PID, 0, 400, 100),
                ev("a", cat::PHASE, HOST_PID, 0, 600, 100),
                // A worker's span overlapping phase a: not part of the table.
                ev("a", cat::PHASE, HOST_PID, 3, 100, 900),
                ev("k1", cat::KERNEL, 2, 0, 120, 30),
                ev("k1", cat::KERNEL, 2, 0, 160, 30),
                ev("k2", cat::KERNEL, 2, 0, 450, 100),
            ],
            ..Default::default()
        };
        let s = Summary::of(&t);
        let names: Vec<&str> = s.phases.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(s.phases.rows[0].seconds, 300e-9);
        assert_eq!(s.phases.rows[1].seconds, 100e-9);
        assert_eq!(s.phases.other_seconds, 600e-9);
        assert_eq!(s.phases.total_seconds, 1000e-9);
        let sum: f64 =
            s.phases.rows.iter().map(|r| r.seconds).sum::<f64>() + s.phases.other_seconds;
        assert!((sum - s.phases.total_seconds).abs() < 1e-15);
        // Device busy inside a: 60 ns; inside b: 50 of k2's 100.
        assert_eq!(s.phases.rows[0].device_busy_seconds, Some(60e-9));
        assert_eq!(s.phases.rows[1].device_busy_seconds, Some(50e-9));
        assert_eq!(s.kernels[0].name, "k2");
        assert_eq!(s.kernels[1].launches, 2);
        let gaps = &s.streams[0].longest_gaps;
        assert_eq!(gaps[0].seconds, 260e-9);
        assert_eq!(gaps[0].phase.as_deref(), Some("a"));
        let text = s.text(10);
        assert!(text.contains(OUTSIDE_PHASES), "{text}");
    }
}
