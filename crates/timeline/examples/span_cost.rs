//! What one span costs in each state of the timeline: no subscriber installed (what a proof
//! without `--timeline` runs with), the subscriber installed but not recording (after a
//! recording in the same process), and recording. Multiply by a proof's span count (the
//! `events` of `rstark timeline overhead`) for its cost per proof.
//!
//!     cargo run --release -p rstark-timeline --example span_cost

use std::hint::black_box;
use std::time::Instant;

use rstark_timeline::{Recording, spans};

const N: u64 = 200_000;

/// Nanoseconds per span (enter + exit), best of 5 rounds of N, two shapes: a labelled table
/// span and a plain span with a field.
fn cost() -> (f64, f64) {
    let time = |f: &dyn Fn(u64)| -> f64 {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                for i in 0..N {
                    f(i);
                }
                t.elapsed().as_nanos() as f64 / N as f64
            })
            .fold(f64::INFINITY, f64::min)
    };
    let table = time(&|i| {
        let _t = spans::table("keccak", black_box(i as usize));
    });
    let plain = time(&|i| {
        let _s = tracing::info_span!("quotient rows", rows = black_box(i)).entered();
    });
    (table, plain)
}

fn main() {
    let never = cost();
    let rec = Recording::start().expect("no other recording");
    // Recording every span of a run this long stores N events per shape and round: measured on
    // fewer rounds it would be the same per span.
    let on = cost();
    let t = rec.finish();
    let off = cost();
    println!("ns per span (enter + exit): labelled table span / plain span with a field");
    println!(
        "  no subscriber installed   {:>8.1} / {:>8.1}",
        never.0, never.1
    );
    println!(
        "  installed, not recording  {:>8.1} / {:>8.1}",
        off.0, off.1
    );
    println!("  recording                 {:>8.1} / {:>8.1}", on.0, on.1);
    println!("  ({} events recorded)", t.events.len());
}
