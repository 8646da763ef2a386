//! The builders on the example AIRs: symbolic degree/count, witness checker, LogUp aux traces.

use rstark_air::examples::{
    FibonacciAir, PowerMapAir, RangeTableAir, RangeUserAir, fibonacci_trace, power_map_trace,
    range_pair_traces,
};
use rstark_air::logup::{LogupChallenges, build_aux_trace};
use rstark_air::{Interactions, constraint_info, first_failing_constraint, symbolic_constraints};
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
