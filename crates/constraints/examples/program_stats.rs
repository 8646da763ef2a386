//! Instruction mix, operand sources and register traffic (as compiled and with results
//! forwarded) of each workload table's compiled
//! constraint program (what the GPU interpreter's cost model counts). No GPU needed:
//!
//!     cargo run --release -p rstark-constraints --example program_stats

use rstark_constraints::compile_table;
use rstark_constraints::program::{INSTR_WORDS, op, src};

fn main() {
    for (name, size) in [("keccak", 2usize), ("vm", 256), ("fib", 64)] {
        let w = rstark_workloads::build(name, size).expect("workload");
        for t in &w.tables {
            let compiled = compile_table(&t.air, t.public_values.len()).expect("compiles");
            for (form, p) in [
                ("", compiled.clone()),
                (" (forwarded)", compiled.forward_results()),
            ] {
                let mut ops = [0usize; 16];
                let mut base_src = [0usize; 8];
                let mut ext_src = [0usize; 8];
                let mut base_reg_acc = vec![0usize; p.num_base_regs as usize];
                let mut ext_reg_acc = vec![0usize; p.num_ext_regs as usize];
                let mut main_cols = std::collections::HashSet::new();
                for ins in p.code.chunks_exact(INSTR_WORDS) {
                    let (o, dst, a, b) = (ins[0], ins[1], ins[2], ins[3]);
                    ops[o as usize] += 1;
                    let mut base = |w: u32| {
                        base_src[(w >> src::SHIFT) as usize] += 1;
                        if w >> src::SHIFT == src::REG {
                            base_reg_acc[(w & src::INDEX_MASK) as usize] += 1;
                        }
                        if matches!(w >> src::SHIFT, src::MAIN_CUR | src::MAIN_NEXT) {
                            main_cols.insert(w);
                        }
                    };
                    match o {
                        op::ADD | op::SUB | op::MUL => {
                            base(a);
                            base(b);
                        }
                        op::NEG | op::ACC => base(a),
                        op::EADDB | op::ESUBB | op::EMULB => base(b),
                        _ => {}
                    }
                    let mut ext = |w: u32| {
                        ext_src[(w >> src::SHIFT) as usize] += 1;
                        if w >> src::SHIFT == src::EREG {
                            ext_reg_acc[(w & src::INDEX_MASK) as usize] += 1;
                        }
                    };
                    match o {
                        op::EADD | op::ESUB | op::EMUL => {
                            ext(a);
                            ext(b);
                        }
                        op::EACC | op::EADDB | op::ESUBB | op::EMULB => ext(a),
                        _ => {}
                    }
                    if o <= op::NEG {
                        if dst != rstark_constraints::program::NO_REG {
                            base_reg_acc[dst as usize] += 1;
                        }
                    } else if o != op::ACC && o != op::EACC {
                        ext_reg_acc[dst as usize] += 1;
                    }
                }
                let total_base: usize = base_reg_acc.iter().sum();
                let mut sorted = base_reg_acc.clone();
                sorted.sort_unstable_by(|a, b| b.cmp(a));
                let share = |k: usize, v: &[usize]| {
                    v[..k.min(v.len())].iter().sum::<usize>() as f64 / total_base.max(1) as f64
                };
                println!(
                    "{name}/{}{form}: {} instr, {} base regs, {} ext regs, {} constants, {} constraints",
                    t.name,
                    p.num_instructions(),
                    p.num_base_regs,
                    p.num_ext_regs,
                    p.constants.len(),
                    p.num_constraints
                );
                println!(
                    "  ops add/sub/mul/neg/acc: {:?}; eadd..eacc: {:?}",
                    &ops[..5],
                    &ops[8..15]
                );
                println!(
                    "  base operand sources reg/main_cur/main_next/pub/const/sel/prev: {:?}; ext reg/aux/auxn/chal: {:?}",
                    &base_src[..7],
                    &ext_src[..4]
                );
                // the slices a GPU compiles a large program as (rstark_constraints::split_program)
                for max in [1, 64, 256, 512, 1024, 2048, 4096] {
                    if p.num_instructions() <= max {
                        continue;
                    }
                    let slices = rstark_constraints::split_program(&p, max);
                    let sizes: Vec<usize> = slices.iter().map(|s| s.num_instructions()).collect();
                    println!(
                        "  slices of {max}: {} slices, {} instructions in all ({:.2}x), largest {}, {} without selectors, live words at most {:?}",
                        sizes.len(),
                        sizes.iter().sum::<usize>(),
                        sizes.iter().sum::<usize>() as f64 / p.num_instructions() as f64,
                        sizes.iter().max().unwrap_or(&0),
                        slices
                            .iter()
                            .filter(|s| !rstark_constraints::uses_selectors(s))
                            .count(),
                        slices
                            .iter()
                            .map(rstark_constraints::max_live_words)
                            .collect::<Vec<_>>()
                    );
                }
                println!(
                    "  live words at most {}",
                    rstark_constraints::max_live_words(&p)
                );
                println!(
                    "  base reg accesses {total_base}; distinct main operands {}; lowest-8/16/24/32/64 regs take {:.2}/{:.2}/{:.2}/{:.2}/{:.2}; hottest-16/32/64 {:.2}/{:.2}/{:.2}",
                    main_cols.len(),
                    share(8, &base_reg_acc),
                    share(16, &base_reg_acc),
                    share(24, &base_reg_acc),
                    share(32, &base_reg_acc),
                    share(64, &base_reg_acc),
                    share(16, &sorted),
                    share(32, &sorted),
                    share(64, &sorted),
                );
            }
        }
    }
}
