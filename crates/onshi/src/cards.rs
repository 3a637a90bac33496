//! Virtual cards at the command line: their files (a card's PIN counter changes as it is used),
//! and unlocking one to sign a challenge from the server, as a card reader or the portal does.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::ValueEnum;

use onshi_api::{CardProof, ChallengeRequest};
use onshi_pki::{CardError, VirtualCard};

use crate::CliError;
use crate::client::Api;

fn io(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Io(path.display().to_string(), e)
}

/// Reads a virtual card file.
pub fn read_card(path: &Path) -> Result<VirtualCard, CliError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Config(format!("{}: not a card file: {e}", path.display())))
}

/// Writes a virtual card file (its PIN counter changes as it is used).
pub fn write_card(path: &Path, card: &VirtualCard) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(card).map_err(|e| CliError::Config(e.to_string()))?;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, text).map_err(io(path))
}

/// How the reader authenticates the holder before the card signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Face {
    /// The face matched the card's photo.
    Ok,
    /// The face did not match: nothing is sent to the server.
    Fail,
}

/// A card's proof for a fresh challenge: unlocks the card at `path` with the face check or the
/// PIN (saving the PIN counter; a failure sends nothing), asks `api` for a challenge (the
/// facility's for `facility`'s purpose, `check` or `registration`, else the portal's), and has
/// the card sign it. Returns the
/// proof and the challenge's audience (the facility code the server knows the token by, or
/// `portal`).
pub async fn card_proof(
    api: &Api,
    facility: Option<&str>,
    path: &Path,
    face: Option<Face>,
    pin: Option<&str>,
) -> Result<(CardProof, String), CliError> {
    let mut card = read_card(path)?;
    match (face, pin) {
        (Some(Face::Fail), _) => {
            return Err(CliError::Config("face authentication failed: nothing was sent to the server; try again or use the PIN".into()));
        }
        (Some(Face::Ok), _) => {}
        (None, Some(pin)) => {
            let result = card.verify_pin(pin);
            write_card(path, &card)?;
            result.map_err(|e| CliError::Config(format!("{e}; nothing was sent to the server")))?;
        }
        (None, None) => return Err(CliError::Config("give --face ok|fail or --pin PIN".into())),
    }
    // At a facility, a challenge for `purpose` (check or registration); else the portal's.
    let (uri, request) = match facility {
        Some(purpose) => (
            "/v1/challenges",
            ChallengeRequest {
                purpose: Some(purpose.to_owned()),
            },
        ),
        None => ("/v1/portal/challenges", ChallengeRequest::default()),
    };
    let challenge: onshi_api::Challenge = api.post(uri, &request).await?;
    let message = hex::decode(&challenge.message)
        .map_err(|_| CliError::Config("the server's challenge message is not hex".into()))?;
    let signature = card
        .sign(&message)
        .map_err(|e: CardError| CliError::Config(e.to_string()))?;
    let cert = card
        .certificate_der()
        .map_err(|e| CliError::Config(e.to_string()))?;
    let proof = CardProof {
        challenge_id: challenge.challenge_id,
        certificate: STANDARD.encode(cert),
        signature: STANDARD.encode(signature),
    };
    Ok((proof, challenge.audience))
}
