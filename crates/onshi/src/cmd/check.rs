//! `onshi check number`: an eligibility check without a card, and how a reception screen shows
//! a check's result (also used by `onshi reader`).

use clap::{Args, Subcommand};

use onshi_api::{EligibilityResult, NumberCheckRequest, Qualification};

use crate::CliError;
use crate::client::FacilityServerArgs;

/// `onshi check`.
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check by insurance-card number (保険者番号・記号・番号・枝番).
    ///
    /// Example: onshi check number --facility-token $TOKEN --insurer 01130012 --symbol 10 --number 1 --branch 00 --birth-date 1990-05-06
    Number(NumberArgs),
}

/// `onshi check number` options.
#[derive(Debug, Args)]
pub struct NumberArgs {
    #[command(flatten)]
    pub connection: FacilityServerArgs,
    /// 保険者番号.
    #[arg(long)]
    pub insurer: String,
    /// 記号.
    #[arg(long, default_value = "")]
    pub symbol: String,
    /// 番号.
    #[arg(long)]
    pub number: String,
    /// 枝番.
    #[arg(long, default_value = "")]
    pub branch: String,
    /// 生年月日, as YYYY-MM-DD or YYYYMMDD. Required, as in the national interface: a card
    /// number with another birth date finds no one.
    #[arg(long)]
    pub birth_date: String,
    /// Consultation date; default today.
    #[arg(long)]
    pub date: Option<String>,
    /// Print the server's JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// Runs `onshi check`.
pub async fn run(command: CheckCommand) -> Result<(), CliError> {
    let CheckCommand::Number(args) = command;
    let request = NumberCheckRequest {
        insurer_number: args.insurer,
        symbol: args.symbol,
        number: args.number,
        branch: args.branch,
        birth_date: Some(args.birth_date),
        consultation_date: args.date,
        limit_consent: false,
    };
    let result: EligibilityResult = args
        .connection
        .api()?
        .post("/v1/eligibility/number", &request)
        .await?;
    print_result(&result, args.json);
    Ok(())
}

/// Prints a check result as a reception screen would show it (or as JSON).
pub fn print_result(r: &EligibilityResult, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
        return;
    }
    println!(
        "資格有効性 {} {}  (診療日 {})",
        r.validity_code, r.validity_label, r.consultation_date
    );
    let line = |q: &Qualification| {
        format!(
            "  [{}] {} ({})  保険者 {} 記号 {} 番号 {} 枝番 {}  {}  負担割合 {}%  資格 {} – {}",
            q.validity_code,
            q.name,
            q.name_kana,
            q.insurer_number,
            q.symbol,
            q.number,
            q.branch,
            if q.relationship_code == 1 {
                "本人"
            } else {
                "家族"
            },
            q.copay_ratio.trim_start_matches('0'),
            q.qualified_from,
            q.qualified_until.as_deref().unwrap_or(""),
        )
    };
    for q in &r.qualifications {
        println!("{}", line(q));
        if let Some(c) = &q.limit_certificate {
            println!(
                "  限度額適用認定証 区分 {} 適用区分 {} ({}) {}〜{}",
                c.class_code,
                c.bracket_code,
                c.bracket_label,
                c.valid_from,
                c.valid_until.as_deref().unwrap_or(""),
            );
        }
    }
    if let Some(q) = &r.new_qualification {
        println!("  新しい資格:");
        println!("{}", line(q));
    }
    for c in &r.consents {
        println!("  同意 {} ({} まで)", c.kind, c.expires_at);
    }
}
