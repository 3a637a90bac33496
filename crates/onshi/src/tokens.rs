//! `onshi insurer|facility|employer|institution token …`: rotating and revoking API tokens, the
//! same way for every kind of owner.

use clap::{Args, Subcommand};
use time::Duration;

use onshi_domain::{Clock, EmployerRef, FacilityCode, InstitutionNumber, InsurerNumber};
use onshi_store::TokenOwner;
use onshi_store::token::{self, TokenKind};

use crate::CliError;
use crate::config::{StoreArgs, open_store, operator};

/// `… token rotate|revoke`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a new API token and print it; the old ones keep working for the grace period, so
    /// the owner can switch without an outage.
    ///
    /// Example: onshi facility token rotate --code 1311111111 --grace 24h
    Rotate {
        #[command(flatten)]
        common: TokenArgs,
        /// How long the previous tokens keep working: a number with s, m, h or d (24h, 90m), or
        /// 0 to end them at once (a new token after a leak).
        #[arg(long, default_value = "24h", value_parser = parse_grace)]
        grace: Duration,
    },
    /// Revoke every API token of the owner at once (a leaked token, an owner that left); every
    /// server refuses them within a second. Issue a new one with `rotate`.
    ///
    /// Example: onshi facility token revoke --code 1311111111
    Revoke {
        #[command(flatten)]
        common: TokenArgs,
    },
}

/// What both token commands take.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Who does it, for the audit log. [default: $USER]
    #[arg(long, env = "ONSHI_OPERATOR")]
    pub operator: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Whose tokens, as the command line named them.
pub enum Owner {
    /// An insurer, by 保険者番号.
    Insurer(InsurerNumber),
    /// A facility, by 医療機関コード.
    Facility(FacilityCode),
    /// An employer, by its insurer and 事業所コード.
    Employer(EmployerRef),
    /// A checkup institution, by 健診機関番号.
    Institution(InstitutionNumber),
}

impl Owner {
    fn as_store(&self) -> TokenOwner<'_> {
        match self {
            Self::Insurer(n) => TokenOwner::Insurer(n),
            Self::Facility(c) => TokenOwner::Facility(c),
            Self::Employer(e) => TokenOwner::Employer(e),
            Self::Institution(n) => TokenOwner::Institution(n),
        }
    }

    fn kind(&self) -> TokenKind {
        match self {
            Self::Insurer(_) => TokenKind::Insurer,
            Self::Facility(_) => TokenKind::Facility,
            Self::Employer(_) => TokenKind::Employer,
            Self::Institution(_) => TokenKind::Institution,
        }
    }

    fn id(&self) -> String {
        match self {
            Self::Insurer(n) => n.to_string(),
            Self::Facility(c) => c.as_str().to_owned(),
            Self::Employer(e) => e.to_string(),
            Self::Institution(n) => n.to_string(),
        }
    }
}

/// Runs a token command for `owner`.
pub async fn run(owner: Owner, command: TokenCommand, clock: &dyn Clock) -> Result<(), CliError> {
    let now = clock.now();
    match command {
        TokenCommand::Rotate { common, grace } => {
            let (store, _) = open_store(&common.store).await?;
            let (token, hash) = token::mint(owner.kind())
                .map_err(|_| CliError::Config("no system randomness".into()))?;
            let rotation = store
                .rotate_token(
                    owner.as_store(),
                    &hash,
                    grace,
                    now,
                    &operator(common.operator),
                )
                .await?;
            println!("{}\t{token}", owner.id());
            eprintln!(
                "Keep the new token now: only its hash is stored. {} previous token(s) work until {}.",
                rotation.old_tokens,
                onshi_domain::japan::rfc3339_japan(rotation.old_valid_until)
            );
            store.close().await;
        }
        TokenCommand::Revoke { common } => {
            let (store, _) = open_store(&common.store).await?;
            let n = store
                .revoke_tokens(owner.as_store(), now, &operator(common.operator))
                .await?;
            println!("{}\t{n} token(s) revoked", owner.id());
            eprintln!(
                "Every server refuses them within a second. Issue a new one with 'token rotate'."
            );
            store.close().await;
        }
    }
    Ok(())
}

/// Reads a grace period: `0`, or a whole number with `s`, `m`, `h` or `d`.
pub fn parse_grace(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a period like 24h, 90m, 7d or 0"))?;
    let d = match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(format!("'{text}': the unit must be s, m, h or d")),
    };
    if d.is_negative() || d > Duration::days(90) {
        return Err(format!("'{text}': must be between 0 and 90 days"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_periods_read_like_people_write_them() {
        assert_eq!(parse_grace("0"), Ok(Duration::ZERO));
        assert_eq!(parse_grace("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse_grace("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_grace("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_grace("30s"), Ok(Duration::seconds(30)));
        assert!(parse_grace("24").is_err());
        assert!(parse_grace("h").is_err());
        assert!(parse_grace("-1h").is_err());
        assert!(parse_grace("91d").is_err());
    }
}
