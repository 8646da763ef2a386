//! Where each table of a proof runs, decided at `begin_proof` from the tables' costs and each
//! member's memory, before any work.
//!
//! Longest first: tables pinned by their preprocessed columns go to their member, then the rest
//! by decreasing cost, each to the least-loaded member (load = the costs already placed there)
//! whose memory still holds the member's share of the proof with the table added (the member
//! says, e.g. the CUDA backend's residency plan within its VRAM budget, with matrices streamed
//! where needed). Every member keeps [`Placement::reserve`] bytes free for a codeword copied in at the
//! FRI join (the largest codeword: the one member that runs FRI is known only at the end).
//!
//! FRI starts from the first tallest table's DEEP codeword, so its owner runs FRI; every other
//! member's codewords are copied to it as the fold reaches their size (3 words per LDE row):
//! [`Placement::moved_bytes`].

use std::fmt;

use rstark_protocol::{PlannedTable, ProofPlan};

use crate::cost::CostOrigin;

/// Bytes of a DEEP codeword per LDE row (one extension element: 3 words).
pub const CODEWORD_BYTES_PER_ROW: u64 = 3 * 8;

/// One member's share of a proof.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberLoad {
    pub label: String,
    /// Its tables, in proof order.
    pub tables: Vec<usize>,
    /// The sum of its tables' costs (seconds).
    pub seconds: f64,
    /// Its memory model's peak for its share (bytes; 0 for a member without a limit).
    pub peak_bytes: u64,
}

/// Where a proof's tables run.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    /// Each table's member.
    pub owner: Vec<usize>,
    /// Each table's index in its member's share (the table index the member sees).
    pub local: Vec<usize>,
    pub members: Vec<MemberLoad>,
    /// The member that runs FRI (the owner of the first tallest table).
    pub fri_member: usize,
    /// Each table's cost (seconds) and where it came from.
    pub costs: Vec<(f64, CostOrigin)>,
    /// Bytes every member kept free for a codeword copied in at the FRI join.
    pub reserve: u64,
    /// Bytes the FRI join copies between members: every codeword not on `fri_member`.
    pub moved_bytes: u64,
    /// Codewords the FRI join copies.
    pub moved_codewords: usize,
    names: Vec<String>,
}

impl Placement {
    /// The member's share of `plan` (its tables, in proof order).
    pub fn share(&self, plan: &ProofPlan, member: usize) -> ProofPlan {
        share(plan, &self.members[member].tables)
    }

    /// Table `t`'s name.
    pub fn table_name(&self, t: usize) -> &str {
        self.names.get(t).map_or("", String::as_str)
    }

    /// The slowest member's seconds over the total over all members: 1/n is perfect balance
    /// over n members, 1 is everything on one.
    pub fn makespan_fraction(&self) -> f64 {
        let total: f64 = self.members.iter().map(|m| m.seconds).sum();
        let max = self.members.iter().map(|m| m.seconds).fold(0.0, f64::max);
        if total > 0.0 { max / total } else { 1.0 }
    }
}

/// Why a proof cannot be placed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    #[error("no device to place the proof's tables on")]
    NoMembers,
    #[error("table `{table}` fits on no device: {}", reasons.join("; "))]
    DoesNotFit { table: String, reasons: Vec<String> },
}

fn share(plan: &ProofPlan, tables: &[usize]) -> ProofPlan {
    ProofPlan {
        tables: tables.iter().map(|&t| plan.tables[t].clone()).collect(),
        log_blowup: plan.log_blowup,
        num_queries: plan.num_queries,
        log_final_poly_len: plan.log_final_poly_len,
    }
}

fn codeword_bytes(t: &PlannedTable, log_blowup: usize) -> u64 {
    CODEWORD_BYTES_PER_ROW << (t.log_height + log_blowup)
}

/// Places `plan`'s tables on `labels.len()` members. `costs`: each table's seconds; `pins`: a
/// member a table must go to (its preprocessed columns live there), if any; `fits(member,
/// share, reserve)`: the member's modelled peak for `share` with `reserve` bytes kept free, or
/// why it does not fit.
pub fn place(
    plan: &ProofPlan,
    costs: &[(f64, CostOrigin)],
    pins: &[Option<usize>],
    labels: &[String],
    fits: impl Fn(usize, &ProofPlan, u64) -> Result<u64, String>,
) -> Result<Placement, PlaceError> {
    let n = labels.len();
    if n == 0 {
        return Err(PlaceError::NoMembers);
    }
    let b = plan.log_blowup;
    let reserve = if n > 1 {
        plan.tables
            .iter()
            .map(|t| codeword_bytes(t, b))
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let pin = |t: usize| pins.get(t).copied().flatten().filter(|&m| m < n);
    // Pinned tables first (proof order), then the rest by decreasing cost.
    let mut order: Vec<usize> = (0..plan.tables.len()).collect();
    order.sort_by(|&x, &y| {
        pin(y)
            .is_some()
            .cmp(&pin(x).is_some())
            .then(costs[y].0.total_cmp(&costs[x].0))
            .then(x.cmp(&y))
    });
    let mut members: Vec<MemberLoad> = labels
        .iter()
        .map(|l| MemberLoad {
            label: l.clone(),
            tables: Vec::new(),
            seconds: 0.0,
            peak_bytes: 0,
        })
        .collect();
    let mut owner = vec![0; plan.tables.len()];
    for t in order {
        let mut candidates: Vec<usize> = match pin(t) {
            Some(m) => vec![m],
            None => (0..n).collect(),
        };
        candidates.sort_by(|&x, &y| {
            members[x]
                .seconds
                .total_cmp(&members[y].seconds)
                .then(x.cmp(&y))
        });
        let mut reasons = Vec::new();
        let mut placed = false;
        for m in candidates {
            let mut tables = members[m].tables.clone();
            let at = tables.partition_point(|&u| u < t);
            tables.insert(at, t);
            match fits(m, &share(plan, &tables), reserve) {
                Ok(peak) => {
                    let load = &mut members[m];
                    load.tables = tables;
                    load.seconds += costs[t].0;
                    load.peak_bytes = peak;
                    owner[t] = m;
                    placed = true;
                    break;
                }
                Err(why) => reasons.push(format!("{}: {why}", labels[m])),
            }
        }
        if !placed {
            return Err(PlaceError::DoesNotFit {
                table: plan.tables[t].name.clone(),
                reasons,
            });
        }
    }
    let mut local = vec![0; plan.tables.len()];
    for m in &members {
        for (k, &t) in m.tables.iter().enumerate() {
            local[t] = k;
        }
    }
    // The first tallest table's codeword starts FRI.
    let tallest = plan.tables.iter().map(|t| t.log_height).max().unwrap_or(0);
    let first = plan
        .tables
        .iter()
        .position(|t| t.log_height == tallest)
        .unwrap_or(0);
    let fri_member = owner.get(first).copied().unwrap_or(0);
    let foreign: Vec<&PlannedTable> = plan
        .tables
        .iter()
        .zip(&owner)
        .filter(|(_, m)| **m != fri_member)
        .map(|(t, _)| t)
        .collect();
    Ok(Placement {
        owner,
        local,
        members,
        fri_member,
        costs: costs.to_vec(),
        reserve,
        moved_bytes: foreign.iter().map(|t| codeword_bytes(t, b)).sum(),
        moved_codewords: foreign.len(),
        names: plan.tables.iter().map(|t| t.name.clone()).collect(),
    })
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: f64 = self.members.iter().map(|m| m.seconds).sum();
        for (i, m) in self.members.iter().enumerate() {
            let tables: Vec<String> = m
                .tables
                .iter()
                .map(|&t| {
                    let (s, origin) = self.costs[t];
                    let mark = if origin == CostOrigin::Measured {
                        ""
                    } else {
                        "~"
                    };
                    format!("{} ({mark}{:.1} ms)", self.names[t], s * 1e3)
                })
                .collect();
            writeln!(
                f,
                "  device {i} [{}]{}: {:.1} ms ({:.0}%), memory model peak {}: {}",
                m.label,
                if i == self.fri_member { ", FRI" } else { "" },
                m.seconds * 1e3,
                if total > 0.0 {
                    100.0 * m.seconds / total
                } else {
                    0.0
                },
                mib(m.peak_bytes),
                if tables.is_empty() {
                    "no tables".into()
                } else {
                    tables.join(", ")
                }
            )?;
        }
        write!(
            f,
            "  FRI join: {} codewords, {} copied to device {} (each device kept {} free for one); \
             slowest device {:.0}% of the total (~: modelled cost)",
            self.moved_codewords,
            mib(self.moved_bytes),
            self.fri_member,
            mib(self.reserve),
            100.0 * self.makespan_fraction()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{CostBook, CostSource, test_table as table};

    fn plan(tables: Vec<PlannedTable>) -> ProofPlan {
        ProofPlan {
            tables,
            log_blowup: 1,
            num_queries: 100,
            log_final_poly_len: 3,
        }
    }

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("dev{i}")).collect()
    }

    fn modelled(p: &ProofPlan) -> Vec<(f64, CostOrigin)> {
        CostBook::default().costs(&p.tables, p.log_blowup, CostSource::Modelled)
    }

    fn unlimited(_: usize, _: &ProofPlan, _: u64) -> Result<u64, String> {
        Ok(0)
    }

    #[test]
    fn equal_tables_spread_evenly_and_one_member_takes_all() {
        let p = plan((0..4).map(|i| table(&format!("t{i}"), 12, 100)).collect());
        let c = modelled(&p);
        let two = place(&p, &c, &[], &labels(2), unlimited).unwrap();
        assert_eq!(two.members[0].tables.len(), 2);
        assert_eq!(two.members[1].tables.len(), 2);
        assert!((two.makespan_fraction() - 0.5).abs() < 1e-9);
        // two of four codewords (each 2^13 rows × 24 B) go to the FRI member
        assert_eq!(two.moved_codewords, 2);
        assert_eq!(two.moved_bytes, 2 * (24 << 13));
        let one = place(&p, &c, &[], &labels(1), unlimited).unwrap();
        assert_eq!(one.members[0].tables, vec![0, 1, 2, 3]);
        assert_eq!(one.local, vec![0, 1, 2, 3]);
        assert_eq!((one.moved_bytes, one.reserve), (0, 0));
    }

    #[test]
    fn the_largest_table_goes_first_and_fri_runs_where_the_first_tallest_is() {
        let p = plan(vec![
            table("small", 10, 8),
            table("big", 20, 100),
            table("mid", 18, 100),
            table("mid2", 18, 100),
        ]);
        let c = modelled(&p);
        let pl = place(&p, &c, &[], &labels(2), unlimited).unwrap();
        assert_eq!(pl.owner[1], 0);
        assert_eq!(pl.fri_member, 0);
        // the three smaller tables go to device 1 (together still cheaper than "big")
        assert_eq!(pl.members[1].tables, vec![0, 2, 3]);
        assert_eq!(pl.local, vec![0, 0, 1, 2]);
        assert_eq!(pl.moved_bytes, (24 << 11) + 2 * (24 << 19));
        let text = pl.to_string();
        assert!(
            text.contains("device 0 [dev0], FRI") && text.contains("big"),
            "{text}"
        );
    }

    #[test]
    fn members_memory_decides_and_a_table_too_large_everywhere_is_named() {
        let p = plan((0..4).map(|i| table(&format!("t{i}"), 12, 100)).collect());
        let c = modelled(&p);
        // device 0 holds one table at most, device 1 any number
        let fits = |m: usize, share: &ProofPlan, reserve: u64| {
            assert_eq!(reserve, 24 << 13);
            if m == 0 && share.tables.len() > 1 {
                Err("over budget".to_string())
            } else {
                Ok(share.tables.len() as u64)
            }
        };
        let pl = place(&p, &c, &[], &labels(2), fits).unwrap();
        assert_eq!(pl.members[0].tables.len(), 1);
        assert_eq!(pl.members[1].tables.len(), 3);
        assert_eq!(pl.members[1].peak_bytes, 3);
        let none = |_: usize, _: &ProofPlan, _: u64| Err::<u64, _>("too small".to_string());
        let err = place(&p, &c, &[], &labels(2), none).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`t0`") && msg.contains("dev1: too small"),
            "{msg}"
        );
    }

    #[test]
    fn pinned_tables_stay_where_their_preprocessed_columns_are() {
        let p = plan((0..3).map(|i| table(&format!("t{i}"), 12, 100)).collect());
        let c = modelled(&p);
        let pl = place(&p, &c, &[Some(1), Some(1), None], &labels(2), unlimited).unwrap();
        assert_eq!(pl.owner, vec![1, 1, 0]);
        assert_eq!(pl.fri_member, 1);
    }

    #[test]
    fn residency_plans_decide_the_cuda_members_memory() {
        // Keccak tables of 2^16 rows (1.4 GB traces): device 1's 1 GiB budget holds none (not
        // even streamed), so both go to device 0 whatever the loads say; under 5 GiB device 0
        // holds both only by streaming.
        use rstark_backend_cuda::residency;
        let mut k = table("keccak", 16, 2633);
        k.num_constraints = 3182;
        let p = plan(vec![k.clone(), k]);
        let c = modelled(&p);
        for budget0 in [40u64 << 30, 5 << 30] {
            let budgets = [budget0, 1 << 30];
            let fits = |m: usize, share: &ProofPlan, reserve: u64| {
                residency::plan(share, budgets[m] - reserve)
                    .map(|p| p.peak)
                    .map_err(|e| e.to_string())
            };
            let pl = place(&p, &c, &[], &labels(2), fits).unwrap();
            assert_eq!(pl.owner, vec![0, 0]);
            assert_eq!(pl.moved_bytes, 0);
            let m = &pl.members[0];
            assert!(m.peak_bytes + residency::SLACK_BYTES + pl.reserve <= budget0);
            let streamed = residency::plan(&pl.share(&p, 0), budget0 - pl.reserve)
                .unwrap()
                .streamed();
            assert_eq!(streamed.is_empty(), budget0 == 40 << 30, "{streamed:?}");
        }
    }
}
