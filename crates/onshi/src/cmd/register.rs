//! `onshi register`: registration of a card for insurance use (利用申込), from the portal or at
//! a facility's reader.

use std::path::PathBuf;

use clap::Args;

use onshi_api::Registration;

use crate::CliError;
use crate::cards::card_proof;
use crate::client::{Api, ServerArgs};

/// `onshi register` options.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Register at this facility's reader instead of the portal.
    #[arg(long, env = "ONSHI_FACILITY_TOKEN")]
    pub facility_token: Option<String>,
    /// The virtual card file.
    #[arg(long)]
    pub card: PathBuf,
    /// The card's 4-digit PIN.
    #[arg(long)]
    pub pin: String,
}

/// Runs `onshi register`.
pub async fn run(args: RegisterArgs) -> Result<(), CliError> {
    let at_facility = args.facility_token.is_some();
    let api = Api::new(&args.server, args.facility_token.as_deref())?;
    let purpose = at_facility.then_some("registration");
    let (proof, _) = card_proof(&api, purpose, &args.card, None, Some(&args.pin)).await?;
    let path = if at_facility {
        "/v1/registrations"
    } else {
        "/v1/portal/registrations"
    };
    let r: Registration = api.post(path, &proof).await?;
    if r.registered_now {
        println!("registered for insurance use (channel: {})", r.channel);
    } else {
        println!("already registered for insurance use");
    }
    Ok(())
}
