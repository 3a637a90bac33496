//! Checkup results (特定健診) imported from standard archives, all or nothing: a
//! [`CheckupImport`] is one open transaction; each checkup added is linked to the member whose
//! qualification in force on the exam date has the document's card key, birth date and sex (or
//! left for the insurer's matching queue), stored as a new version only when its content differs
//! from the stored one; [`CheckupImport::commit`] writes the import's audit entry in the same
//! commit. Dropped uncommitted, nothing is stored.

use time::{Date, OffsetDateTime};

use onshi_domain::{AuditAction, MemberKey};

use crate::audit::audit;
use crate::{Actor, Backend, Store, StoreError, Tx, on_tx};

/// One observation to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewObservation {
    /// The 17-digit item code.
    pub code: String,
    /// `PQ`, `CD`, `ST` or `NULL`.
    pub value_kind: &'static str,
    /// The number, code or text (the null flavour for `NULL`).
    pub value: String,
    /// The unit of a quantity.
    pub unit: Option<String>,
    /// The code system of a code.
    pub code_system: Option<String>,
    /// `interpretationCode`.
    pub interpretation: Option<String>,
    /// `methodCode`.
    pub method: Option<String>,
}

impl std::fmt::Debug for NewObservation {
    /// Values are health data: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewObservation")
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

/// One person's checkup to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewCheckup {
    /// The card key the document gives.
    pub key: MemberKey,
    /// 生年月日 (personal data).
    pub birth_date: Date,
    /// 1 male, 2 female.
    pub sex: u8,
    /// The kana name (personal data; kept for matching).
    pub name_kana: String,
    /// The examining institution's number.
    pub institution: String,
    /// 実施日.
    pub exam_date: Date,
    /// 報告区分.
    pub report_kind: String,
    /// プログラム種別.
    pub program: String,
    /// The file it came from, in its archive.
    pub source_file: String,
    /// Its observations, in document order.
    pub observations: Vec<NewObservation>,
    /// The claim the archive carried with it, if any.
    pub claim: Option<ClaimAmounts>,
    /// Its guidance level and metabolic-syndrome result (derived: not part of its content).
    pub judgement: CheckupJudgement,
}

/// A checkup's judgements as stored: the codes of 9N506 and 9N501 and the rule set that gave
/// them (`onshi_checkup::stratify` computes them; the store keeps them as they are).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckupJudgement {
    /// The rule set's id.
    pub rule_set: String,
    /// 保健指導レベル (9N506 code), or `None` outside ages 40–74.
    pub guidance_level: Option<String>,
    /// メタボリックシンドローム判定 (9N501 code).
    pub metabolic: String,
    /// Some item is at or past its 受診勧奨判定値.
    pub referral: bool,
    /// The report indicators that could be determined (a bit mask of
    /// `onshi_checkup::indicators::Indicator`s).
    pub indicators_known: i32,
    /// Of those, the ones present.
    pub indicators: i32,
}

/// What a checkup's claim bills, in yen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimAmounts {
    /// 請求区分.
    pub claim_type: String,
    /// 単価合計.
    pub unit_amount: i64,
    /// 窓口支払金額.
    pub payment_amount: i64,
    /// 他の健診側負担額.
    pub other_amount: i64,
    /// 請求金額.
    pub claim_amount: i64,
}

impl std::fmt::Debug for NewCheckup {
    /// Names, birth dates, card keys and values are personal data: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCheckup")
            .field("institution", &self.institution)
            .field("exam_date", &self.exam_date)
            .field("observations", &self.observations.len())
            .finish_non_exhaustive()
    }
}

/// What adding one checkup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Not the sender's to send (another insurer's member, another employer's employee, another
    /// institution's document, or an employer checkup without a consignment in force): the
    /// reason, without personal data. The import must not be committed.
    Refused(String),
    /// A new checkup, linked to a member.
    Linked,
    /// A new checkup, left for the insurer's matching queue.
    Unmatched,
    /// A corrected document: a new version of a stored checkup.
    Corrected,
    /// The same document again: nothing stored.
    Unchanged,
}

/// What an import stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckupImportOutcome {
    /// The consignments an institution's employer-checkup results were accepted under.
    pub consignments: std::collections::BTreeSet<String>,
    /// New checkups linked to members.
    pub linked: u64,
    /// New checkups left to match.
    pub unmatched: u64,
    /// New versions of stored checkups.
    pub corrected: u64,
    /// Documents already stored as they are.
    pub unchanged: u64,
}

/// An import of one archive's checkups in progress.
pub struct CheckupImport {
    tx: Tx,
    actor: Actor,
    archive: String,
    at: OffsetDateTime,
    outcome: CheckupImportOutcome,
    /// What the import changes in the report cells, written at commit.
    changes: crate::reports::CellChanges,
}

use onshi_domain::age_at_fiscal_year_end;
pub use onshi_domain::fiscal_year;

fn content_hash(c: &NewCheckup) -> String {
    use aws_lc_rs::digest;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut put = |s: &str| {
        ctx.update(s.as_bytes());
        ctx.update(&[0x1f]);
    };
    put(&c.birth_date.to_string());
    put(&c.sex.to_string());
    put(&c.name_kana);
    put(&c.report_kind);
    put(&c.program);
    for o in &c.observations {
        put(&o.code);
        put(o.value_kind);
        put(&o.value);
        for part in [&o.unit, &o.code_system, &o.interpretation, &o.method] {
            put(part.as_deref().unwrap_or("\u{0}"));
        }
    }
    // Hashed only when present: checkups stored without a claim keep their digest.
    if let Some(c) = &c.claim {
        put("claim");
        put(&c.claim_type);
        for amount in [
            c.unit_amount,
            c.payment_amount,
            c.other_amount,
            c.claim_amount,
        ] {
            put(&amount.to_string());
        }
    }
    hex::encode(ctx.finish())
}

/// The elements a refusal names, as the document reader names them.
const INSURER_ID: &str = "recordTarget/patientRole/id[@root='1.2.392.200119.6.101']/@extension";
const CARD_KEY: &str = "recordTarget/patientRole/id";
const INSTITUTION_ID: &str = "author/assignedAuthor/representedOrganization/id/@extension";
const PROGRAM: &str = "documentationOf/serviceEvent/code/@code";

/// The employer-checkup program (プログラム種別 030 事業者健診): from an institution, accepted
/// only under a consignment of the person's employer.
pub const EMPLOYER_CHECKUP_PROGRAM: &str = "030";

const CONSIGNMENT_IN_FORCE: &str = "SELECT id FROM consignments WHERE institution = $1 AND insurer_number = $2 \
     AND employer = $3 AND valid_from <= $4 AND (valid_until IS NULL OR valid_until >= $4) ORDER BY created_at, id LIMIT 1";

/// The head of a checkup INSERT: 36 columns, in the order `add_batch` binds them.
const INSERT_HEAD: &str = "INSERT INTO checkups (id, insurer_number, symbol, number, branch, exam_date, institution, \
     version, recorded_at, source_archive, source_file, report_kind, program, name_kana, birth_date, sex, \
     fiscal_year, age_at_fiscal_year_end, member_id, person_ref, content_hash, employer, sender_kind, sender_id, \
     consignment_id, claim_type, unit_amount, payment_amount, other_amount, claim_amount, rule_set, \
     guidance_level, metabolic, referral, indicators_known, indicators) VALUES ";

/// The INSERT of `rows` observations.
fn observation_insert(rows: usize, sqlite: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO checkup_observations (checkup_id, seq, code, value_kind, value, unit, code_system, \
         interpretation, method) VALUES ",
    );
    sql.push_str(&values(rows, 9, sqlite));
    sql
}

impl Store {
    /// Opens the import of the checkups of archive `archive` by `actor` at `at`.
    pub async fn begin_checkup_import(
        &self,
        actor: &Actor,
        archive: &str,
        at: OffsetDateTime,
    ) -> Result<CheckupImport, StoreError> {
        let tx = match &*self.backend {
            Backend::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Plan each batch's look-ups for the tables as they are. The driver prepares
                // them once per connection; PostgreSQL's generic plan, chosen while the first
                // archive found the tables nearly empty, went on scanning `checkups` whole as it
                // grew (a 1 M-checkup import fell from 2,000/s to 900/s, its backend busy in
                // that SELECT).
                sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        };
        Ok(CheckupImport {
            tx,
            actor: actor.clone(),
            archive: archive.to_owned(),
            at,
            outcome: CheckupImportOutcome::default(),
            changes: Default::default(),
        })
    }

    /// The number of stored checkup versions and of those not linked to a member (for status
    /// output and tests).
    pub async fn checkup_counts(&self) -> Result<(i64, i64), StoreError> {
        Ok(crate::on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM checkups), (SELECT COUNT(*) FROM checkups WHERE member_id IS NULL)"
        )
        .fetch_one(p)
        .await?
        }))
    }
}

impl CheckupImport {
    /// Stores `checkup` in the import's transaction: a batch of one (see
    /// [`CheckupImport::add_batch`]).
    pub async fn add(&mut self, checkup: &NewCheckup) -> Result<Added, StoreError> {
        self.add_batch(std::slice::from_ref(checkup))
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a batch of one had no outcome".into()))
    }

    /// Commits the import with its audit entry (`import_checkups`, naming the archive and the
    /// counts).
    pub async fn commit(mut self) -> Result<CheckupImportOutcome, StoreError> {
        let o = self.outcome.clone();
        let mut detail = format!(
            "checkups from {}: {} linked, {} to match, {} corrected, {} unchanged",
            self.archive, o.linked, o.unmatched, o.corrected, o.unchanged
        );
        if !o.consignments.is_empty() {
            let ids: Vec<&str> = o.consignments.iter().map(String::as_str).collect();
            detail.push_str(&format!("; under consignment {}", ids.join(", ")));
        }
        let (actor, at) = (self.actor.clone(), self.at);
        let mut changes = std::mem::take(&mut self.changes);
        let sqlite = matches!(self.tx, Tx::Sqlite(_));
        on_tx!(self, |tx| {
            let people = changes.counted();
            crate::reports::count_people!(&mut **tx, people, 1, changes, sqlite);
            crate::reports::apply_changes!(&mut **tx, changes, sqlite);
            audit!(
                &mut **tx,
                at,
                &actor,
                AuditAction::ImportCheckups,
                &[],
                None,
                Some(detail)
            );
        });
        match self.tx {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(o)
    }
}

/// One stored observation, as read back.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredObservation {
    /// The 17-digit item code.
    pub code: String,
    /// `PQ`, `CD`, `ST` or `NULL`.
    pub value_kind: String,
    /// The number, code or text.
    pub value: Option<String>,
    /// The unit of a quantity.
    pub unit: Option<String>,
    /// The code system of a code.
    pub code_system: Option<String>,
    /// `interpretationCode`.
    pub interpretation: Option<String>,
    /// `methodCode`.
    pub method: Option<String>,
}

impl std::fmt::Debug for StoredObservation {
    /// Values are health data: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredObservation")
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

/// Who a stored checkup's document says was examined: the card key of the insurer it was sent
/// to, the kana name and the birth date (personal data: not shown by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct CheckupSubject {
    /// 被保険者証等記号.
    pub symbol: String,
    /// 被保険者証等番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
    /// The name in kana.
    pub name_kana: String,
    /// 生年月日.
    pub birth_date: Date,
}

impl std::fmt::Debug for CheckupSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckupSubject(…)")
    }
}

/// A stored checkup (its latest version), as a person or a facility reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckup {
    /// Its id.
    pub id: String,
    /// The insurer it was sent to.
    pub insurer_number: String,
    /// 実施日.
    pub exam_date: Date,
    /// The examining institution's number.
    pub institution: String,
    /// 報告区分.
    pub report_kind: String,
    /// プログラム種別.
    pub program: String,
    /// 年度.
    pub fiscal_year: i32,
    /// Age at the end of the fiscal year.
    pub age_at_fiscal_year_end: i32,
    /// 1 male, 2 female.
    pub sex: i32,
    /// Which version (corrections make new ones).
    pub version: i32,
    /// Who the document says was examined.
    pub subject: CheckupSubject,
    /// Its judgements, once judged (rows stored before migration 20 wait for the server).
    pub judgement: Option<CheckupJudgement>,
    /// The observations, in document order.
    pub observations: Vec<StoredObservation>,
}

row_by_name! {
    struct CheckupRow {
        id: String,
        insurer_number: String,
        exam_date: Date,
        institution: String,
        report_kind: String,
        program: String,
        fiscal_year: i32,
        age_at_fiscal_year_end: i32,
        sex: i32,
        version: i32,
        symbol: String,
        number: String,
        branch: String,
        name_kana: String,
        birth_date: Date,
        rule_set: Option<String>,
        guidance_level: Option<String>,
        metabolic: Option<String>,
        referral: Option<bool>,
        indicators_known: Option<i32>,
        indicators: Option<i32>,
    }
}

row_by_name! {
    struct ObservationRow {
        checkup_id: String,
        code: String,
        value_kind: String,
        value: Option<String>,
        unit: Option<String>,
        code_system: Option<String>,
        interpretation: Option<String>,
        method: Option<String>,
    }
}

/// A person's checkups since `$2` (only those sent to insurer `$3` when it is not null), the
/// latest version of each, newest first.
const OF_PERSON: &str = "SELECT c.id, c.insurer_number, c.exam_date, c.institution, c.report_kind, c.program, \
     c.fiscal_year, c.age_at_fiscal_year_end, c.sex, c.version, c.symbol, c.number, c.branch, c.name_kana, \
     c.birth_date, c.rule_set, c.guidance_level, c.metabolic, c.referral, c.indicators_known, c.indicators \
     FROM checkups c WHERE c.person_ref = $1 \
     AND c.exam_date >= $2 AND ($3 IS NULL OR c.insurer_number = $3) AND c.version = (SELECT MAX(d.version) FROM checkups d \
     WHERE d.insurer_number = c.insurer_number AND d.symbol = c.symbol AND d.number = c.number \
     AND d.branch = c.branch AND d.exam_date = c.exam_date AND d.institution = c.institution) \
     ORDER BY c.exam_date DESC, c.institution";

/// The observations of a person's checkups since `$2` (of every version: the caller keeps those
/// of the latest), in one read.
const OBSERVATIONS_OF_PERSON: &str = "SELECT o.checkup_id, o.code, o.value_kind, o.value, o.unit, o.code_system, \
     o.interpretation, o.method FROM checkup_observations o JOIN checkups c ON c.id = o.checkup_id \
     WHERE c.person_ref = $1 AND c.exam_date >= $2 AND ($3 IS NULL OR c.insurer_number = $3) \
     ORDER BY o.checkup_id, o.seq";

impl Store {
    /// The latest version of each checkup of `person` examined on or after `since` (only those
    /// sent to `insurer` when given), newest first, with their observations: two reads, no
    /// audit (the callers audit).
    pub(crate) async fn read_checkups_of_person(
        &self,
        person: &onshi_domain::PersonRef,
        since: Date,
        insurer: Option<&str>,
    ) -> Result<Vec<StoredCheckup>, StoreError> {
        let rows: Vec<CheckupRow> = crate::on_pool!(self, read, |p| sqlx::query_as(OF_PERSON)
            .bind(person.as_str())
            .bind(since)
            .bind(insurer)
            .fetch_all(p)
            .await?);
        let all: Vec<ObservationRow> =
            crate::on_pool!(self, read, |p| sqlx::query_as(OBSERVATIONS_OF_PERSON)
                .bind(person.as_str())
                .bind(since)
                .bind(insurer)
                .fetch_all(p)
                .await?);
        Ok(assemble(rows, all))
    }
}

/// The 請求金額 of an insurer's checkups, the latest version of each, and how many carried a claim.
const CLAIMED: &str = "SELECT COUNT(c.claim_amount), CAST(COALESCE(SUM(c.claim_amount), 0) AS BIGINT) FROM checkups c \
     WHERE c.insurer_number = $1 AND c.version = (SELECT MAX(d.version) FROM checkups d \
     WHERE d.insurer_number = c.insurer_number AND d.symbol = c.symbol AND d.number = c.number \
     AND d.branch = c.branch AND d.exam_date = c.exam_date AND d.institution = c.institution)";

/// Stored checkups from their rows and their observations' rows (observations of other rows
/// are left out).
fn assemble(rows: Vec<CheckupRow>, all: Vec<ObservationRow>) -> Vec<StoredCheckup> {
    let mut by_checkup: std::collections::HashMap<String, Vec<ObservationRow>> =
        std::collections::HashMap::new();
    for o in all {
        by_checkup.entry(o.checkup_id.clone()).or_default().push(o);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let obs = by_checkup.remove(&r.id).unwrap_or_default();
        out.push(StoredCheckup {
            id: r.id,
            insurer_number: r.insurer_number,
            exam_date: r.exam_date,
            institution: r.institution,
            report_kind: r.report_kind,
            program: r.program,
            fiscal_year: r.fiscal_year,
            age_at_fiscal_year_end: r.age_at_fiscal_year_end,
            sex: r.sex,
            version: r.version,
            subject: CheckupSubject {
                symbol: r.symbol,
                number: r.number,
                branch: r.branch,
                name_kana: r.name_kana,
                birth_date: r.birth_date,
            },
            judgement: match (r.rule_set, r.metabolic, r.referral) {
                (Some(rule_set), Some(metabolic), Some(referral)) => Some(CheckupJudgement {
                    rule_set,
                    guidance_level: r.guidance_level,
                    metabolic,
                    referral,
                    indicators_known: r.indicators_known.unwrap_or(0),
                    indicators: r.indicators.unwrap_or(0),
                }),
                _ => None,
            },
            observations: obs
                .into_iter()
                .map(|o| StoredObservation {
                    code: o.code,
                    value_kind: o.value_kind,
                    value: o.value,
                    unit: o.unit,
                    code_system: o.code_system,
                    interpretation: o.interpretation,
                    method: o.method,
                })
                .collect(),
        });
    }
    out
}

/// The latest versions of insurer `$1`'s checkups of fiscal year `$2` with ids after `$3`, in id
/// order, at most `$4`.
const OF_INSURER: &str = "SELECT c.id, c.insurer_number, c.exam_date, c.institution, c.report_kind, c.program, \
     c.fiscal_year, c.age_at_fiscal_year_end, c.sex, c.version, c.symbol, c.number, c.branch, c.name_kana, \
     c.birth_date, c.rule_set, c.guidance_level, c.metabolic, c.referral, c.indicators_known, c.indicators \
     FROM checkups c WHERE c.insurer_number = $1 AND c.fiscal_year = $2 AND c.id > $3 \
     AND c.version = (SELECT MAX(d.version) FROM checkups d \
     WHERE d.insurer_number = c.insurer_number AND d.symbol = c.symbol AND d.number = c.number \
     AND d.branch = c.branch AND d.exam_date = c.exam_date AND d.institution = c.institution) \
     ORDER BY c.id LIMIT $4";

/// The observations of insurer `$1`'s checkups of fiscal year `$2` with ids in (`$3`, `$4`].
const OBSERVATIONS_OF_INSURER: &str = "SELECT o.checkup_id, o.code, o.value_kind, o.value, o.unit, \
     o.code_system, o.interpretation, o.method FROM checkup_observations o JOIN checkups c ON c.id = o.checkup_id \
     WHERE c.insurer_number = $1 AND c.fiscal_year = $2 AND c.id > $3 AND c.id <= $4 ORDER BY o.checkup_id, o.seq";

/// Every checkup has a first version: counting those counts each checkup once.
const COUNT_OF_INSURER: &str =
    "SELECT COUNT(*) FROM checkups WHERE insurer_number = $1 AND fiscal_year = $2 AND version = 1";

const CHECKUP_CONSENT: &str = "SELECT COUNT(*) FROM consents WHERE person_ref = $1 AND facility_code = $2 \
     AND kind = 'checkup' AND given_at <= $3 AND expires_at > $3";

impl Store {
    /// The checkups of `person` examined on or after `since` (every insurer's), newest first,
    /// read by `actor`; the read is audited (`read_checkups`, naming the person and how many)
    /// before they are returned.
    pub async fn checkups_of_person(
        &self,
        actor: &Actor,
        person: &onshi_domain::PersonRef,
        since: Date,
        at: OffsetDateTime,
    ) -> Result<Vec<StoredCheckup>, StoreError> {
        let out = self.read_checkups_of_person(person, since, None).await?;
        let detail = format!("{} checkup(s) since {since}", out.len());
        crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            audit!(
                &mut *tx,
                at,
                actor,
                AuditAction::ReadCheckups,
                &[],
                Some(person.as_str()),
                Some(detail)
            );
            tx.commit().await?;
        });
        Ok(out)
    }

    /// How many of `insurer`'s checkups (their latest versions) came with a claim, and the sum of
    /// those claims' 請求金額 in yen.
    pub async fn claimed(
        &self,
        insurer: &onshi_domain::InsurerNumber,
    ) -> Result<(i64, i64), StoreError> {
        let (n, sum): (i64, i64) = crate::on_pool!(self, read, |p| sqlx::query_as(CLAIMED)
            .bind(insurer.as_str())
            .fetch_one(p)
            .await?);
        Ok((n, sum))
    }

    /// How many checkups (counting each once, whatever its versions) `insurer` holds of fiscal
    /// year `fiscal_year`.
    pub async fn checkup_count_of(
        &self,
        insurer: &onshi_domain::InsurerNumber,
        fiscal_year: i32,
    ) -> Result<i64, StoreError> {
        let (n,): (i64,) = crate::on_pool!(self, read, |p| sqlx::query_as(COUNT_OF_INSURER)
            .bind(insurer.as_str())
            .bind(fiscal_year)
            .fetch_one(p)
            .await?);
        Ok(n)
    }

    /// A page of `insurer`'s checkups of `fiscal_year` (the latest version of each, in id order,
    /// after the id `after`, at most `limit`), for an export. Not audited here: the caller
    /// records the export once, before it writes anything.
    pub async fn checkups_of_insurer(
        &self,
        insurer: &onshi_domain::InsurerNumber,
        fiscal_year: i32,
        after: &str,
        limit: u32,
    ) -> Result<Vec<StoredCheckup>, StoreError> {
        let rows: Vec<CheckupRow> = crate::on_pool!(self, read, |p| sqlx::query_as(OF_INSURER)
            .bind(insurer.as_str())
            .bind(fiscal_year)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?);
        let Some(last) = rows.last().map(|r| r.id.clone()) else {
            return Ok(Vec::new());
        };
        let all: Vec<ObservationRow> =
            crate::on_pool!(self, read, |p| sqlx::query_as(OBSERVATIONS_OF_INSURER)
                .bind(insurer.as_str())
                .bind(fiscal_year)
                .bind(after)
                .bind(&last)
                .fetch_all(p)
                .await?);
        Ok(assemble(rows, all))
    }

    /// Whether `person` has given `facility` a checkup consent (特定健診情報の閲覧同意) that is
    /// in force at `at`.
    pub async fn checkup_consent_in_force(
        &self,
        person: &onshi_domain::PersonRef,
        facility: &onshi_domain::FacilityCode,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (n,): (i64,) = crate::on_pool!(self, read, |p| sqlx::query_as(CHECKUP_CONSENT)
            .bind(person.as_str())
            .bind(facility.as_str())
            .bind(crate::compared_time::ComparedTime(at))
            .fetch_one(p)
            .await?);
        Ok(n > 0)
    }
}

/// A checkup of the insurer's matching queue: what its document says of the person, and the
/// members who could be them.
#[derive(Clone, PartialEq, Eq)]
pub struct UnmatchedCheckup {
    /// The checkup's id.
    pub id: String,
    /// The card key the document gives (記号・番号・枝番).
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
    /// 実施日.
    pub exam_date: Date,
    /// The examining institution.
    pub institution: String,
    /// 生年月日 in the document.
    pub birth_date: Date,
    /// 性別 in the document.
    pub sex: i32,
    /// カナ氏名 in the document.
    pub name_kana: String,
    /// Members of the insurer with the same birth date and sex, most similar kana first.
    pub candidates: Vec<MatchCandidate>,
}

impl std::fmt::Debug for UnmatchedCheckup {
    /// Card keys, names and birth dates are personal data: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnmatchedCheckup")
            .field("id", &self.id)
            .field("candidates", &self.candidates.len())
            .finish_non_exhaustive()
    }
}

/// A member who could be the person of an unmatched checkup.
#[derive(Clone, PartialEq, Eq)]
pub struct MatchCandidate {
    /// The member's id (what a resolution names).
    pub member_id: String,
    /// 記号.
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
    /// カナ氏名.
    pub name_kana: String,
    /// Whether the qualification covers the exam date.
    pub covers_exam_date: bool,
    /// How alike the kana names are, 0–100 (100: the same after removing spaces).
    pub similarity: u8,
}

impl std::fmt::Debug for MatchCandidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchCandidate")
            .field("member_id", &self.member_id)
            .field("similarity", &self.similarity)
            .finish_non_exhaustive()
    }
}

row_by_name! {
    struct UnmatchedRow {
        id: String,
        symbol: String,
        number: String,
        branch: String,
        exam_date: Date,
        institution: String,
        birth_date: Date,
        sex: i32,
        name_kana: String,
    }
}

row_by_name! {
    struct CandidateRow {
        id: String,
        symbol: String,
        number: String,
        branch: String,
        name_kana: String,
        qualified_from: Date,
        qualified_until: Option<Date>,
    }
}

/// The most candidates read per checkup (then ranked; the best five are shown).
const CANDIDATES_READ: i64 = 200;
/// The candidates shown per checkup.
const CANDIDATES_SHOWN: usize = 5;

const UNMATCHED: &str = "SELECT id, symbol, number, branch, exam_date, institution, birth_date, sex, name_kana \
     FROM checkups WHERE insurer_number = $1 AND member_id IS NULL ORDER BY recorded_at, id LIMIT $2";

const CANDIDATES: &str = "SELECT m.id, m.symbol, m.number, m.branch, v.name_kana, v.qualified_from, v.qualified_until \
     FROM member_versions v JOIN members m ON m.id = v.member_id AND m.current_version = v.version \
     WHERE v.birth_date = $2 AND v.sex = $3 AND m.insurer_number = $1 ORDER BY m.id LIMIT $4";

impl Store {
    /// The insurer's matching queue, oldest first (at most `limit`), each with its candidates;
    /// the read is audited (`read_checkups`) before it is returned.
    pub async fn unmatched_checkups(
        &self,
        insurer: &onshi_domain::InsurerNumber,
        limit: u32,
        at: OffsetDateTime,
    ) -> Result<Vec<UnmatchedCheckup>, StoreError> {
        let rows: Vec<UnmatchedRow> = crate::on_pool!(self, read, |p| sqlx::query_as(UNMATCHED)
            .bind(insurer.as_str())
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?);
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let found: Vec<CandidateRow> =
                crate::on_pool!(self, read, |p| sqlx::query_as(CANDIDATES)
                    .bind(insurer.as_str())
                    .bind(r.birth_date)
                    .bind(r.sex)
                    .bind(CANDIDATES_READ)
                    .fetch_all(p)
                    .await?);
            let mut candidates: Vec<MatchCandidate> = found
                .into_iter()
                .map(|c| MatchCandidate {
                    similarity: onshi_domain::text::kana_similarity(&c.name_kana, &r.name_kana),
                    covers_exam_date: c.qualified_from <= r.exam_date
                        && c.qualified_until.is_none_or(|u| u >= r.exam_date),
                    member_id: c.id,
                    symbol: c.symbol,
                    number: c.number,
                    branch: c.branch,
                    name_kana: c.name_kana,
                })
                .collect();
            candidates.sort_by(|a, b| {
                (b.similarity, b.covers_exam_date).cmp(&(a.similarity, a.covers_exam_date))
            });
            candidates.truncate(CANDIDATES_SHOWN);
            out.push(UnmatchedCheckup {
                id: r.id,
                symbol: r.symbol,
                number: r.number,
                branch: r.branch,
                exam_date: r.exam_date,
                institution: r.institution,
                birth_date: r.birth_date,
                sex: r.sex,
                name_kana: r.name_kana,
                candidates,
            });
        }
        let actor = Actor::Insurer(insurer.clone());
        let detail = format!("matching queue: {} checkup(s)", out.len());
        crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            audit!(
                &mut *tx,
                at,
                &actor,
                AuditAction::ReadCheckups,
                &[],
                None,
                Some(detail)
            );
            tx.commit().await?;
        });
        Ok(out)
    }

    /// Resolves an unmatched checkup of the insurer: links it (and its other unmatched versions)
    /// to `member_id`, one of the insurer's members, taking the member's person and employer;
    /// audited (`match_checkup`, naming the member). `NotFound` unless both are the insurer's
    /// and the checkup is still unmatched.
    pub async fn match_checkup(
        &self,
        insurer: &onshi_domain::InsurerNumber,
        checkup_id: &str,
        member_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let actor = Actor::Insurer(insurer.clone());
        let sqlite = matches!(&*self.backend, Backend::Sqlite { .. });
        crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let member: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT v.person_ref, v.employer FROM members m JOIN member_versions v \
                 ON v.member_id = m.id AND v.version = m.current_version WHERE m.id = $1 AND m.insurer_number = $2",
            )
            .bind(member_id)
            .bind(insurer.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((person, employer)) = member else {
                return Err(StoreError::NotFound("member"));
            };
            // The card key whose report cells the link may move (to the member's workplace).
            let card: Vec<CardKey> = sqlx::query_as(
                "SELECT insurer_number, symbol, number, branch FROM checkups WHERE id = $1 AND insurer_number = $2",
            )
            .bind(checkup_id)
            .bind(insurer.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let mut changes = crate::reports::CellChanges::default();
            changes.years =
                sqlx::query_as::<_, (i32,)>("SELECT fiscal_year FROM checkups WHERE id = $1")
                    .bind(checkup_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|(y,)| y)
                    .collect();
            let linked = changes.first_seen(&card);
            crate::reports::count_people!(&mut *tx, linked, -1, changes, sqlite);
            let n = sqlx::query(
                "UPDATE checkups SET member_id = $1, person_ref = $2, employer = $3 \
                 WHERE member_id IS NULL AND insurer_number = $4 AND (id = $5 OR EXISTS (SELECT 1 FROM checkups c \
                 WHERE c.id = $5 AND c.insurer_number = checkups.insurer_number AND c.symbol = checkups.symbol \
                 AND c.number = checkups.number AND c.branch = checkups.branch AND c.exam_date = checkups.exam_date \
                 AND c.institution = checkups.institution))",
            )
            .bind(member_id)
            .bind(&person)
            .bind(&employer)
            .bind(insurer.as_str())
            .bind(checkup_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound("unmatched checkup"));
            }
            crate::reports::count_people!(&mut *tx, linked, 1, changes, sqlite);
            crate::reports::apply_changes!(&mut *tx, changes, sqlite);
            let detail = format!("checkup {checkup_id} linked ({n} version(s))");
            audit!(
                &mut *tx,
                at,
                &actor,
                AuditAction::MatchCheckup,
                &[member_id],
                person.as_deref(),
                Some(detail)
            );
            tx.commit().await?;
        });
        Ok(())
    }
}

row_by_name! {
    /// A stored version of one of a batch's checkups.
    struct StoredVersion {
        insurer_number: String,
        symbol: String,
        number: String,
        branch: String,
        exam_date: Date,
        institution: String,
        version: i32,
        content_hash: String,
    }
}

row_by_name! {
    /// The current version of a member one of a batch's card keys names.
    struct BatchHolder {
        insurer_number: String,
        symbol: String,
        number: String,
        branch: String,
        id: String,
        person_ref: Option<String>,
        birth_date: Date,
        sex: i32,
        qualified_from: Date,
        qualified_until: Option<Date>,
        employer: Option<String>,
    }
}

/// A checkup of a batch to be written, with what was decided for it.
struct Staged<'a> {
    checkup: &'a NewCheckup,
    id: String,
    version: i32,
    hash: String,
    holder: Option<&'a BatchHolder>,
    employer: Option<String>,
    consignment: Option<String>,
}

/// Rows per statement of a batch, by backend: (card keys per look-up, 4 parameters each;
/// checkups per INSERT, 36 each; observations per INSERT, 9 each). SQLite's limit is 32,766
/// parameters; PostgreSQL's 65,535.
const SQLITE_BATCH_ROWS: (usize, usize, usize) = (500, 200, 300);
const POSTGRES_BATCH_ROWS: (usize, usize, usize) = (500, 200, 300);

/// `(a, b, c, d) IN (VALUES ($1, $2, $3, $4), …)` over `keys` card keys, with `columns` the four
/// column names.
pub(crate) fn keys_in(columns: &str, keys: usize, sqlite: bool) -> String {
    format!("({columns}) IN (VALUES {})", values(keys, 4, sqlite))
}

/// `rows` rows of `width` parameters, `($1, $2, …), (…)`: numbered for PostgreSQL, plain `?`
/// for SQLite, whose driver looks each numbered parameter up by a linear search of the
/// statement's names (37 % of an import's time with numbered ones), while plain ones are bound
/// by position.
pub(crate) fn values(rows: usize, width: usize, sqlite: bool) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 1..=width {
            if c > 1 {
                sql.push_str(", ");
            }
            if sqlite {
                sql.push('?');
            } else {
                sql.push('$');
                sql.push_str(&(r * width + c).to_string());
            }
        }
        sql.push(')');
    }
    sql
}

fn checkup_insert(rows: usize, sqlite: bool) -> String {
    let mut sql = String::from(INSERT_HEAD);
    sql.push_str(&values(rows, 36, sqlite));
    sql
}

type CardKey = (String, String, String, String);

fn card_key(k: &MemberKey) -> CardKey {
    (
        k.insurer.as_str().to_owned(),
        k.symbol.as_str().to_owned(),
        k.number.as_str().to_owned(),
        k.branch.as_str().to_owned(),
    )
}

impl CheckupImport {
    /// Stores `checkups` in the import's transaction as [`CheckupImport::add`] would one by
    /// one, with the same outcome for each (a checkup repeated within the batch is compared
    /// with the one before it), but in a few set-based statements: the stored versions and the
    /// members of all their card keys read at once, the checkups and their observations
    /// written in multi-row INSERTs.
    pub async fn add_batch(&mut self, checkups: &[NewCheckup]) -> Result<Vec<Added>, StoreError> {
        use std::collections::{HashMap, HashSet};
        let mut keys: Vec<CardKey> = Vec::new();
        let mut seen: HashSet<CardKey> = HashSet::new();
        for c in checkups {
            self.changes.years.insert(fiscal_year(c.exam_date));
            let k = card_key(&c.key);
            if seen.insert(k.clone()) {
                keys.push(k);
            }
        }
        let sqlite = matches!(self.tx, Tx::Sqlite(_));
        let (keys_per_select, checkups_per_insert, observations_per_insert) = if sqlite {
            SQLITE_BATCH_ROWS
        } else {
            POSTGRES_BATCH_ROWS
        };
        let mut latest: HashMap<(CardKey, Date, String), (i32, String)> = HashMap::new();
        let mut holders: HashMap<CardKey, BatchHolder> = HashMap::new();
        // What the batch's people counted for in the report cells before it writes them.
        let first = self.changes.first_seen(&keys);
        let changes = &mut self.changes;
        match &mut self.tx {
            Tx::Sqlite(tx) => crate::reports::count_people!(&mut **tx, first, -1, changes, true),
            Tx::Postgres(tx) => {
                crate::reports::count_people!(&mut **tx, first, -1, changes, false)
            }
        }
        on_tx!(self, |tx| {
            for chunk in keys.chunks(keys_per_select) {
                let sql = format!(
                    "SELECT insurer_number, symbol, number, branch, exam_date, institution, version, content_hash \
                     FROM checkups WHERE {}",
                    keys_in(
                        "insurer_number, symbol, number, branch",
                        chunk.len(),
                        sqlite
                    )
                );
                let mut q = sqlx::query_as::<_, StoredVersion>(sqlx::AssertSqlSafe(sql));
                for k in chunk {
                    q = q.bind(&k.0).bind(&k.1).bind(&k.2).bind(&k.3);
                }
                for v in q.fetch_all(&mut **tx).await? {
                    let key = (
                        (v.insurer_number, v.symbol, v.number, v.branch),
                        v.exam_date,
                        v.institution,
                    );
                    let e = latest.entry(key).or_insert((0, String::new()));
                    if v.version > e.0 {
                        *e = (v.version, v.content_hash);
                    }
                }
                let sql = format!(
                    "SELECT m.insurer_number, m.symbol, m.number, m.branch, m.id, v.person_ref, v.birth_date, \
                     v.sex, v.qualified_from, v.qualified_until, v.employer FROM members m \
                     JOIN member_versions v ON v.member_id = m.id AND v.version = m.current_version WHERE {}",
                    keys_in(
                        "m.insurer_number, m.symbol, m.number, m.branch",
                        chunk.len(),
                        sqlite
                    )
                );
                let mut q = sqlx::query_as::<_, BatchHolder>(sqlx::AssertSqlSafe(sql));
                for k in chunk {
                    q = q.bind(&k.0).bind(&k.1).bind(&k.2).bind(&k.3);
                }
                for h in q.fetch_all(&mut **tx).await? {
                    let k = (
                        h.insurer_number.clone(),
                        h.symbol.clone(),
                        h.number.clone(),
                        h.branch.clone(),
                    );
                    holders.insert(k, h);
                }
            }
        });
        let (archive, at, actor) = (self.archive.clone(), self.at, self.actor.clone());
        let mut outcomes = Vec::with_capacity(checkups.len());
        let mut rows: Vec<Staged<'_>> = Vec::new();
        let mut consignments: HashMap<(String, String, String, Date), Option<String>> =
            HashMap::new();
        for c in checkups {
            let key = &c.key;
            let ck = card_key(key);
            let refusal = sender_refusal(&actor, c);
            if let Some(reason) = refusal {
                outcomes.push(Added::Refused(reason));
                continue;
            }
            let hash = content_hash(c);
            let slot = (ck.clone(), c.exam_date, c.institution.clone());
            let previous = latest.get(&slot).cloned();
            if previous.as_ref().is_some_and(|(_, h)| *h == hash) {
                outcomes.push(Added::Unchanged);
                continue;
            }
            let holder = holders.get(&ck).filter(|h| {
                h.birth_date == c.birth_date
                    && h.sex == i32::from(c.sex)
                    && h.qualified_from <= c.exam_date
                    && h.qualified_until.is_none_or(|u| u >= c.exam_date)
            });
            let employer = holder.and_then(|h| h.employer.clone());
            let mut consignment = None;
            match &actor {
                Actor::Employer(e)
                    if holder.is_some() && employer.as_deref() != Some(e.code.as_str()) =>
                {
                    outcomes.push(Added::Refused(format!(
                        "{CARD_KEY}: the person is not recorded as an employee of employer {}",
                        e.code
                    )));
                    continue;
                }
                Actor::Institution(n) if c.program == EMPLOYER_CHECKUP_PROGRAM => {
                    let Some(code) = &employer else {
                        outcomes.push(Added::Refused(format!(
                            "{PROGRAM}: an employer checkup (プログラム種別 030) from an institution needs a \
                             consignment of the person's employer, and the person is not matched to an employer"
                        )));
                        continue;
                    };
                    let lookup = (
                        n.as_str().to_owned(),
                        key.insurer.as_str().to_owned(),
                        code.clone(),
                        c.exam_date,
                    );
                    let found = match consignments.get(&lookup) {
                        Some(f) => f.clone(),
                        None => {
                            let f: Option<(String,)> =
                                on_tx!(self, |tx| sqlx::query_as(CONSIGNMENT_IN_FORCE)
                                    .bind(&lookup.0)
                                    .bind(&lookup.1)
                                    .bind(&lookup.2)
                                    .bind(lookup.3)
                                    .fetch_optional(&mut **tx)
                                    .await?);
                            let f = f.map(|(id,)| id);
                            consignments.insert(lookup.clone(), f.clone());
                            f
                        }
                    };
                    match found {
                        Some(id) => consignment = Some(id),
                        None => {
                            outcomes.push(Added::Refused(format!(
                                "{PROGRAM}: employer {code} has no consignment of institution {n} in force on the exam date {}",
                                c.exam_date
                            )));
                            continue;
                        }
                    }
                }
                _ => {}
            }
            let version = previous.map_or(1, |(v, _)| v + 1);
            latest.insert(slot, (version, hash.clone()));
            outcomes.push(if version > 1 {
                Added::Corrected
            } else if holder.is_some() {
                Added::Linked
            } else {
                Added::Unmatched
            });
            rows.push(Staged {
                checkup: c,
                id: crate::members::new_member_id(),
                version,
                hash,
                holder,
                employer,
                consignment,
            });
        }
        let (kind, sender) = (actor.kind(), actor.id());
        on_tx!(self, |tx| {
            for chunk in rows.chunks(checkups_per_insert) {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(checkup_insert(chunk.len(), sqlite)));
                for Staged {
                    checkup: c,
                    id,
                    version,
                    hash,
                    holder,
                    employer,
                    consignment,
                } in chunk
                {
                    let k = &c.key;
                    q = q
                        .bind(id)
                        .bind(k.insurer.as_str())
                        .bind(k.symbol.as_str())
                        .bind(k.number.as_str())
                        .bind(k.branch.as_str())
                        .bind(c.exam_date)
                        .bind(&c.institution)
                        .bind(*version)
                        .bind(at)
                        .bind(&archive)
                        .bind(&c.source_file)
                        .bind(&c.report_kind)
                        .bind(&c.program)
                        .bind(&c.name_kana)
                        .bind(c.birth_date)
                        .bind(i32::from(c.sex))
                        .bind(fiscal_year(c.exam_date))
                        .bind(age_at_fiscal_year_end(c.birth_date, c.exam_date))
                        .bind(holder.map(|h| h.id.clone()))
                        .bind(holder.and_then(|h| h.person_ref.clone()))
                        .bind(hash)
                        .bind(employer)
                        .bind(kind)
                        .bind(&sender)
                        .bind(consignment)
                        .bind(c.claim.as_ref().map(|m| m.claim_type.clone()))
                        .bind(c.claim.as_ref().map(|m| m.unit_amount))
                        .bind(c.claim.as_ref().map(|m| m.payment_amount))
                        .bind(c.claim.as_ref().map(|m| m.other_amount))
                        .bind(c.claim.as_ref().map(|m| m.claim_amount))
                        .bind(&c.judgement.rule_set)
                        .bind(c.judgement.guidance_level.as_deref())
                        .bind(&c.judgement.metabolic)
                        .bind(c.judgement.referral)
                        .bind(c.judgement.indicators_known)
                        .bind(c.judgement.indicators);
                }
                q.execute(&mut **tx).await?;
            }
        });
        let observations: Vec<(&str, usize, &NewObservation)> = rows
            .iter()
            .flat_map(|Staged { checkup: c, id, .. }| {
                c.observations
                    .iter()
                    .enumerate()
                    .map(move |(i, o)| (id.as_str(), i, o))
            })
            .collect();
        match &mut self.tx {
            // PostgreSQL: one COPY for the batch's observations (most of an import's rows).
            Tx::Postgres(tx) => {
                use crate::import::{copy_opt_text, copy_text};
                let mut data = Vec::with_capacity(observations.len() * 64);
                for (id, seq, o) in &observations {
                    copy_text(&mut data, id);
                    data.extend_from_slice(format!("\t{seq}\t").as_bytes());
                    copy_text(&mut data, &o.code);
                    data.push(b'\t');
                    copy_text(&mut data, o.value_kind);
                    for part in [
                        Some(o.value.as_str()),
                        o.unit.as_deref(),
                        o.code_system.as_deref(),
                        o.interpretation.as_deref(),
                        o.method.as_deref(),
                    ] {
                        data.push(b'\t');
                        copy_opt_text(&mut data, part);
                    }
                    data.push(b'\n');
                }
                if !data.is_empty() {
                    let mut copy = tx
                        .copy_in_raw(
                            "COPY checkup_observations (checkup_id, seq, code, value_kind, value, unit, \
                             code_system, interpretation, method) FROM STDIN",
                        )
                        .await?;
                    copy.send(data).await?;
                    copy.finish().await?;
                }
            }
            Tx::Sqlite(tx) => {
                for chunk in observations.chunks(observations_per_insert) {
                    let mut q =
                        sqlx::query(sqlx::AssertSqlSafe(observation_insert(chunk.len(), sqlite)));
                    for (id, seq, o) in chunk {
                        q = q
                            .bind(*id)
                            .bind(i32::try_from(*seq).unwrap_or(i32::MAX))
                            .bind(&o.code)
                            .bind(o.value_kind)
                            .bind(&o.value)
                            .bind(&o.unit)
                            .bind(&o.code_system)
                            .bind(&o.interpretation)
                            .bind(&o.method);
                    }
                    q.execute(&mut **tx).await?;
                }
            }
        }
        for r in &rows {
            if let Some(c) = &r.consignment {
                self.outcome.consignments.insert(c.clone());
            }
        }
        for a in &outcomes {
            match a {
                Added::Refused(_) => {}
                Added::Linked => self.outcome.linked += 1,
                Added::Unmatched => self.outcome.unmatched += 1,
                Added::Corrected => self.outcome.corrected += 1,
                Added::Unchanged => self.outcome.unchanged += 1,
            }
        }
        Ok(outcomes)
    }
}

/// Why `actor` may not send checkup `c` whatever the store holds, if it may not.
fn sender_refusal(actor: &Actor, c: &NewCheckup) -> Option<String> {
    document_sender_refusal(actor, c.key.insurer.as_str(), &c.institution, false)
}

/// Why `actor` may not send a document (a checkup, or with `guidance` a guidance record) for
/// insurer `insurer`'s member from institution `institution`, if it may not, naming the
/// document's element at fault: an insurer sends for its own members, an employer for its
/// insurer's (checkups only: employers do not send guidance), an institution its own
/// documents, the operator anything; facilities, people and staff send none.
pub fn document_sender_refusal(
    actor: &Actor,
    insurer: &str,
    institution: &str,
    guidance: bool,
) -> Option<String> {
    match actor {
        Actor::Insurer(n) if n.as_str() != insurer => Some(format!(
            "{INSURER_ID}: the document is for insurer {insurer}, not the sender {n}"
        )),
        Actor::Employer(_) if guidance => {
            Some("only insurers and guidance institutions send guidance records".to_owned())
        }
        Actor::Employer(e) if e.insurer.as_str() != insurer => Some(format!(
            "{INSURER_ID}: the document is for insurer {insurer}, not employer {e}'s insurer"
        )),
        Actor::Institution(n) if n.as_str() != institution => Some(format!(
            "{INSTITUTION_ID}: the document is from institution {institution}, not the sender {n}"
        )),
        Actor::Facility(_) | Actor::Person(_) | Actor::Staff { .. } => Some(if guidance {
            "only insurers and guidance institutions send guidance records".to_owned()
        } else {
            "only insurers, employers and institutions send checkups".to_owned()
        }),
        _ => None,
    }
}
