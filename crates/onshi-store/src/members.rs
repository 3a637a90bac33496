//! Members and their versions: create, read, change, history, lists and as-of-date queries.

use onshi_domain::AuditAction;
use sqlx::{ColumnIndex, Decode, Row, Type};
use time::{Date, OffsetDateTime};

use onshi_domain::{
    BranchNumber, CardDetails, CardNumber, CardSymbol, CopayRatio, EmployerCode, InsurerNumber,
    LimitCertificate, LossReason, MemberDetails, MemberKey, PersonRef, Personal, Relationship, Sex,
};

use crate::audit::CheckAudit;
use crate::audit::audit;
use crate::{Actor, MemberRecord, Store, StoreError, on_pool};

/// A page of members, with the cursor for the next page.
#[derive(Debug, Clone)]
pub struct MemberPage {
    /// The members on this page, by id.
    pub items: Vec<MemberRecord>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_after: Option<String>,
}

/// `SELECT <member columns> FROM members m JOIN member_versions v … <rest>`, as one literal.
macro_rules! select_members {
    ($join:literal, $rest:literal) => {
        concat!(
            "SELECT ",
            member_columns!(),
            " FROM members m JOIN member_versions v ON v.member_id = m.id AND ",
            $join,
            " ",
            $rest
        )
    };
}

/// Appends one version row; the same column list everywhere a version is written.
macro_rules! insert_version {
    ($exec:expr, $member_id:expr, $version:expr, $at:expr, $source:expr, $d:expr) => {{
        let d: &MemberDetails = $d;
        sqlx::query(concat!(
            "INSERT INTO member_versions (member_id, version, recorded_at, source, ",
            version_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        ))
        .bind($member_id)
        .bind($version)
        .bind($at)
        .bind($source)
        .bind(&d.name.0)
        .bind(&d.name_kana.0)
        .bind(d.birth_date.0)
        .bind(i32::from(d.sex.code()))
        .bind(i32::from(d.relationship.code()))
        .bind(d.qualified_from)
        .bind(d.qualified_until)
        .bind(d.loss_reason.map(LossReason::code))
        .bind(i32::from(d.copay_ratio.percent()))
        .bind(d.person.as_ref().map(PersonRef::as_str))
        .bind(d.content_hash())
        .bind(d.limit.as_ref().map(LimitCertificate::to_stored))
        .bind((!d.card.is_empty()).then(|| d.card.to_stored()))
        .bind(d.employer.as_ref().map(EmployerCode::as_str))
        .execute($exec)
        .await?
    }};
}

fn corrupt(field: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{field}: {e}"))
}

/// Reads a member row by column name (the columns of `member_columns!`, whatever else the
/// statement selects beside them).
pub(crate) fn decode<'r, R>(row: &'r R) -> Result<MemberRecord, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    i32: Decode<'r, R::Database> + Type<R::Database>,
    Date: Decode<'r, R::Database> + Type<R::Database>,
    Option<Date>: Decode<'r, R::Database> + Type<R::Database>,
    OffsetDateTime: Decode<'r, R::Database> + Type<R::Database>,
{
    let text = |c: &'static str| row.try_get::<String, _>(c);
    let small = |c: &'static str| row.try_get::<i32, _>(c).map(i64::from);
    let key = MemberKey {
        insurer: InsurerNumber::parse(&text("insurer_number")?)
            .map_err(corrupt("insurer_number"))?,
        symbol: CardSymbol::parse(&text("symbol")?).map_err(corrupt("symbol"))?,
        number: CardNumber::parse(&text("number")?).map_err(corrupt("number"))?,
        branch: BranchNumber::parse(&text("branch")?).map_err(corrupt("branch"))?,
    };
    let loss: Option<String> = row.try_get("loss_reason")?;
    let person: Option<String> = row.try_get("person_ref")?;
    let limit: Option<String> = row.try_get("limit_certificate")?;
    let card: Option<String> = row.try_get("card_details")?;
    let employer: Option<String> = row.try_get("employer")?;
    let details = MemberDetails {
        name: Personal(text("name")?),
        name_kana: Personal(text("name_kana")?),
        birth_date: Personal(row.try_get("birth_date")?),
        sex: Sex::from_code(small("sex")?).ok_or_else(|| StoreError::Corrupt("sex".into()))?,
        relationship: Relationship::from_code(small("relationship")?)
            .ok_or_else(|| StoreError::Corrupt("relationship".into()))?,
        qualified_from: row.try_get("qualified_from")?,
        qualified_until: row.try_get("qualified_until")?,
        loss_reason: loss
            .map(|l| LossReason::parse(&l))
            .transpose()
            .map_err(corrupt("loss_reason"))?,
        copay_ratio: CopayRatio::from_percent(u8::try_from(small("copay_ratio")?).unwrap_or(0))
            .map_err(corrupt("copay_ratio"))?,
        limit: limit
            .map(|l| LimitCertificate::from_stored(&l))
            .transpose()
            .map_err(corrupt("limit_certificate"))?,
        card: card
            .map(|c| CardDetails::from_stored(&c))
            .transpose()
            .map_err(corrupt("card_details"))?
            .unwrap_or_default(),
        person: person
            .map(PersonRef::from_stored)
            .transpose()
            .map_err(corrupt("person_ref"))?,
        employer: employer
            .map(|e| EmployerCode::parse(&e))
            .transpose()
            .map_err(corrupt("employer"))?,
    };
    Ok(MemberRecord {
        id: text("id")?,
        key,
        version: row.try_get("version")?,
        recorded_at: row.try_get("recorded_at")?,
        source: text("source")?,
        details,
    })
}

/// A new opaque member id: a UUIDv7, so ids made together sort together, which keeps index
/// inserts of a bulk import sequential instead of scattered over the whole B-tree.
pub(crate) fn new_member_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Store {
    /// Registers a new member with its first version. A member with the same card key at the
    /// same insurer is a conflict.
    pub async fn create_member(
        &self,
        actor: &Actor,
        key: &MemberKey,
        details: &MemberDetails,
        at: OffsetDateTime,
    ) -> Result<MemberRecord, StoreError> {
        let id = new_member_id();
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO members (id, insurer_number, symbol, number, branch, current_version, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT (insurer_number, symbol, number, branch) DO NOTHING",
            )
            .bind(&id)
            .bind(key.insurer.as_str())
            .bind(key.symbol.as_str())
            .bind(key.number.as_str())
            .bind(key.branch.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(StoreError::Conflict(
                    "a member with this insurer number, symbol, number and branch already exists"
                        .into(),
                ));
            }
            insert_version!(&mut *tx, &id, 1_i64, at, "api", details);
            audit!(
                &mut *tx,
                at,
                actor,
                AuditAction::Create,
                &[id.as_str()],
                None,
                None
            );
            tx.commit().await?;
        });
        Ok(MemberRecord {
            id,
            key: key.clone(),
            version: 1,
            recorded_at: at,
            source: "api".into(),
            details: details.clone(),
        })
    }

    /// The current version of one member of `insurer`. Another insurer's member is `NotFound`.
    pub async fn member(
        &self,
        actor: &Actor,
        insurer: &InsurerNumber,
        id: &str,
        at: OffsetDateTime,
    ) -> Result<MemberRecord, StoreError> {
        let record = on_pool!(self, read, |p| {
            let row = sqlx::query(select_members!(
                "v.version = m.current_version",
                "WHERE m.id = $1 AND m.insurer_number = $2"
            ))
            .bind(id)
            .bind(insurer.as_str())
            .fetch_optional(p)
            .await?;
            row.as_ref().map(decode).transpose()?
        })
        .ok_or(StoreError::NotFound("member"))?;
        self.append_audit(at, actor, AuditAction::Read, &[record.id.as_str()], None)
            .await?;
        Ok(record)
    }

    /// The current version of the member with this card key, if any.
    pub async fn find_member(
        &self,
        actor: &Actor,
        key: &MemberKey,
        at: OffsetDateTime,
    ) -> Result<Option<MemberRecord>, StoreError> {
        let record = self.fetch_member_by_key(key).await?;
        if let Some(r) = &record {
            self.append_audit(at, actor, AuditAction::Read, &[r.id.as_str()], None)
                .await?;
        }
        Ok(record)
    }

    /// [`Store::find_member`] for an eligibility check: the read is recorded in `check`, whose
    /// entries are written by [`Store::finish_check`].
    pub async fn find_member_for_check(
        &self,
        check: &mut CheckAudit,
        key: &MemberKey,
    ) -> Result<Option<MemberRecord>, StoreError> {
        let record = self.fetch_member_by_key(key).await?;
        if let Some(r) = &record {
            check.read(&r.id);
        }
        Ok(record)
    }

    pub(crate) async fn fetch_member_by_key(
        &self,
        key: &MemberKey,
    ) -> Result<Option<MemberRecord>, StoreError> {
        Ok(on_pool!(self, read, |p| {
            let row = sqlx::query(select_members!(
                "v.version = m.current_version",
                "WHERE m.insurer_number = $1 AND m.symbol = $2 AND m.number = $3 AND m.branch = $4"
            ))
            .bind(key.insurer.as_str())
            .bind(key.symbol.as_str())
            .bind(key.number.as_str())
            .bind(key.branch.as_str())
            .fetch_optional(p)
            .await?;
            row.as_ref().map(decode).transpose()?
        }))
    }

    /// Records a new version of a member. When `expected_version` is given and is not the current
    /// version, nothing is written (optimistic concurrency). A version equal to the current one
    /// writes nothing and returns the current version with `false`.
    pub async fn change_member(
        &self,
        actor: &Actor,
        insurer: &InsurerNumber,
        id: &str,
        expected_version: Option<i64>,
        details: &MemberDetails,
        at: OffsetDateTime,
    ) -> Result<(MemberRecord, bool), StoreError> {
        let outcome = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let row = sqlx::query(select_members!(
                "v.version = m.current_version",
                "WHERE m.id = $1 AND m.insurer_number = $2"
            ))
            .bind(id)
            .bind(insurer.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let current = row
                .as_ref()
                .map(decode)
                .transpose()?
                .ok_or(StoreError::NotFound("member"))?;
            if let Some(expected) = expected_version
                && expected != current.version
            {
                return Err(StoreError::Conflict(format!(
                    "version {expected} is not the current version ({}): read the member again",
                    current.version
                )));
            }
            if current.details.content_hash() == details.content_hash() {
                audit!(&mut *tx, at, actor, AuditAction::Read, &[id], None, None);
                tx.commit().await?;
                (current, false)
            } else {
                let version = current.version + 1;
                let moved = sqlx::query("UPDATE members SET current_version = $1 WHERE id = $2 AND current_version = $3")
                    .bind(version)
                    .bind(id)
                    .bind(current.version)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if moved == 0 {
                    return Err(StoreError::Conflict(
                        "the member was changed at the same time: read it again".into(),
                    ));
                }
                insert_version!(&mut *tx, id, version, at, "api", details);
                audit!(&mut *tx, at, actor, AuditAction::Change, &[id], None, None);
                tx.commit().await?;
                let record = MemberRecord {
                    version,
                    recorded_at: at,
                    source: "api".into(),
                    details: details.clone(),
                    ..current
                };
                (record, true)
            }
        });
        Ok(outcome)
    }

    /// Every version of one member of `insurer`, oldest first.
    pub async fn member_history(
        &self,
        actor: &Actor,
        insurer: &InsurerNumber,
        id: &str,
        at: OffsetDateTime,
    ) -> Result<Vec<MemberRecord>, StoreError> {
        let records = on_pool!(self, read, |p| {
            let rows = sqlx::query(select_members!(
                "TRUE",
                "WHERE m.id = $1 AND m.insurer_number = $2 ORDER BY v.version"
            ))
            .bind(id)
            .bind(insurer.as_str())
            .fetch_all(p)
            .await?;
            rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?
        });
        if records.is_empty() {
            return Err(StoreError::NotFound("member"));
        }
        self.append_audit(at, actor, AuditAction::History, &[id], None)
            .await?;
        Ok(records)
    }

    /// One page of an insurer's members (current versions), by id. With `as_of`, only members
    /// whose qualification covers that date.
    pub async fn list_members(
        &self,
        actor: &Actor,
        insurer: &InsurerNumber,
        as_of: Option<Date>,
        after: Option<&str>,
        limit: u32,
        at: OffsetDateTime,
    ) -> Result<MemberPage, StoreError> {
        let limit = limit.clamp(1, 1000);
        let mut items = on_pool!(self, read, |p| {
            let rows = sqlx::query(select_members!(
                "v.version = m.current_version",
                "WHERE m.insurer_number = $1 AND m.id > $2 \
                 AND ($3 IS NULL OR (v.qualified_from <= $3 AND (v.qualified_until IS NULL OR v.qualified_until >= $3))) \
                 ORDER BY m.id LIMIT $4"
            ))
            .bind(insurer.as_str())
            .bind(after.unwrap_or(""))
            .bind(as_of)
            .bind(i64::from(limit) + 1)
            .fetch_all(p)
            .await?;
            rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?
        });
        let next_after = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|m| m.id.clone())
        } else {
            None
        };
        let ids: Vec<&str> = items.iter().map(|m| m.id.as_str()).collect();
        if !ids.is_empty() {
            self.append_audit(at, actor, AuditAction::List, &ids, None)
                .await?;
        }
        Ok(MemberPage { items, next_after })
    }

    /// `insurer`'s members (current versions) born on `birth_date` whose kana name is like
    /// `kana` (half- and full-width alike, spaces ignored; 70 or more of 100 on
    /// `text::kana_similarity`), most similar first, at most 20. The read is audited as a list.
    pub async fn find_members_by_kana(
        &self,
        actor: &Actor,
        insurer: &InsurerNumber,
        kana: &str,
        birth_date: time::Date,
        at: OffsetDateTime,
    ) -> Result<Vec<MemberRecord>, StoreError> {
        let records = on_pool!(self, read, |p| {
            let rows = sqlx::query(select_members!(
                "v.version = m.current_version",
                "WHERE m.insurer_number = $1 AND v.birth_date = $2"
            ))
            .bind(insurer.as_str())
            .bind(birth_date)
            .fetch_all(p)
            .await?;
            rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?
        });
        let mut scored: Vec<(u8, MemberRecord)> = records
            .into_iter()
            .map(|r| {
                (
                    onshi_domain::text::kana_similarity(kana, &r.details.name_kana.0),
                    r,
                )
            })
            .filter(|(score, _)| *score >= 70)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let found: Vec<MemberRecord> = scored.into_iter().take(20).map(|(_, r)| r).collect();
        let ids: Vec<&str> = found.iter().map(|m| m.id.as_str()).collect();
        if !ids.is_empty() {
            self.append_audit(at, actor, AuditAction::List, &ids, None)
                .await?;
        }
        Ok(found)
    }

    /// A person's qualifications at every insurer that gave their My Number (current versions),
    /// ordered by start date; with `as_of`, only those covering that date.
    pub async fn qualifications_of_person(
        &self,
        actor: &Actor,
        person: &PersonRef,
        as_of: Option<Date>,
        at: OffsetDateTime,
    ) -> Result<Vec<MemberRecord>, StoreError> {
        let records = self.fetch_qualifications(person, as_of).await?;
        let ids: Vec<&str> = records.iter().map(|m| m.id.as_str()).collect();
        if !ids.is_empty() {
            self.append_audit(at, actor, AuditAction::Read, &ids, None)
                .await?;
        }
        Ok(records)
    }

    /// [`Store::qualifications_of_person`] for an eligibility check: the reads are recorded in
    /// `check`, whose entries are written by [`Store::finish_check`].
    pub async fn qualifications_for_check(
        &self,
        check: &mut CheckAudit,
        person: &PersonRef,
        as_of: Option<Date>,
    ) -> Result<Vec<MemberRecord>, StoreError> {
        let records = self.fetch_qualifications(person, as_of).await?;
        for r in &records {
            check.read(&r.id);
        }
        Ok(records)
    }

    async fn fetch_qualifications(
        &self,
        person: &PersonRef,
        as_of: Option<Date>,
    ) -> Result<Vec<MemberRecord>, StoreError> {
        Ok(on_pool!(self, read, |p| {
            let rows = sqlx::query(select_members!(
                "v.version = m.current_version",
                "WHERE v.person_ref = $1 \
                 AND ($2 IS NULL OR (v.qualified_from <= $2 AND (v.qualified_until IS NULL OR v.qualified_until >= $2))) \
                 ORDER BY v.qualified_from, m.id"
            ))
            .bind(person.as_str())
            .bind(as_of)
            .fetch_all(p)
            .await?;
            rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?
        }))
    }
}
