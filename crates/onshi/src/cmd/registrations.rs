//! `onshi registrations`: counts of registrations for insurance use (利用申込), by channel.

use crate::CliError;
use crate::config::{StoreArgs, open_store};

/// Runs `onshi registrations`.
pub async fn run(store: StoreArgs) -> Result<(), CliError> {
    let (store, _) = open_store(&store).await?;
    for (channel, n) in store.registration_counts().await? {
        println!("{}\t{n}", channel.as_str());
    }
    store.close().await;
    Ok(())
}
