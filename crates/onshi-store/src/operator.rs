//! The operator's side (migration 26): the facility master, onboarding, card-reader
//! applications, the counts the adoption dashboard shows, and the weekly editions of public
//! hospitals.
//!
//! - The master (`import_facilities`) is one transaction: every row is compared with what is
//!   stored, new facilities inserted in multi-row statements, changed ones updated, unchanged
//!   ones left alone, so importing the same file twice changes nothing; one audit entry says
//!   how many of each.
//! - Onboarding: a facility opens its portal account (`open_portal_account`, its application),
//!   the operator approves it (`approve_facility`) and only then does it get a token; each step
//!   audited in its commit.
//! - A facility operates (運用開始) from its first answered card or smartphone check, which the
//!   audit writer counts in `facility_checks` in the check's own commit
//!   ([`crate::CheckAudit::count_for`]); nothing declares it.
//! - Editions are written once (`save_edition`); a second edition of the same date is refused,
//!   whatever its content.

use std::collections::HashMap;

use time::{Date, OffsetDateTime};

use onshi_domain::facility::{CheckChannel, FacilityKind, FacilityRecord};
use onshi_domain::{AuditAction, FacilityCode, Prefecture};

use crate::audit::audit;
use crate::compared_time::ComparedTime;
use crate::{Actor, Backend, Store, StoreError, on_pool};

/// In a transaction: the index in `$codes` of the first code that is not a stored facility,
/// or `None`.
macro_rules! unknown_code {
    ($tx:expr, $pg:expr, $codes:expr) => {{
        let codes: &[&str] = $codes;
        let sql = format!(
            "SELECT code FROM facilities WHERE code IN ({})",
            placeholders($pg, 1, codes.len(), 1).join(", ")
        );
        let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
        for code in codes {
            q = q.bind(*code);
        }
        match q.fetch_all(&mut *$tx).await {
            Err(e) => Err(e),
            Ok(rows) => {
                let known: std::collections::HashSet<String> =
                    rows.into_iter().map(|r| r.0).collect();
                Ok(codes.iter().position(|c| !known.contains(*c)))
            }
        }
    }};
}

/// In a transaction: stamps a facility's onboarding step (`$column`, a time) and audits it.
macro_rules! onboarding_step {
    ($tx:expr, $column:literal, $code:expr, $at:expr, $actor:expr, $detail:expr) => {{
        sqlx::query(concat!(
            "UPDATE facilities SET ",
            $column,
            " = $1 WHERE code = $2"
        ))
        .bind(ComparedTime($at))
        .bind($code.as_str())
        .execute(&mut *$tx)
        .await?;
        audit!(
            &mut *$tx,
            $at,
            $actor,
            AuditAction::Onboard,
            &[],
            None,
            Some($detail)
        );
    }};
}

/// Rows per multi-row INSERT of the master (11 parameters each).
const FACILITY_ROWS_PER_INSERT: usize = 500;

/// What a master import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FacilityImportCounts {
    /// Facilities new to the store.
    pub added: usize,
    /// Facilities whose master fields changed.
    pub changed: usize,
    /// Facilities already stored as the file has them.
    pub unchanged: usize,
}

row_by_name! {
    /// The master fields of a stored facility.
    struct MasterRow {
        code: String,
        name: String,
        kind: Option<String>,
        prefecture: Option<i32>,
        public_sector: bool,
        beds: i32,
        chain_group: Option<String>,
        group_prescriptions: Option<i32>,
    }
}

impl MasterRow {
    fn same_as(&self, r: &FacilityRecord) -> bool {
        self.name == r.name
            && self.kind.as_deref() == Some(r.kind.code())
            && self.prefecture == Some(i32::from(r.prefecture.number()))
            && self.public_sector == r.public
            && i64::from(self.beds) == i64::from(r.beds)
            && self.chain_group == r.chain_group
            && self.group_prescriptions.map(i64::from) == r.group_prescriptions.map(i64::from)
    }
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A facility as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorFacility {
    /// 医療機関コード.
    pub code: FacilityCode,
    /// Its name.
    pub name: String,
    /// Its kind, when it is in the master.
    pub kind: Option<FacilityKind>,
    /// 都道府県, when it is in the master.
    pub prefecture: Option<Prefecture>,
    /// 公立・公的.
    pub public: bool,
    /// 病床数.
    pub beds: u32,
    /// Whether its pharmacy group is a large chain.
    pub large_chain: bool,
    /// When it opened its portal account (its application).
    pub portal_account_at: Option<OffsetDateTime>,
    /// When the operator approved it.
    pub approved_at: Option<OffsetDateTime>,
    /// Its card-reader application.
    pub readers: Option<ReaderApplication>,
    /// Its first answered card or smartphone check (運用開始).
    pub operating_since: Option<OffsetDateTime>,
}

row_by_name! {
    struct FacilityRow {
        code: String,
        name: String,
        kind: Option<String>,
        prefecture: Option<i32>,
        public_sector: bool,
        beds: i32,
        group_prescriptions: Option<i32>,
        portal_account_at: Option<OffsetDateTime>,
        approved_at: Option<OffsetDateTime>,
        readers: Option<i32>,
        free_readers: Option<i32>,
        applied_on: Option<Date>,
        delivered_on: Option<Date>,
        installed_on: Option<Date>,
        operating_since: Option<OffsetDateTime>,
    }
}

/// A facility's card-reader application (顔認証付きカードリーダー申込) and how far it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderApplication {
    /// Readers asked for.
    pub readers: u8,
    /// Of which given free.
    pub free_readers: u8,
    /// Applied for on.
    pub applied_on: Date,
    /// Delivered on.
    pub delivered_on: Option<Date>,
    /// Installed and ready (準備完了) on.
    pub installed_on: Option<Date>,
}

impl ReaderApplication {
    /// The application's dates in order (applied ≤ delivered ≤ installed); an error names the
    /// field out of order.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.readers == 0 {
            return Err(("readers", "must be 1 or more".into()));
        }
        if self.free_readers > self.readers {
            return Err(("free_readers", "is more than the readers asked for".into()));
        }
        if let Some(d) = self.delivered_on
            && d < self.applied_on
        {
            return Err(("delivered_on", "is before applied_on".into()));
        }
        if let Some(i) = self.installed_on {
            match self.delivered_on {
                None => return Err(("installed_on", "is given without delivered_on".into())),
                Some(d) if i < d => return Err(("installed_on", "is before delivered_on".into())),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

const FACILITY_SELECT: &str = "SELECT f.code, f.name, f.kind, f.prefecture, f.public_sector, f.beds, \
     f.group_prescriptions, f.portal_account_at, f.approved_at, r.readers, r.free_readers, \
     r.applied_on, r.delivered_on, r.installed_on, \
     (SELECT MIN(c.first_at) FROM facility_checks c WHERE c.facility_code = f.code \
      AND c.channel IN ('card', 'smartphone')) AS operating_since \
     FROM facilities f LEFT JOIN reader_applications r ON r.facility_code = f.code";

impl FacilityRow {
    fn decode(self) -> Result<OperatorFacility, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("facility {}: {what}", self.code));
        let kind = match self.kind.as_deref() {
            None => None,
            Some(k) => Some(FacilityKind::parse(k).map_err(|_| corrupt("kind"))?),
        };
        let readers = match (self.readers, self.free_readers, self.applied_on) {
            (Some(r), Some(f), Some(applied_on)) => Some(ReaderApplication {
                readers: u8::try_from(r).map_err(|_| corrupt("readers"))?,
                free_readers: u8::try_from(f).map_err(|_| corrupt("free_readers"))?,
                applied_on,
                delivered_on: self.delivered_on,
                installed_on: self.installed_on,
            }),
            _ => None,
        };
        Ok(OperatorFacility {
            code: FacilityCode::parse(&self.code).map_err(|_| corrupt("code"))?,
            name: self.name.clone(),
            kind,
            prefecture: self
                .prefecture
                .map(|p| Prefecture::from_number(i64::from(p)).ok_or_else(|| corrupt("prefecture")))
                .transpose()?,
            public: self.public_sector,
            beds: u32::try_from(self.beds).unwrap_or(0),
            large_chain: self.group_prescriptions.is_some_and(|n| {
                i64::from(n) >= i64::from(onshi_domain::facility::LARGE_CHAIN_PRESCRIPTIONS)
            }),
            portal_account_at: self.portal_account_at,
            approved_at: self.approved_at,
            readers,
            operating_since: self.operating_since,
        })
    }
}

/// The adoption counts of one kind of facility in one prefecture, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdoptionCount {
    /// The kind.
    pub kind: FacilityKind,
    /// The prefecture.
    pub prefecture: Prefecture,
    /// Facilities of the master.
    pub facilities: i64,
    /// With a portal account.
    pub portal_accounts: i64,
    /// That applied for card readers.
    pub applied: i64,
    /// Whose readers are installed (準備完了).
    pub ready: i64,
    /// That made a card or smartphone check (運用開始).
    pub operating: i64,
}

row_by_name! {
    struct AdoptionRow {
        kind: String,
        prefecture: i32,
        facilities: i64,
        portal_accounts: i64,
        applied: i64,
        ready: i64,
        operating: i64,
    }
}

/// Which step of adoption a dated count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdoptionStep {
    /// Portal account opened.
    PortalAccount,
    /// Readers applied for.
    Applied,
    /// Readers installed (準備完了).
    Ready,
    /// First card or smartphone check (運用開始).
    Operating,
}

/// How many facilities of a kind reached a step on a day (Japan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdoptionDay {
    /// The day.
    pub day: Date,
    /// The kind.
    pub kind: FacilityKind,
    /// The prefecture, when the days were asked for by prefecture.
    pub prefecture: Option<Prefecture>,
    /// The step.
    pub step: AdoptionStep,
    /// How many facilities reached it that day.
    pub facilities: i64,
}

row_by_name! {
    struct DayRow {
        kind: String,
        prefecture: i32,
        step: String,
        day: String,
        facilities: i64,
    }
}

/// Checks answered in a month by one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyChecks {
    /// `YYYY-MM`, Japan.
    pub month: String,
    /// The channel.
    pub channel: CheckChannel,
    /// How many.
    pub checks: i64,
}

row_by_name! {
    struct MonthRow {
        month: String,
        channel: String,
        checks: i64,
    }
}

row_by_name! {
    /// One row of a weekly edition: a public or public-sector hospital and its application.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PublicHospital {
        /// 医療機関コード.
        pub code: String,
        /// Its name.
        pub name: String,
        /// 都道府県.
        pub prefecture: i32,
        /// When it applied for readers, if it did.
        pub applied_on: Option<Date>,
        /// When its readers were installed, if they were.
        pub installed_on: Option<Date>,
    }
}

row_by_name! {
    /// A published weekly edition.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct WeeklyEdition {
        /// The edition's date (Japan), `YYYY-MM-DD`.
        pub edition: String,
        /// When it was published.
        pub published_at: OffsetDateTime,
        /// SHA-256 (hex) of `content`.
        pub content_hash: String,
        /// The edition as published (CSV).
        pub content: String,
    }
}

row_by_name! {
    /// A published edition without its content.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EditionSummary {
        /// The edition's date (Japan), `YYYY-MM-DD`.
        pub edition: String,
        /// When it was published.
        pub published_at: OffsetDateTime,
        /// SHA-256 (hex) of its content.
        pub content_hash: String,
    }
}

/// The start of a day in Japan, in UTC (a file's dates become times this way).
pub fn start_of_japan_day(d: Date) -> OffsetDateTime {
    d.midnight()
        .assume_offset(time::macros::offset!(+9))
        .to_offset(time::UtcOffset::UTC)
}

impl Store {
    /// Imports the facility master: all or nothing, idempotent. `progress` is told how many
    /// rows are done after each chunk.
    pub async fn import_facilities(
        &self,
        rows: &[FacilityRecord],
        actor: &Actor,
        at: OffsetDateTime,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<FacilityImportCounts, StoreError> {
        let mut counts = FacilityImportCounts::default();
        let pg = matches!(&*self.backend, Backend::Postgres(_));
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let mut done = 0;
            for chunk in rows.chunks(FACILITY_ROWS_PER_INSERT) {
                let marks = placeholders(pg, 1, chunk.len(), 1);
                let sql = format!(
                    "SELECT code, name, kind, prefecture, public_sector, beds, chain_group, \
                     group_prescriptions FROM facilities WHERE code IN ({})",
                    marks.join(", ")
                );
                let mut q = sqlx::query_as::<_, MasterRow>(sqlx::AssertSqlSafe(sql));
                for r in chunk {
                    q = q.bind(r.code.as_str());
                }
                let stored: HashMap<String, MasterRow> = q
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|r| (r.code.clone(), r))
                    .collect();
                let mut new = Vec::new();
                for r in chunk {
                    match stored.get(r.code.as_str()) {
                        None => new.push(r),
                        Some(s) if s.same_as(r) => counts.unchanged += 1,
                        Some(_) => {
                            counts.changed += 1;
                            sqlx::query(
                                "UPDATE facilities SET name = $1, kind = $2, prefecture = $3, \
                                 public_sector = $4, beds = $5, chain_group = $6, \
                                 group_prescriptions = $7 WHERE code = $8",
                            )
                            .bind(&r.name)
                            .bind(r.kind.code())
                            .bind(i32::from(r.prefecture.number()))
                            .bind(r.public)
                            .bind(int(r.beds))
                            .bind(r.chain_group.as_deref())
                            .bind(r.group_prescriptions.map(int))
                            .bind(r.code.as_str())
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
                // The same code twice in one chunk would be inserted twice: the caller's file
                // check refuses duplicates, and the primary key would refuse them here anyway.
                if !new.is_empty() {
                    counts.added += new.len();
                    let values = placeholders(pg, 1, new.len(), 9);
                    let sql = format!(
                        "INSERT INTO facilities (code, name, kind, prefecture, public_sector, beds, \
                         chain_group, group_prescriptions, created_at) VALUES {}",
                        values.join(", ")
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in new {
                        q = q
                            .bind(r.code.as_str())
                            .bind(&r.name)
                            .bind(r.kind.code())
                            .bind(i32::from(r.prefecture.number()))
                            .bind(r.public)
                            .bind(int(r.beds))
                            .bind(r.chain_group.as_deref())
                            .bind(r.group_prescriptions.map(int))
                            .bind(at);
                    }
                    q.execute(&mut *tx).await?;
                }
                done += chunk.len();
                progress(done);
            }
            let detail = format!(
                "facility master: {} added, {} changed, {} unchanged",
                counts.added, counts.changed, counts.unchanged
            );
            audit!(
                &mut *tx,
                at,
                actor,
                AuditAction::ImportFacilities,
                &[],
                None,
                Some(detail)
            );
            tx.commit().await?;
        });
        Ok(counts)
    }

    /// A facility as the operator sees it.
    pub async fn operator_facility(
        &self,
        code: &FacilityCode,
    ) -> Result<Option<OperatorFacility>, StoreError> {
        let sql = format!("{FACILITY_SELECT} WHERE f.code = $1");
        let row: Option<FacilityRow> = on_pool!(self, read, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(code.as_str())
                .fetch_optional(p)
                .await?
        });
        row.map(FacilityRow::decode).transpose()
    }

    /// Every facility of the master with its kind and whether it is a large-chain pharmacy,
    /// by code: what a file of reader applications needs to decide the free readers.
    pub async fn master_kinds(&self) -> Result<HashMap<String, (FacilityKind, bool)>, StoreError> {
        let rows: Vec<(String, String, Option<i32>)> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT code, kind, group_prescriptions FROM facilities WHERE kind IS NOT NULL",
            )
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(code, kind, rx)| {
                let kind = FacilityKind::parse(&kind)
                    .map_err(|_| StoreError::Corrupt(format!("facility {code}: kind")))?;
                let large = kind == FacilityKind::Pharmacy
                    && rx.is_some_and(|n| {
                        i64::from(n) >= i64::from(onshi_domain::facility::LARGE_CHAIN_PRESCRIPTIONS)
                    });
                Ok((code, (kind, large)))
            })
            .collect()
    }

    /// How many facilities wait for the operator's approval (a portal account, not approved),
    /// and the first `limit` of them by when they applied.
    pub async fn facilities_awaiting_approval(
        &self,
        limit: i64,
    ) -> Result<(i64, Vec<OperatorFacility>), StoreError> {
        let sql = format!(
            "{FACILITY_SELECT} WHERE f.portal_account_at IS NOT NULL AND f.approved_at IS NULL \
             ORDER BY f.portal_account_at, f.code LIMIT $1"
        );
        let (rows, total): (Vec<FacilityRow>, (i64,)) = on_pool!(self, read, |p| {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(limit)
                .fetch_all(p)
                .await?;
            let total = sqlx::query_as(
                "SELECT COUNT(*) FROM facilities WHERE portal_account_at IS NOT NULL \
                 AND approved_at IS NULL",
            )
            .fetch_one(p)
            .await?;
            (rows, total)
        });
        let rows = rows
            .into_iter()
            .map(FacilityRow::decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((total.0, rows))
    }

    /// A facility of the master opens its portal account: its application to take part.
    /// Opening it again changes nothing (`Ok(false)`).
    pub async fn open_portal_account(
        &self,
        code: &FacilityCode,
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let exists: Option<(Option<OffsetDateTime>,)> =
                sqlx::query_as("SELECT portal_account_at FROM facilities WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            match exists {
                None => return Err(StoreError::NotFound("facility")),
                Some((Some(_),)) => return Ok(false),
                Some((None,)) => {}
            }
            onboarding_step!(
                tx,
                "portal_account_at",
                code,
                at,
                actor,
                format!("portal account of facility {}", code.as_str())
            );
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The operator approves a facility that opened its portal account, and its first API
    /// token (`token_hash`) is stored in the same commit. Refused (`Conflict`) without a portal
    /// account or when already approved.
    pub async fn approve_facility(
        &self,
        code: &FacilityCode,
        token_hash: &str,
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let state: Option<(Option<OffsetDateTime>, Option<OffsetDateTime>)> = sqlx::query_as(
                "SELECT portal_account_at, approved_at FROM facilities WHERE code = $1",
            )
            .bind(code.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            match state {
                None => return Err(StoreError::NotFound("facility")),
                Some((None, _)) => {
                    return Err(StoreError::Conflict(format!(
                        "facility {} has not opened its portal account: it applies first",
                        code.as_str()
                    )));
                }
                Some((_, Some(_))) => {
                    return Err(StoreError::Conflict(format!(
                        "facility {} is already approved; rotate its token instead",
                        code.as_str()
                    )));
                }
                Some((Some(_), None)) => {}
            }
            sqlx::query(crate::credentials::INSERT_FACILITY_TOKEN)
                .bind(token_hash)
                .bind(code.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
            onboarding_step!(
                tx,
                "approved_at",
                code,
                at,
                actor,
                format!("approved facility {}", code.as_str())
            );
            tx.commit().await?;
            Ok(())
        })
    }

    /// Records facilities' card-reader applications (a later record of a facility replaces its
    /// earlier one), all in one transaction, in multi-row statements: an application out of
    /// order or a facility not in the store refuses the whole set with its index. One audit
    /// entry for the set (naming the facility when there is one).
    pub async fn record_reader_applications(
        &self,
        apps: &[(FacilityCode, ReaderApplication)],
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<(), (usize, StoreError)> {
        for (i, (_, app)) in apps.iter().enumerate() {
            if let Err((field, reason)) = app.check() {
                return Err((i, StoreError::Conflict(format!("{field}: {reason}"))));
            }
        }
        // The last record of a facility is the one kept (one upsert may touch a row once).
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, (code, _)) in apps.iter().enumerate() {
            last.insert(code.as_str(), i);
        }
        let kept: Vec<&(FacilityCode, ReaderApplication)> = apps
            .iter()
            .enumerate()
            .filter(|(i, (code, _))| last.get(code.as_str()) == Some(i))
            .map(|(_, a)| a)
            .collect();
        let whole = |e: sqlx::Error| (0, StoreError::from(e));
        let pg = matches!(&*self.backend, Backend::Postgres(_));
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await.map_err(whole)?;
            for (c, chunk) in apps.chunks(FACILITY_ROWS_PER_INSERT).enumerate() {
                let codes: Vec<&str> = chunk.iter().map(|(code, _)| code.as_str()).collect();
                if let Some(j) = unknown_code!(tx, pg, &codes).map_err(whole)? {
                    return Err((
                        c * FACILITY_ROWS_PER_INSERT + j,
                        StoreError::NotFound("facility"),
                    ));
                }
            }
            for chunk in kept.chunks(FACILITY_ROWS_PER_INSERT) {
                let sql = format!(
                    "INSERT INTO reader_applications (facility_code, readers, free_readers, applied_on, \
                     delivered_on, installed_on, recorded_at) VALUES {} \
                     ON CONFLICT (facility_code) DO UPDATE SET readers = excluded.readers, \
                     free_readers = excluded.free_readers, applied_on = excluded.applied_on, \
                     delivered_on = excluded.delivered_on, installed_on = excluded.installed_on, \
                     recorded_at = excluded.recorded_at",
                    placeholders(pg, 1, chunk.len(), 7).join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (code, app) in chunk {
                    q = q
                        .bind(code.as_str())
                        .bind(i32::from(app.readers))
                        .bind(i32::from(app.free_readers))
                        .bind(app.applied_on)
                        .bind(app.delivered_on)
                        .bind(app.installed_on)
                        .bind(ComparedTime(at));
                }
                q.execute(&mut *tx).await.map_err(whole)?;
            }
            let detail = match apps {
                [(code, app)] => format!(
                    "facility {}: {} reader(s), {} free",
                    code.as_str(),
                    app.readers,
                    app.free_readers
                ),
                _ => format!("reader applications recorded from a file: {}", apps.len()),
            };
            let audited: Result<(), StoreError> = async {
                audit!(
                    &mut *tx,
                    at,
                    actor,
                    AuditAction::RecordReaders,
                    &[],
                    None,
                    Some(detail)
                );
                Ok(())
            }
            .await;
            audited.map_err(|e| (0, e))?;
            tx.commit().await.map_err(whole)?;
        });
        Ok(())
    }

    /// Records when facilities opened their portal accounts, as a file of past dates gives them
    /// (the start of each day in Japan), in one transaction with one audit entry, in multi-row
    /// statements; facilities already with an account keep theirs. A facility not in the store
    /// refuses the whole set with its index.
    pub async fn record_portal_accounts(
        &self,
        accounts: &[(FacilityCode, Date)],
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<usize, (usize, StoreError)> {
        let whole = |e: sqlx::Error| (0, StoreError::from(e));
        let pg = matches!(&*self.backend, Backend::Postgres(_));
        let mut opened = 0;
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await.map_err(whole)?;
            for (c, chunk) in accounts.chunks(FACILITY_ROWS_PER_INSERT).enumerate() {
                let codes: Vec<&str> = chunk.iter().map(|(code, _)| code.as_str()).collect();
                if let Some(j) = unknown_code!(tx, pg, &codes).map_err(whole)? {
                    return Err((
                        c * FACILITY_ROWS_PER_INSERT + j,
                        StoreError::NotFound("facility"),
                    ));
                }
                // VALUES names its columns column1, column2 on both backends.
                let sql = format!(
                    "UPDATE facilities SET portal_account_at = v.column2 FROM (VALUES {}) AS v \
                     WHERE facilities.code = v.column1 AND facilities.portal_account_at IS NULL",
                    placeholders(pg, 1, chunk.len(), 2).join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (code, on) in chunk {
                    q = q
                        .bind(code.as_str())
                        .bind(ComparedTime(start_of_japan_day(*on)));
                }
                opened += q.execute(&mut *tx).await.map_err(whole)?.rows_affected() as usize;
            }
            let audited: Result<(), StoreError> = async {
                audit!(
                    &mut *tx,
                    at,
                    actor,
                    AuditAction::Onboard,
                    &[],
                    None,
                    Some(format!("portal accounts recorded from a file: {opened}"))
                );
                Ok(())
            }
            .await;
            audited.map_err(|e| (0, e))?;
            tx.commit().await.map_err(whole)?;
        });
        Ok(opened)
    }

    /// The adoption counts now, by kind and prefecture, of the facilities in the master.
    pub async fn adoption_counts(&self) -> Result<Vec<AdoptionCount>, StoreError> {
        let rows: Vec<AdoptionRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT f.kind, f.prefecture, COUNT(*) AS facilities, \
                 COUNT(f.portal_account_at) AS portal_accounts, COUNT(r.applied_on) AS applied, \
                 COUNT(r.installed_on) AS ready, COUNT(o.facility_code) AS operating \
                 FROM facilities f LEFT JOIN reader_applications r ON r.facility_code = f.code \
                 LEFT JOIN (SELECT DISTINCT facility_code FROM facility_checks \
                   WHERE channel IN ('card', 'smartphone')) o ON o.facility_code = f.code \
                 WHERE f.kind IS NOT NULL AND f.prefecture IS NOT NULL \
                 GROUP BY f.kind, f.prefecture ORDER BY f.kind, f.prefecture",
            )
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                let corrupt = || StoreError::Corrupt(format!("facility kind {}", r.kind));
                Ok(AdoptionCount {
                    kind: FacilityKind::parse(&r.kind).map_err(|_| corrupt())?,
                    prefecture: Prefecture::from_number(i64::from(r.prefecture))
                        .ok_or_else(corrupt)?,
                    facilities: r.facilities,
                    portal_accounts: r.portal_accounts,
                    applied: r.applied,
                    ready: r.ready,
                    operating: r.operating,
                })
            })
            .collect()
    }

    /// How many facilities of each kind (and prefecture, when `by_prefecture`) reached each
    /// step on each day (Japan): what the weekly series are added up from.
    pub async fn adoption_days(&self, by_prefecture: bool) -> Result<Vec<AdoptionDay>, StoreError> {
        let pg = matches!(&*self.backend, Backend::Postgres(_));
        // The day of a time in Japan, as text, per backend.
        let day_of = |col: &str| {
            if pg {
                format!("to_char({col} AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD')")
            } else {
                format!("date({col}, '+9 hours')")
            }
        };
        let day_text = |col: &str| {
            if pg {
                format!("to_char({col}, 'YYYY-MM-DD')")
            } else {
                col.to_owned()
            }
        };
        let sql = format!(
            "SELECT kind, prefecture, step, day, COUNT(*) AS facilities FROM ( \
               SELECT f.kind, {pref} AS prefecture, 'portal' AS step, {portal} AS day FROM facilities f \
                 WHERE f.kind IS NOT NULL AND f.portal_account_at IS NOT NULL \
               UNION ALL SELECT f.kind, {pref}, 'applied', {applied} FROM facilities f \
                 JOIN reader_applications r ON r.facility_code = f.code WHERE f.kind IS NOT NULL \
               UNION ALL SELECT f.kind, {pref}, 'ready', {ready} FROM facilities f \
                 JOIN reader_applications r ON r.facility_code = f.code \
                 WHERE f.kind IS NOT NULL AND r.installed_on IS NOT NULL \
               UNION ALL SELECT f.kind, {pref}, 'operating', {operating} FROM facilities f \
                 JOIN (SELECT facility_code, MIN(first_at) AS first_at FROM facility_checks \
                   WHERE channel IN ('card', 'smartphone') GROUP BY facility_code) o \
                 ON o.facility_code = f.code WHERE f.kind IS NOT NULL \
             ) s GROUP BY kind, prefecture, step, day ORDER BY day, kind, prefecture, step",
            pref = if by_prefecture {
                "COALESCE(f.prefecture, 0)"
            } else {
                "0"
            },
            portal = day_of("f.portal_account_at"),
            applied = day_text("r.applied_on"),
            ready = day_text("r.installed_on"),
            operating = day_of("o.first_at"),
        );
        let rows: Vec<DayRow> = on_pool!(self, read, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(p)
                .await?
        });
        rows.into_iter()
            .map(|r| {
                let corrupt = || StoreError::Corrupt(format!("adoption day {}", r.day));
                Ok(AdoptionDay {
                    day: onshi_domain::parse_date(&r.day).map_err(|_| corrupt())?,
                    kind: FacilityKind::parse(&r.kind).map_err(|_| corrupt())?,
                    prefecture: if by_prefecture {
                        Some(Prefecture::from_number(i64::from(r.prefecture)).ok_or_else(corrupt)?)
                    } else {
                        None
                    },
                    step: match r.step.as_str() {
                        "portal" => AdoptionStep::PortalAccount,
                        "applied" => AdoptionStep::Applied,
                        "ready" => AdoptionStep::Ready,
                        "operating" => AdoptionStep::Operating,
                        _ => return Err(corrupt()),
                    },
                    facilities: r.facilities,
                })
            })
            .collect()
    }

    /// Checks answered each month by each channel, all facilities together.
    pub async fn monthly_checks(&self) -> Result<Vec<MonthlyChecks>, StoreError> {
        let rows: Vec<MonthRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT month, channel, CAST(SUM(checks) AS BIGINT) AS checks FROM facility_checks \
                 GROUP BY month, channel ORDER BY month, channel",
            )
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(MonthlyChecks {
                    channel: CheckChannel::from_code(&r.channel)
                        .ok_or_else(|| StoreError::Corrupt(format!("channel {}", r.channel)))?,
                    month: r.month,
                    checks: r.checks,
                })
            })
            .collect()
    }

    /// Cards in the certificate directory (persons with a card certificate) and those
    /// registered for insurance use (利用申込).
    pub async fn card_registration_counts(&self) -> Result<(i64, i64), StoreError> {
        let counts: (i64, i64) = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT (SELECT COUNT(DISTINCT person_ref) FROM certificates WHERE kind = 'card'), \
                 (SELECT COUNT(*) FROM insurance_registrations r WHERE EXISTS \
                   (SELECT 1 FROM certificates c WHERE c.person_ref = r.person_ref AND c.kind = 'card'))",
            )
            .fetch_one(p)
            .await?
        });
        Ok(counts)
    }

    /// Every public or public-sector hospital of the master with its application, by code.
    pub async fn public_hospitals(&self) -> Result<Vec<PublicHospital>, StoreError> {
        let rows: Vec<PublicHospital> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT f.code, f.name, f.prefecture, r.applied_on, r.installed_on FROM facilities f \
                 LEFT JOIN reader_applications r ON r.facility_code = f.code \
                 WHERE f.kind = 'hospital' AND f.public_sector ORDER BY f.code",
            )
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Stores a weekly edition, once: `Ok(false)` when an edition of that date exists (it is
    /// left as it was).
    pub async fn save_edition(
        &self,
        edition: &WeeklyEdition,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "INSERT INTO weekly_editions (edition, published_at, content_hash, content) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (edition) DO NOTHING",
            )
            .bind(&edition.edition)
            .bind(edition.published_at)
            .bind(&edition.content_hash)
            .bind(&edition.content)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            audit!(
                &mut *tx,
                edition.published_at,
                actor,
                AuditAction::PublishWeekly,
                &[],
                None,
                Some(format!(
                    "edition {} sha256 {}",
                    edition.edition, edition.content_hash
                ))
            );
            tx.commit().await?;
            Ok(true)
        })
    }

    /// A published edition.
    pub async fn edition(&self, edition: &str) -> Result<Option<WeeklyEdition>, StoreError> {
        let row: Option<WeeklyEdition> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT edition, published_at, content_hash, content FROM weekly_editions WHERE edition = $1",
            )
            .bind(edition)
            .fetch_optional(p)
            .await?
        });
        Ok(row)
    }

    /// Every published edition without its content (date, time, hash), newest first.
    pub async fn edition_summaries(&self) -> Result<Vec<EditionSummary>, StoreError> {
        let rows: Vec<EditionSummary> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT edition, published_at, content_hash FROM weekly_editions ORDER BY edition DESC",
            )
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The dates of every published edition, newest first.
    pub async fn editions(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, read, |p| {
            sqlx::query_as("SELECT edition FROM weekly_editions ORDER BY edition DESC")
                .fetch_all(p)
                .await?
        });
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// `rows` groups of `per_row` placeholders, numbered from `first` on PostgreSQL (`$n`), plain
/// `?` on SQLite; with `per_row` 1 a flat list.
fn placeholders(pg: bool, first: usize, rows: usize, per_row: usize) -> Vec<String> {
    (0..rows)
        .map(|r| {
            let marks: Vec<String> = (0..per_row)
                .map(|c| {
                    if pg {
                        format!("${}", first + r * per_row + c)
                    } else {
                        "?".to_owned()
                    }
                })
                .collect();
            if per_row == 1 {
                marks.join("")
            } else {
                format!("({})", marks.join(", "))
            }
        })
        .collect()
}
