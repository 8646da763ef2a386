//! Per-table work of a round, run in the backend's lanes ([`Backend::lanes`]): each lane on its
//! own thread, its tables in proof order; without lanes, every table on the caller's thread.
//! The results come back in proof order, so the transcript is fed exactly as without lanes.

use rstark_protocol::{Backend, BackendError};
use rstark_timeline::spans;

use crate::ProverError;

/// A proof's lanes, checked once after `begin_proof`.
pub(crate) struct Lanes(Vec<Vec<usize>>);

impl Lanes {
    /// `backend`'s lanes for a proof of `n` tables: each table in exactly one lane, each lane in
    /// proof order (an error names a backend that breaks that).
    pub(crate) fn of<B: Backend>(backend: &B, n: usize) -> Result<Self, ProverError> {
        Self::checked(backend.lanes(), n)
    }

    fn checked(lanes: Vec<Vec<usize>>, n: usize) -> Result<Self, ProverError> {
        if lanes.is_empty() {
            return Ok(Self(Vec::new()));
        }
        let mut seen = vec![false; n];
        for lane in &lanes {
            for (k, &t) in lane.iter().enumerate() {
                let fresh = t < n && !std::mem::replace(&mut seen[t], true);
                if !fresh || (k > 0 && lane[k - 1] > t) {
                    return Err(bad_lanes(&lanes, n));
                }
            }
        }
        if seen.iter().any(|s| !s) {
            return Err(bad_lanes(&lanes, n));
        }
        Ok(Self(lanes.into_iter().filter(|l| !l.is_empty()).collect()))
    }

    /// `f(table)` for every table of `0..n`, in the lanes (one thread each, inside phase
    /// `phase` so device work launched there is tagged with it), or in order on this thread
    /// with at most one lane. The results in proof order; on failure the error of the first
    /// failing table in proof order (a lane stops at its first error).
    pub(crate) fn run<T: Send>(
        &self,
        n: usize,
        phase: &'static str,
        f: impl Fn(usize) -> Result<T, ProverError> + Sync,
    ) -> Result<Vec<T>, ProverError> {
        if self.0.len() <= 1 {
            return (0..n).map(&f).collect();
        }
        let mut slots: Vec<Option<Result<T, ProverError>>> = (0..n).map(|_| None).collect();
        let mut spawn_error = None;
        std::thread::scope(|s| {
            let mut handles = Vec::with_capacity(self.0.len());
            for (k, lane) in self.0.iter().enumerate() {
                let f = &f;
                let spawned = std::thread::Builder::new()
                    .name(format!("prover lane {k}"))
                    .spawn_scoped(s, move || {
                        let _phase = spans::phase(phase);
                        let mut out = Vec::with_capacity(lane.len());
                        for &t in lane {
                            let r = f(t);
                            let failed = r.is_err();
                            out.push((t, r));
                            if failed {
                                break;
                            }
                        }
                        out
                    });
                match spawned {
                    Ok(h) => handles.push(h),
                    Err(e) => {
                        spawn_error = Some(internal(&format!("cannot start a lane thread: {e}")));
                        break;
                    }
                }
            }
            for h in handles {
                let done = h
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                for (t, r) in done {
                    slots[t] = Some(r);
                }
            }
        });
        if let Some(e) = spawn_error {
            return Err(e);
        }
        let mut out = Vec::with_capacity(n);
        let mut first_error = None;
        for slot in slots {
            match slot {
                Some(Ok(v)) if first_error.is_none() => out.push(v),
                Some(Err(e)) if first_error.is_none() => first_error = Some(e),
                _ => {
                    // after a failure (or a table its lane never reached because of one)
                    if first_error.is_none() {
                        first_error = Some(internal("a table was left out of its lane"));
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

fn internal(what: &str) -> ProverError {
    ProverError::Backend(BackendError::BadInput(format!("internal: {what}")))
}

fn bad_lanes(lanes: &[Vec<usize>], n: usize) -> ProverError {
    ProverError::Backend(BackendError::BadInput(format!(
        "the backend's lanes {lanes:?} do not put each of the {n} tables in exactly one lane, \
         in proof order"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(v: Vec<Vec<usize>>) -> Lanes {
        Lanes(v)
    }

    #[test]
    fn lanes_must_partition_the_tables_in_order() {
        assert!(Lanes::checked(vec![vec![0, 2], vec![1]], 3).is_ok());
        assert!(Lanes::checked(vec![], 3).is_ok());
        for bad in [
            vec![vec![0, 1]],             // table 2 missing
            vec![vec![0, 1, 2], vec![1]], // table 1 twice
            vec![vec![2, 0], vec![1]],    // out of order
            vec![vec![0, 1, 2, 3]],       // no table 3
        ] {
            assert!(Lanes::checked(bad.clone(), 3).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn results_come_back_in_proof_order() {
        let l = lanes(vec![vec![1, 3], vec![0, 2, 4]]);
        let out = l.run(5, "test", |t| Ok(t * 10)).unwrap();
        assert_eq!(out, vec![0, 10, 20, 30, 40]);
    }

    #[test]
    fn the_first_failing_table_in_proof_order_is_reported() {
        let l = lanes(vec![vec![0, 3], vec![1, 2]]);
        let err = l
            .run(4, "test", |t| {
                if t >= 2 {
                    Err(ProverError::TooManyTables(t))
                } else {
                    Ok(t)
                }
            })
            .unwrap_err();
        assert!(matches!(err, ProverError::TooManyTables(2)), "{err}");
    }

    #[test]
    fn one_lane_runs_on_the_callers_thread() {
        let me = std::thread::current().id();
        let l = lanes(vec![vec![0, 1]]);
        l.run(2, "test", |_| {
            assert_eq!(std::thread::current().id(), me);
            Ok(())
        })
        .unwrap();
    }
}
