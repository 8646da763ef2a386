//! Runs the program and lays out the three traces.

use std::collections::HashMap;

use p3_field::{Field, PrimeCharacteristicRing, PrimeField64};
use rstark_field::F;

use super::program::{INITIAL_REGS, NUM_REGS, Op, PROGRAM};
use super::range::{LIMB_BITS, RANGE_ROWS};
use super::{cpu, memory, range};

/// One memory access of the CPU.
#[derive(Clone, Copy, Debug)]
struct Access {
    addr: u64,
    ts: u64,
    val: F,
    is_write: bool,
}

/// The three traces (row-major values) and the CPU's public values.
pub struct VmTraces {
    pub cpu: Vec<F>,
    pub memory: Vec<F>,
    pub range: Vec<F>,
    pub cpu_public_values: Vec<F>,
}

/// Smallest height of the CPU and memory tables.
pub const MIN_ROWS: usize = 8;

/// Rows of the CPU table for `steps` steps: the next power of two (the program runs on; it has
/// no halt), at least [`MIN_ROWS`].
pub fn cpu_rows(steps: usize) -> usize {
    steps.next_power_of_two().max(MIN_ROWS)
}

/// Rows of the memory table for `accesses` accesses.
pub fn memory_rows(accesses: usize) -> usize {
    accesses.next_power_of_two().max(MIN_ROWS)
}

/// The machine state between two steps.
struct Machine {
    regs: [F; NUM_REGS + 1],
    pc: usize,
    mem: HashMap<u64, F>,
}

/// What one step did: everything a CPU row records.
struct Step {
    pc: usize,
    regs: [F; NUM_REGS + 1],
    a: F,
    b: F,
    res: F,
    mem_val: F,
    taken: bool,
    access: Option<bool>, // Some(is_write) for LOAD/STORE
}

impl Machine {
    fn new() -> Self {
        let mut regs = [F::ZERO; NUM_REGS + 1];
        for (k, &v) in INITIAL_REGS.iter().enumerate() {
            regs[k + 1] = F::from_u64(v);
        }
        Self {
            regs,
            pc: 0,
            mem: HashMap::new(),
        }
    }

    fn step(&mut self) -> Step {
        let instr = PROGRAM[self.pc];
        let a = self.regs[instr.src1];
        let b = self.regs[instr.src2] + F::from_i64(instr.imm);
        let mut mem_val = F::ZERO;
        let res = match instr.op {
            Op::Add => a + b,
            Op::Mul => a * b,
            Op::Load => {
                mem_val = self
                    .mem
                    .get(&a.as_canonical_u64())
                    .copied()
                    .unwrap_or(F::ZERO);
                mem_val
            }
            Op::Store => {
                mem_val = b;
                self.mem.insert(a.as_canonical_u64(), b);
                F::ZERO
            }
            Op::Jz => F::ZERO,
        };
        let taken = instr.op == Op::Jz && a.is_zero();
        let step = Step {
            pc: self.pc,
            regs: self.regs,
            a,
            b,
            res,
            mem_val,
            taken,
            access: matches!(instr.op, Op::Load | Op::Store).then_some(instr.op == Op::Store),
        };
        if instr.dst != 0 {
            self.regs[instr.dst] = res;
        }
        self.pc = if taken { instr.target } else { self.pc + 1 };
        step
    }
}

/// Memory accesses made in the first `rows` steps.
pub fn count_accesses(rows: usize) -> usize {
    let mut machine = Machine::new();
    (0..rows)
        .filter(|_| machine.step().access.is_some())
        .count()
}

/// Runs `rows` steps from the initial registers and builds all traces.
pub fn generate(rows: usize) -> Result<VmTraces, String> {
    let mut machine = Machine::new();
    let mut cpu = vec![F::ZERO; rows * cpu::col::WIDTH];
    let mut accesses = Vec::new();
    for (clk, row) in cpu.chunks_exact_mut(cpu::col::WIDTH).enumerate() {
        let s = machine.step();
        if let Some(is_write) = s.access {
            accesses.push(Access {
                addr: s.a.as_canonical_u64(),
                ts: clk as u64,
                val: s.mem_val,
                is_write,
            });
        }
        row[cpu::col::CLK] = F::from_usize(clk);
        row[cpu::col::PC] = F::from_usize(s.pc);
        row[cpu::col::REG..cpu::col::REG + NUM_REGS].copy_from_slice(&s.regs[1..]);
        row[cpu::col::A] = s.a;
        row[cpu::col::B] = s.b;
        row[cpu::col::RES] = s.res;
        row[cpu::col::MEM_VAL] = s.mem_val;
        row[cpu::col::INV] = s.a.try_inverse().unwrap_or(F::ZERO);
        row[cpu::col::Z] = F::from_bool(s.a.is_zero());
        row[cpu::col::TAKEN] = F::from_bool(s.taken);
        row[cpu::col::ONEHOT + s.pc] = F::ONE;
    }
    let last = &cpu[(rows - 1) * cpu::col::WIDTH..];
    let mut cpu_public_values: Vec<F> = INITIAL_REGS.iter().map(|&v| F::from_u64(v)).collect();
    cpu_public_values.extend_from_slice(&last[cpu::col::REG..cpu::col::REG + NUM_REGS]);

    let (memory, limbs) = memory_trace(accesses)?;
    let range = range_trace(&limbs);
    Ok(VmTraces {
        cpu,
        memory,
        range,
        cpu_public_values,
    })
}

/// The sorted memory trace and every limb it sends to the range table.
fn memory_trace(mut accesses: Vec<Access>) -> Result<(Vec<F>, Vec<u64>), String> {
    use memory::col;
    accesses.sort_by_key(|x| (x.addr, x.ts));
    let Some(&last) = accesses.last() else {
        return Err("the VM made no memory access".into());
    };
    let height = memory_rows(accesses.len());
    // Padding: reads of the last address at the following timestamps (multiplicity 0).
    let padding = (1..=(height - accesses.len()) as u64).map(|i| Access {
        ts: last.ts + i,
        is_write: false,
        ..last
    });
    let rows: Vec<(Access, bool)> = accesses
        .iter()
        .map(|&x| (x, true))
        .chain(padding.map(|x| (x, false)))
        .collect();

    let mut trace = vec![F::ZERO; height * col::WIDTH];
    let mut limbs = Vec::with_capacity(2 * height);
    for (i, (row, &(x, is_real))) in trace.chunks_exact_mut(col::WIDTH).zip(&rows).enumerate() {
        let (same, gap) = match rows.get(i + 1) {
            Some(&(y, _)) if y.addr == x.addr => (true, y.ts - x.ts - 1),
            Some(&(y, _)) => (false, y.addr - x.addr - 1),
            None => (false, 0),
        };
        if gap >> (2 * LIMB_BITS) != 0 {
            return Err(format!(
                "memory row {i}: ordering gap {gap} exceeds 32 bits"
            ));
        }
        let (lo, hi) = (gap & ((1 << LIMB_BITS) - 1), gap >> LIMB_BITS);
        limbs.extend_from_slice(&[lo, hi]);
        row[col::ADDR] = F::from_u64(x.addr);
        row[col::TS] = F::from_u64(x.ts);
        row[col::VAL] = x.val;
        row[col::IS_WRITE] = F::from_bool(x.is_write);
        row[col::IS_REAL] = F::from_bool(is_real);
        row[col::SAME] = F::from_bool(same);
        row[col::LO] = F::from_u64(lo);
        row[col::HI] = F::from_u64(hi);
    }
    Ok((trace, limbs))
}

/// The range table with the multiplicity of each looked-up limb.
fn range_trace(limbs: &[u64]) -> Vec<F> {
    let mut counts = vec![0u64; RANGE_ROWS];
    for &l in limbs {
        counts[l as usize] += 1;
    }
    let mut trace = Vec::with_capacity(RANGE_ROWS * range::col::WIDTH);
    for (v, &m) in counts.iter().enumerate() {
        trace.extend_from_slice(&[F::from_usize(v), F::from_u64(m)]);
    }
    trace
}
