//! The CPU table: one row per executed instruction.
//!
//! Public values: `[r1, r2, r3]` on the first row, then `[r1, r2, r3]` on the last row.
//! It sends every memory access `(addr, value, timestamp, is_write)` on the memory bus.

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use rstark_air::{Interaction, Interactions, LinearCombination};
use rstark_field::F;

use super::BUS_MEMORY;
use super::program::{Instr, NUM_REGS, Op, PROGRAM};

/// Column indices of the CPU table.
pub mod col {
    use super::{NUM_REGS, PROGRAM};
    /// Timestamp: the row index.
    pub const CLK: usize = 0;
    pub const PC: usize = 1;
    /// r1..r3 live at `REG + 0 .. REG + 2`.
    pub const REG: usize = 2;
    /// First operand `r[src1]` (the address of LOAD/STORE, the tested value of JZ).
    pub const A: usize = REG + NUM_REGS;
    /// Second operand `r[src2] + imm` (the stored value of STORE).
    pub const B: usize = A + 1;
    /// The value written to `r[dst]`.
    pub const RES: usize = B + 1;
    /// The value read or written by LOAD/STORE.
    pub const MEM_VAL: usize = RES + 1;
    /// `1/a` when a ≠ 0.
    pub const INV: usize = MEM_VAL + 1;
    /// 1 when a = 0, else 0.
    pub const Z: usize = INV + 1;
    /// 1 when this row is a JZ whose jump is taken.
    pub const TAKEN: usize = Z + 1;
    /// One column per program slot; exactly one is 1 (the pc).
    pub const ONEHOT: usize = TAKEN + 1;
    pub const WIDTH: usize = ONEHOT + PROGRAM.len();
}

/// Public values of the CPU table.
pub const CPU_PUBLIC_VALUES: usize = 2 * NUM_REGS;

/// The CPU AIR of the VM (the program is built in: see [`super::program`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuAir;

impl<T> BaseAir<T> for CpuAir {
    fn width(&self) -> usize {
        col::WIDTH
    }

    fn num_public_values(&self) -> usize {
        CPU_PUBLIC_VALUES
    }
}

/// Σ_slot coeff(slot, instr) · onehot[slot], a decoded field of the current instruction.
fn decode<AB: AirBuilder>(onehot: &[AB::Var], coeff: impl Fn(usize, &Instr) -> i64) -> AB::Expr {
    let mut acc = AB::Expr::ZERO;
    for (slot, (instr, &h)) in PROGRAM.iter().zip(onehot).enumerate() {
        match coeff(slot, instr) {
            0 => {}
            1 => acc += h.into(),
            c => acc += h.into() * AB::F::from_i64(c),
        }
    }
    acc
}

/// The same decoded field as an affine form over the trace columns (for bus interactions).
fn decode_lc(coeff: impl Fn(&Instr) -> i64) -> LinearCombination {
    let terms = PROGRAM
        .iter()
        .enumerate()
        .filter_map(|(slot, instr)| match coeff(instr) {
            0 => None,
            c => Some((col::ONEHOT + slot, F::from_i64(c))),
        })
        .collect();
    LinearCombination {
        terms,
        constant: F::ZERO,
    }
}

fn is_op(op: Op) -> impl Fn(usize, &Instr) -> i64 {
    move |_, instr| (instr.op == op) as i64
}

impl<AB: AirBuilder> Air<AB> for CpuAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (local, next) = (main.current_slice(), main.next_slice());
        let pv: Vec<AB::PublicVar> = builder.public_values().to_vec();
        let onehot = &local[col::ONEHOT..col::WIDTH];
        let reg = |row: &[AB::Var], k: usize| -> AB::Expr {
            if k == 0 {
                AB::Expr::ZERO
            } else {
                row[col::REG + k - 1].into()
            }
        };
        let (a, b, res, mem_val) = (
            local[col::A],
            local[col::B],
            local[col::RES],
            local[col::MEM_VAL],
        );
        let (inv, z, taken) = (local[col::INV], local[col::Z], local[col::TAKEN]);

        // The pc is one-hot over the program's slots.
        let mut onehot_sum = AB::Expr::ZERO;
        for &h in onehot {
            builder.assert_bool(h);
            onehot_sum += h.into();
        }
        builder.assert_one(onehot_sum);
        builder.assert_eq(local[col::PC], decode::<AB>(onehot, |slot, _| slot as i64));

        // Decode.
        let is_add = decode::<AB>(onehot, is_op(Op::Add));
        let is_mul = decode::<AB>(onehot, is_op(Op::Mul));
        let is_load = decode::<AB>(onehot, is_op(Op::Load));
        let is_store = decode::<AB>(onehot, is_op(Op::Store));
        let is_jz = decode::<AB>(onehot, is_op(Op::Jz));
        let mut a_expr = AB::Expr::ZERO;
        let mut b_expr = decode::<AB>(onehot, |_, i| i.imm);
        for k in 1..=NUM_REGS {
            a_expr += decode::<AB>(onehot, |_, i| (i.src1 == k) as i64) * reg(local, k);
            b_expr += decode::<AB>(onehot, |_, i| (i.src2 == k) as i64) * reg(local, k);
        }
        builder.assert_eq(a, a_expr);
        builder.assert_eq(b, b_expr);

        // Execute.
        let result = is_add * (a + b) + is_mul * (a * b) + is_load * mem_val;
        builder.assert_eq(res, result);
        builder.assert_zero(is_store * (mem_val - b));

        // Zero test of `a` for JZ.
        builder.assert_zero(a * z);
        builder.assert_zero(z + a * inv - AB::Expr::ONE);
        builder.assert_eq(taken, is_jz * z);

        // Transitions: registers, pc, clock.
        for k in 1..=NUM_REGS {
            let dst = decode::<AB>(onehot, |_, i| (i.dst == k) as i64);
            let updated = reg(local, k) + dst * (res.into() - reg(local, k));
            builder.when_transition().assert_eq(reg(next, k), updated);
        }
        let pc = local[col::PC];
        let target = decode::<AB>(onehot, |_, i| i.target as i64);
        let fallthrough = pc + AB::Expr::ONE;
        let next_pc = fallthrough.clone() + taken * (target - fallthrough);
        builder.when_transition().assert_eq(next[col::PC], next_pc);
        builder
            .when_transition()
            .assert_eq(next[col::CLK], local[col::CLK] + AB::Expr::ONE);

        // Boundaries: the clock and pc start at 0, registers match the public values.
        builder.when_first_row().assert_zero(local[col::CLK]);
        builder.when_first_row().assert_zero(pc);
        for k in 1..=NUM_REGS {
            builder.when_first_row().assert_eq(reg(local, k), pv[k - 1]);
            builder
                .when_last_row()
                .assert_eq(reg(local, k), pv[NUM_REGS + k - 1]);
        }
    }
}

impl Interactions for CpuAir {
    fn interactions(&self) -> Vec<Interaction> {
        let is_load = decode_lc(|i| (i.op == Op::Load) as i64);
        let is_store = decode_lc(|i| (i.op == Op::Store) as i64);
        let mut is_access = is_load;
        is_access.terms.extend(is_store.terms.iter().cloned());
        vec![Interaction::send(
            BUS_MEMORY,
            vec![
                LinearCombination::column(col::A),
                LinearCombination::column(col::MEM_VAL),
                LinearCombination::column(col::CLK),
                is_store,
            ],
            is_access,
        )]
    }
}
