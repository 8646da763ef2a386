//! The builders on the example AIRs: symbolic degree/count, witness checker, LogUp aux traces.

use rstark_air::examples::{
    FibonacciAir, PowerMapAir, RangeTableAir, RangeUserAir, fibonacci_trace, power_map_trace,
    range_pair_traces,
};
use rstark_air::logup::{LogupChallenges, build_aux_trace};
use rstark_air::{
    Interactions, constraint_info, failing_constraint_at, first_failing_constraint,
    symbolic_constraints,
};
use rstark_field::{EF, F, PrimeCharacteristicRing};

#[test]
fn symbolic_counts_and_degrees() {
    let fib = constraint_info(&FibonacciAir, 3);
    assert_eq!(fib.num_constraints, 5);
    assert_eq!(fib.max_degree, 2);
    for e in [2u64, 3, 5] {
        let info = constraint_info(&PowerMapAir { exponent: e }, 1);
        assert_eq!(info.num_constraints, 2);
        assert_eq!(info.max_degree, e as usize);
    }
    assert_eq!(symbolic_constraints(&RangeUserAir, 0).len(), 1);
}

#[test]
fn checker_finds_first_failure() {
    let (mut values, publics) = fibonacci_trace(8, 2, 3);
    assert_eq!(
        first_failing_constraint(&FibonacciAir, &values, 2, &publics),
        None
    );
    values[2 * 6] += F::ONE; // a at row 6: row 5's a' = b fails (constraint 2)
    let f = first_failing_constraint(&FibonacciAir, &values, 2, &publics).unwrap();
    assert_eq!((f.row, f.constraint), (5, 2));
    let (values, mut publics) = power_map_trace(3, 8, 4);
    publics[0] += F::ONE;
    let f = first_failing_constraint(&PowerMapAir { exponent: 3 }, &values, 1, &publics).unwrap();
    assert_eq!((f.row, f.constraint), (0, 0));
}

/// `failing_constraint_at` on one row pair names what the whole-trace check names, with the
/// trace domain's selectors at the first, last and middle rows (the device check relies on it).
#[test]
fn failing_constraint_at_agrees_with_the_whole_trace_check() {
    let n = 8;
    for (cell, bump_public) in [(None, false), (Some(0), false), (Some(2 * 6 + 1), false)]
        .into_iter()
        .chain([(None, true)])
        .chain((0..2 * n).map(|c| (Some(c), false)))
    {
        let (mut values, mut publics) = fibonacci_trace(n, 2, 3);
        if let Some(c) = cell {
            values[c] += F::ONE;
        }
        if bump_public {
            publics[2] += F::ONE; // the last row's b: only the last row fails
        }
        let row_fail = |row: usize| {
            let next = (row + 1) % n;
            failing_constraint_at(
                &FibonacciAir,
                &values[2 * row..2 * row + 2],
                &values[2 * next..2 * next + 2],
                &publics,
                row,
                n,
            )
        };
        let first = (0..n).find_map(|row| row_fail(row).map(|c| (row, c)));
        let whole = first_failing_constraint(&FibonacciAir, &values, 2, &publics)
            .map(|f| (f.row, f.constraint));
        assert_eq!(first, whole, "cell {cell:?}, public bumped {bump_public}");
        assert_eq!(whole.is_some(), cell.is_some() || bump_public);
    }
    // the last row's check reads row 0 as its next row but no transition constraint
    let (values, publics) = fibonacci_trace(n, 2, 3);
    assert_eq!(
        failing_constraint_at(
            &FibonacciAir,
            &values[2 * (n - 1)..],
            &values[..2],
            &publics,
            n - 1,
            n
        ),
        None
    );
}

#[test]
fn logup_sums_cancel_across_the_pair() {
    let (table, user) = range_pair_traces(16, 64);
    let (ti, ui) = (RangeTableAir.interactions(), RangeUserAir.interactions());
    let ch = LogupChallenges::new(
        EF::from(F::from_u64(123_456_789)) + EF::ONE,
        EF::from(F::from_u64(987_654_321)),
        &[&ti, &ui],
    );
    let (aux_t, sum_t) = build_aux_trace(&ti, &ch, &table, 2).unwrap();
    let (aux_u, sum_u) = build_aux_trace(&ui, &ch, &user, 2).unwrap();
    assert_eq!(aux_t.len(), 16 * 2);
    assert_eq!(aux_u.len(), 64 * 2);
    assert_ne!(sum_t, EF::ZERO);
    assert_eq!(sum_t + sum_u, EF::ZERO);
    // The running sum's last entry is the claimed sum.
    assert_eq!(aux_u[64 * 2 - 1], sum_u);
}

/// 13 constraints (two full fold batches of 6 and one partial) of degree ≤ 3 on 5 columns.
struct ManyConstraints;

impl<T> p3_air::BaseAir<T> for ManyConstraints {
    fn width(&self) -> usize {
        5
    }
}

impl<AB: p3_air::AirBuilder> p3_air::Air<AB> for ManyConstraints {
    fn eval(&self, builder: &mut AB) {
        use p3_air::WindowAccess;
        let main = builder.main();
        let l: Vec<AB::Expr> = main.current_slice().iter().map(|&v| v.into()).collect();
        let n: Vec<AB::Expr> = main.next_slice().iter().map(|&v| v.into()).collect();
        for i in 0..13 {
            let (a, b, c) = (
                l[i % 5].clone(),
                n[(i + 1) % 5].clone(),
                l[(i + 3) % 5].clone(),
            );
            builder.assert_zero(a * b.clone() * c + b + AB::Expr::from_u64(i as u64));
        }
    }
}

#[test]
fn packed_folder_matches_row_folder() {
    use p3_field::PackedValue;
    use rstark_air::{FoldCoeffs, PackedF, PackedRowFolder, RowFolder, Selectors};
    use rstark_field::ef_from_base;
    let lanes = PackedF::WIDTH;
    let rows: Vec<Vec<F>> = (0..2 * lanes)
        .map(|r| {
            (0..5)
                .map(|c| F::from_u64((r * 7919 + c * 104729) as u64 + (1 << 63)))
                .collect()
        })
        .collect();
    let alpha = ef_from_base([
        F::from_u64(3),
        F::from_u64(u64::MAX - 5),
        F::from_u64(1 << 40),
    ]);
    let pows: Vec<EF> = (0..13)
        .scan(EF::ONE, |p, _| {
            let v = *p;
            *p *= alpha;
            Some(v)
        })
        .collect();
    // All 13 powers, then fewer powers than constraints (the rest count 0).
    for num_pows in [13, 8, 0] {
        let pows = &pows[..num_pows];
        let coeffs = FoldCoeffs::new(pows);
        let local: Vec<PackedF> = (0..5).map(|c| PackedF::from_fn(|l| rows[l][c])).collect();
        let next: Vec<PackedF> = (0..5)
            .map(|c| PackedF::from_fn(|l| rows[lanes + l][c]))
            .collect();
        let one = Selectors {
            is_first_row: PackedF::ONE,
            is_last_row: PackedF::ONE,
            is_transition: PackedF::ONE,
        };
        let mut packed = PackedRowFolder::new(&local, &next, &[], one, &coeffs);
        p3_air::Air::eval(&ManyConstraints, &mut packed);
        assert_eq!(packed.num_constraints(), 13);
        let acc = packed.finish();
        for l in 0..lanes {
            let sel = Selectors {
                is_first_row: F::ONE,
                is_last_row: F::ONE,
                is_transition: F::ONE,
            };
            let mut row = RowFolder::new(&rows[l], &rows[lanes + l], &[], sel, pows, false);
            p3_air::Air::eval(&ManyConstraints, &mut row);
            let got = ef_from_base([
                acc[0].as_slice()[l],
                acc[1].as_slice()[l],
                acc[2].as_slice()[l],
            ]);
            assert_eq!(got, row.acc, "lane {l}, {num_pows} powers");
        }
    }
}

#[test]
fn preprocessed_and_periodic_columns_in_the_builders() {
    use rstark_air::examples::{PreprocessedRangeAir, preprocessed_range_traces};
    use rstark_air::{AirTable, BaseAir, FixedColumns, first_failing_constraint_with};
    let air = PreprocessedRangeAir { log_height: 4 };
    let info = constraint_info(&air, 1);
    assert_eq!((info.num_constraints, info.max_degree), (4, 3));
    // AirTable forwards everything, interactions aside.
    let wrapped = AirTable::new(air);
    assert_eq!(constraint_info(&wrapped, 1), info);
    assert_eq!(BaseAir::<F>::preprocessed_width(&wrapped), 2);
    assert_eq!(BaseAir::<F>::periodic_columns(&wrapped).len(), 2);
    assert!(wrapped.interactions().is_empty());
    assert_eq!(air.interactions().len(), 1);

    let (main, publics, _) = preprocessed_range_traces(4, 8, 5);
    let prep = BaseAir::<F>::preprocessed_trace(&air).unwrap().values;
    let periodic = BaseAir::<F>::periodic_columns(&air).into_owned();
    let fixed = |prep: &[F]| {
        first_failing_constraint_with(
            &air,
            &main,
            4,
            &publics,
            &FixedColumns {
                preprocessed: prep,
                preprocessed_width: 2,
                periodic: &periodic,
            },
        )
    };
    assert_eq!(fixed(&prep), None);
    // k at row 3 changed: row 3's transition (constraint 2) fails.
    let mut bad = prep.clone();
    bad[2 * 3 + 1] += F::ONE;
    let f = fixed(&bad).unwrap();
    assert_eq!((f.row, f.constraint), (3, 2));
    // r at row 6 changed: row 5's transition reads it as r' (constraint 2), before row 6's v = r.
    let mut bad = prep.clone();
    bad[2 * 6] += F::ONE;
    let f = fixed(&bad).unwrap();
    assert_eq!((f.row, f.constraint), (5, 2));
}
