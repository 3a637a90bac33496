//! `onshi subsidy`: the card-reader subsidy rules in force, and what one application would be
//! paid under them, with the reasons.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use onshi_api::operator::{SubsidyCost, SubsidyEstimate, SubsidyRequest};
use onshi_domain::subsidy::{SubsidyRules, yen};

use crate::CliError;

#[derive(Debug, Subcommand)]
pub enum SubsidyCommand {
    /// Print the rules in force: each period's terms by kind of facility (amounts include
    /// consumption tax), with how sure each line is (V read in a source, I inferred).
    ///
    /// Example: onshi subsidy rules
    Rules {
        /// A corrected rules file instead of the shipped one.
        #[arg(long, env = "ONSHI_SUBSIDY_RULES")]
        subsidy_rules: Option<PathBuf>,
    },
    /// What an application would be paid: the period applied, the free readers, the subsidy
    /// per cost item and in total, and why.
    ///
    /// Example: onshi subsidy estimate --kind hospital --readers 2 --readers-applied-on 2021-01-15 --cost レセコン改修=1500000 --cost 資格確認端末=800000
    Estimate {
        /// hospital, medical_clinic, dental_clinic or pharmacy (or 病院, 医科診療所, 歯科診療所,
        /// 薬局).
        #[arg(long)]
        kind: String,
        /// A pharmacy of a group with 40,000 prescriptions a month or more.
        #[arg(long)]
        large_chain: bool,
        /// Card readers introduced.
        #[arg(long, default_value_t = 1)]
        readers: u8,
        /// When the readers were applied for (YYYY-MM-DD).
        #[arg(long)]
        readers_applied_on: String,
        /// When the work was finished.
        #[arg(long)]
        completed_on: Option<String>,
        /// When the subsidy is applied for.
        #[arg(long)]
        subsidy_applied_on: Option<String>,
        /// When the facility started operating (its first card check): R3-2022-diff pays by it.
        #[arg(long)]
        operation_started_on: Option<String>,
        /// A cost as LABEL=YEN (yen including consumption tax); repeat for each item.
        #[arg(long = "cost", value_name = "LABEL=YEN", required = true)]
        costs: Vec<String>,
        /// The costs are given without consumption tax (10 % is added).
        #[arg(long)]
        tax_excluded: bool,
        /// Print the answer as JSON (the shape of POST /v1/subsidy/estimate).
        #[arg(long)]
        json: bool,
        /// A corrected rules file instead of the shipped one.
        #[arg(long, env = "ONSHI_SUBSIDY_RULES")]
        subsidy_rules: Option<PathBuf>,
    },
}

/// The rules of `path`, or those shipped; a bad file is refused naming its line.
pub fn load_rules(path: Option<&Path>) -> Result<SubsidyRules, CliError> {
    match path {
        None => SubsidyRules::shipped()
            .map_err(|e| CliError::Config(format!("the shipped subsidy rules: {e}"))),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| CliError::Io(p.display().to_string(), e))?;
            SubsidyRules::parse(&text)
                .map_err(|e| CliError::Config(format!("{}: {e}", p.display())))
        }
    }
}

/// Runs `onshi subsidy`.
pub fn run(command: SubsidyCommand) -> Result<(), CliError> {
    match command {
        SubsidyCommand::Rules { subsidy_rules } => {
            let rules = load_rules(subsidy_rules.as_deref())?;
            println!("period\tkind\treaders\tfree\tbase\trate\tcap\tstatus\twhen");
            for r in rules.lines() {
                let when = match (r.readers_from, r.readers_to) {
                    (None, None) => "otherwise (base rule)".to_owned(),
                    (from, to) => {
                        format!(
                            "readers applied {}..{}{}{}",
                            from.map_or(String::new(), |d| d.to_string()),
                            to.map_or(String::new(), |d| d.to_string()),
                            r.completed_by
                                .map_or(String::new(), |d| format!(", finished by {d}")),
                            r.apply_by
                                .map_or(String::new(), |d| format!(", applied by {d}")),
                        ) + &match (r.operating_from, r.operating_to) {
                            (None, None) => String::new(),
                            (from, to) => format!(
                                ", operating from {}..{}",
                                from.map_or(String::new(), |d| d.to_string()),
                                to.map_or(String::new(), |d| d.to_string())
                            ),
                        }
                    }
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.period,
                    r.kind.code(),
                    r.readers.map_or("any".into(), |n| n.to_string()),
                    r.free_readers,
                    yen(r.base_yen),
                    r.rate,
                    yen(r.cap_yen),
                    r.status,
                    when
                );
            }
            Ok(())
        }
        SubsidyCommand::Estimate {
            kind,
            large_chain,
            readers,
            readers_applied_on,
            completed_on,
            subsidy_applied_on,
            operation_started_on,
            costs,
            tax_excluded,
            json,
            subsidy_rules,
        } => {
            let rules = load_rules(subsidy_rules.as_deref())?;
            let mut items = Vec::new();
            for c in &costs {
                let (label, amount) = c
                    .rsplit_once('=')
                    .ok_or_else(|| CliError::Config(format!("--cost {c}: must be LABEL=YEN")))?;
                let yen: u64 = amount.replace([',', '_'], "").parse().map_err(|_| {
                    CliError::Config(format!("--cost {c}: the amount must be whole yen"))
                })?;
                items.push(SubsidyCost {
                    label: label.to_owned(),
                    yen,
                    tax_included: !tax_excluded,
                });
            }
            let request = SubsidyRequest {
                facility_kind: kind,
                large_chain,
                readers,
                readers_applied_on,
                completed_on,
                subsidy_applied_on,
                operation_started_on,
                costs: items,
            };
            let app = request.to_application().map_err(|e| {
                CliError::Config(format!("--{}: {}", e.field.replace('_', "-"), e.reason))
            })?;
            let estimate = rules.estimate(&app).map_err(CliError::Config)?;
            let out = SubsidyEstimate::new(&app, &estimate);
            if json {
                let text = serde_json::to_string_pretty(&out)
                    .map_err(|e| CliError::Config(e.to_string()))?;
                println!("{text}");
                return Ok(());
            }
            println!(
                "rule: {} ({}; {})",
                out.period, out.period_name, out.rule_status
            );
            println!("free readers: {}", out.free_readers);
            for item in &out.items {
                println!(
                    "  {}: cost {}, subsidy {}",
                    item.label,
                    yen(item.cost_yen),
                    yen(item.subsidy_yen)
                );
            }
            println!("subsidy: {}", yen(out.total_yen));
            println!("why:");
            for r in &out.reasons {
                println!("  - {r}");
            }
            Ok(())
        }
    }
}
