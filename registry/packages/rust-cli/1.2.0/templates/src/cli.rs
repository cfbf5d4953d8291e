//! Command-line interface definition.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};
use clap_complete::Shell;

/// {{ description }}
#[derive(Debug, Parser)]
#[command(name = "{{ project_name }}", version, about)]
pub struct Cli {
    /// Print more diagnostic output (repeat for more)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Print less output
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of {{ project_name }}.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a greeting
    Greet {
        /// Who to greet
        #[arg(default_value = "world", env = "{{ env_prefix }}_NAME")]
        name: String,

        /// Print the greeting in capital letters
        #[arg(long)]
        shout: bool,
    },
    /// Count lines and words in a file, or in standard input
    Count {
        /// File to read; omit it or pass "-" to read standard input
        path: Option<PathBuf>,
    },
    /// Print shell completions to standard output
    Completions {
        /// Shell to generate completions for
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
