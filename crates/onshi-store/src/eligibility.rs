//! What eligibility checks need from the store: facilities, the certificate directory,
//! registrations for insurance use, single-use challenges, consents.

use time::OffsetDateTime;

use onshi_domain::{FacilityCode, PersonRef};

use crate::{Store, StoreError, on_pool};

/// A registered facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facility {
    /// 医療機関コード.
    pub code: FacilityCode,
    /// Its name.
    pub name: String,
}

/// A challenge as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The random nonce, hex.
    pub nonce: String,
    /// The facility code (or `portal`) it was issued to.
    pub audience: String,
    /// `check`, `registration` or `portal`.
    pub purpose: String,
    /// When it stops being usable.
    pub expires_at: OffsetDateTime,
    /// When it was used, if it was.
    pub used_at: Option<OffsetDateTime>,
}

/// Whose card a certificate is, as the certificate directory says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardHolder {
    /// The person.
    pub person: PersonRef,
    /// Whether the person registered the card for insurance use (利用申込).
    pub registered: bool,
    /// The consents the person has given the facility the challenge was read for that are in
    /// force at the time it was read, newest per kind, by kind.
    pub consents: Vec<Consent>,
}

impl CardHolder {
    /// The consents in force once `given` (kinds given at the reader at `at`, each until
    /// `until`) are recorded too: what the check answers, without reading them back.
    pub fn consents_with(
        &self,
        given: &[&str],
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Vec<Consent> {
        let mut all = self.consents.clone();
        for kind in given {
            merge_consent(&mut all, kind, at, until);
        }
        all
    }
}

/// Adds a consent to `all` (sorted by kind), keeping one per kind: the latest given and the
/// latest expiry, as a check shows them.
fn merge_consent(
    all: &mut Vec<Consent>,
    kind: &str,
    given_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) {
    match all.binary_search_by(|c| c.kind.as_str().cmp(kind)) {
        Ok(i) => {
            let c = &mut all[i];
            c.given_at = c.given_at.max(given_at);
            c.expires_at = c.expires_at.max(expires_at);
        }
        Err(i) => all.insert(
            i,
            Consent {
                kind: kind.to_owned(),
                given_at,
                expires_at,
            },
        ),
    }
}

/// A consent in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// `medication`, `checkup` or `clinical`.
    pub kind: String,
    /// When it was given.
    pub given_at: OffsetDateTime,
    /// Until when it holds.
    pub expires_at: OffsetDateTime,
}

/// Consumes a challenge for a person: `$1` when, `$2` the person, `$3` the challenge. Changes no
/// row when the challenge was used already, so of two uses exactly one succeeds.
pub(crate) const CONSUME_CHALLENGE: &str =
    "UPDATE challenges SET used_at = $1, person_ref = $2 WHERE id = $3 AND used_at IS NULL";

fn person(s: String) -> Result<PersonRef, StoreError> {
    PersonRef::from_stored(s).map_err(StoreError::Corrupt)
}

impl Store {
    /// Registers a facility with the hash of its API token.
    pub async fn create_facility(
        &self,
        code: &FacilityCode,
        name: &str,
        token_hash: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self, write, |p| {
            sqlx::query(
            "INSERT INTO facilities (code, name, token_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING"
        )
        .bind(code.as_str())
        .bind(name)
        .bind(token_hash)
        .bind(at)
        .execute(p)
        .await?
        .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "facility {} is already registered",
                code.as_str()
            )));
        }
        Ok(())
    }

    /// The facility whose API token hashes to `token_hash`.
    pub async fn facility_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<Facility>, StoreError> {
        let row: Option<(String, String)> = on_pool!(self, read, |p| sqlx::query_as(
            "SELECT code, name FROM facilities WHERE token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(p)
        .await?);
        row.map(|(code, name)| {
            Ok(Facility {
                code: FacilityCode::parse(&code).map_err(StoreError::Corrupt)?,
                name,
            })
        })
        .transpose()
    }

    /// Records that a certificate belongs to a person (the J-LIS directory). Recording the same
    /// certificate again changes nothing.
    pub async fn record_certificate(
        &self,
        fingerprint: &str,
        kind: &str,
        serial: &str,
        person: &PersonRef,
        not_after: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, write, |p| {
            sqlx::query(
            "INSERT INTO certificates (fingerprint, kind, serial, person_ref, not_after, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (fingerprint) DO NOTHING"
        )
        .bind(fingerprint)
        .bind(kind)
        .bind(serial)
        .bind(person.as_str())
        .bind(not_after)
        .bind(at)
        .execute(p)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// Records a person's registration for insurance use (利用申込). Returns false when the person
    /// was already registered (the first registration stays).
    pub async fn register_for_insurance(
        &self,
        person: &PersonRef,
        channel: &str,
        facility: Option<&FacilityCode>,
        certificate: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, write, |p| {
            sqlx::query(
            "INSERT INTO insurance_registrations (person_ref, channel, facility_code, certificate, registered_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_ref) DO NOTHING"
        )
        .bind(person.as_str())
        .bind(channel)
        .bind(facility.map(FacilityCode::as_str))
        .bind(certificate)
        .bind(at)
        .execute(p)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// Registrations for insurance use by channel (`portal`, `facility`, `pharmacy`).
    pub async fn registration_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT channel, COUNT(*) FROM insurance_registrations GROUP BY channel ORDER BY channel"
        )
        .fetch_all(p)
        .await?
        }))
    }

    /// Stores a new challenge.
    pub async fn create_challenge(
        &self,
        id: &str,
        nonce: &str,
        audience: &str,
        purpose: &str,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, write, |p| {
            sqlx::query(
            "INSERT INTO challenges (id, nonce, audience, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(id)
        .bind(nonce)
        .bind(audience)
        .bind(purpose)
        .bind(at)
        .bind(expires_at)
        .execute(p)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// A challenge and, in the same round trip, the holder of the certificate with `fingerprint`
    /// with the consents they have given `facility` that are in force at `at` (the card path
    /// reads all of it before it verifies anything else, and answers from it).
    pub async fn challenge_and_holder(
        &self,
        id: &str,
        fingerprint: &str,
        facility: Option<&FacilityCode>,
        at: OffsetDateTime,
    ) -> Result<Option<(Challenge, Option<CardHolder>)>, StoreError> {
        type R = (
            String,
            String,
            String,
            OffsetDateTime,
            Option<OffsetDateTime>,
            Option<String>,
            Option<bool>,
            Option<String>,
            Option<OffsetDateTime>,
            Option<OffsetDateTime>,
        );
        // One row per consent in force (or one row without), so no aggregate runs over other
        // persons' consents.
        let rows: Vec<R> = on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT ch.nonce, ch.audience, ch.purpose, ch.expires_at, ch.used_at, c.person_ref, \
             EXISTS (SELECT 1 FROM insurance_registrations r WHERE r.person_ref = c.person_ref), \
             k.kind, k.given_at, k.expires_at \
             FROM challenges ch LEFT JOIN certificates c ON c.fingerprint = $2 \
             LEFT JOIN consents k ON k.person_ref = c.person_ref AND k.facility_code = $3 \
             AND k.given_at <= $4 AND k.expires_at > $4 \
             WHERE ch.id = $1"
        )
        .bind(id)
        .bind(fingerprint)
        .bind(facility.map(FacilityCode::as_str))
        .bind(at)
        .fetch_all(p)
        .await?
        });
        let mut consents: Vec<Consent> = Vec::new();
        for (kind, given_at, expires_at) in rows
            .iter()
            .filter_map(|r| Some((r.7.as_ref()?, r.8?, r.9?)))
        {
            merge_consent(&mut consents, kind, given_at, expires_at);
        }
        let Some((nonce, audience, purpose, expires_at, used_at, holder, registered, ..)) =
            rows.into_iter().next()
        else {
            return Ok(None);
        };
        let holder = holder
            .map(|h| {
                person(h).map(|person| CardHolder {
                    person,
                    registered: registered.unwrap_or(false),
                    consents,
                })
            })
            .transpose()?;
        Ok(Some((
            Challenge {
                nonce,
                audience,
                purpose,
                expires_at,
                used_at,
            },
            holder,
        )))
    }

    /// The person of a card check made at `audience` (a used challenge), if it was used after
    /// `since`.
    pub async fn person_of_check(
        &self,
        id: &str,
        audience: &str,
        since: OffsetDateTime,
    ) -> Result<Option<PersonRef>, StoreError> {
        let row: Option<Option<String>> = on_pool!(self, read, |p| {
            sqlx::query_scalar(
            "SELECT person_ref FROM challenges WHERE id = $1 AND audience = $2 AND used_at IS NOT NULL AND used_at >= $3"
        )
        .bind(id)
        .bind(audience)
        .bind(since)
        .fetch_optional(p)
        .await?
        });
        row.flatten().map(person).transpose()
    }

    /// Marks a challenge used by `person`'s card (so the check can be referred to later); false
    /// if it was already used (or has gone), so of two simultaneous uses exactly one succeeds.
    /// One statement, one commit. Registrations and the portal use it; an eligibility check
    /// consumes its challenge in its audit commit instead ([`crate::CheckAudit::answer_challenge`]).
    pub async fn consume_challenge(
        &self,
        id: &str,
        at: OffsetDateTime,
        person: &PersonRef,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, write, |p| {
            sqlx::query(CONSUME_CHALLENGE)
                .bind(at)
                .bind(person.as_str())
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}
