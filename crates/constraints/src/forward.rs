//! Register-traffic passes over compiled code: results forwarded to the next instruction
//! ([`ConstraintProgram::forward_results`]) and registers numbered hottest first. Both are pure
//! renamings of where a value is kept: the program computes the same values.

use crate::program::{ConstraintProgram, INSTR_WORDS, NO_REG, op, src};

/// Register roles of an instruction's words: (dst, a, b), each 0 = none, 1 = base register
/// file, 2 = extension register file (an operand only names a register when its source is one).
pub(crate) fn roles(opcode: u32) -> (u8, u8, u8) {
    match opcode {
        op::ADD | op::SUB | op::MUL => (1, 1, 1),
        op::NEG => (1, 1, 0),
        op::ACC => (0, 1, 0),
        op::EACC => (0, 2, 0),
        op::EADD | op::ESUB | op::EMUL => (2, 2, 2),
        _ => (2, 2, 1), // EADDB, ESUBB, EMULB
    }
}

fn is_base_op(opcode: u32) -> bool {
    matches!(opcode, op::ADD | op::SUB | op::MUL | op::NEG)
}

/// The register an operand word names in file `kind`, if it names one.
pub(crate) fn reg_of(kind: u8, w: u32) -> Option<u32> {
    (kind != 0 && w >> src::SHIFT == src::REG).then_some(w & src::INDEX_MASK)
}

/// Renames registers so that the most accessed ones (reads + writes) get the lowest numbers, in
/// each register file (ties keep the current order), and drops registers nothing names. Returns
/// the new (base, ext) register counts. The GPU kernel v2 keeps registers below a cut-off in
/// shared memory (docs/GPU.md, "Constraint kernel v2"), so the low numbers should carry most of
/// the traffic.
pub(crate) fn renumber_hottest_first(
    words: &mut [u32],
    base_regs: u32,
    ext_regs: u32,
) -> (u32, u32) {
    let mut count = [
        vec![0u64; base_regs as usize],
        vec![0u64; ext_regs as usize],
    ];
    for ins in words.chunks_exact(INSTR_WORDS) {
        let (d, a, b) = roles(ins[0]);
        if d != 0 && ins[1] != NO_REG {
            count[d as usize - 1][ins[1] as usize] += 1;
        }
        for (kind, w) in [(a, ins[2]), (b, ins[3])] {
            if let Some(r) = reg_of(kind, w) {
                count[kind as usize - 1][r as usize] += 1;
            }
        }
    }
    // new name of each old register
    let rename: Vec<Vec<u32>> = count
        .iter()
        .map(|c| {
            let mut order: Vec<u32> = (0..c.len() as u32).collect();
            order.sort_by_key(|&r| std::cmp::Reverse(c[r as usize]));
            let mut new = vec![0u32; c.len()];
            for (n, &old) in order.iter().enumerate() {
                new[old as usize] = n as u32;
            }
            new
        })
        .collect();
    for ins in words.chunks_exact_mut(INSTR_WORDS) {
        let (d, a, b) = roles(ins[0]);
        if d != 0 && ins[1] != NO_REG {
            ins[1] = rename[d as usize - 1][ins[1] as usize];
        }
        for (kind, j) in [(a, 2), (b, 3)] {
            if let Some(r) = reg_of(kind, ins[j]) {
                ins[j] = src::operand(src::REG, rename[kind as usize - 1][r as usize]);
            }
        }
    }
    let used = |c: &[u64]| c.iter().filter(|&&n| n > 0).count() as u32;
    (used(&count[0]), used(&count[1]))
}

impl ConstraintProgram {
    /// The same program with base results forwarded: an operand that reads the register the
    /// previous instruction (a base operation) just wrote becomes [`src::PREV`], and a base
    /// operation whose register is then never read before it is overwritten writes none
    /// ([`NO_REG`]); registers are renumbered hottest first. An evaluator that keeps the last
    /// base result in a hardware register (the GPU kernel v2) then skips most register traffic
    /// (Keccak-f: 28 534 of 41 999 register reads and 18 798 of 32 605 register writes).
    pub fn forward_results(&self) -> ConstraintProgram {
        let mut words = self.code.clone();
        let n = words.len() / INSTR_WORDS;
        // 1. operands reading the previous base result
        for pc in 1..n {
            let (prev, cur) = words.split_at_mut(pc * INSTR_WORDS);
            let prev = &prev[(pc - 1) * INSTR_WORDS..];
            let cur = &mut cur[..INSTR_WORDS];
            if !is_base_op(prev[0]) || prev[1] == NO_REG {
                continue;
            }
            let (_, a, b) = roles(cur[0]);
            for (kind, j) in [(a, 2), (b, 3)] {
                if kind == 1 && reg_of(kind, cur[j]) == Some(prev[1]) {
                    cur[j] = src::operand(src::PREV, 0);
                }
            }
        }
        // 2. backward liveness of base registers: a base result nobody reads needs no register
        let mut live = vec![false; self.num_base_regs as usize];
        for pc in (0..n).rev() {
            let ins = &mut words[pc * INSTR_WORDS..(pc + 1) * INSTR_WORDS];
            let (d, a, b) = roles(ins[0]);
            if d == 1 && ins[1] != NO_REG {
                let r = ins[1] as usize;
                if !live[r] {
                    ins[1] = NO_REG;
                }
                live[r] = false;
            }
            for (kind, w) in [(a, ins[2]), (b, ins[3])] {
                if kind == 1
                    && let Some(r) = reg_of(kind, w)
                {
                    live[r as usize] = true;
                }
            }
        }
        let (num_base_regs, num_ext_regs) =
            renumber_hottest_first(&mut words, self.num_base_regs, self.num_ext_regs);
        ConstraintProgram {
            code: words,
            num_base_regs,
            num_ext_regs,
            ..self.clone()
        }
    }
}
