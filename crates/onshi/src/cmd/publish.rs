//! `onshi publish`: publications the operator makes by hand that the server's scheduler also
//! makes.

use clap::Subcommand;

use onshi_domain::Clock;

use crate::CliError;
use crate::config::{StoreArgs, open_store, operator};

#[derive(Debug, Subcommand)]
pub enum PublishCommand {
    /// Publish today's edition (Japan) of the public and public-sector hospitals' card-reader
    /// applications: frozen as CSV with its SHA-256, served at /weekly/DATE and
    /// /weekly/DATE.csv, never changed. If today's edition exists it is left as it was.
    ///
    /// Example: onshi publish weekly
    Weekly {
        /// Who publishes, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs `onshi publish`.
pub async fn run(command: PublishCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        PublishCommand::Weekly {
            operator: who,
            store,
        } => {
            let (store, _) = open_store(&store).await?;
            let (edition, new) =
                onshi_server::adoption::publish_weekly(&store, clock.now(), &operator(who)).await?;
            let hospitals = edition.content.lines().count().saturating_sub(1);
            if new {
                println!(
                    "published edition {} ({hospitals} hospitals, sha256 {})",
                    edition.edition, edition.content_hash
                );
            } else {
                println!(
                    "edition {} was published already (sha256 {}); it is left as it was",
                    edition.edition, edition.content_hash
                );
            }
            store.close().await;
            Ok(())
        }
    }
}
