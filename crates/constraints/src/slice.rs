//! A program cut into slices: sub-programs that each compute some of the constraints, with every
//! instruction those constraints depend on, so that Σ over the slices of their accumulators is
//! the whole program's. A GPU compiles each slice as a kernel of its own, in parallel
//! (rstark-backend-cuda `jit`): straight-line code of tens of thousands of statements (Keccak-f)
//! takes NVVM far longer than the same statements in pieces, and the pieces compile on every
//! host core. The slices' kernels then run one after another over the same rows, the first
//! writing the quotient values and the others adding to them.
//!
//! A slice keeps the whole program's register numbering, constants and challenges; only its
//! instruction list is shorter. Instructions are kept in program order, so a register read in a
//! slice still sees the write it saw in the whole program (no write to that register lies
//! between them in the program, hence none in the slice), and a `PREV` operand still reads the
//! instruction just before it (a dependency, so it is in the slice, and nothing lies between).
//! Instructions that several slices need are computed in each (Keccak-f: see
//! `slice_duplication` in the tests and docs/PERF.md).

use crate::forward::{reg_of, roles};
use crate::program::{ConstraintProgram, INSTR_WORDS, NO_REG, op, src};

/// For each instruction, the instructions whose results it reads (at most two).
fn dependencies(p: &ConstraintProgram) -> Vec<[Option<u32>; 2]> {
    let n = p.num_instructions();
    let mut last_write = [
        vec![None; p.num_base_regs as usize],
        vec![None; p.num_ext_regs as usize],
    ];
    let mut deps = Vec::with_capacity(n);
    for (pc, ins) in p.code.chunks_exact(INSTR_WORDS).enumerate() {
        let (d, a, b) = roles(ins[0]);
        let mut dep = [None, None];
        for (slot, (kind, w)) in [(a, ins[2]), (b, ins[3])].into_iter().enumerate() {
            dep[slot] = if kind == 1 && w >> src::SHIFT == src::PREV {
                Some(pc as u32 - 1)
            } else {
                reg_of(kind, w).and_then(|r| last_write[kind as usize - 1][r as usize])
            };
        }
        deps.push(dep);
        if d != 0 && ins[1] != NO_REG {
            last_write[d as usize - 1][ins[1] as usize] = Some(pc as u32);
        }
    }
    deps
}

/// Whether an instruction adds a constraint to the accumulator.
fn is_accumulate(opcode: u32) -> bool {
    matches!(opcode, op::ACC | op::EACC)
}

/// Cuts `p` (validated) into slices of about `max_instructions` instructions each (a slice
/// exceeds it only when one constraint alone needs more): constraints are taken in program order
/// and a slice is closed when the next constraint's missing dependencies would not fit. A
/// program of at most `max_instructions` instructions is one slice, itself.
pub fn split_program(p: &ConstraintProgram, max_instructions: usize) -> Vec<ConstraintProgram> {
    let n = p.num_instructions();
    if n <= max_instructions.max(1) {
        return vec![p.clone()];
    }
    let deps = dependencies(p);
    let code = |pc: usize| &p.code[pc * INSTR_WORDS..(pc + 1) * INSTR_WORDS];
    // in_slice[i]: the number (from 1) of the last slice instruction i was put in
    let mut in_slice = vec![0u32; n];
    // visited[i] == stamp: reached by the current closure walk
    let mut visited = vec![0u32; n];
    let mut stamp = 0u32;
    let mut slices: Vec<Vec<u32>> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    let mut stack = Vec::new();
    // the instructions `acc` needs that slice `id` lacks
    let mut closure = |acc: u32, id: u32, in_slice: &[u32], out: &mut Vec<u32>| {
        stamp += 1;
        out.clear();
        stack.push(acc);
        while let Some(i) = stack.pop() {
            let iu = i as usize;
            if in_slice[iu] == id || visited[iu] == stamp {
                continue;
            }
            visited[iu] = stamp;
            out.push(i);
            stack.extend(deps[iu].iter().flatten());
        }
    };
    let mut missing = Vec::new();
    for acc in (0..n as u32).filter(|&pc| is_accumulate(code(pc as usize)[0])) {
        closure(acc, slices.len() as u32 + 1, &in_slice, &mut missing);
        if !current.is_empty() && current.len() + missing.len() > max_instructions {
            slices.push(std::mem::take(&mut current));
            closure(acc, slices.len() as u32 + 1, &in_slice, &mut missing);
        }
        let id = slices.len() as u32 + 1;
        for &i in &missing {
            in_slice[i as usize] = id;
        }
        current.extend_from_slice(&missing);
    }
    if !current.is_empty() || slices.is_empty() {
        slices.push(current);
    }
    slices
        .into_iter()
        .map(|mut pcs| {
            pcs.sort_unstable();
            let mut words = Vec::with_capacity(pcs.len() * INSTR_WORDS);
            for pc in pcs {
                words.extend_from_slice(code(pc as usize));
            }
            ConstraintProgram {
                code: words,
                ..p.clone()
            }
        })
        .collect()
}

/// Whether `p` reads a row selector (is_first_row, is_last_row, is_transition): a kernel whose
/// program reads none skips computing them.
pub fn uses_selectors(p: &ConstraintProgram) -> bool {
    p.code.chunks_exact(INSTR_WORDS).any(|ins| {
        let (_, a, b) = roles(ins[0]);
        [(a, ins[2]), (b, ins[3])]
            .iter()
            .any(|&(kind, w)| kind == 1 && w >> src::SHIFT == src::SEL)
    })
}

/// The most values `p` keeps at once between instructions (base registers, extension registers
/// counted as three): what a compiled kernel must hold in hardware registers (or spill).
pub fn max_live_words(p: &ConstraintProgram) -> usize {
    let mut live = [
        vec![false; p.num_base_regs as usize],
        vec![false; p.num_ext_regs as usize],
    ];
    let (mut words, mut most) = (0usize, 0usize);
    for ins in p.code.chunks_exact(INSTR_WORDS).rev() {
        let (d, a, b) = roles(ins[0]);
        if d != 0
            && ins[1] != NO_REG
            && std::mem::replace(&mut live[d as usize - 1][ins[1] as usize], false)
        {
            words -= if d == 1 { 1 } else { 3 };
        }
        for (kind, w) in [(a, ins[2]), (b, ins[3])] {
            if let Some(r) = reg_of(kind, w)
                && !std::mem::replace(&mut live[kind as usize - 1][r as usize], true)
            {
                words += if kind == 1 { 1 } else { 3 };
            }
        }
        most = most.max(words);
    }
    most
}

/// `p` with every constraint computed on its own: for each constraint in order, every
/// instruction it depends on (in program order), then its accumulation — values several
/// constraints share are recomputed for each (Keccak-f: 1.20× the instructions). The program
/// computes the same sum, but no value lives from one constraint to the next, so compiled
/// straight-line code needs few hardware registers: Keccak-f's schedule keeps up to 259 values
/// (over 500 32-bit registers) alive at once, so its compiled kernel spilled; a compiler fence
/// between constraints (`CJ_FENCE`) keeps NVVM from merging the copies back.
pub fn rematerialize(p: &ConstraintProgram) -> ConstraintProgram {
    let n = p.num_instructions();
    let deps = dependencies(p);
    let code = |pc: usize| &p.code[pc * INSTR_WORDS..(pc + 1) * INSTR_WORDS];
    let mut visited = vec![u32::MAX; n];
    let mut words = Vec::with_capacity(p.code.len() * 5 / 4);
    let mut stack = Vec::new();
    let mut closure = Vec::new();
    for acc in (0..n as u32).filter(|&pc| is_accumulate(code(pc as usize)[0])) {
        closure.clear();
        stack.push(acc);
        while let Some(i) = stack.pop() {
            if visited[i as usize] == acc {
                continue;
            }
            visited[i as usize] = acc;
            closure.push(i);
            stack.extend(deps[i as usize].iter().flatten());
        }
        closure.sort_unstable();
        for &pc in &closure {
            words.extend_from_slice(code(pc as usize));
        }
    }
    ConstraintProgram {
        code: words,
        ..p.clone()
    }
}
