//! Sessions of the pages for people, server-side (migration 16): a person proven by their card
//! gets a one-time login code; the code, used once within its lifetime, opens a session whose
//! cookie value only the browser holds (the store keeps its SHA-256). A session ends at its
//! absolute expiry, after its idle time without a request, or when ended (logout), at once.

use time::{Duration, OffsetDateTime};

use onshi_domain::PersonRef;

use crate::compared_time::ComparedTime;
use crate::{Store, StoreError};

/// How long a portal session and its login codes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// A login code must be used within this.
    pub code: Duration,
    /// A session ends after this long without a request.
    pub idle: Duration,
    /// And after this long in any case.
    pub absolute: Duration,
}

impl Default for SessionTimes {
    /// Two minutes to use a code; 15 minutes idle; 2 hours at most (a person reads their own
    /// records, then leaves: nothing needs longer).
    fn default() -> Self {
        Self {
            code: Duration::minutes(2),
            idle: Duration::minutes(15),
            absolute: Duration::hours(2),
        }
    }
}

/// A session in force: whose, and the token its forms must carry.
#[derive(Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// The person.
    pub person: PersonRef,
    /// The CSRF token of its forms.
    pub csrf: String,
}

impl std::fmt::Debug for PortalSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PortalSession(…)")
    }
}

const INSERT: &str = "INSERT INTO web_sessions (token_hash, kind, subject, csrf, created_at, last_seen_at, \
     expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)";

/// Uses the code `$1` (kind portal-code, unused, unexpired at `$2`): its person.
const USE_CODE: &str = "UPDATE web_sessions SET ended_at = $2 WHERE token_hash = $1 AND kind = 'portal-code' \
     AND ended_at IS NULL AND expires_at > $2 RETURNING subject";

/// Touches the session `$1` in force at `$2` (idle since after `$3`): its person and CSRF token.
const TOUCH: &str = "UPDATE web_sessions SET last_seen_at = $2 WHERE token_hash = $1 AND kind = 'portal' \
     AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3 RETURNING subject, csrf";

const END: &str =
    "UPDATE web_sessions SET ended_at = $2 WHERE token_hash = $1 AND ended_at IS NULL";

impl Store {
    /// Records the one-time login code whose hash is `code_hash` for `person`, valid for
    /// `times.code` from `at`.
    pub async fn create_portal_code(
        &self,
        person: &PersonRef,
        code_hash: &str,
        times: SessionTimes,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        crate::on_pool!(self, write, |p| {
            sqlx::query(INSERT)
                .bind(code_hash)
                .bind("portal-code")
                .bind(person.as_str())
                .bind("")
                .bind(ComparedTime(at))
                .bind(ComparedTime(at + times.code))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Uses the login code `code_hash` (once, within its lifetime) to open the session
    /// `session_hash` with CSRF token `csrf`; `None` when the code is unknown, used or expired.
    pub async fn open_portal_session(
        &self,
        code_hash: &str,
        session_hash: &str,
        csrf: &str,
        times: SessionTimes,
        at: OffsetDateTime,
    ) -> Result<Option<PersonRef>, StoreError> {
        let person: Option<String> = crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let found: Option<(String,)> = sqlx::query_as(USE_CODE)
                .bind(code_hash)
                .bind(ComparedTime(at))
                .fetch_optional(&mut *tx)
                .await?;
            if let Some((person,)) = &found {
                sqlx::query(INSERT)
                    .bind(session_hash)
                    .bind("portal")
                    .bind(person)
                    .bind(csrf)
                    .bind(ComparedTime(at))
                    .bind(ComparedTime(at + times.absolute))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            found.map(|(p,)| p)
        });
        person
            .map(|p| PersonRef::from_stored(p).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// The session `session_hash` if it is in force at `at` (and then it counts as used now).
    pub async fn portal_session(
        &self,
        session_hash: &str,
        times: SessionTimes,
        at: OffsetDateTime,
    ) -> Result<Option<PortalSession>, StoreError> {
        let found: Option<(String, String)> = crate::on_pool!(self, write, |p| {
            sqlx::query_as(TOUCH)
                .bind(session_hash)
                .bind(ComparedTime(at))
                .bind(ComparedTime(at - times.idle))
                .fetch_optional(p)
                .await?
        });
        found
            .map(|(person, csrf)| {
                Ok(PortalSession {
                    person: PersonRef::from_stored(person)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    csrf,
                })
            })
            .transpose()
    }

    /// Ends the page session `session_hash` (a person's or a staff member's) at `at` (logout):
    /// it is refused from then on.
    pub async fn end_web_session(
        &self,
        session_hash: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        crate::on_pool!(self, write, |p| {
            sqlx::query(END)
                .bind(session_hash)
                .bind(ComparedTime(at))
                .execute(p)
                .await?;
        });
        Ok(())
    }
}

/// A consent a person gave a facility, in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenConsent {
    /// The facility.
    pub facility: String,
    /// `medication`, `checkup`, `clinical` or `limit`.
    pub kind: String,
    /// When it was given.
    pub given_at: OffsetDateTime,
    /// When it ends by itself.
    pub expires_at: OffsetDateTime,
}

impl Store {
    /// The consents `person` has given that are in force at `at`, newest first.
    pub async fn consents_of_person(
        &self,
        person: &PersonRef,
        at: OffsetDateTime,
    ) -> Result<Vec<GivenConsent>, StoreError> {
        let rows: Vec<(String, String, OffsetDateTime, OffsetDateTime)> = crate::on_pool!(
            self,
            read,
            |p| {
                sqlx::query_as(
                    "SELECT facility_code, kind, given_at, expires_at FROM consents WHERE person_ref = $1 \
                     AND given_at <= $2 AND expires_at > $2 ORDER BY given_at DESC, facility_code, kind",
                )
                .bind(person.as_str())
                .bind(ComparedTime(at))
                .fetch_all(p)
                .await?
            }
        );
        Ok(rows
            .into_iter()
            .map(|(facility, kind, given_at, expires_at)| GivenConsent {
                facility,
                kind,
                given_at,
                expires_at,
            })
            .collect())
    }

    /// Ends now the consents of `kind` that `person` gave `facility` and that are in force;
    /// audited (`withdraw_consent`, by the person). How many ended.
    pub async fn withdraw_consent(
        &self,
        person: &PersonRef,
        facility: &str,
        kind: &str,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let ended = crate::on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE consents SET expires_at = $4 WHERE person_ref = $1 AND facility_code = $2 \
                 AND kind = $3 AND given_at <= $4 AND expires_at > $4",
            )
            .bind(person.as_str())
            .bind(facility)
            .bind(kind)
            .bind(ComparedTime(at))
            .execute(p)
            .await?
            .rows_affected()
        });
        if ended > 0 {
            self.record_check(
                at,
                &crate::Actor::Person(person.clone()),
                onshi_domain::AuditAction::WithdrawConsent,
                Some(person),
                &format!("{kind} consent to facility {facility}"),
            )
            .await?;
        }
        Ok(ended)
    }
}
