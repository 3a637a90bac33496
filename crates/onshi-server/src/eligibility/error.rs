//! Why an eligibility workflow refused or failed: one enum, mapped to problem details in one
//! place (`crate::problem`), so the JSON handlers, the FHIR handler and bulk jobs all tell a
//! refusal the same way.

use onshi_domain::FieldError;
use onshi_pki::CertError;
use onshi_store::StoreError;

/// A refusal or failure of an eligibility workflow.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Fields of the request are wrong (each named).
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// The challenge id was not issued by this deployment, or was altered.
    #[error("unknown challenge")]
    ChallengeUnknown,
    /// The challenge was issued to another facility (or to the portal).
    #[error("challenge of another audience")]
    ChallengeForeign,
    /// The challenge was issued for something else (a check's used to register, say).
    #[error("challenge issued for {issued_for:?}, used for {used_for:?}")]
    ChallengePurpose {
        /// What it was asked for.
        issued_for: onshi_domain::ChallengePurpose,
        /// What it was sent to.
        used_for: onshi_domain::ChallengePurpose,
    },
    /// The challenge is past its lifetime.
    #[error("challenge expired")]
    ChallengeExpired,
    /// The challenge was already answered (a replayed signature).
    #[error("challenge already used")]
    ChallengeReplayed,
    /// The server has no trust anchors for user certificates.
    #[error("no trust anchors")]
    NoTrustAnchors,
    /// The certificate or the signature was refused.
    #[error("card refused: {0}")]
    Card(CertError),
    /// The certificate is valid but not in the certificate directory.
    #[error("certificate not in the directory")]
    CertificateUnknown,
    /// The card is not registered for insurance use (利用申込).
    #[error("card not registered for insurance use")]
    NotRegistered,
    /// A card-check reference that is unknown, expired, or of another facility.
    #[error("card check reference not found")]
    ReferenceNotFound,
    /// The facility is over a rate limit ([`super::limits`]); nothing was read.
    #[error("rate limited ({})", limit.as_str())]
    RateLimited {
        /// Which limit.
        limit: super::limits::Limit,
        /// Seconds until a request may succeed.
        retry_after: u32,
    },
    /// No system randomness (challenges cannot be drawn).
    #[error("no system randomness")]
    Randomness,
    /// The store failed or was busy.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CheckError {
    /// One invalid field.
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, reason)])
    }
}
