//! {{ description }}

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// {{ description }}
#[derive(Debug, Parser)]
#[command(name = "{{ project_name }}", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a greeting
    Greet {
        /// Who to greet
        #[arg(default_value = "world")]
        name: String,
    },
    /// Count lines and words in a file
    Count {
        /// File to read
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Greet { name } => println!("Hello, {name}!"),
        Command::Count { path } => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let (lines, words) = count(&text);
            println!("{lines} lines, {words} words");
        }
    }
    Ok(())
}

/// Returns the number of lines and whitespace-separated words in `text`.
fn count(text: &str) -> (usize, usize) {
    (text.lines().count(), text.split_whitespace().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn counts_lines_and_words() {
        assert_eq!(count("one two\nthree\n"), (2, 3));
        assert_eq!(count(""), (0, 0));
    }
}
