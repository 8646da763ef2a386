//! Where a workload's tables would go on 1, 2, 4, 8 GPUs (no GPU needed): the modelled costs,
//! each GPU's memory-model peak within `--budget`, the FRI GPU and the bytes the FRI join would
//! copy, and the cost model's bound on the speedup (total cost over the slowest GPU's).
//!
//!     cargo run --release -p rstark-backend-multi --example placement -- \
//!         [--workload multi] [--size 2730] [--preset default] [--devices 1,2,4,8] [--budget 125GiB]

use rstark_backend_cuda::residency;
use rstark_backend_multi::cost::{CostBook, CostSource};
use rstark_backend_multi::placement;
use rstark_protocol::{PlannedTable, ProofPlan, StarkParams, derive_shape, presets};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
    };
    let workload = get("--workload").map_or("multi", String::as_str);
    let size: usize = get("--size").and_then(|s| s.parse().ok()).unwrap_or(2730);
    let params: StarkParams = match get("--preset").map_or("default", String::as_str) {
        "fast-test" => presets::FAST_TEST,
        "compact" => presets::COMPACT,
        "balanced" => presets::BALANCED,
        _ => presets::DEFAULT,
    };
    let counts: Vec<usize> = get("--devices")
        .map_or("1,2,4,8", String::as_str)
        .split(',')
        .filter_map(|n| n.parse().ok())
        .collect();
    let budget = get("--budget")
        .map(|b| residency::parse_bytes(b).unwrap_or_else(|e| panic!("--budget: {e}")))
        .unwrap_or(125 << 30);

    // The shapes only: Keccak traces stay generators, nothing is proved.
    let w = rstark_workloads::build_generated(workload, size).unwrap_or_else(|e| panic!("{e}"));
    let tables: Vec<PlannedTable> = w
        .tables
        .iter()
        .map(|t| {
            let log_height = t.trace.height().trailing_zeros() as usize;
            let s = derive_shape(t.name, &t.air, t.public_values.len(), log_height, None)
                .unwrap_or_else(|e| panic!("{e}"));
            PlannedTable {
                name: t.name.to_string(),
                log_height,
                main_width: s.main_width,
                preprocessed_width: s.preprocessed_width,
                aux_width: s.aux_width(),
                log_quotient_degree: s.log_quotient_degree,
                num_constraints: s.total_constraints(),
            }
        })
        .collect();
    let plan = ProofPlan {
        tables,
        log_blowup: params.log_blowup as usize,
        num_queries: params.num_queries as usize,
        log_final_poly_len: params.log_final_poly_len as usize,
    };
    let costs = CostBook::default().costs(&plan.tables, plan.log_blowup, CostSource::Modelled);
    let total: f64 = costs.iter().map(|c| c.0).sum();
    println!(
        "{workload} {size}: {} tables, modelled {:.1} ms in all; each GPU's budget {}",
        plan.tables.len(),
        total * 1e3,
        residency::gib(budget)
    );
    for n in counts {
        let labels: Vec<String> = (0..n).map(|i| format!("GPU {i}")).collect();
        let fits = |_: usize, share: &ProofPlan, reserve: u64| {
            residency::plan(share, budget.saturating_sub(reserve))
                .map(|p| p.peak)
                .map_err(|e| e.to_string())
        };
        match placement::place(&plan, &costs, &[], &labels, fits) {
            Ok(p) => println!(
                "\n{n} GPUs: cost-model speedup bound {:.2} (FRI and grinding run on one GPU \
                 and are not in the model)\n{p}",
                1.0 / p.makespan_fraction()
            ),
            Err(e) => println!("\n{n} GPUs: {e}"),
        }
    }
}
