//! Turns each command-line argument into a slug.
//!
//! ```sh
//! cargo run --example basic -- "Hello, World!" "Rust 2024"
//! ```

use {{ crate_name }}::Slug;

fn main() {
    for arg in std::env::args().skip(1) {
        match Slug::parse(&arg) {
            Ok(slug) => println!("{slug}"),
            Err(err) => eprintln!("{arg:?}: {err}"),
        }
    }
}
