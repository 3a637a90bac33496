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
        /// The demo's nine insurers, or the national mix (1,400 insurers, 49,234
        /// workplaces; write them with `gen insurers` and `gen employers` of the same scale).
        #[arg(long, value_enum, default_value_t = synth::Scale::Demo)]
        scale: synth::Scale,
    },
    /// Write checkup archives for the members `gen members` writes with the same --count,
    /// --seed and day: 特定健診 of members aged 40–74 and employer checkups of employees under
    /// 40, over the last --years fiscal years, one archive per insurer, year and chunk.
    ///
    /// Example: onshi gen members --count 100000 --out m.csv && onshi gen checkups --count 100000 --out checkups/
    Checkups {
        /// How many member rows (as given to `gen members`).
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        /// Folder for the archives (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Fiscal years, ending with the current one.
        #[arg(long, default_value_t = 3)]
        years: u32,
        /// The most checkups in one archive.
        #[arg(long, default_value_t = 50_000)]
        per_archive: u32,
        /// Random seed (as given to `gen members`).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The scale given to `gen members`.
        #[arg(long, value_enum, default_value_t = synth::Scale::Demo)]
        scale: synth::Scale,
    },
    /// Write the synthetic insurers (number,name) that `gen members` uses, for
    /// `onshi insurer add --from`.
    ///
    /// Example: onshi gen insurers --scale national --out insurers.csv
    Insurers {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// The scale given to `gen members`.
        #[arg(long, value_enum, default_value_t = synth::Scale::Demo)]
        scale: synth::Scale,
    },
    /// Write the workplaces (insurer,code,name,industry,prefecture) of the synthetic
    /// population's employees, for `onshi employer add --from`: at demo scale the largest
    /// eight of each employee insurer (those `onshi demo` registers), nationally all of them.
    ///
    /// Example: onshi gen employers --scale national --out employers.csv
    Employers {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// The scale given to `gen members`.
        #[arg(long, value_enum, default_value_t = synth::Scale::Demo)]
        scale: synth::Scale,
    },
    /// Write the national facility master and its adoption on the seed's date (2020-12-13):
    /// 228,280 facilities (8,281 hospitals, 89,151 medical clinics, 70,984 dental clinics,
    /// 59,864 pharmacies) spread over the prefectures by population, 44,466 of them having
    /// applied for card readers and 71,963 with a portal account, as the seed's table gives
    /// them. Two files: facilities.csv (for `onshi facility import`) and adoption.csv (for
    /// `onshi facility adoption`).
    ///
    /// Example: onshi gen facilities --out-dir master/
    Facilities {
        /// Folder for the two files (created if missing).
        #[arg(long)]
        out_dir: PathBuf,
        /// Random seed (same seed, same files).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Writes the synthetic facility master and adoption files into `dir`; returns their paths.
pub fn write_facilities(dir: &std::path::Path, seed: u64) -> Result<(PathBuf, PathBuf), CliError> {
    use crate::synth_facilities as sf;
    std::fs::create_dir_all(dir).map_err(|e| CliError::Io(dir.display().to_string(), e))?;
    let all = sf::facilities(seed);
    let master = dir.join("facilities.csv");
    let adoption = dir.join("adoption.csv");
    crate::facilities::write_csv(
        &master,
        &crate::facilities::MASTER_COLUMNS,
        sf::master_rows(&all),
    )?;
    crate::facilities::write_csv(
        &adoption,
        &crate::facilities::ADOPTION_COLUMNS,
        sf::adoption_rows(&all),
    )?;
    Ok((master, adoption))
}

/// Runs `onshi gen`.
pub fn run(command: GenCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        GenCommand::Members {
            count,
            out,
            encoding,
            seed,
            scale,
        } => {
            let today = onshi_domain::japan::japan_date(clock.now());
            let n = synth::write_csv(
                synth::Population::of_scale(count, seed, today, scale),
                &out,
                encoding,
            )?;
            println!("wrote {n} members to {}", out.display());
            Ok(())
        }
        GenCommand::Checkups {
            count,
            out,
            years,
            per_archive,
            seed,
            scale,
        } => {
            let today = onshi_domain::japan::japan_date(clock.now());
            let rows = synth::Population::of_scale(count, seed, today, scale);
            let written = crate::synth_checkups::write_archives(
                rows,
                &out,
                seed,
                today,
                years,
                per_archive,
                |n| eprint!("\r{n} checkups written"),
            )?;
            eprintln!();
            println!(
                "wrote {} checkups ({} employer checkups under 40) in {} archives to {}",
                written.checkups,
                written.employer_checkups,
                written.archives.len(),
                out.display()
            );
            Ok(())
        }
        GenCommand::Insurers { out, scale } => {
            let insurers = synth::synth_insurers(scale);
            let mut text = String::from("number,name\n");
            for i in &insurers {
                text.push_str(&format!("{},{}\n", i.number, i.name));
            }
            std::fs::write(&out, text).map_err(|e| CliError::Io(out.display().to_string(), e))?;
            println!("wrote {} insurers to {}", insurers.len(), out.display());
            Ok(())
        }
        GenCommand::Employers { out, scale } => {
            let workplaces = synth::workplaces(scale);
            let mut text = String::from("insurer,code,name,industry,prefecture\n");
            for w in &workplaces {
                text.push_str(&format!(
                    "{},{},{},{},{:02}\n",
                    w.insurer, w.code, w.name, w.industry, w.prefecture
                ));
            }
            std::fs::write(&out, text).map_err(|e| CliError::Io(out.display().to_string(), e))?;
            println!("wrote {} workplaces to {}", workplaces.len(), out.display());
            Ok(())
        }
        GenCommand::Facilities { out_dir, seed } => {
            let (master, adoption) = write_facilities(&out_dir, seed)?;
            println!(
                "wrote {} and {} (the seed's facilities on {})",
                master.display(),
                adoption.display(),
                crate::synth_facilities::SEED_DATE
            );
            Ok(())
        }
    }
}
