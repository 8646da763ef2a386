//! The compiled program, interpreted on the CPU, gives exactly `rstark_backend_cpu::quotient_values`
//! on every quotient-domain row: random rows (the quotient is a row-wise function, so rows need
//! not be a valid trace), random α powers, LogUp challenges, claimed sums and public values;
//! several trace sizes and quotient degrees.

use rstark_air::examples::{
    FibonacciAir, PowerMapAir, PreprocessedRangeAir, RangeTableAir, RangeUserAir,
};
use rstark_air::logup::{LogupChallenges, aux_ext_width, num_logup_constraints};
use rstark_air::{BaseAir, Table, constraint_info};
use rstark_backend_cpu::QuotientRows;
use rstark_constraints::program::op;
use rstark_constraints::{
    ConstraintError, ConstraintProgram, INSTR_WORDS, QuotientInputs, compile_table, max_live_words,
    quotient_values, rematerialize, split_program,
};
use rstark_field::{EF, F, PrimeCharacteristicRing, ef_from_base, ef_to_bytes};
use rstark_protocol::{CompositionInputs, PeriodicColumns};
use rstark_workloads::WorkloadAir;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }
    fn f(&mut self) -> F {
        F::new(self.next() % 0xFFFF_FFFF_0000_0001)
    }
    fn fs(&mut self, n: usize) -> Vec<F> {
        (0..n).map(|_| self.f()).collect()
    }
    fn ef(&mut self) -> EF {
        ef_from_base([self.f(), self.f(), self.f()])
    }
}

/// The prover's log quotient degree for `air` (docs/PROTOCOL.md §5.4).
fn log_quotient_degree(air: &dyn Table, publics: usize) -> usize {
    let mut d = constraint_info(air, publics).max_degree;
    if !air.interactions().is_empty() {
        d = d.max(2);
    }
    (d.saturating_sub(1).max(1))
        .next_power_of_two()
        .trailing_zeros() as usize
}

/// Compares the interpreter with the CPU backend on one random instance; returns the program.
fn check(air: &dyn Table, log_n: usize, extra_log_d: usize, seed: u64) -> ConstraintProgram {
    let publics_n = BaseAir::<F>::num_public_values(air);
    let program = compile_table(air, publics_n).expect("compiles");
    program.validate().expect("compiler output is valid");
    let log_d = log_quotient_degree(air, publics_n) + extra_log_d;
    let q = 1usize << (log_n + log_d);
    let mut rng = Rng(seed);
    let width = BaseAir::<F>::width(air);
    let interactions = air.interactions();
    let k = interactions.len();
    let aux_w = 3 * aux_ext_width(k);
    let main = rng.fs(q * width);
    let aux = rng.fs(q * aux_w);
    let prep_w = BaseAir::<F>::preprocessed_width(air);
    let prep = rng.fs(q * prep_w);
    let periodic = PeriodicColumns::new(
        &BaseAir::<F>::periodic_columns(air),
        BaseAir::<F>::num_periodic_columns(air),
        log_n,
    )
    .unwrap();
    let periodic_q = periodic
        .as_ref()
        .map(|p| p.on_quotient_domain(log_n, log_d).unwrap());
    let publics = rng.fs(publics_n);
    let num_air = constraint_info(air, publics_n).num_constraints;
    assert_eq!(program.num_air_constraints, num_air);
    let m = num_air + num_logup_constraints(k);
    let alpha_pows: Vec<EF> = (0..m).map(|_| rng.ef()).collect();
    let logup = LogupChallenges::new(rng.ef(), rng.ef(), &[&interactions]);
    let claimed_sum = rng.ef();

    let inputs = CompositionInputs {
        table: 0,
        air,
        main: &(),
        aux: (k > 0).then_some(&()),
        preprocessed: (prep_w > 0).then_some(&()),
        periodic: periodic.as_ref(),
        log_height: log_n,
        log_blowup: log_d,
        log_quotient_degree: log_d,
        public_values: &publics,
        alpha_pows: &alpha_pows,
        num_air_constraints: num_air,
        interactions: &interactions,
        logup: &logup,
        claimed_sum,
    };
    let rows = QuotientRows {
        main: &main,
        main_width: width,
        aux: (k > 0).then_some(&aux[..]),
        aux_width: aux_w,
        preprocessed: (prep_w > 0).then_some(&prep[..]),
        preprocessed_width: prep_w,
    };
    let want = rstark_backend_cpu::quotient_values(&inputs, &rows).unwrap();

    let challenges = program
        .challenge_values(&alpha_pows, logup.alpha, &logup.beta_pows, claimed_sum)
        .unwrap();
    // the program as compiled, and with results forwarded (what the GPU kernel v2 runs)
    let forwarded = program.forward_results();
    forwarded.validate().expect("forwarded program is valid");
    assert!(forwarded.num_base_regs <= program.num_base_regs);
    let inputs = QuotientInputs {
        main: &main,
        main_width: width,
        aux: (k > 0).then_some(&aux[..]),
        aux_width: aux_w,
        preprocessed: (prep_w > 0).then_some(&prep[..]),
        preprocessed_width: prep_w,
        periodic: periodic_q.as_ref().map_or(&[], |t| &t.values[..]),
        periodic_rows: periodic_q.as_ref().map_or(0, |t| t.height()),
        log_height: log_n,
        log_quotient_degree: log_d,
        public_values: &publics,
    };
    // and with every constraint computed on its own (what a large program's compiled kernel runs)
    let remat = rematerialize(&program);
    remat.validate().expect("rematerialized program is valid");
    assert!(max_live_words(&remat) <= max_live_words(&program).max(1));
    for p in [&program, &forwarded, &remat] {
        check_values(p, &inputs, &challenges, &want);
        check_slices(p, &inputs, &challenges, &want);
    }
    program
}

/// The program cut into slices (what the GPU compiles one kernel each for): every slice is a
/// valid program within its size (or one constraint), and their values add up to the whole's.
fn check_slices(
    program: &ConstraintProgram,
    inputs: &QuotientInputs<'_>,
    challenges: &[EF],
    want: &[EF],
) {
    let n = program.num_instructions();
    for max in [1, n / 3 + 1, n] {
        let slices = split_program(program, max);
        assert!(max < n || slices.len() == 1);
        let mut sum = vec![EF::ZERO; want.len()];
        for s in &slices {
            s.validate().expect("a slice is a valid program");
            let accs = s
                .code
                .chunks_exact(INSTR_WORDS)
                .filter(|i| matches!(i[0], op::ACC | op::EACC))
                .count();
            assert!(s.num_instructions() <= max || accs == 1);
            assert!(accs > 0, "no empty slice");
            for (t, v) in sum
                .iter_mut()
                .zip(quotient_values(s, inputs, challenges).unwrap())
            {
                *t += v;
            }
        }
        let accs = |p: &ConstraintProgram| {
            p.code
                .chunks_exact(INSTR_WORDS)
                .filter(|i| matches!(i[0], op::ACC | op::EACC))
                .count()
        };
        assert_eq!(
            slices.iter().map(accs).sum::<usize>(),
            accs(program),
            "each constraint in one slice"
        );
        let (got, want): (Vec<_>, Vec<_>) = sum
            .iter()
            .zip(want)
            .map(|(g, w)| (ef_to_bytes(*g), ef_to_bytes(*w)))
            .unzip();
        assert!(got == want, "{} slices of at most {max}", slices.len());
    }
}

fn check_values(
    program: &ConstraintProgram,
    inputs: &QuotientInputs<'_>,
    challenges: &[EF],
    want: &[EF],
) {
    let (log_n, log_d) = (inputs.log_height, inputs.log_quotient_degree);
    let q = 1usize << (log_n + log_d);
    let got = quotient_values(program, inputs, challenges).unwrap();
    assert_eq!(got.len(), q);
    for (j, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            ef_to_bytes(*g),
            ef_to_bytes(*w),
            "row {j} of {q} (log_n {log_n}, log_d {log_d})"
        );
    }
}

#[test]
fn fibonacci_matches_cpu() {
    for log_n in 1..=6 {
        for extra in 0..=1 {
            check(
                &FibonacciAir,
                log_n,
                extra,
                10 * log_n as u64 + extra as u64,
            );
        }
    }
}

#[test]
fn range_pair_logup_matches_cpu() {
    for log_n in [1, 2, 5, 7] {
        let p = check(&RangeTableAir, log_n, 0, 100 + log_n as u64);
        assert_eq!(p.aux_ext_width, 2);
        check(&RangeUserAir, log_n, 0, 200 + log_n as u64);
        check(&RangeUserAir, log_n, 2, 300 + log_n as u64);
    }
}

#[test]
fn preprocessed_and_periodic_columns_match_cpu() {
    for log_n in [2, 3, 6] {
        for extra in 0..=2 {
            let air = PreprocessedRangeAir { log_height: log_n };
            let p = check(&air, log_n, extra, 700 + 10 * log_n as u64 + extra as u64);
            assert_eq!((p.preprocessed_width, p.num_periodic), (2, 2));
        }
    }
}

#[test]
fn power_map_high_degree_matches_cpu() {
    for e in [3, 5, 9] {
        check(&PowerMapAir { exponent: e }, 3, 0, 400 + e);
    }
}

#[test]
fn vm_workload_tables_match_cpu() {
    for air in [
        WorkloadAir::VmCpu,
        WorkloadAir::VmMemory,
        WorkloadAir::VmRange,
    ] {
        for log_n in [1, 3, 5] {
            check(&air, log_n, 0, 500 + log_n as u64);
        }
    }
}

#[test]
fn keccak_matches_cpu() {
    for log_n in [1, 2, 3] {
        let p = check(&WorkloadAir::Keccak, log_n, 0, 600 + log_n as u64);
        let s = p.stats();
        println!(
            "keccak: {} constraints, {} instructions ({} base, {} ext), {} constants, \
             {} base registers, {} ext registers",
            s.constraints,
            s.instructions,
            s.base_ops,
            s.ext_ops,
            s.constants,
            s.base_regs,
            s.ext_regs
        );
    }
}

#[test]
fn bad_inputs_are_errors() {
    let program = compile_table(&RangeUserAir, 0).unwrap();
    let m = program.num_constraints;
    let ef = EF::from(F::new(3));
    assert!(matches!(
        program.challenge_values(&vec![ef; m - 1], ef, &[ef], ef),
        Err(ConstraintError::Input(_))
    ));
    assert!(matches!(
        program.challenge_values(&vec![ef; m], ef, &[], ef),
        Err(ConstraintError::Input(_))
    ));
    let chal = program
        .challenge_values(&vec![ef; m], ef, &[ef], ef)
        .unwrap();
    let main = vec![F::new(1); 8 * 2];
    let aux = vec![F::new(0); 8 * 6];
    let inputs = |main: &'_ [F], aux: Option<&'_ [F]>| {
        let inp = QuotientInputs {
            main,
            main_width: 2,
            aux,
            aux_width: 6,
            log_height: 2,
            log_quotient_degree: 1,
            public_values: &[],
            ..Default::default()
        };
        quotient_values(&program, &inp, &chal).map(|_| ())
    };
    assert!(inputs(&main, Some(&aux)).is_ok());
    // Missing aux, short aux, short main.
    assert!(inputs(&main, None).is_err());
    assert!(inputs(&main, Some(&aux[..6])).is_err());
    assert!(inputs(&main[..10], Some(&aux)).is_err());
    // A corrupted program is an error, never a panic.
    let ok = QuotientInputs {
        main: &main,
        main_width: 2,
        aux: Some(&aux),
        aux_width: 6,
        log_height: 2,
        log_quotient_degree: 1,
        public_values: &[],
        ..Default::default()
    };
    let mut bad = program.clone();
    bad.code[0] = 99;
    assert!(bad.validate().is_err());
    assert!(matches!(
        quotient_values(&bad, &ok, &chal),
        Err(ConstraintError::Malformed(_))
    ));
    let mut bad = program.clone();
    bad.code[2] = u32::MAX;
    assert!(bad.validate().is_err());
    assert!(quotient_values(&bad, &ok, &chal).is_err());
}
