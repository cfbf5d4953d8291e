//! Every fuzz target on a deterministic stream of mutated seeds, on stable:
//! the bounded fuzz run every `cargo test` (and so `.ci/run`) makes, whatever
//! the toolchain. `scripts/fuzz` runs the same targets under libFuzzer.

use ggen_fuzz::{Mutator, TARGETS, seeds};

/// Mutated inputs per target (`GGEN_FUZZ_REPLAY` to change).
fn rounds() -> usize {
    std::env::var("GGEN_FUZZ_REPLAY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

#[test]
fn every_target_survives_mutated_seeds() {
    let n = rounds();
    let mut total = 0;
    for (i, (name, check)) in TARGETS.iter().enumerate() {
        let seeds = seeds(name);
        assert!(!seeds.is_empty(), "{name} has no seeds");
        for s in &seeds {
            check(s);
        }
        let mut m = Mutator::new(0x9e37_79b9_7f4a_7c15 ^ i as u64);
        // Each round mutates the previous input some of the time, so mutations
        // stack up and wander away from the seeds.
        let mut current = seeds[0].clone();
        let rounds = if name.starts_with("archive") {
            n / 3
        } else {
            n
        };
        for r in 0..rounds {
            current = if r % 4 == 0 {
                m.mutate(&seeds[r % seeds.len()])
            } else {
                m.mutate(&current)
            };
            check(&current);
            total += 1;
        }
        eprintln!("{name}: {} inputs", rounds + seeds.len());
    }
    eprintln!("{total} mutated inputs across {} targets", TARGETS.len());
}

#[test]
fn the_hostile_strings_from_the_issues_are_literal_in_sparql() {
    for s in [
        "x\") } ; DROP ALL ; #",
        "\u{0}",
        &"}".repeat(10_000),
        "\\\"\\\\\"",
    ] {
        ggen_fuzz::sparql_literal(s.as_bytes());
        ggen_fuzz::query(s.as_bytes());
    }
}
