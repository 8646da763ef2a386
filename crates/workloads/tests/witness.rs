//! Every workload's witness satisfies its AIRs and balances its buses; corrupted witnesses and
//! wrong public values do not. Independent of the prover.

use p3_field::PrimeCharacteristicRing;
use rstark_field::{EF, F};
use rstark_workloads::check::{bus_sums, check_constraints, sample_ext};
use rstark_workloads::{Workload, build, shapes, vm};

fn assert_valid(w: &Workload) {
    for t in &w.tables {
        check_constraints(t).unwrap();
    }
    let (alpha, beta) = (sample_ext(1), sample_ext(2));
    for (bus, sum) in bus_sums(&w.tables, alpha, beta) {
        assert_eq!(sum, EF::ZERO, "bus {bus} does not balance");
    }
}

fn assert_shapes_match(name: &str, size: usize, w: &Workload) {
    let shapes = shapes(name, size).unwrap();
    assert_eq!(shapes.len(), w.tables.len());
    for (s, t) in shapes.iter().zip(&w.tables) {
        assert_eq!((s.name, s.air), (t.name, t.air));
        let rows = t.trace.height();
        assert!(s.height.is_none_or(|h| h == rows), "{}", s.name);
    }
}

#[test]
fn valid_witnesses() {
    for (name, size) in [
        ("fib", 1),
        ("fib", 100),
        ("keccak", 1),
        ("keccak", 3),
        ("vm", 1),
        ("vm", 100),
        ("vm", 1000),
        ("multi", 1),
        ("multi", 5),
    ] {
        let w = build(name, size).unwrap();
        assert_valid(&w);
        assert_shapes_match(name, size, &w);
    }
}

#[test]
fn vm_tables_have_different_heights() {
    let w = build("vm", 1 << 10).unwrap();
    let heights: Vec<usize> = w.tables.iter().map(|t| t.trace.height()).collect();
    assert_eq!(heights, vec![1024, 256, 65536]);
    let mem = w.tables[1].trace.host();
    let real = mem
        .rows()
        .filter(|r| r[vm::memory::col::IS_REAL] == F::ONE)
        .count();
    assert_eq!(vm::exec::count_accesses(1024), real);
}

#[test]
fn multi_has_keccak_tables_of_different_heights_and_inputs_and_the_vm() {
    let w = build("multi", 16).unwrap();
    let heights: Vec<usize> = w.tables.iter().map(|t| t.trace.height()).collect();
    // 4 × 16, 4 × 8, 8 × 4 permutations of 24 rows; the VM at 512 steps
    let mut want = [vec![512; 4], vec![256; 4], vec![128; 8]].concat();
    want.extend([512, 128, 65536]);
    assert_eq!(heights, want);
    // the first table is the keccak workload's, the second another statement
    let keccak = build("keccak", 16).unwrap();
    assert_eq!(w.tables[0].trace.host(), keccak.tables[0].trace.host());
    assert_ne!(w.tables[0].trace.host(), w.tables[1].trace.host());
    let generated = rstark_workloads::build_generated("multi", 16).unwrap();
    for (g, h) in generated.tables.iter().zip(&w.tables) {
        assert_eq!((g.name, g.trace.host()), (h.name, h.trace.host()));
    }
}

#[test]
fn bad_names_and_sizes_are_errors() {
    assert!(build("nope", 8).is_err());
    assert!(build("fib", 0).is_err());
    assert!(build("keccak", 1 << 30).is_err());
}

fn corrupt(w: &mut Workload, table: &str, row: usize, column: usize) {
    let t = w.tables.iter_mut().find(|t| t.name == table).unwrap();
    let i = row * t.trace.width() + column;
    t.trace.host_mut().values[i] += F::ONE;
}

fn first_failure(w: &Workload) -> Option<String> {
    w.tables.iter().find_map(|t| check_constraints(t).err())
}

#[test]
fn corrupted_traces_are_rejected() {
    let mut w = build("fib", 64).unwrap();
    corrupt(&mut w, "fib", 10, 1);
    assert!(first_failure(&w).unwrap().starts_with("table fib: row 9"));

    let mut w = build("keccak", 2).unwrap();
    corrupt(&mut w, "keccak", 30, 100);
    assert!(first_failure(&w).unwrap().starts_with("table keccak"));

    // A register changed mid-run.
    let mut w = build("vm", 64).unwrap();
    corrupt(&mut w, "cpu", 20, vm::cpu::col::REG);
    assert!(first_failure(&w).unwrap().starts_with("table cpu: row 19"));

    // The value of an address's last write changed in the memory table: nothing reads it
    // afterwards, so the memory table's constraints hold, but the memory bus does not balance.
    let mut w = build("vm", 64).unwrap();
    let mem = &w.tables[1];
    let row = mem
        .trace
        .host()
        .values
        .chunks_exact(mem.trace.width())
        .position(|r| {
            use vm::memory::col;
            r[col::SAME] == F::ZERO && r[col::IS_WRITE] == F::ONE && r[col::IS_REAL] == F::ONE
        })
        .unwrap();
    corrupt(&mut w, "memory", row, vm::memory::col::VAL);
    assert!(first_failure(&w).is_none());
    let sums = bus_sums(&w.tables, sample_ext(1), sample_ext(2));
    assert_ne!(sums[&vm::BUS_MEMORY], EF::ZERO);

    // A range multiplicity changed: the range bus no longer balances.
    let mut w = build("vm", 64).unwrap();
    corrupt(&mut w, "range", 3, vm::range::col::MULT);
    assert!(first_failure(&w).is_none());
    let sums = bus_sums(&w.tables, sample_ext(1), sample_ext(2));
    assert_ne!(sums[&vm::BUS_RANGE], EF::ZERO);
}

#[test]
fn wrong_public_values_are_rejected() {
    let mut w = build("fib", 64).unwrap();
    w.tables[0].public_values[2] += F::ONE;
    assert!(first_failure(&w).unwrap().starts_with("table fib: row 63"));

    let mut w = build("vm", 64).unwrap();
    w.tables[0].public_values[3] += F::ONE;
    assert!(first_failure(&w).unwrap().starts_with("table cpu: row 63"));
}
