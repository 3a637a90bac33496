//! Verifying a card's proof: the sealed challenge (audience, expiry), the certificate (path,
//! validity, key usage, CRL) and the signature, before anything is read; then one read of the
//! challenge's use, the certificate's holder, their consents and, for a check, their
//! qualifications.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use onshi_api::CardProof;
use onshi_domain::{Challenge, ChallengePurpose, FacilityCode, FieldError};
use onshi_pki::{VerifiedCert, challenge_message, verify_signature};
use onshi_store::{CardHolder, CheckAudit, MemberRecord};

use super::CheckError;
use crate::AppState;

/// A card that proved itself: its certificate, the challenge it signed, its holder and, for a
/// check, the holder's qualifications.
pub struct Proven {
    /// The validated certificate.
    pub cert: VerifiedCert,
    /// The challenge it signed (not yet consumed, unless by [`prove`]).
    pub challenge: Challenge,
    /// Who holds the certificate, whether the card is registered, their consents.
    pub holder: CardHolder,
    /// For a check: the holder's qualifications, read for the check's audit.
    pub qualifications: Vec<MemberRecord>,
}

/// Checks a card proof for `audience` and `purpose` and consumes the challenge (registrations,
/// the portal).
pub async fn prove(
    state: &AppState,
    audience: &str,
    purpose: ChallengePurpose,
    proof: &CardProof,
) -> Result<Proven, CheckError> {
    let proven = verify(state, audience, purpose, None, None, proof).await?;
    if !state
        .store
        .consume_challenge(&proven.challenge, state.clock.now(), &proven.holder.person)
        .await?
    {
        return Err(CheckError::ChallengeReplayed);
    }
    Ok(proven)
}

/// Checks a card proof for `audience` without consuming the challenge: the caller must consume
/// it before it answers (a check does so in its audit commit). The challenge, the certificate
/// and the signature are checked first, without the store; then one read fetches the
/// challenge's use, the directory entry, the holder's consents in force at `facility` and,
/// given a check's audit, their qualifications.
pub async fn verify(
    state: &AppState,
    audience: &str,
    purpose: ChallengePurpose,
    facility: Option<&FacilityCode>,
    check: Option<&mut CheckAudit>,
    proof: &CardProof,
) -> Result<Proven, CheckError> {
    let now = state.clock.now();
    let mut errors = Vec::new();
    let cert = STANDARD
        .decode(proof.certificate.trim())
        .map_err(|_| errors.push(FieldError::new("certificate", "must be base64")))
        .ok();
    let sig = STANDARD
        .decode(proof.signature.trim())
        .map_err(|_| errors.push(FieldError::new("signature", "must be base64")))
        .ok();
    let (Some(cert), Some(sig)) = (cert, sig) else {
        return Err(CheckError::Invalid(errors));
    };
    let challenge = state
        .challenge_key
        .open(&proof.challenge_id)
        .map_err(|_| CheckError::ChallengeUnknown)?;
    if challenge.audience != audience {
        return Err(CheckError::ChallengeForeign);
    }
    // A challenge answers only what it was asked for: a check's cannot register a card, nor a
    // registration's check one.
    if challenge.purpose != purpose {
        return Err(CheckError::ChallengePurpose {
            issued_for: challenge.purpose,
            used_for: purpose,
        });
    }
    if now > challenge.expires_at {
        return Err(CheckError::ChallengeExpired);
    }
    let verifier = state.trust.verifier().ok_or(CheckError::NoTrustAnchors)?;
    let verified = verifier.verify(&cert, now).map_err(CheckError::Card)?;
    verify_signature(
        &verified,
        &challenge_message(&challenge.nonce, audience),
        &sig,
    )
    .map_err(CheckError::Card)?;
    let read = state
        .store
        .card_read(&challenge.id, &verified.fingerprint, facility, now, check)
        .await?;
    if read.used {
        return Err(CheckError::ChallengeReplayed);
    }
    let holder = read.holder.ok_or(CheckError::CertificateUnknown)?;
    Ok(Proven {
        cert: verified,
        challenge,
        holder,
        qualifications: read.qualifications,
    })
}
