//! {{ description }}

mod cli;

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};

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
        Command::Greet { name, shout } => {
            let greeting = format!("Hello, {name}!");
            if shout {
                println!("{}", greeting.to_uppercase());
            } else {
                println!("{greeting}");
            }
        }
        Command::Count { path } => {
            let reader: Box<dyn BufRead> = match path {
                Some(path) if path.as_os_str() != "-" => {
                    let file = File::open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    Box::new(BufReader::new(file))
                }
                _ => Box::new(io::stdin().lock()),
            };
            let (lines, words) = count(reader)?;
            if cli.verbose > 0 {
                eprintln!("read {lines} lines");
            }
            if !cli.quiet {
                println!("{lines} lines, {words} words");
            }
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            let name = command.get_name().to_owned();
            clap_complete::generate(shell, &mut command, name, &mut io::stdout());
        }
    }
    Ok(())
}

/// Counts lines and whitespace-separated words.
fn count(reader: impl BufRead) -> Result<(usize, usize)> {
    let mut lines = 0;
    let mut words = 0;
    for line in reader.lines() {
        let line = line.context("failed to read input")?;
        lines += 1;
        words += line.split_whitespace().count();
    }
    Ok((lines, words))
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_lines_and_words() {
        assert_eq!(count("one two\nthree\n".as_bytes()).unwrap(), (2, 3));
        assert_eq!(count("".as_bytes()).unwrap(), (0, 0));
    }
}
