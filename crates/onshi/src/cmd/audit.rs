//! `onshi audit`: the audit log's hash chain.

use clap::Subcommand;

use crate::CliError;
use crate::config::{StoreArgs, open_store};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; names the first edited or missing entry (exit 1).
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs `onshi audit`.
pub async fn run(command: AuditCommand) -> Result<(), CliError> {
    let AuditCommand::Verify { store } = command;
    let (store, _) = open_store(&store).await?;
    let result = store.verify_audit().await?;
    store.close().await;
    match result {
        Ok(n) => {
            println!("audit log intact: {n} entries, every hash verified");
            Ok(())
        }
        Err(broken) => Err(CliError::Refused(format!("audit log broken at {broken}"))),
    }
}
