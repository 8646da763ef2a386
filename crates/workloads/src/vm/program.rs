//! The VM's instruction set and the fixed program it runs.
//!
//! Registers r1..r3 are trace columns; r0 is the constant zero. Every instruction reads
//! `a = r[src1]` and `b = r[src2] + imm`, then:
//!
//! | op    | effect                          | memory access      |
//! |-------|---------------------------------|--------------------|
//! | ADD   | r[dst] = a + b                  | none               |
//! | MUL   | r[dst] = a · b                  | none               |
//! | LOAD  | r[dst] = mem[a]                 | read `a`           |
//! | STORE | mem[a] = b                      | write `a`          |
//! | JZ    | if a = 0 { pc = target }        | none               |
//!
//! The program is part of the AIR: the CPU table keeps the pc one-hot, and every decoded field
//! (opcode flags, register selectors, immediates, jump targets) is a linear combination of the
//! one-hot columns with this program's constants as coefficients.

/// An opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Mul,
    Load,
    Store,
    Jz,
}

/// One instruction. Register 0 reads as zero; `dst = 0` writes nothing.
#[derive(Clone, Copy, Debug)]
pub struct Instr {
    pub op: Op,
    pub dst: usize,
    pub src1: usize,
    pub src2: usize,
    pub imm: i64,
    pub target: usize,
}

const fn ins(op: Op, dst: usize, src1: usize, src2: usize, imm: i64, target: usize) -> Instr {
    Instr {
        op,
        dst,
        src1,
        src2,
        imm,
        target,
    }
}

/// Registers held in columns: r1, r2, r3.
pub const NUM_REGS: usize = 3;

/// Memory cells the program cycles through: addresses 1..=CELLS.
pub const CELLS: i64 = 16;

/// The program: walk addresses CELLS..1, updating `mem[p] = mem[p] · r1 + 1` and
/// accumulating into r1; restart at CELLS when the pointer reaches 0. Runs forever.
pub const PROGRAM: [Instr; 10] = [
    ins(Op::Load, 3, 2, 0, 0, 0),    // 0: r3 = mem[r2]
    ins(Op::Mul, 3, 3, 1, 0, 0),     // 1: r3 = r3 · r1
    ins(Op::Add, 3, 3, 0, 1, 0),     // 2: r3 = r3 + 1
    ins(Op::Store, 0, 2, 3, 0, 0),   // 3: mem[r2] = r3
    ins(Op::Add, 1, 1, 3, 0, 0),     // 4: r1 = r1 + r3
    ins(Op::Add, 2, 2, 0, -1, 0),    // 5: r2 = r2 − 1
    ins(Op::Jz, 0, 2, 0, 0, 8),      // 6: if r2 = 0 goto 8
    ins(Op::Jz, 0, 0, 0, 0, 0),      // 7: goto 0
    ins(Op::Add, 2, 0, 0, CELLS, 0), // 8: r2 = CELLS
    ins(Op::Jz, 0, 0, 0, 0, 0),      // 9: goto 0
];

/// Initial values of r1, r2, r3 (the first row of the CPU table).
pub const INITIAL_REGS: [u64; NUM_REGS] = [3, CELLS as u64, 0];
