//! Writes each target's seeds to `<dir>/<target>/seed-<n>` for libFuzzer
//! (`scripts/fuzz` runs it before `cargo fuzz run`).

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    for (name, _) in ggen_fuzz::TARGETS {
        let d = dir.join(name);
        std::fs::create_dir_all(&d)?;
        for (i, s) in ggen_fuzz::seeds(name).iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i}")), s)?;
        }
    }
    Ok(())
}
