//! Peak host memory (resident set) of one proof. On Linux the kernel's high-water mark `VmHWM`
//! (/proc/self/status) is reset to the current resident set by writing "5" to
//! /proc/self/clear_refs before the proof, and read after it. Where the reset is refused, the
//! mark covers the whole process so far (reported as such); where /proc is missing, nothing is
//! reported.

/// The peak resident set over a span of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeakMemory {
    pub bytes: u64,
    /// "proof": the mark was reset when the proof started; "process": it covers everything
    /// this process did before too (the reset was refused).
    pub scope: &'static str,
}

/// Started before the work whose peak is measured.
pub struct PeakMeter {
    reset: bool,
}

impl PeakMeter {
    /// Resets the high-water mark (where the system allows it).
    pub fn start() -> Self {
        Self {
            reset: std::fs::write("/proc/self/clear_refs", "5").is_ok(),
        }
    }

    /// The peak since [`start`](Self::start), or `None` where the system does not report it.
    pub fn finish(self) -> Option<PeakMemory> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        Some(PeakMemory {
            bytes: vm_hwm_bytes(&status)?,
            scope: if self.reset { "proof" } else { "process" },
        })
    }
}

/// `VmHWM:   123456 kB` → bytes.
fn vm_hwm_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut words = line["VmHWM:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next()? {
        "kB" => value.checked_mul(1024),
        _ => None,
    }
}

/// "1.23 GiB (this proof)".
pub fn text(p: &PeakMemory) -> String {
    let b = p.bytes as f64;
    let size = if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    };
    match p.scope {
        "proof" => format!("{size} (this proof)"),
        _ => format!("{size} (this process so far)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_status_line() {
        let status = "Name:\trstark\nVmPeak:\t  200 kB\nVmHWM:\t    1536 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(vm_hwm_bytes(status), Some(1536 * 1024));
        assert_eq!(vm_hwm_bytes("VmRSS: 12 kB\n"), None);
        assert_eq!(vm_hwm_bytes("VmHWM: x kB\n"), None);
    }

    #[test]
    fn a_large_allocation_shows_in_the_peak_and_the_reset_forgets_it() {
        let Some(_) = PeakMeter::start().finish() else {
            return; // no /proc here: nothing is reported, which the commands handle
        };
        let big = 256usize << 20;
        let meter = PeakMeter::start();
        let v = vec![1u8; big];
        std::hint::black_box(&v);
        drop(v);
        let peak = meter.finish().unwrap();
        assert!(peak.bytes >= big as u64, "{peak:?}");
        if peak.scope == "proof" {
            let after = PeakMeter::start().finish().unwrap();
            assert!(after.bytes < peak.bytes, "{after:?} after {peak:?}");
        }
        assert!(text(&peak).contains("MiB") || text(&peak).contains("GiB"));
    }
}
