//! `onshi gen`: synthetic data for demos, tests and benchmarks.

use std::path::PathBuf;

use clap::Subcommand;

use onshi_domain::Clock;

use crate::CliError;
use crate::import::Encoding;
use crate::synth;

#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// Write a synthetic member file: households, dependants, changes of insurer, valid check digits.
    ///
    /// Example: onshi gen members --count 1000000 --out members.csv
    Members {
        /// How many member rows.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Output encoding.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
        /// Random seed (same seed, same file).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write the synthetic insurers (number,name) that `gen members` uses.
    Insurers {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `onshi gen`.
pub fn run(command: GenCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        GenCommand::Members {
            count,
            out,
            encoding,
            seed,
        } => {
            let today = onshi_domain::japan::japan_date(clock.now());
            let n = synth::write_csv(synth::Population::new(count, seed, today), &out, encoding)?;
            println!("wrote {n} members to {}", out.display());
            Ok(())
        }
        GenCommand::Insurers { out } => {
            let mut text = String::from("number,name\n");
            for (n, name) in synth::insurers() {
                text.push_str(&format!("{n},{name}\n"));
            }
            std::fs::write(&out, text).map_err(|e| CliError::Io(out.display().to_string(), e))?;
            println!(
                "wrote {} insurers to {}",
                synth::insurers().len(),
                out.display()
            );
            Ok(())
        }
    }
}
