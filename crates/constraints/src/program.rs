//! The compiled form of one table's constraints: a straight-line register program.
//!
//! Every instruction is four `u32` words `[opcode, dst, a, b]` (16 bytes, one vector load on a
//! GPU). Operands are not registers only: the top three bits of an operand word say where its
//! value comes from (a register, a main column of the current or next row, a public value, the
//! constant pool, a row selector, a preprocessed or periodic column, an aux column, a
//! challenge), the low 29 bits are the index.
//! Loads are therefore folded into the operands that use them: a trace value costs no
//! instruction and no register.
//!
//! There are two register files, base (`F`, one word) and extension (`EF`, three words), and one
//! extension accumulator. `ACC`/`EACC` add `challenge[dst] · value` to the accumulator; the
//! challenge index of the i-th constraint is i, so `challenge[i] = α^i`. See
//! docs/ARCHITECTURE.md ("Constraint compilation").

use rstark_field::{EF, F, PrimeCharacteristicRing};

use crate::error::ConstraintError;

/// Words per instruction.
pub const INSTR_WORDS: usize = 4;

/// Opcodes (word 0 of an instruction).
pub mod op {
    /// base `dst = a + b`
    pub const ADD: u32 = 0;
    /// base `dst = a − b`
    pub const SUB: u32 = 1;
    /// base `dst = a · b`
    pub const MUL: u32 = 2;
    /// base `dst = −a`
    pub const NEG: u32 = 3;
    /// `acc += challenge[dst] · a` (a base)
    pub const ACC: u32 = 4;
    /// ext `dst = a + b`
    pub const EADD: u32 = 8;
    /// ext `dst = a − b`
    pub const ESUB: u32 = 9;
    /// ext `dst = a · b`
    pub const EMUL: u32 = 10;
    /// ext `dst = a + b` (b base)
    pub const EADDB: u32 = 11;
    /// ext `dst = a − b` (b base)
    pub const ESUBB: u32 = 12;
    /// ext `dst = a · b` (b base)
    pub const EMULB: u32 = 13;
    /// `acc += challenge[dst] · a` (a ext)
    pub const EACC: u32 = 14;
}

/// Operand sources (top three bits of an operand word).
pub mod src {
    pub const SHIFT: u32 = 29;
    pub const INDEX_MASK: u32 = (1 << SHIFT) - 1;
    // Base operands.
    /// base register
    pub const REG: u32 = 0;
    /// main column, current row
    pub const MAIN_CUR: u32 = 1;
    /// main column, next row
    pub const MAIN_NEXT: u32 = 2;
    /// public value
    pub const PUBLIC: u32 = 3;
    /// constant pool entry
    pub const CONST: u32 = 4;
    /// row selector: 0 = is_first_row, 1 = is_last_row, 2 = is_transition
    pub const SEL: u32 = 5;
    /// the previous instruction's result (index 0; that instruction must be a base operation):
    /// a GPU evaluator keeps it in a hardware register ([`ConstraintProgram::forward_results`])
    pub const PREV: u32 = 6;
    /// a fixed column: the index's top two bits ([`FIXED_KIND_SHIFT`]) say which —
    /// [`FIXED_PREP_CUR`] / [`FIXED_PREP_NEXT`] a preprocessed column of the current / next row,
    /// [`FIXED_PERIODIC`] a periodic column — and the low 27 bits the column
    pub const FIXED: u32 = 7;
    pub const FIXED_KIND_SHIFT: u32 = 27;
    pub const FIXED_COLUMN_MASK: u32 = (1 << FIXED_KIND_SHIFT) - 1;
    pub const FIXED_PREP_CUR: u32 = 0;
    pub const FIXED_PREP_NEXT: u32 = 1;
    pub const FIXED_PERIODIC: u32 = 2;
    // Extension operands.
    /// extension register
    pub const EREG: u32 = 0;
    /// aux extension column, current row
    pub const AUX_CUR: u32 = 1;
    /// aux extension column, next row
    pub const AUX_NEXT: u32 = 2;
    /// challenge (runtime EF input)
    pub const CHAL: u32 = 3;

    /// Packs a source and an index into an operand word.
    pub const fn operand(kind: u32, index: u32) -> u32 {
        (kind << SHIFT) | index
    }

    /// A [`FIXED`] operand: fixed-column kind and column.
    pub const fn fixed(kind: u32, column: u32) -> u32 {
        operand(FIXED, (kind << FIXED_KIND_SHIFT) | column)
    }
}

/// `dst` of a base operation whose result is only read through [`src::PREV`]: no register is
/// written.
pub const NO_REG: u32 = u32::MAX;

/// Selector indices (operands `SEL`).
pub const SEL_FIRST: u32 = 0;
pub const SEL_LAST: u32 = 1;
pub const SEL_TRANSITION: u32 = 2;

/// One table's compiled constraints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstraintProgram {
    /// Instructions, [`INSTR_WORDS`] words each.
    pub code: Vec<u32>,
    /// Canonical base-field constants (operands `CONST`).
    pub constants: Vec<u64>,
    pub num_base_regs: u32,
    pub num_ext_regs: u32,
    /// Main trace width (base columns).
    pub main_width: usize,
    /// Preprocessed columns (base).
    pub preprocessed_width: usize,
    /// Periodic columns.
    pub num_periodic: usize,
    /// Aux trace width in extension columns (K + 1, or 0 without interactions).
    pub aux_ext_width: usize,
    /// Public values the program reads (at least).
    pub num_public_values: usize,
    /// The AIR's own constraints (first in α-power order).
    pub num_air_constraints: usize,
    /// AIR + LogUp constraints.
    pub num_constraints: usize,
    /// Longest interaction tuple (number of β powers the program reads).
    pub num_beta_pows: usize,
}

/// Counts worth reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramStats {
    pub instructions: usize,
    pub base_ops: usize,
    pub ext_ops: usize,
    pub constants: usize,
    pub base_regs: u32,
    pub ext_regs: u32,
    pub constraints: usize,
}

impl ConstraintProgram {
    pub fn num_instructions(&self) -> usize {
        self.code.len() / INSTR_WORDS
    }

    pub fn stats(&self) -> ProgramStats {
        let ext_ops = self
            .code
            .chunks_exact(INSTR_WORDS)
            .filter(|i| i[0] >= op::EADD)
            .count();
        ProgramStats {
            instructions: self.num_instructions(),
            base_ops: self.num_instructions() - ext_ops,
            ext_ops,
            constants: self.constants.len(),
            base_regs: self.num_base_regs,
            ext_regs: self.num_ext_regs,
            constraints: self.num_constraints,
        }
    }

    /// Challenge index of the LogUp α (the bus challenge).
    pub fn logup_alpha_index(&self) -> usize {
        self.num_constraints
    }

    /// Challenge index of β^{j+1}.
    pub fn beta_index(&self, j: usize) -> usize {
        self.num_constraints + 1 + j
    }

    /// Challenge index of the table's claimed LogUp sum.
    pub fn claimed_sum_index(&self) -> usize {
        self.num_constraints + 1 + self.num_beta_pows
    }

    /// Number of challenge values the program reads.
    pub fn num_challenges(&self) -> usize {
        self.claimed_sum_index() + 1
    }

    /// The runtime challenge vector: α^0 … α^{M−1} (one per constraint, AIR's then LogUp's), the
    /// LogUp α, β^1 … β^L, the claimed sum.
    pub fn challenge_values(
        &self,
        alpha_pows: &[EF],
        logup_alpha: EF,
        beta_pows: &[EF],
        claimed_sum: EF,
    ) -> Result<Vec<EF>, ConstraintError> {
        if alpha_pows.len() != self.num_constraints {
            return Err(ConstraintError::Input(format!(
                "{} powers of α for {} constraints",
                alpha_pows.len(),
                self.num_constraints
            )));
        }
        if beta_pows.len() < self.num_beta_pows {
            return Err(ConstraintError::Input(format!(
                "{} powers of β, the interactions need {}",
                beta_pows.len(),
                self.num_beta_pows
            )));
        }
        let mut v = Vec::with_capacity(self.num_challenges());
        v.extend_from_slice(alpha_pows);
        v.push(logup_alpha);
        v.extend_from_slice(&beta_pows[..self.num_beta_pows]);
        v.push(claimed_sum);
        Ok(v)
    }

    /// Checks every instruction: known opcode, operand sources and indices within the program's
    /// widths, register counts, constant pool and challenges. A program that passes cannot make
    /// an evaluator (the GPU kernel trusts it) read or write out of bounds.
    pub fn validate(&self) -> Result<(), ConstraintError> {
        let bad = |pc: usize, what: &str| {
            Err(ConstraintError::Malformed(format!(
                "instruction {pc}: {what}"
            )))
        };
        if !self.code.len().is_multiple_of(INSTR_WORDS) {
            return Err(ConstraintError::Malformed("code length".into()));
        }
        if self.constants.iter().any(|&c| c >= 0xFFFF_FFFF_0000_0001) {
            return Err(ConstraintError::Malformed("non-canonical constant".into()));
        }
        let is_base_op = |o: u32| matches!(o, op::ADD | op::SUB | op::MUL | op::NEG);
        let mut prev_is_base = false;
        let base_ok = |w: u32, prev_is_base: bool| {
            let i = (w & src::INDEX_MASK) as usize;
            match w >> src::SHIFT {
                src::PREV => i == 0 && prev_is_base,
                src::REG => i < self.num_base_regs as usize,
                src::MAIN_CUR | src::MAIN_NEXT => i < self.main_width,
                src::PUBLIC => i < self.num_public_values,
                src::CONST => i < self.constants.len(),
                src::SEL => i < 3,
                src::FIXED => {
                    let c = i & src::FIXED_COLUMN_MASK as usize;
                    match i as u32 >> src::FIXED_KIND_SHIFT {
                        src::FIXED_PREP_CUR | src::FIXED_PREP_NEXT => c < self.preprocessed_width,
                        src::FIXED_PERIODIC => c < self.num_periodic,
                        _ => false,
                    }
                }
                _ => false,
            }
        };
        let ext_ok = |w: u32| {
            let i = (w & src::INDEX_MASK) as usize;
            match w >> src::SHIFT {
                src::EREG => i < self.num_ext_regs as usize,
                src::AUX_CUR | src::AUX_NEXT => i < self.aux_ext_width,
                src::CHAL => i < self.num_challenges(),
                _ => false,
            }
        };
        for (pc, ins) in self.code.chunks_exact(INSTR_WORDS).enumerate() {
            let (opcode, dst, a, b) = (ins[0], ins[1], ins[2], ins[3]);
            let p = prev_is_base;
            let base_dst = dst < self.num_base_regs || dst == NO_REG;
            let ok = match opcode {
                op::ADD | op::SUB | op::MUL => base_dst && base_ok(a, p) && base_ok(b, p),
                op::NEG => base_dst && base_ok(a, p),
                op::ACC => (dst as usize) < self.num_challenges() && base_ok(a, p),
                op::EACC => (dst as usize) < self.num_challenges() && ext_ok(a),
                op::EADD | op::ESUB | op::EMUL => dst < self.num_ext_regs && ext_ok(a) && ext_ok(b),
                op::EADDB | op::ESUBB | op::EMULB => {
                    dst < self.num_ext_regs && ext_ok(a) && base_ok(b, p)
                }
                _ => return bad(pc, "unknown opcode"),
            };
            prev_is_base = is_base_op(opcode);
            if !ok {
                return bad(pc, "operand or register out of range");
            }
        }
        Ok(())
    }

    /// The constant pool as field elements.
    pub fn constant_values(&self) -> Vec<F> {
        self.constants.iter().map(|&c| F::from_u64(c)).collect()
    }
}
