//! Device-memory accounting of one context (compiled with or without the `cuda` feature, so CI
//! tests it on any machine): the bytes its live allocations hold, their peak, the budget an
//! allocation may not pass, and the one-shot fault counters the fault-injection tests arm.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes in use, their peak since the last reset, and the budget. An allocation first
/// [`reserve`](Self::reserve)s its bytes (refused past the budget, before the driver is asked)
/// and gives them back with [`release`](Self::release) when freed or when the driver refuses.
#[derive(Debug)]
pub struct MemCounter {
    in_use: AtomicU64,
    peak: AtomicU64,
    budget: AtomicU64,
}

/// A reservation refused: what was in use and the budget at that moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget {
    pub in_use: u64,
    pub budget: u64,
}

impl MemCounter {
    pub fn new(budget: u64) -> Self {
        Self {
            in_use: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            budget: AtomicU64::new(budget),
        }
    }

    /// Counts `bytes` more in use unless that passes the budget.
    pub fn reserve(&self, bytes: u64) -> Result<(), OverBudget> {
        let budget = self.budget.load(Ordering::Relaxed);
        let mut now = self.in_use.load(Ordering::Relaxed);
        loop {
            let next = now
                .checked_add(bytes)
                .filter(|&n| n <= budget)
                .ok_or(OverBudget {
                    in_use: now,
                    budget,
                })?;
            match self
                .in_use
                .compare_exchange_weak(now, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.peak.fetch_max(next, Ordering::Relaxed);
                    return Ok(());
                }
                Err(seen) => now = seen,
            }
        }
    }

    pub fn release(&self, bytes: u64) {
        self.in_use.fetch_sub(bytes, Ordering::Relaxed);
    }

    pub fn in_use(&self) -> u64 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// The most bytes in use at once since the last [`reset_peak`](Self::reset_peak).
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new peak from what is in use now.
    pub fn reset_peak(&self) {
        self.peak.store(self.in_use(), Ordering::Relaxed);
    }

    pub fn budget(&self) -> u64 {
        self.budget.load(Ordering::Relaxed)
    }

    pub fn set_budget(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::Relaxed);
    }
}

/// The budget a context took ([`clamp_budget`]): what was asked, what the device can give this
/// context (free memory plus what the context already holds), and the effective value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VramBudget {
    pub bytes: u64,
    pub requested: u64,
    pub usable: u64,
}

impl VramBudget {
    /// Whether the request passed what is usable and was lowered to it (worth a warning).
    pub fn clamped(&self) -> bool {
        self.bytes < self.requested
    }
}

impl std::fmt::Display for VramBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.clamped() {
            write!(
                f,
                "{} (asked {}, more than the {} the device can give)",
                fmt_bytes(self.bytes),
                fmt_bytes(self.requested),
                fmt_bytes(self.usable)
            )
        } else {
            write!(f, "{}", fmt_bytes(self.bytes))
        }
    }
}

/// A requested budget, lowered to what is usable.
pub fn clamp_budget(requested: u64, usable: u64) -> VramBudget {
    VramBudget {
        bytes: requested.min(usable),
        requested,
        usable,
    }
}

/// The default budget: this fraction of the device's free memory when the context is made.
pub const DEFAULT_BUDGET_FRACTION: f64 = 0.9;

pub fn default_budget(free: u64) -> u64 {
    (free as f64 * DEFAULT_BUDGET_FRACTION) as u64
}

/// "1.50 GiB (1610612736 bytes)".
pub fn fmt_bytes(bytes: u64) -> String {
    format!(
        "{:.2} GiB ({bytes} bytes)",
        bytes as f64 / (1u64 << 30) as f64
    )
}

/// A one-shot fault: armed with n, the n-th next [`fires`](Self::fires) returns true, then it is
/// off again. Off, `fires` costs one relaxed load.
#[derive(Debug, Default)]
pub struct FaultCounter(AtomicU64);

impl FaultCounter {
    /// n = 1: the next event fails; n = 0: off.
    pub fn arm(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    pub fn fires(&self) -> bool {
        if self.0.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            == Ok(1)
    }

    /// Whether a fault is still to come.
    pub fn armed(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stop_at_the_budget() {
        let m = MemCounter::new(100);
        assert_eq!(m.reserve(60), Ok(()));
        assert_eq!(
            m.reserve(41),
            Err(OverBudget {
                in_use: 60,
                budget: 100
            })
        );
        assert_eq!(m.reserve(40), Ok(()));
        assert_eq!((m.in_use(), m.peak()), (100, 100));
        m.release(70);
        assert_eq!((m.in_use(), m.peak()), (30, 100));
        m.reset_peak();
        assert_eq!(m.peak(), 30);
        assert!(m.reserve(u64::MAX).is_err());
        m.set_budget(u64::MAX);
        assert!(m.reserve(u64::MAX).is_err(), "no overflow past u64::MAX");
        m.release(30);
        assert_eq!(m.in_use(), 0);
    }

    #[test]
    fn concurrent_reservations_never_pass_the_budget() {
        let m = MemCounter::new(1000);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        if m.reserve(7).is_ok() {
                            assert!(m.in_use() <= 1000);
                            m.release(7);
                        }
                    }
                });
            }
        });
        assert_eq!(m.in_use(), 0);
        assert!(m.peak() <= 1000);
    }

    #[test]
    fn budgets_clamp_and_say_so() {
        let b = clamp_budget(200 << 30, 139 << 30);
        assert!(b.clamped());
        assert_eq!(b.bytes, 139 << 30);
        assert!(b.to_string().contains("asked 200.00 GiB"), "{b}");
        let b = clamp_budget(24 << 30, 139 << 30);
        assert!(!b.clamped());
        assert_eq!(b.to_string(), "24.00 GiB (25769803776 bytes)");
        assert_eq!(default_budget(100 << 30), 90 << 30);
        assert_eq!(fmt_bytes(1536 << 20), "1.50 GiB (1610612736 bytes)");
    }

    #[test]
    fn faults_fire_once_on_the_nth_event() {
        let f = FaultCounter::default();
        assert!(!f.fires());
        f.arm(3);
        assert!(f.armed());
        assert_eq!(
            (f.fires(), f.fires(), f.fires(), f.fires()),
            (false, false, true, false)
        );
        assert!(!f.armed());
        f.arm(1);
        f.arm(0);
        assert!(!f.fires());
    }
}
