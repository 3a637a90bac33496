//! `onshi key`: the key that turns My Numbers into person references.

use std::path::PathBuf;

use clap::Subcommand;

use crate::CliError;
use crate::config;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new random My Number key (hex) to a file readable only by its owner.
    Generate {
        /// The key file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `onshi key`.
pub fn run(command: KeyCommand) -> Result<(), CliError> {
    let KeyCommand::Generate { out } = command;
    config::write_new_key(&out)?;
    println!(
        "wrote a new My Number key to {} (back it up with the database)",
        out.display()
    );
    Ok(())
}
