//! Certificates for eligibility checks, for real: no flag ever says "verified".
//!
//! - [`Verifier`] validates a user-authentication certificate (利用者証明用電子証明書) as an X.509
//!   path to configured trust anchors (signature, validity period, key usage) and checks it
//!   against its issuer's CRL, with rustls-webpki on aws-lc-rs. Card certificates and smartphone
//!   certificates (スマホ用電子証明書) come from separate authorities; the anchor that validated a
//!   certificate says which kind it is.
//! - [`verify_signature`] checks a card's signature over a challenge: RSASSA-PKCS1-v1_5 with
//!   SHA-256, which is what the JPKI applet computes over a SHA-256 DigestInfo.
//! - [`Authority`] is a demo certificate authority (RSA-2048, sha256WithRSA) that issues user
//!   certificates carrying no personal data and publishes CRLs; [`VirtualCard`] is a card or
//!   smartphone as a file, with its key, PIN and retry counter.
//!
//! This crate does no I/O: callers pass bytes and the time.

mod authority;
mod card;
mod verify;

pub use authority::{Authority, IssuedCert};
pub use card::{CardError, VirtualCard};
pub use verify::{CrlStatus, StalePolicy, VerifiedCert, Verifier, verify_signature};

use serde::{Deserialize, Serialize};

/// Which authority issued a user certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertKind {
    /// The My Number card's user-authentication certificate.
    Card,
    /// A smartphone user-authentication certificate (its own CA, its own CRL).
    Smartphone,
}

impl CertKind {
    /// `card` or `smartphone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Smartphone => "smartphone",
        }
    }
}

/// Why a certificate or signature was refused. Each reason is distinct so a reception desk can
/// tell the patient what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not a DER X.509 certificate.
    #[error("the certificate is not a valid X.509 certificate")]
    Malformed,
    /// Past its notAfter.
    #[error("the certificate has expired")]
    Expired,
    /// Before its notBefore.
    #[error("the certificate is not valid yet")]
    NotYetValid,
    /// On its issuer's CRL.
    #[error("the certificate has been revoked")]
    Revoked,
    /// No path to a configured trust anchor.
    #[error("the certificate was not issued by a trusted authority")]
    Untrusted,
    /// The issuer's signature on the certificate does not verify: it was altered, or it comes
    /// from an authority that only shares a trusted authority's name.
    #[error(
        "the certificate's issuer signature does not verify (altered or counterfeit certificate)"
    )]
    BadCertificateSignature,
    /// The key usage does not allow digital signatures.
    #[error("the certificate's key usage does not allow authentication signatures")]
    WrongKeyUsage,
    /// The issuer's CRL is past its nextUpdate and the policy refuses stale CRLs.
    #[error("the revocation list of the certificate's issuer is out of date")]
    CrlStale,
    /// No CRL from the certificate's issuer is loaded.
    #[error(
        "the revocation status of the certificate is unknown (no revocation list for its issuer)"
    )]
    RevocationUnknown,
    /// The signature over the challenge does not verify with the certificate's key.
    #[error("the signature does not match the challenge and certificate")]
    BadSignature,
    /// Anything else webpki refused, named.
    #[error("the certificate was refused: {0}")]
    Other(String),
}

/// Building or loading certificates failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A PEM or DER input could not be read.
    #[error("{0}")]
    Parse(String),
    /// rcgen refused to build something.
    #[error("certificate generation failed: {0}")]
    Generate(String),
}

/// SHA-256 of a certificate's DER, hex: how the registry names a certificate.
pub fn fingerprint(der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    hex::encode(d)
}

/// The message a card signs for a challenge: the nonce followed by the facility (or portal)
/// the challenge was issued to, so a signature relayed to another facility is refused even
/// before the challenge lookup.
pub fn challenge_message(nonce: &[u8], audience: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(nonce.len() + 16 + audience.len());
    m.extend_from_slice(b"onshi-challenge-v1:");
    m.extend_from_slice(nonce);
    m.push(b':');
    m.extend_from_slice(audience.as_bytes());
    m
}
