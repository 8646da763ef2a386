//! The CPU interpreter of a [`ConstraintProgram`], and the quotient Q = Σ α^i C_i / Z_H on the
//! quotient domain computed with it (the reference the GPU kernel is checked against; equal to
//! `rstark_backend_cpu::quotient_values`).

use p3_field::{Field, PrimeField64, batch_multiplicative_inverse};
use rayon::prelude::*;
use rstark_field::{EF, F, GENERATOR, PrimeCharacteristicRing, ef_from_base, omega};

use crate::error::ConstraintError;
use crate::program::{ConstraintProgram, INSTR_WORDS, NO_REG, op, src};

/// The values one row of the program reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct RowInputs<'a> {
    pub main_cur: &'a [F],
    pub main_next: &'a [F],
    /// Preprocessed columns of the current / next row.
    pub prep_cur: &'a [F],
    pub prep_next: &'a [F],
    /// Periodic columns' values at this row.
    pub periodic: &'a [F],
    /// Aux extension columns of the current / next row.
    pub aux_cur: &'a [EF],
    pub aux_next: &'a [EF],
    pub public_values: &'a [F],
    /// is_first_row, is_last_row, is_transition.
    pub selectors: [F; 3],
    pub challenges: &'a [EF],
}

/// Register files, reused across rows.
pub struct Registers {
    base: Vec<F>,
    ext: Vec<EF>,
}

impl Registers {
    pub fn new(p: &ConstraintProgram) -> Self {
        Self {
            base: vec![F::ZERO; p.num_base_regs as usize],
            ext: vec![EF::ZERO; p.num_ext_regs as usize],
        }
    }
}

impl ConstraintProgram {
    /// Checks that `rows` matches the program (so evaluation cannot index out of bounds).
    fn check_row(&self, r: &RowInputs<'_>, constants: &[F]) -> Result<(), ConstraintError> {
        let bad = |what: &str| Err(ConstraintError::Input(what.to_string()));
        if r.main_cur.len() < self.main_width || r.main_next.len() < self.main_width {
            return bad("main row shorter than the program's main width");
        }
        if r.aux_cur.len() < self.aux_ext_width || r.aux_next.len() < self.aux_ext_width {
            return bad("aux row shorter than the program's aux width");
        }
        if r.prep_cur.len() < self.preprocessed_width || r.prep_next.len() < self.preprocessed_width
        {
            return bad("preprocessed row shorter than the program's preprocessed width");
        }
        if r.periodic.len() < self.num_periodic {
            return bad("fewer periodic values than the program reads");
        }
        if r.public_values.len() < self.num_public_values {
            return bad("fewer public values than the program reads");
        }
        if r.challenges.len() < self.num_challenges() {
            return bad("fewer challenges than the program reads");
        }
        if constants.len() != self.constants.len() {
            return bad("constant pool mismatch");
        }
        Ok(())
    }

    /// Σ α^i C_i on one row (before the division by Z_H).
    pub fn eval_row(
        &self,
        r: &RowInputs<'_>,
        constants: &[F],
        regs: &mut Registers,
    ) -> Result<EF, ConstraintError> {
        self.check_row(r, constants)?;
        // `prev`: the previous instruction's result when it was a base operation (src::PREV)
        let base = |w: u32, regs: &Registers, prev: Option<F>| -> Option<F> {
            let i = (w & src::INDEX_MASK) as usize;
            match w >> src::SHIFT {
                src::REG => regs.base.get(i).copied(),
                src::PREV if i == 0 => prev,
                src::MAIN_CUR => r.main_cur.get(i).copied(),
                src::MAIN_NEXT => r.main_next.get(i).copied(),
                src::PUBLIC => r.public_values.get(i).copied(),
                src::CONST => constants.get(i).copied(),
                src::SEL => r.selectors.get(i).copied(),
                src::FIXED => {
                    let c = i & src::FIXED_COLUMN_MASK as usize;
                    match i as u32 >> src::FIXED_KIND_SHIFT {
                        src::FIXED_PREP_CUR => r.prep_cur.get(c).copied(),
                        src::FIXED_PREP_NEXT => r.prep_next.get(c).copied(),
                        src::FIXED_PERIODIC => r.periodic.get(c).copied(),
                        _ => None,
                    }
                }
                _ => None,
            }
        };
        let ext = |w: u32, regs: &Registers| -> Option<EF> {
            let i = (w & src::INDEX_MASK) as usize;
            match w >> src::SHIFT {
                src::EREG => regs.ext.get(i).copied(),
                src::AUX_CUR => r.aux_cur.get(i).copied(),
                src::AUX_NEXT => r.aux_next.get(i).copied(),
                src::CHAL => r.challenges.get(i).copied(),
                _ => None,
            }
        };
        let malformed = |pc: usize| ConstraintError::Malformed(format!("instruction {pc}"));
        let mut acc = EF::ZERO;
        let mut prev: Option<F> = None;
        for (pc, ins) in self.code.chunks_exact(INSTR_WORDS).enumerate() {
            let (opcode, dst, a, b) = (ins[0], ins[1] as usize, ins[2], ins[3]);
            let bad = || malformed(pc);
            let p = prev.take();
            let base = |w: u32, regs: &Registers| base(w, regs, p);
            match opcode {
                op::ADD | op::SUB | op::MUL | op::NEG => {
                    let x = base(a, regs).ok_or_else(bad)?;
                    let v = match opcode {
                        op::NEG => -x,
                        _ => {
                            let y = base(b, regs).ok_or_else(bad)?;
                            match opcode {
                                op::ADD => x + y,
                                op::SUB => x - y,
                                _ => x * y,
                            }
                        }
                    };
                    if ins[1] != NO_REG {
                        *regs.base.get_mut(dst).ok_or_else(bad)? = v;
                    }
                    prev = Some(v);
                }
                op::ACC => {
                    let x = base(a, regs).ok_or_else(bad)?;
                    acc += *r.challenges.get(dst).ok_or_else(bad)? * x;
                }
                op::EACC => {
                    let x = ext(a, regs).ok_or_else(bad)?;
                    acc += *r.challenges.get(dst).ok_or_else(bad)? * x;
                }
                op::EADD | op::ESUB | op::EMUL => {
                    let x = ext(a, regs).ok_or_else(bad)?;
                    let y = ext(b, regs).ok_or_else(bad)?;
                    let v = match opcode {
                        op::EADD => x + y,
                        op::ESUB => x - y,
                        _ => x * y,
                    };
                    *regs.ext.get_mut(dst).ok_or_else(bad)? = v;
                }
                op::EADDB | op::ESUBB | op::EMULB => {
                    let x = ext(a, regs).ok_or_else(bad)?;
                    let y = base(b, regs).ok_or_else(bad)?;
                    let v = match opcode {
                        op::EADDB => x + y,
                        op::ESUBB => x - y,
                        _ => x * y,
                    };
                    *regs.ext.get_mut(dst).ok_or_else(bad)? = v;
                }
                _ => return Err(bad()),
            }
        }
        Ok(acc)
    }
}

/// Per-domain values of the quotient evaluation (docs/PROTOCOL.md §5.4), shared by the CPU
/// interpreter and the GPU kernel's host wrapper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotientFrame {
    pub log_height: usize,
    pub log_quotient_degree: usize,
    /// g (the coset shift).
    pub shift: F,
    /// ω_{n+d}: the quotient domain's generator.
    pub omega_q: F,
    /// ω_n^{−1}.
    pub omega_inv: F,
    /// N^{−1}.
    pub n_inv: F,
    /// Z_H on the quotient coset takes D values: zh[k] = g^N·ω_d^k − 1, k < D.
    pub zh: Vec<F>,
    pub zh_inv: Vec<F>,
}

impl QuotientFrame {
    pub fn new(log_height: usize, log_quotient_degree: usize) -> Result<Self, ConstraintError> {
        if log_height == 0 || log_height + log_quotient_degree > 32 || log_quotient_degree > 4 {
            return Err(ConstraintError::Input(format!(
                "unsupported quotient domain: log height {log_height}, log degree {log_quotient_degree}"
            )));
        }
        let d = log_quotient_degree;
        let g_n = GENERATOR.exp_power_of_2(log_height);
        let zh: Vec<F> = (0..1u64 << d)
            .map(|k| g_n * omega(d).exp_u64(k) - F::ONE)
            .collect();
        let zh_inv = zh.iter().map(|v| v.inverse()).collect();
        Ok(Self {
            log_height,
            log_quotient_degree: d,
            shift: GENERATOR,
            omega_q: omega(log_height + d),
            omega_inv: omega(log_height).inverse(),
            n_inv: F::from_u64(1u64 << log_height).inverse(),
            zh,
            zh_inv,
        })
    }

    pub fn log_size(&self) -> usize {
        self.log_height + self.log_quotient_degree
    }

    /// The frame as the GPU kernel reads it ([`FRAME_WORDS`] canonical words): shift, ω_{n+d},
    /// ω_n^{−1}, N^{−1}, zh[0..16], zh_inv[0..16] (unused entries zero).
    pub fn to_words(&self) -> Vec<u64> {
        let mut w = vec![0u64; FRAME_WORDS];
        w[0] = self.shift.as_canonical_u64();
        w[1] = self.omega_q.as_canonical_u64();
        w[2] = self.omega_inv.as_canonical_u64();
        w[3] = self.n_inv.as_canonical_u64();
        for (k, (z, zi)) in self.zh.iter().zip(&self.zh_inv).enumerate() {
            w[4 + k] = z.as_canonical_u64();
            w[4 + MAX_PARTS + k] = zi.as_canonical_u64();
        }
        w
    }
}

/// Largest quotient factor D (docs/PROTOCOL.md §5.4).
pub const MAX_PARTS: usize = 16;
/// Words of [`QuotientFrame::to_words`].
pub const FRAME_WORDS: usize = 4 + 2 * MAX_PARTS;

/// Main, aux and preprocessed rows on the quotient domain (2^{n+d} rows each, bit-reversed,
/// row-major; aux as flattened extension columns, 3 base words each). Longer matrices are fine:
/// only the first 2^{n+d} rows are read. The periodic columns on the quotient domain come as the
/// table `rstark_protocol::PeriodicColumns::on_quotient_domain` makes: `periodic_rows` rows in
/// natural order, quotient row j reading row bitrev(j) mod `periodic_rows`.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuotientInputs<'a> {
    pub main: &'a [F],
    pub main_width: usize,
    pub aux: Option<&'a [F]>,
    pub aux_width: usize,
    pub preprocessed: Option<&'a [F]>,
    pub preprocessed_width: usize,
    pub periodic: &'a [F],
    pub periodic_rows: usize,
    pub log_height: usize,
    pub log_quotient_degree: usize,
    pub public_values: &'a [F],
}

fn bit_reverse(i: usize, bits: usize) -> usize {
    if bits == 0 {
        0
    } else {
        i.reverse_bits() >> (usize::BITS as usize - bits)
    }
}

/// Q(x_j) for every row j of the quotient domain (bit-reversed order), by interpreting `program`.
/// `challenges` as [`ConstraintProgram::challenge_values`] lays them out.
pub fn quotient_values(
    program: &ConstraintProgram,
    inp: &QuotientInputs<'_>,
    challenges: &[EF],
) -> Result<Vec<EF>, ConstraintError> {
    let frame = QuotientFrame::new(inp.log_height, inp.log_quotient_degree)?;
    let log_q = frame.log_size();
    let q = 1usize << log_q;
    let num_parts = 1usize << frame.log_quotient_degree;
    if inp.main_width != program.main_width || inp.main.len() < q * inp.main_width {
        return Err(ConstraintError::Input(
            "main rows do not match the program".into(),
        ));
    }
    let aux_ext = program.aux_ext_width;
    let aux = match (aux_ext, inp.aux) {
        (0, _) => None,
        (k, Some(a)) if inp.aux_width == 3 * k && a.len() >= q * 3 * k => Some(a),
        _ => {
            return Err(ConstraintError::Input(
                "aux rows do not match the program".into(),
            ));
        }
    };
    let pw = program.preprocessed_width;
    let prep = match (pw, inp.preprocessed) {
        (0, _) => &[][..],
        (w, Some(p)) if inp.preprocessed_width == w && p.len() >= q * w => p,
        _ => {
            return Err(ConstraintError::Input(
                "preprocessed rows do not match the program".into(),
            ));
        }
    };
    let nper = program.num_periodic;
    if nper > 0
        && (!inp.periodic_rows.is_power_of_two()
            || inp.periodic_rows > q
            || inp.periodic.len() != inp.periodic_rows * nper)
    {
        return Err(ConstraintError::Input(
            "periodic table does not match the program".into(),
        ));
    }
    let constants = program.constant_values();
    // Natural-order points g·ω^i, then selectors' denominators, as the CPU backend does.
    let mut natural = Vec::with_capacity(q);
    let mut x = frame.shift;
    for _ in 0..q {
        natural.push(x);
        x *= frame.omega_q;
    }
    let inv_xm1 =
        batch_multiplicative_inverse(&natural.iter().map(|&x| x - F::ONE).collect::<Vec<_>>());
    let inv_xmw = batch_multiplicative_inverse(
        &natural
            .iter()
            .map(|&x| x - frame.omega_inv)
            .collect::<Vec<_>>(),
    );
    let aux_row = |row: usize, out: &mut Vec<EF>| {
        out.clear();
        if let Some(a) = aux {
            let s = &a[row * 3 * aux_ext..(row + 1) * 3 * aux_ext];
            out.extend(s.chunks_exact(3).map(|c| ef_from_base([c[0], c[1], c[2]])));
        }
    };
    let w = inp.main_width;
    let mut out = vec![EF::ZERO; q];
    out.par_chunks_mut(256).enumerate().try_for_each(
        |(chunk, vals)| -> Result<(), ConstraintError> {
            let mut regs = Registers::new(program);
            let (mut ac, mut an) = (Vec::new(), Vec::new());
            for (i, v) in vals.iter_mut().enumerate() {
                let j = chunk * 256 + i;
                let k = bit_reverse(j, log_q);
                let nj = bit_reverse((k + num_parts) & (q - 1), log_q);
                let part = k & (num_parts - 1);
                let zh = frame.zh[part];
                let x = natural[k];
                aux_row(j, &mut ac);
                aux_row(nj, &mut an);
                let per = k & inp.periodic_rows.wrapping_sub(1);
                let row = RowInputs {
                    main_cur: &inp.main[j * w..(j + 1) * w],
                    main_next: &inp.main[nj * w..(nj + 1) * w],
                    prep_cur: &prep[j * pw..(j + 1) * pw],
                    prep_next: &prep[nj * pw..(nj + 1) * pw],
                    periodic: inp
                        .periodic
                        .get(per * nper..(per + 1) * nper)
                        .unwrap_or(&[]),
                    aux_cur: &ac,
                    aux_next: &an,
                    public_values: inp.public_values,
                    selectors: [
                        zh * inv_xm1[k] * frame.n_inv,
                        zh * inv_xmw[k] * frame.omega_inv * frame.n_inv,
                        x - frame.omega_inv,
                    ],
                    challenges,
                };
                *v = program.eval_row(&row, &constants, &mut regs)? * frame.zh_inv[part];
            }
            Ok(())
        },
    )?;
    Ok(out)
}
