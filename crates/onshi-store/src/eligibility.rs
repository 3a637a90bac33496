//! What eligibility checks need from the store: facilities, the certificate directory,
//! registrations for insurance use, single-use challenges, consents.

use onshi_domain::{ConsentKind, RegistrationChannel};
use sqlx::{ColumnIndex, Decode, Row, Type};
use time::{Date, OffsetDateTime};

use onshi_domain::{Challenge, FacilityCode, PersonRef};

use crate::compared_time::ComparedTime;
use crate::{CheckAudit, MemberRecord, Store, StoreError, on_pool};

/// A registered facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facility {
    /// 医療機関コード.
    pub code: FacilityCode,
    /// Its name.
    pub name: String,
}

/// What a card's use reads from the store, in one statement, once the card has proved itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRead {
    /// Whether the challenge it answers was used already (nothing else is read then).
    pub used: bool,
    /// The certificate's holder, if the directory has the certificate.
    pub holder: Option<CardHolder>,
    /// For a check: the holder's qualifications (current versions, by start date), if the
    /// holder registered the card for insurance use; each read is noted on the check's audit.
    pub qualifications: Vec<MemberRecord>,
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
        given: &[ConsentKind],
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Vec<Consent> {
        let mut all = self.consents.clone();
        for kind in given {
            merge_consent(&mut all, *kind, at, until);
        }
        all
    }
}

/// Adds a consent to `all` (sorted by kind), keeping one per kind: the latest given and the
/// latest expiry, as a check shows them.
fn merge_consent(
    all: &mut Vec<Consent>,
    kind: ConsentKind,
    given_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) {
    match all.binary_search_by(|c| c.kind.as_str().cmp(kind.as_str())) {
        Ok(i) => {
            let c = &mut all[i];
            c.given_at = c.given_at.max(given_at);
            c.expires_at = c.expires_at.max(expires_at);
        }
        Err(i) => all.insert(
            i,
            Consent {
                kind,
                given_at,
                expires_at,
            },
        ),
    }
}

/// A consent in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// What was consented to.
    pub kind: ConsentKind,
    /// When it was given.
    pub given_at: OffsetDateTime,
    /// Until when it holds.
    pub expires_at: OffsetDateTime,
}

/// Keeps a challenge as used by a person (see [`consume`]). Inserts no row when the challenge was
/// used already, so of two uses exactly one succeeds.
const CONSUME_CHALLENGE: &str = "INSERT INTO challenges (id, nonce, audience, purpose, created_at, expires_at, used_at, person_ref) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";

/// The statement that keeps `challenge` as used by `person` at `at`; it changes no row when the
/// challenge was used already. The single form of what the PostgreSQL audit writer does for a
/// whole group.
pub(crate) fn consume<'q, DB: sqlx::Database>(
    challenge: &'q Challenge,
    at: OffsetDateTime,
    person: &'q str,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    ComparedTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(CONSUME_CHALLENGE)
        .bind(challenge.id.as_str())
        .bind(challenge.nonce_hex())
        .bind(challenge.audience.as_str())
        .bind(challenge.purpose.as_str())
        .bind(ComparedTime(challenge.issued_at))
        .bind(ComparedTime(challenge.expires_at))
        .bind(ComparedTime(at))
        .bind(person)
}

/// One row of [`Store::card_read`]'s statement: a member version (or none), the holder, whether
/// the challenge was used, and a consent (or none).
type CardRow = (
    Option<MemberRecord>,
    Option<String>,
    bool,
    bool,
    Option<(String, OffsetDateTime, OffsetDateTime)>,
);

fn card_row<'r, R>(row: &'r R) -> Result<CardRow, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    i32: Decode<'r, R::Database> + Type<R::Database>,
    Date: Decode<'r, R::Database> + Type<R::Database>,
    Option<Date>: Decode<'r, R::Database> + Type<R::Database>,
    OffsetDateTime: Decode<'r, R::Database> + Type<R::Database>,
    Option<OffsetDateTime>: Decode<'r, R::Database> + Type<R::Database>,
{
    let member = match row.try_get::<Option<String>, _>("id")? {
        Some(_) => Some(crate::members::decode(row)?),
        None => None,
    };
    let kind: Option<String> = row.try_get("consent_kind")?;
    let given: Option<OffsetDateTime> = row.try_get("consent_given_at")?;
    let until: Option<OffsetDateTime> = row.try_get("consent_expires_at")?;
    Ok((
        member,
        row.try_get("holder_ref")?,
        row.try_get("registered")?,
        row.try_get("used")?,
        kind.zip(given).zip(until).map(|((k, g), u)| (k, g, u)),
    ))
}

fn person(s: String) -> Result<PersonRef, StoreError> {
    PersonRef::from_stored(s).map_err(StoreError::Corrupt)
}

/// One row per (qualification × consent), at least one: a person has a few of each, so
/// the product is small, and no aggregate runs over anyone else's rows. `h` is
/// MATERIALIZED so PostgreSQL cannot fold it into the joins: folded, it planned the
/// registration test as a hashed subplan over the whole registrations table and ran the
/// challenge look-up three times. The person's versions are joined one table at a time:
/// given `(members JOIN member_versions)` as one parenthesised join, SQLite materialised
/// it whole, every version of every member, on each check. A version that is not its
/// member's current one comes back without the member's columns and is skipped.
pub(crate) const CARD_READ: &str = concat!(
    "WITH h AS MATERIALIZED (SELECT c.person_ref, \
         EXISTS (SELECT 1 FROM insurance_registrations r WHERE r.person_ref = c.person_ref) AS registered, \
         EXISTS (SELECT 1 FROM challenges u WHERE u.id = $1 AND u.used_at IS NOT NULL) AS used \
         FROM (SELECT 1) AS one LEFT JOIN certificates c ON c.fingerprint = $2) \
         SELECT ",
    member_columns!(),
    ", h.person_ref AS holder_ref, h.registered, h.used, k.kind AS consent_kind, \
         k.given_at AS consent_given_at, k.expires_at AS consent_expires_at \
         FROM h LEFT JOIN consents k ON NOT h.used AND k.person_ref = h.person_ref \
         AND k.facility_code = $3 AND k.given_at <= $4 AND k.expires_at > $4 \
         LEFT JOIN member_versions v ON $5 AND h.registered AND NOT h.used AND v.person_ref = h.person_ref \
         LEFT JOIN members m ON m.id = v.member_id AND m.current_version = v.version \
         ORDER BY v.qualified_from, m.id"
);

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
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "INSERT INTO facilities (code, name, created_at, portal_account_at, approved_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (code) DO NOTHING",
            )
            .bind(code.as_str())
            .bind(name)
            .bind(at)
            .bind(crate::compared_time::ComparedTime(at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                sqlx::query(crate::credentials::INSERT_FACILITY_TOKEN)
                    .bind(token_hash)
                    .bind(code.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            n
        });
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "facility {} is already registered",
                code.as_str()
            )));
        }
        Ok(())
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
        channel: RegistrationChannel,
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
        .bind(channel.as_str())
        .bind(facility.map(FacilityCode::as_str))
        .bind(certificate)
        .bind(at)
        .execute(p)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// `person`'s registration for insurance use (利用申込), if any: the channel (`portal`,
    /// `facility`), the facility where it was made, and when.
    pub async fn registration_of_person(
        &self,
        person: &PersonRef,
    ) -> Result<Option<(String, Option<String>, OffsetDateTime)>, StoreError> {
        Ok(on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT channel, facility_code, registered_at FROM insurance_registrations WHERE person_ref = $1",
            )
            .bind(person.as_str())
            .fetch_optional(p)
            .await?
        }))
    }

    /// Registrations for insurance use by channel, in the channels' name order.
    pub async fn registration_counts(&self) -> Result<Vec<(RegistrationChannel, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT channel, COUNT(*) FROM insurance_registrations GROUP BY channel ORDER BY channel"
        )
        .fetch_all(p)
        .await?
        });
        rows.into_iter()
            .map(|(name, n)| {
                RegistrationChannel::parse(&name)
                    .map(|c| (c, n))
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown registration channel {name:?}"))
                    })
            })
            .collect()
    }

    /// What a card's use needs, in one statement: whether `challenge_id` was used already, the
    /// holder of the certificate with `fingerprint`, the consents they have given `facility` in
    /// force at `at`, and, given a check's audit, their qualifications (only when the holder
    /// registered the card for insurance use and the challenge is unused), each read noted on
    /// `check`. The caller verifies the challenge and the card's signature *before* this, so no
    /// person's data is read for a card that has not proved itself.
    pub async fn card_read(
        &self,
        challenge_id: &str,
        fingerprint: &str,
        facility: Option<&FacilityCode>,
        at: OffsetDateTime,
        check: Option<&mut CheckAudit>,
    ) -> Result<CardRead, StoreError> {
        let rows: Vec<CardRow> = on_pool!(self, read, |p| {
            sqlx::query(CARD_READ)
                .bind(challenge_id)
                .bind(fingerprint)
                .bind(facility.map(FacilityCode::as_str))
                .bind(ComparedTime(at))
                .bind(check.is_some())
                .fetch_all(p)
                .await?
                .iter()
                .map(card_row)
                .collect::<Result<_, _>>()?
        });
        let (used, holder, registered) = rows
            .first()
            .map(|r| (r.3, r.1.clone(), r.2))
            .unwrap_or_default();
        let mut consents: Vec<Consent> = Vec::new();
        let mut qualifications: Vec<MemberRecord> = Vec::new();
        for (member, _, _, _, consent) in rows {
            if let Some((kind, given_at, expires_at)) = consent {
                let kind = ConsentKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown consent kind {kind:?}")))?;
                merge_consent(&mut consents, kind, given_at, expires_at);
            }
            // A member comes back once per consent; keep the first (in the statement's order).
            if let Some(m) = member.filter(|m| qualifications.iter().all(|q| q.id != m.id)) {
                qualifications.push(m);
            }
        }
        if let Some(check) = check {
            for q in &qualifications {
                check.read(&q.id);
            }
        }
        Ok(CardRead {
            used,
            holder: holder
                .map(|h| {
                    person(h).map(|person| CardHolder {
                        person,
                        registered,
                        consents,
                    })
                })
                .transpose()?,
            qualifications,
        })
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
        .bind(ComparedTime(since))
        .fetch_optional(p)
        .await?
        });
        row.flatten().map(person).transpose()
    }

    /// Forgets the challenges used before `before` (their checks can no longer be referred to),
    /// so the table holds a day of checks rather than every check ever made. Returns how many.
    /// Replays stay refused: a challenge used that long ago expired long before.
    pub async fn forget_used_challenges(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(on_pool!(self, write, |p| {
            sqlx::query("DELETE FROM challenges WHERE used_at < $1")
                .bind(ComparedTime(before))
                .execute(p)
                .await?
                .rows_affected()
        }))
    }

    /// Keeps `challenge` as used by `person`'s card (so the check can be referred to later); false
    /// if it was used already, so of two simultaneous uses exactly one succeeds. One statement,
    /// one commit. Registrations and the portal use it; an eligibility check consumes its
    /// challenge in its audit commit instead ([`crate::CheckAudit::answer_challenge`]).
    pub async fn consume_challenge(
        &self,
        challenge: &Challenge,
        at: OffsetDateTime,
        person: &PersonRef,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, write, |p| {
            consume(challenge, at, person.as_str())
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{AssertSqlSafe, Connection, SqliteConnection};

    use super::CARD_READ;
    use crate::testing::TestDb;

    /// A card check's read must find everything by index: a scan of any table would grow with
    /// the registry on every check. SQLite plans without statistics, so its plan on an empty
    /// database is the plan at any size. (PostgreSQL's depends on statistics; it was read with
    /// `EXPLAIN ANALYZE` at 200,000 members, see BENCHMARKS.md.)
    #[tokio::test]
    async fn the_card_read_searches_indexes_only_on_sqlite() {
        let db = TestDb::sqlite().unwrap();
        db.open().await.unwrap();
        let mut conn = SqliteConnection::connect(&db.url).await.unwrap();
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {CARD_READ}")))
                .bind("challenge")
                .bind("fingerprint")
                .bind("1311111111")
                .bind(time::macros::datetime!(2026-11-25 09:00 UTC))
                .bind(true)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let steps: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
        let scans: Vec<&&str> = steps
            .iter()
            .filter(|s| s.starts_with("SCAN") || s.starts_with("MATERIALIZE (join"))
            .filter(|s| !matches!(**s, "SCAN h" | "SCAN one" | "SCAN CONSTANT ROW"))
            .collect();
        assert!(scans.is_empty(), "{scans:?} in {steps:#?}");
        for table in ["c", "r", "u", "k", "v", "m"] {
            assert!(
                steps
                    .iter()
                    .any(|s| s.starts_with(&format!("SEARCH {table} "))),
                "{table} is searched by index: {steps:#?}"
            );
        }
    }
}
