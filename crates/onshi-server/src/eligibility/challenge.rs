//! Issuing sealed single-use challenges for a card to sign.

use onshi_domain::ChallengePurpose;
use onshi_domain::japan::rfc3339_japan;
use onshi_pki::challenge_message;

use super::{CHALLENGE_LIFETIME, CheckError};
use crate::AppState;

/// The purpose a facility asks a challenge for: `check` (the default) or `registration`.
pub fn purpose(text: Option<&str>) -> Result<ChallengePurpose, CheckError> {
    match text {
        None | Some("check") => Ok(ChallengePurpose::Check),
        Some("registration") => Ok(ChallengePurpose::Registration),
        Some(_) => Err(CheckError::field(
            "purpose",
            "must be check or registration",
        )),
    }
}

/// Seals a new challenge for `audience`: nothing is written until it is used.
pub fn issue(
    state: &AppState,
    audience: &str,
    purpose: ChallengePurpose,
) -> Result<onshi_api::Challenge, CheckError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut nonce = [0u8; 32];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| CheckError::Randomness)?;
    let now = state.clock.now();
    let c = state
        .challenge_key
        .issue(nonce, audience, purpose, now, now + CHALLENGE_LIFETIME)
        .map_err(|_| CheckError::Randomness)?;
    Ok(onshi_api::Challenge {
        message: hex::encode(challenge_message(&c.nonce, audience)),
        nonce: c.nonce_hex(),
        audience: c.audience,
        expires_at: rfc3339_japan(c.expires_at),
        challenge_id: c.id,
    })
}
