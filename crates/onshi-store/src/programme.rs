//! The insurer's programme for a fiscal year (特定健診・特定保健指導): who should be examined,
//! who was, who is a guidance target, and what guidance happened (migration 21), counted in
//! SQL that runs alike on both backends. The rates themselves are arithmetic on these counts
//! (`onshi_api::ProgrammeSummary`).

use time::{Date, Month, OffsetDateTime};

use onshi_domain::{AuditAction, InsurerNumber, MemberKey};

use crate::audit::audit;
use crate::compared_time::ComparedTime;
use crate::{Actor, Store, StoreError};

/// A step of a member's specific health guidance in a fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidanceEvent {
    /// 初回面接: the guidance began.
    FirstInterview,
    /// 終了: the final evaluation was made (counts towards the guidance rate).
    Completed,
    /// 脱落: the member stopped.
    DroppedOut,
}

impl GuidanceEvent {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GuidanceEvent::FirstInterview => "first_interview",
            GuidanceEvent::Completed => "completed",
            GuidanceEvent::DroppedOut => "dropped_out",
        }
    }

    /// The event of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            GuidanceEvent::FirstInterview,
            GuidanceEvent::Completed,
            GuidanceEvent::DroppedOut,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// One guidance event to record (see [`Store::record_guidance_all`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuidanceRecord {
    /// The member's card.
    pub key: MemberKey,
    /// The fiscal year whose checkup made them a target; `None` when the sender does not say
    /// (a guidance document, `hg08`, names the person and the date only): then it is found
    /// from what is stored, among the event's fiscal year and the one before (guidance runs
    /// on into the next year): for a completion or drop-out, the latest of those years whose
    /// first interview is recorded on or before the date; otherwise the latest whose checkup,
    /// dated on or before it, judged the member a guidance target (積極的 or 動機付け支援).
    pub year: Option<i32>,
    /// Which step.
    pub event: GuidanceEvent,
    /// When it happened.
    pub on: Date,
}

/// An insurer's counts for one fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgrammeCounts {
    /// Members aged 40–74 at the end of the fiscal year who were members for all of it (the
    /// denominator of 特定健診実施率).
    pub eligible: i64,
    /// Those of them with a checkup in the fiscal year (its numerator).
    pub examined: i64,
    /// Examined members whose latest checkup of the year gives 積極的支援.
    pub active: i64,
    /// … 動機付け支援.
    pub motivational: i64,
    /// … 判定不能.
    pub undeterminable: i64,
    /// Examined members whose latest checkup has an item at or past its 受診勧奨判定値 (to be
    /// told to see a doctor).
    pub referrals: i64,
    /// Examined members whose latest checkup meets the metabolic syndrome's criteria.
    pub metabolic: i64,
    /// … its reserve group.
    pub metabolic_reserve: i64,
    /// Targets (積極的 or 動機付け) whose guidance had its first interview.
    pub started: i64,
    /// Targets whose guidance was completed (the numerator of 特定保健指導実施率).
    pub completed: i64,
    /// Targets who dropped out.
    pub dropped_out: i64,
}

/// The first and last days of fiscal year `year`, and the birth-date bounds of ages 40–74 at
/// its end: born on or before the first bound, after the second.
fn year_bounds(year: i32) -> Result<(Date, Date, Date, Date), StoreError> {
    let date = |y: i32, m: Month, d: u8| {
        Date::from_calendar_date(y, m, d)
            .map_err(|_| StoreError::Conflict(format!("fiscal year {year} is out of range")))
    };
    // Age ≥ 40 on 31 March of year+1 ⇔ the 40th anniversary is on or before 1 April
    // (年齢計算ニ関スル法律: an age is reached the day before the anniversary).
    Ok((
        date(year, Month::April, 1)?,
        date(year + 1, Month::March, 31)?,
        date(year + 1 - 40, Month::April, 1)?,
        date(year + 1 - 75, Month::April, 1)?,
    ))
}

/// $1 insurer, $2 first day, $3 last day, $4 youngest birth date, $5 oldest (exclusive),
/// $6 fiscal year.
const COUNTS: &str = "WITH eligible AS ( \
       SELECT m.id FROM members m \
       JOIN member_versions v ON v.member_id = m.id AND v.version = m.current_version \
       WHERE m.insurer_number = $1 AND v.qualified_from <= $2 \
         AND (v.qualified_until IS NULL OR v.qualified_until >= $3) \
         AND v.birth_date <= $4 AND v.birth_date > $5 \
     ), ranked AS ( \
       SELECT c.member_id, c.guidance_level, c.metabolic, c.referral, ROW_NUMBER() OVER ( \
         PARTITION BY c.member_id ORDER BY c.exam_date DESC, c.version DESC, c.id DESC) AS rn \
       FROM checkups c JOIN eligible e ON e.id = c.member_id \
       WHERE c.insurer_number = $1 AND c.fiscal_year = $6 \
     ), latest AS (SELECT member_id, guidance_level, metabolic, referral FROM ranked WHERE rn = 1), \
     events AS ( \
       SELECT g.member_id, \
         MAX(CASE WHEN g.event = 'first_interview' THEN 1 ELSE 0 END) AS started, \
         MAX(CASE WHEN g.event = 'completed' THEN 1 ELSE 0 END) AS completed, \
         MAX(CASE WHEN g.event = 'dropped_out' THEN 1 ELSE 0 END) AS dropped_out \
       FROM guidance_events g JOIN latest l ON l.member_id = g.member_id \
       WHERE g.fiscal_year = $6 AND l.guidance_level IN ('1', '2') GROUP BY g.member_id \
     ) \
     SELECT (SELECT COUNT(*) FROM eligible) AS eligible, \
       (SELECT COUNT(*) FROM latest) AS examined, \
       (SELECT COUNT(*) FROM latest WHERE guidance_level = '1') AS active, \
       (SELECT COUNT(*) FROM latest WHERE guidance_level = '2') AS motivational, \
       (SELECT COUNT(*) FROM latest WHERE guidance_level = '4') AS undeterminable, \
       (SELECT COUNT(*) FROM latest WHERE referral) AS referrals, \
       (SELECT COUNT(*) FROM latest WHERE metabolic = '1') AS metabolic, \
       (SELECT COUNT(*) FROM latest WHERE metabolic = '2') AS metabolic_reserve, \
       (SELECT COUNT(*) FROM events WHERE started = 1) AS started, \
       (SELECT COUNT(*) FROM events WHERE completed = 1) AS completed, \
       (SELECT COUNT(*) FROM events WHERE dropped_out = 1) AS dropped_out";

row_by_name! {
    struct CountsRow {
        eligible: i64,
        examined: i64,
        active: i64,
        motivational: i64,
        undeterminable: i64,
        referrals: i64,
        metabolic: i64,
        metabolic_reserve: i64,
        started: i64,
        completed: i64,
        dropped_out: i64,
    }
}

/// $1 first day, $2 last day, $3 youngest birth date, $4 oldest (exclusive): eligible members
/// by insurer and workplace.
const ELIGIBLE_BY_EMPLOYER: &str = "SELECT m.insurer_number, v.employer, COUNT(*) AS eligible \
     FROM members m JOIN member_versions v ON v.member_id = m.id AND v.version = m.current_version \
     WHERE v.employer IS NOT NULL AND v.qualified_from <= $1 \
       AND (v.qualified_until IS NULL OR v.qualified_until >= $2) \
       AND v.birth_date <= $3 AND v.birth_date > $4 \
     GROUP BY m.insurer_number, v.employer";

/// $1 first day, $2 last day, $3 youngest birth date, $4 oldest (exclusive), $5 fiscal year:
/// per insurer, the two rates' numerators and denominators, counted as [`COUNTS`] counts them.
const RATES: &str = "WITH eligible AS ( \
       SELECT m.id, m.insurer_number FROM members m \
       JOIN member_versions v ON v.member_id = m.id AND v.version = m.current_version \
       WHERE v.qualified_from <= $1 AND (v.qualified_until IS NULL OR v.qualified_until >= $2) \
         AND v.birth_date <= $3 AND v.birth_date > $4 \
     ), ranked AS ( \
       SELECT c.member_id, c.guidance_level, ROW_NUMBER() OVER ( \
         PARTITION BY c.member_id ORDER BY c.exam_date DESC, c.version DESC, c.id DESC) AS rn \
       FROM checkups c JOIN eligible e ON e.id = c.member_id AND e.insurer_number = c.insurer_number \
       WHERE c.fiscal_year = $5 \
     ), latest AS (SELECT member_id, guidance_level FROM ranked WHERE rn = 1), \
     done AS ( \
       SELECT DISTINCT g.member_id FROM guidance_events g JOIN latest l ON l.member_id = g.member_id \
       WHERE g.fiscal_year = $5 AND g.event = 'completed' AND l.guidance_level IN ('1', '2') \
     ) \
     SELECT e.insurer_number, COUNT(*) AS eligible, COUNT(l.member_id) AS examined, \
       COALESCE(SUM(CASE WHEN l.guidance_level IN ('1', '2') THEN 1 ELSE 0 END), 0) AS targets, \
       COUNT(d.member_id) AS completed \
     FROM eligible e LEFT JOIN latest l ON l.member_id = e.id \
     LEFT JOIN done d ON d.member_id = e.id \
     GROUP BY e.insurer_number";

/// Which of an insurer's programme lists of a fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgrammeList {
    /// The guidance targets (特定保健指導対象者): 積極的 and 動機付け支援.
    Targets,
    /// The people to refer to a doctor (受診勧奨): an item at or past its 受診勧奨判定値.
    Referrals,
}

impl ProgrammeList {
    /// The wire name (`targets`, `referrals`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProgrammeList::Targets => "targets",
            ProgrammeList::Referrals => "referrals",
        }
    }

    /// The list of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [ProgrammeList::Targets, ProgrammeList::Referrals]
            .into_iter()
            .find(|l| l.as_str() == s)
    }

    /// Which latest checkups the list takes.
    fn condition(self) -> &'static str {
        match self {
            ProgrammeList::Targets => "r.guidance_level IN ('1', '2')",
            ProgrammeList::Referrals => "r.referral",
        }
    }
}

/// Where a guidance target's guidance of the year stands, to narrow the list of targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidanceStatus {
    /// 未実施: nothing recorded for the year.
    NotStarted,
    /// 実施中: a first interview, no completion or drop-out yet.
    InProgress,
    /// 終了: completed.
    Completed,
    /// 脱落: dropped out.
    DroppedOut,
}

impl GuidanceStatus {
    /// The wire name (`not_started`, `in_progress`, `completed`, `dropped_out`).
    pub fn as_str(self) -> &'static str {
        match self {
            GuidanceStatus::NotStarted => "not_started",
            GuidanceStatus::InProgress => "in_progress",
            GuidanceStatus::Completed => "completed",
            GuidanceStatus::DroppedOut => "dropped_out",
        }
    }

    /// The status of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            GuidanceStatus::NotStarted,
            GuidanceStatus::InProgress,
            GuidanceStatus::Completed,
            GuidanceStatus::DroppedOut,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }

    /// The condition on member `e` and fiscal year `$6` (events as `guidance_events`).
    fn condition(self) -> &'static str {
        match self {
            GuidanceStatus::NotStarted => {
                "NOT EXISTS (SELECT 1 FROM guidance_events g WHERE g.member_id = e.id AND g.fiscal_year = $6)"
            }
            GuidanceStatus::InProgress => {
                "EXISTS (SELECT 1 FROM guidance_events g WHERE g.member_id = e.id AND g.fiscal_year = $6 \
                   AND g.event = 'first_interview') \
                 AND NOT EXISTS (SELECT 1 FROM guidance_events g WHERE g.member_id = e.id AND g.fiscal_year = $6 \
                   AND g.event IN ('completed', 'dropped_out'))"
            }
            GuidanceStatus::Completed => {
                "EXISTS (SELECT 1 FROM guidance_events g WHERE g.member_id = e.id AND g.fiscal_year = $6 \
                   AND g.event = 'completed')"
            }
            GuidanceStatus::DroppedOut => {
                "EXISTS (SELECT 1 FROM guidance_events g WHERE g.member_id = e.id AND g.fiscal_year = $6 \
                   AND g.event = 'dropped_out')"
            }
        }
    }
}

row_by_name! {
    /// A member on one of an insurer's programme lists of a fiscal year: who they are, what
    /// their latest checkup of the year judged, and the guidance recorded for the year.
    #[derive(Clone, PartialEq, Eq)]
    pub struct ProgrammePerson {
        /// The member's id (what a next page starts after).
        pub member_id: String,
        /// 記号.
        pub symbol: String,
        /// 番号.
        pub number: String,
        /// 枝番.
        pub branch: String,
        /// 氏名.
        pub name: String,
        /// 氏名（カナ）.
        pub name_kana: String,
        /// 生年月日.
        pub birth_date: Date,
        /// 1 male, 2 female.
        pub sex: i32,
        /// 事業所コード, for a member recorded with a workplace.
        pub employer: Option<String>,
        /// The latest checkup's exam date.
        pub exam_date: Date,
        /// Its level (9N506: 1 積極的, 2 動機付け, 3 なし, 4 判定不能).
        pub guidance_level: Option<String>,
        /// Its メタボリックシンドローム判定 (1 基準該当, 2 予備群該当, 3 非該当, 4 判定不能).
        pub metabolic: Option<String>,
        /// Whether it has an item at or past its 受診勧奨判定値.
        pub referral: Option<bool>,
        /// 初回面接, when recorded.
        pub first_interview: Option<Date>,
        /// 終了, when recorded.
        pub completed: Option<Date>,
        /// 脱落, when recorded.
        pub dropped_out: Option<Date>,
    }
}

impl std::fmt::Debug for ProgrammePerson {
    /// Card keys, names, birth dates and judgements are personal data: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgrammePerson")
            .field("member_id", &self.member_id)
            .finish_non_exhaustive()
    }
}

/// A page of a programme list, in card-key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammePage {
    /// The people.
    pub items: Vec<ProgrammePerson>,
    /// The member id to ask the next page after, when there is more.
    pub next_after: Option<String>,
}

/// [`COUNTS`]'s members and latest checkups, the people of `list` (whose guidance stands at
/// `status`, when given) from the first (`$7` true) or after the card key $8, $9, $10, in
/// card-key order, at most `$11`; $1…$6 as in [`COUNTS`].
fn people_sql(list: ProgrammeList, status: Option<GuidanceStatus>) -> String {
    format!(
        "WITH eligible AS ( \
           SELECT m.id, m.symbol, m.number, m.branch, v.name, v.name_kana, v.birth_date, v.sex, v.employer \
           FROM members m JOIN member_versions v ON v.member_id = m.id AND v.version = m.current_version \
           WHERE m.insurer_number = $1 AND v.qualified_from <= $2 \
             AND (v.qualified_until IS NULL OR v.qualified_until >= $3) \
             AND v.birth_date <= $4 AND v.birth_date > $5 \
         ), ranked AS ( \
           SELECT c.member_id, c.exam_date, c.guidance_level, c.metabolic, c.referral, ROW_NUMBER() OVER ( \
             PARTITION BY c.member_id ORDER BY c.exam_date DESC, c.version DESC, c.id DESC) AS rn \
           FROM checkups c JOIN eligible e ON e.id = c.member_id \
           WHERE c.insurer_number = $1 AND c.fiscal_year = $6 \
         ) \
         SELECT e.id AS member_id, e.symbol, e.number, e.branch, e.name, e.name_kana, e.birth_date, e.sex, \
           e.employer, r.exam_date, r.guidance_level, r.metabolic, r.referral, \
           (SELECT g.on_date FROM guidance_events g WHERE g.member_id = e.id AND g.fiscal_year = $6 \
              AND g.event = 'first_interview') AS first_interview, \
           (SELECT g.on_date FROM guidance_events g WHERE g.member_id = e.id AND g.fiscal_year = $6 \
              AND g.event = 'completed') AS completed, \
           (SELECT g.on_date FROM guidance_events g WHERE g.member_id = e.id AND g.fiscal_year = $6 \
              AND g.event = 'dropped_out') AS dropped_out \
         FROM eligible e JOIN ranked r ON r.member_id = e.id AND r.rn = 1 \
         WHERE {} AND {} AND ($7 OR (e.symbol, e.number, e.branch) > ($8, $9, $10)) \
         ORDER BY e.symbol, e.number, e.branch LIMIT $11",
        list.condition(),
        status.map_or("1 = 1", GuidanceStatus::condition)
    )
}

/// One insurer's implementation rates' counts for a fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateCounts {
    /// The denominator of 特定健診実施率 (as [`ProgrammeCounts::eligible`]).
    pub eligible: i64,
    /// Its numerator.
    pub examined: i64,
    /// The denominator of 特定保健指導実施率: 積極的 and 動機付け targets.
    pub targets: i64,
    /// Its numerator.
    pub completed: i64,
}

impl Store {
    /// Every insurer's implementation rates' counts for fiscal year `year` (insurers with no
    /// eligible member are absent), by insurer number: what ranks and grades are made from. No
    /// personal data: not audited.
    pub async fn rate_counts(
        &self,
        year: i32,
    ) -> Result<std::collections::BTreeMap<String, RateCounts>, StoreError> {
        let (first, last, youngest, oldest) = year_bounds(year)?;
        let rows: Vec<(String, i64, i64, i64, i64)> = crate::on_pool!(self, read, |p| {
            sqlx::query_as(RATES)
                .bind(first)
                .bind(last)
                .bind(youngest)
                .bind(oldest)
                .bind(year)
                .fetch_all(p)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(insurer, eligible, examined, targets, completed)| {
                (
                    insurer,
                    RateCounts {
                        eligible,
                        examined,
                        targets,
                        completed,
                    },
                )
            })
            .collect())
    }

    /// Each workplace's eligible members for fiscal year `year` (aged 40–74 at its end, members
    /// all year, recorded with that workplace), keyed by insurer and 事業所コード: an employer
    /// gets a scoring report of its own from 50.
    pub async fn eligible_by_employer(
        &self,
        year: i32,
    ) -> Result<std::collections::HashMap<(String, String), i64>, StoreError> {
        let (first, last, youngest, oldest) = year_bounds(year)?;
        let rows: Vec<(String, String, i64)> = crate::on_pool!(self, read, |p| {
            sqlx::query_as(ELIGIBLE_BY_EMPLOYER)
                .bind(first)
                .bind(last)
                .bind(youngest)
                .bind(oldest)
                .fetch_all(p)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(insurer, employer, n)| ((insurer, employer), n))
            .collect())
    }

    /// `insurer`'s programme counts for fiscal year `year` (no personal data: not audited).
    pub async fn programme_counts(
        &self,
        insurer: &InsurerNumber,
        year: i32,
    ) -> Result<ProgrammeCounts, StoreError> {
        let (first, last, youngest, oldest) = year_bounds(year)?;
        let r: CountsRow = crate::on_pool!(self, read, |p| sqlx::query_as(COUNTS)
            .bind(insurer.as_str())
            .bind(first)
            .bind(last)
            .bind(youngest)
            .bind(oldest)
            .bind(year)
            .fetch_one(p)
            .await?);
        Ok(ProgrammeCounts {
            eligible: r.eligible,
            examined: r.examined,
            active: r.active,
            motivational: r.motivational,
            undeterminable: r.undeterminable,
            referrals: r.referrals,
            metabolic: r.metabolic,
            metabolic_reserve: r.metabolic_reserve,
            started: r.started,
            completed: r.completed,
            dropped_out: r.dropped_out,
        })
    }

    /// A page of `insurer`'s list `list` of fiscal year `year`: the members [`Store::programme_counts`]
    /// counts as targets (or referrals), with who they are, their latest checkup's judgement
    /// and the guidance recorded (only those whose guidance stands at `status`, when given),
    /// in card-key order after the member `after` (the first page without), at most `limit`
    /// (1–1,000). Personal data: each member read is audited as a
    /// read of checkup results by `actor`. An `after` that is not one of the insurer's members
    /// is `NotFound("after: member")`.
    #[allow(clippy::too_many_arguments)]
    pub async fn programme_people(
        &self,
        actor: &Actor,
        insurer: &InsurerNumber,
        year: i32,
        list: ProgrammeList,
        status: Option<GuidanceStatus>,
        after: Option<&str>,
        limit: u32,
        at: OffsetDateTime,
    ) -> Result<ProgrammePage, StoreError> {
        let (first, last, youngest, oldest) = year_bounds(year)?;
        let limit = limit.clamp(1, 1000);
        // The card key the page starts after (the SQL's keyset), looked up once.
        let start: Option<(String, String, String)> = match after {
            None => None,
            Some(after) => {
                let found = crate::on_pool!(self, read, |p| {
                    sqlx::query_as(
                    "SELECT symbol, number, branch FROM members WHERE id = $1 AND insurer_number = $2"
                )
                .bind(after)
                .bind(insurer.as_str())
                .fetch_optional(p)
                .await?
                });
                Some(found.ok_or(StoreError::NotFound("after: member"))?)
            }
        };
        let (symbol, number, branch) = start.clone().unwrap_or_default();
        let sql = people_sql(list, status);
        let mut items: Vec<ProgrammePerson> = crate::on_pool!(self, read, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(insurer.as_str())
                .bind(first)
                .bind(last)
                .bind(youngest)
                .bind(oldest)
                .bind(year)
                .bind(start.is_none())
                .bind(&symbol)
                .bind(&number)
                .bind(&branch)
                .bind(i64::from(limit) + 1)
                .fetch_all(p)
                .await?
        });
        let next_after = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|m| m.member_id.clone())
        } else {
            None
        };
        let ids: Vec<&str> = items.iter().map(|m| m.member_id.as_str()).collect();
        if !ids.is_empty() {
            self.append_audit(at, actor, AuditAction::ReadCheckups, &ids, None)
                .await?;
        }
        Ok(ProgrammePage { items, next_after })
    }

    /// Records `event` of the guidance of the member with card `key` in fiscal year `year`, on
    /// `on`, by `actor` at `at`, audited. Recording an event again moves its date. Refused: no
    /// such member (`NotFound`); a completion and a drop-out in the same year, or a completion
    /// or drop-out dated before the first interview (`Conflict`); a date outside the guidance's
    /// window (the fiscal year and the next, since guidance runs on) (`Invalid`).
    pub async fn record_guidance(
        &self,
        actor: &Actor,
        key: &MemberKey,
        year: i32,
        event: GuidanceEvent,
        on: Date,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let record = GuidanceRecord {
            key: key.clone(),
            year: Some(year),
            event,
            on,
        };
        self.record_guidance_all(actor, std::slice::from_ref(&record), at)
            .await
            .map_err(|(_, e)| e)
    }

    /// Records every one of `records` as [`Store::record_guidance`] would, in order, in one
    /// transaction: all or nothing. A refusal names the index of the record refused (later
    /// records see earlier ones, so a file may start and complete a guidance).
    pub async fn record_guidance_all(
        &self,
        actor: &Actor,
        records: &[GuidanceRecord],
        at: OffsetDateTime,
    ) -> Result<(), (usize, StoreError)> {
        let whole = |e: sqlx::Error| (records.len(), StoreError::from(e));
        crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await.map_err(whole)?;
            for (i, r) in records.iter().enumerate() {
                let done: Result<(), StoreError> = async {
                    let (key, event, on) = (&r.key, r.event, r.on);
                    let member: Option<(String,)> = sqlx::query_as(
                        "SELECT id FROM members WHERE insurer_number = $1 AND symbol = $2 AND number = $3 \
                         AND branch = $4",
                    )
                    .bind(key.insurer.as_str())
                    .bind(key.symbol.as_str())
                    .bind(key.number.as_str())
                    .bind(key.branch.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((member,)) = member else {
                        return Err(StoreError::NotFound("member"));
                    };
                    let year = match r.year {
                        Some(y) => y,
                        None => {
                            let latest = onshi_domain::fiscal_year(on);
                            // A recorded first interview first (for an end of guidance), then
                            // the checkup that made the member a target.
                            let by_interview = "SELECT fiscal_year FROM guidance_events WHERE member_id = $1 \
                                 AND event = 'first_interview' AND fiscal_year IN ($2, $3) AND on_date <= $4 \
                                 ORDER BY fiscal_year DESC LIMIT 1";
                            let by_checkup = "SELECT fiscal_year FROM checkups WHERE member_id = $1 \
                                 AND fiscal_year IN ($2, $3) AND exam_date <= $4 AND guidance_level IN ('1', '2') \
                                 ORDER BY fiscal_year DESC LIMIT 1";
                            let sources: &[&'static str] = if event == GuidanceEvent::FirstInterview {
                                &[by_checkup]
                            } else {
                                &[by_interview, by_checkup]
                            };
                            let mut found: Option<(i32,)> = None;
                            for sql in sources {
                                found = sqlx::query_as(*sql)
                                    .bind(&member)
                                    .bind(latest - 1)
                                    .bind(latest)
                                    .bind(on)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                                if found.is_some() {
                                    break;
                                }
                            }
                            match found {
                                Some((y,)) => y,
                                None => {
                                    return Err(StoreError::Conflict(format!(
                                        "fiscal year: no checkup of fiscal year {} or {latest} dated on or before {on} judged this member a guidance target, and no first interview is recorded for either",
                                        latest - 1
                                    )));
                                }
                            }
                        }
                    };
                    let (first, _, _, _) = year_bounds(year)?;
                    let (_, window_end, _, _) = year_bounds(year + 1)?;
                    if on < first || on > window_end {
                        return Err(StoreError::Conflict(format!(
                            "date: {on} is outside fiscal year {year}'s guidance ({first} to {window_end})"
                        )));
                    }
                    let others: Vec<(String, Date)> = sqlx::query_as(
                        "SELECT event, on_date FROM guidance_events WHERE member_id = $1 AND fiscal_year = $2",
                    )
                    .bind(&member)
                    .bind(year)
                    .fetch_all(&mut *tx)
                    .await?;
                    let date_of = |e: GuidanceEvent| {
                        others
                            .iter()
                            .find(|(name, _)| name == e.as_str())
                            .map(|(_, d)| *d)
                    };
                    let other_end = match event {
                        GuidanceEvent::Completed => Some(GuidanceEvent::DroppedOut),
                        GuidanceEvent::DroppedOut => Some(GuidanceEvent::Completed),
                        GuidanceEvent::FirstInterview => None,
                    };
                    if let Some(other) = other_end
                        && date_of(other).is_some()
                    {
                        return Err(StoreError::Conflict(format!(
                            "event: the guidance of fiscal year {year} is already recorded as {}",
                            other.as_str()
                        )));
                    }
                    let (started, ended) = match event {
                        GuidanceEvent::FirstInterview => (
                            Some(on),
                            date_of(GuidanceEvent::Completed)
                                .or(date_of(GuidanceEvent::DroppedOut)),
                        ),
                        _ => (date_of(GuidanceEvent::FirstInterview), Some(on)),
                    };
                    if let (Some(s), Some(e)) = (started, ended)
                        && e < s
                    {
                        return Err(StoreError::Conflict(format!(
                            "date: the guidance cannot end ({e}) before its first interview ({s})"
                        )));
                    }
                    sqlx::query(
                        "INSERT INTO guidance_events (member_id, fiscal_year, event, on_date, recorded_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (member_id, fiscal_year, event) \
                         DO UPDATE SET on_date = excluded.on_date, recorded_at = excluded.recorded_at",
                    )
                    .bind(&member)
                    .bind(year)
                    .bind(event.as_str())
                    .bind(on)
                    .bind(ComparedTime(at))
                    .execute(&mut *tx)
                    .await?;
                    audit!(
                        &mut *tx,
                        at,
                        actor,
                        AuditAction::RecordGuidance,
                        &[member.as_str()],
                        None,
                        Some(format!("{} of fiscal year {year}", event.as_str()))
                    );
                    Ok(())
                }
                .await;
                done.map_err(|e| (i, e))?;
            }
            tx.commit().await.map_err(whole)?;
        });
        Ok(())
    }
}
