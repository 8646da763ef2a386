//! A program as straight-line CUDA C++: the body of one quotient-domain row's evaluation, for a
//! kernel compiled per AIR at run time (rstark-backend-cuda `jit`, NVRTC). Every instruction
//! becomes one statement on named locals (`b7 = gl_mul(MC(12), b3);`); constants become literals;
//! trace, public, challenge and fixed-column reads become the harness's macros
//! (`kernels/constraints_jit.cuh`: `MC`, `MN`, `AC`, `AN`, `PUB`, `CH`, `FX`, and the selectors
//! `S0`–`S2`). The source is a pure function of the program, so it is also the exact cache key of
//! the compiled kernel. The host harness test (tests/kernel_on_host.rs) compiles it with the
//! host C++ compiler and checks it against [`crate::quotient_values`].

use std::fmt::Write;

use crate::error::ConstraintError;
use crate::program::{ConstraintProgram, INSTR_WORDS, NO_REG, op, src};

/// Bumped whenever the generated text's conventions change (it is part of the source, so of
/// every cache key).
pub const CODEGEN_VERSION: u32 = 3;

/// `cj_eval`'s definition for `p` (validated first): `__device__ gl3 cj_eval(const CjRow& r)`
/// returning Σ_i challenge[i] · C_i of one row, as the interpreter computes it. The program may
/// be plain or forwarded ([`ConstraintProgram::forward_results`]).
pub fn cuda_eval_source(p: &ConstraintProgram) -> Result<String, ConstraintError> {
    p.validate()?;
    let n = p.num_instructions();
    // ~60 bytes a statement
    let mut s = String::with_capacity(256 + 64 * n);
    let _ = writeln!(
        s,
        "// rstark constraint program, codegen v{CODEGEN_VERSION}: {n} instructions, {} base and \
         {} extension registers, {} constraints, main width {}, aux width {}, {} preprocessed, \
         {} periodic, {} public values",
        p.num_base_regs,
        p.num_ext_regs,
        p.num_constraints,
        p.main_width,
        p.aux_ext_width,
        p.preprocessed_width,
        p.num_periodic,
        p.num_public_values
    );
    s.push_str("CJ_EVAL_SIGNATURE {\n  CjAcc acc{};\n  u64 last = 0;\n  (void)last;\n");
    declare(&mut s, "u64", 'b', p.num_base_regs);
    declare(&mut s, "gl3", 'e', p.num_ext_regs);
    let base = |w: u32| -> String {
        let i = w & src::INDEX_MASK;
        match w >> src::SHIFT {
            src::REG => format!("b{i}"),
            src::MAIN_CUR => format!("MC({i})"),
            src::MAIN_NEXT => format!("MN({i})"),
            src::PUBLIC => format!("PUB({i})"),
            src::CONST => format!("0x{:x}ull", p.constants[i as usize]),
            src::SEL => format!("S{i}"),
            src::PREV => "last".into(),
            _ => {
                let c = i & src::FIXED_COLUMN_MASK;
                match i >> src::FIXED_KIND_SHIFT {
                    src::FIXED_PREP_CUR => format!("FXC({c})"),
                    src::FIXED_PREP_NEXT => format!("FXN({c})"),
                    _ => format!("FXP({c})"),
                }
            }
        }
    };
    let ext = |w: u32| -> String {
        let i = w & src::INDEX_MASK;
        match w >> src::SHIFT {
            src::EREG => format!("e{i}"),
            src::AUX_CUR => format!("AC({i})"),
            src::AUX_NEXT => format!("AN({i})"),
            _ => format!("CH({i})"),
        }
    };
    for ins in p.code.chunks_exact(INSTR_WORDS) {
        let (opcode, dst, a, b) = (ins[0], ins[1], ins[2], ins[3]);
        let base_result = |s: &mut String, expr: String| {
            // `last` always holds the latest base result (operand source PREV reads it)
            if dst == NO_REG {
                let _ = writeln!(s, "  last = {expr};");
            } else {
                let _ = writeln!(s, "  last = b{dst} = {expr};");
            }
        };
        match opcode {
            op::ADD => base_result(&mut s, format!("gl_add({}, {})", base(a), base(b))),
            op::SUB => base_result(&mut s, format!("gl_sub({}, {})", base(a), base(b))),
            op::MUL => base_result(&mut s, format!("gl_mul({}, {})", base(a), base(b))),
            op::NEG => base_result(&mut s, format!("gl_neg({})", base(a))),
            // CJ_FENCE after a constraint: a compiler fence in rematerialized programs
            // (crate::rematerialize), nothing otherwise
            op::ACC => {
                let _ = writeln!(
                    s,
                    "  cj_acc_base(acc, CH({dst}), {});\n  CJ_FENCE;",
                    base(a)
                );
            }
            op::EACC => {
                let _ = writeln!(s, "  cj_acc_ext(acc, CH({dst}), {});\n  CJ_FENCE;", ext(a));
            }
            op::EADD => {
                let _ = writeln!(s, "  e{dst} = gl3_add({}, {});", ext(a), ext(b));
            }
            op::ESUB => {
                let _ = writeln!(s, "  e{dst} = gl3_sub({}, {});", ext(a), ext(b));
            }
            op::EMUL => {
                let _ = writeln!(s, "  e{dst} = gl3_mul({}, {});", ext(a), ext(b));
            }
            op::EADDB => {
                let _ = writeln!(s, "  e{dst} = cj_addb({}, {});", ext(a), base(b));
            }
            op::ESUBB => {
                let _ = writeln!(s, "  e{dst} = cj_subb({}, {});", ext(a), base(b));
            }
            // op::EMULB (validate refused every other opcode)
            _ => {
                let _ = writeln!(s, "  e{dst} = gl3_scale({}, {});", ext(a), base(b));
            }
        }
    }
    s.push_str("  return cj_acc_done(acc);\n}\n");
    Ok(s)
}

/// `ty p0, p1, …;` in lines of 16 names.
fn declare(s: &mut String, ty: &str, prefix: char, count: u32) {
    for start in (0..count).step_by(16) {
        let names: Vec<String> = (start..count.min(start + 16))
            .map(|i| format!("{prefix}{i}"))
            .collect();
        let _ = writeln!(s, "  {ty} {};", names.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstark_air::examples::FibonacciAir;

    #[test]
    fn every_instruction_is_one_statement_and_the_source_is_deterministic() {
        let p = crate::compile_table(&FibonacciAir, 3).unwrap();
        let a = cuda_eval_source(&p).unwrap();
        assert_eq!(a, cuda_eval_source(&p).unwrap());
        let statements = a
            .lines()
            .filter(|l| {
                l.starts_with("  last = ") || l.starts_with("  cj_acc_") || l.starts_with("  e")
            })
            .count();
        assert_eq!(statements, p.num_instructions());
        assert!(a.contains("CJ_EVAL_SIGNATURE"));
        assert_ne!(a, cuda_eval_source(&p.forward_results()).unwrap());
    }

    #[test]
    fn a_malformed_program_is_refused() {
        let mut p = crate::compile_table(&FibonacciAir, 3).unwrap();
        p.code[0] = 99;
        assert!(cuda_eval_source(&p).is_err());
    }
}
