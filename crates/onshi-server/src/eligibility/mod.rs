//! The eligibility workflow (資格確認), with no HTTP in it: challenges, card proofs, card and
//! number checks, checks by a card-check reference, registration for insurance use (利用申込),
//! the person's access history, and bulk look-ups. The JSON handlers (`crate::routes`), the FHIR
//! handler and bulk jobs all call these functions and get typed results (`onshi_api` types) or a
//! [`CheckError`]; `crate::problem` maps the error to problem details in one place.
//!
//! A card proves itself by signing a single-use challenge ([`challenge`]): the facility (or the
//! portal) asks for one, the card signs [`onshi_pki::challenge_message`] over its nonce and
//! audience, and the request carries certificate, signature and challenge id. The challenge is
//! sealed, not stored ([`onshi_domain::challenge`]): [`proof`] opens it, holds it to its audience
//! and expiry, validates the certificate (path, validity, key usage, CRL) and checks the
//! signature before anything is read; then one statement reads whether the challenge was used,
//! the certificate's holder, their consents and, for a check, their qualifications; [`check`]
//! judges them and consumes the challenge in the check's audit commit.
//!
//! - [`challenge`]: issuing sealed challenges.
//! - [`proof`]: verifying a card's proof.
//! - [`check`]: card checks, number checks, checks by reference; the result's shape.
//! - [`registration`]: registration for insurance use.
//! - [`portal`]: the person's own access history.
//! - [`bulk`]: bulk look-ups, processed in the background a batch at a time.
//! - [`limits`]: per-facility rate limits on checks and on look-ups that matched no one.
//! - [`insurer_names`]: the insurer names results carry, cached.
//! - [`error`]: the workflow's one error enum, [`CheckError`].

pub mod bulk;
pub mod challenge;
pub mod check;
pub mod error;
pub mod insurer_names;
pub mod limits;
pub mod portal;
pub mod proof;
pub mod registration;

pub use error::CheckError;

use time::Duration;

/// How long a challenge may be used.
pub const CHALLENGE_LIFETIME: Duration = Duration::seconds(120);
/// How long a consent given at a reader lasts (the interface's samples show 24 hours).
pub const CONSENT_LIFETIME: Duration = Duration::hours(24);
/// How long a card check can be referred to (`check_reference`), at the facility that made it.
pub const CHECK_REFERENCE_LIFETIME: Duration = Duration::hours(24);
/// The audience of challenges for the insured person's portal.
pub const PORTAL: &str = "portal";
