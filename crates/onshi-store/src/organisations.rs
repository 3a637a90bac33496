//! Employers (事業所) and checkup institutions (健診機関), the two kinds of organisation that send
//! checkup results to insurers besides the insurers themselves; an employer's consignments of
//! institutions (委託) to deliver its employees' results; and an insurer's requests to its
//! employers for a fiscal year's results, with what has arrived. Each registration, consignment
//! and request is audited in the same commit.

use time::{Date, OffsetDateTime};

use onshi_domain::{
    AuditAction, EmployerCode, EmployerRef, Industry, InstitutionNumber, InsurerNumber, Prefecture,
};

use crate::audit::audit;
use crate::{Actor, Store, StoreError, on_pool};

/// An employer as registered by its insurer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employer {
    /// The insurer and the employer's code there.
    pub id: EmployerRef,
    /// 事業所名.
    pub name: String,
    /// 業態.
    pub industry: Industry,
    /// 都道府県 of the workplace.
    pub prefecture: Prefecture,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

/// A checkup institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    /// 健診機関番号.
    pub number: InstitutionNumber,
    /// Its name.
    pub name: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

/// An employer's consignment of an institution to deliver its employees' employer-checkup
/// results to the insurer, for exam dates from `valid_from` to `valid_until` (the last day
/// covered; open when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consignment {
    /// Its id (named by receipts that relied on it).
    pub id: String,
    /// The consigning employer.
    pub employer: EmployerRef,
    /// The consigned institution.
    pub institution: InstitutionNumber,
    /// First exam date covered.
    pub valid_from: Date,
    /// Last exam date covered.
    pub valid_until: Option<Date>,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
}

impl Consignment {
    /// Whether it covers an exam on `date`.
    pub fn covers(&self, date: Date) -> bool {
        self.valid_from <= date && self.valid_until.is_none_or(|u| date <= u)
    }
}

/// An insurer's request to an employer for one fiscal year's results, with what has arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupRequest {
    /// The employer asked.
    pub employer: EmployerRef,
    /// 年度.
    pub fiscal_year: i32,
    /// By when the results are due.
    pub due_date: Date,
    /// When the insurer asked.
    pub requested_at: OffsetDateTime,
    /// Insured persons (本人) of the employer qualified at some time in the fiscal year.
    pub covered: i64,
    /// Of them, how many have a checkup of the fiscal year in the store.
    pub arrived: i64,
    /// Past the due date with results missing.
    pub overdue: bool,
}

row_by_name! {
    struct EmployerRow {
        insurer_number: String,
        code: String,
        name: String,
        industry: String,
        prefecture: i32,
        created_at: OffsetDateTime,
    }
}

row_by_name! {
    struct ConsignmentRow {
        id: String,
        insurer_number: String,
        employer: String,
        institution: String,
        valid_from: Date,
        valid_until: Option<Date>,
        created_at: OffsetDateTime,
    }
}

row_by_name! {
    struct RequestRow {
        insurer_number: String,
        employer: String,
        fiscal_year: i32,
        due_date: Date,
        requested_at: OffsetDateTime,
        covered: i64,
        arrived: i64,
    }
}

fn corrupt(e: String) -> StoreError {
    StoreError::Corrupt(e)
}

fn employer_ref(insurer: &str, code: &str) -> Result<EmployerRef, StoreError> {
    Ok(EmployerRef {
        insurer: InsurerNumber::parse(insurer).map_err(corrupt)?,
        code: EmployerCode::parse(code).map_err(corrupt)?,
    })
}

impl TryFrom<EmployerRow> for Employer {
    type Error = StoreError;
    fn try_from(r: EmployerRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: employer_ref(&r.insurer_number, &r.code)?,
            name: r.name,
            industry: Industry::parse(&r.industry).map_err(corrupt)?,
            prefecture: Prefecture::from_number(i64::from(r.prefecture))
                .ok_or_else(|| corrupt("prefecture".into()))?,
            created_at: r.created_at,
        })
    }
}

impl TryFrom<ConsignmentRow> for Consignment {
    type Error = StoreError;
    fn try_from(r: ConsignmentRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            employer: employer_ref(&r.insurer_number, &r.employer)?,
            institution: InstitutionNumber::parse(&r.institution).map_err(corrupt)?,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            created_at: r.created_at,
        })
    }
}

/// In the transaction that has just registered an owner of kind `$kind`: its first token, the
/// audit entry (`add_organisation`), the commit.
macro_rules! register_owner {
    ($tx:expr, $kind:literal, $id:expr, $hash:expr, $at:expr, $actor:expr) => {{
        let id: String = $id;
        sqlx::query(concat!(
            "INSERT INTO api_tokens (token_hash, owner_kind, owner_id, created_at) VALUES ($1, '",
            $kind,
            "', $2, $3)"
        ))
        .bind($hash)
        .bind(&id)
        .bind($at)
        .execute(&mut *$tx)
        .await?;
        let detail = format!(concat!($kind, " {}"), id);
        audit!(
            &mut *$tx,
            $at,
            $actor,
            AuditAction::AddOrganisation,
            &[],
            None,
            Some(detail)
        );
        $tx.commit().await?;
    }};
}

const CONSIGNMENT_COLUMNS: &str =
    "id, insurer_number, employer, institution, valid_from, valid_until, created_at";

/// The requests of an insurer (`$1`), with the employer's insured persons qualified in the
/// fiscal year and those of them with a checkup of that year.
const REQUESTS: &str = "SELECT r.insurer_number, r.employer, r.fiscal_year, r.due_date, r.requested_at, \
     (SELECT COUNT(*) FROM members m JOIN member_versions v ON v.member_id = m.id AND v.version = m.current_version \
      WHERE m.insurer_number = r.insurer_number AND v.employer = r.employer AND v.relationship = 1 \
      AND v.qualified_from <= $2 AND (v.qualified_until IS NULL OR v.qualified_until >= $3)) AS covered, \
     (SELECT COUNT(DISTINCT c.member_id) FROM checkups c JOIN members m ON m.id = c.member_id \
      JOIN member_versions v ON v.member_id = m.id AND v.version = m.current_version \
      WHERE c.insurer_number = r.insurer_number AND c.fiscal_year = r.fiscal_year \
      AND v.employer = r.employer AND v.relationship = 1) AS arrived \
     FROM checkup_requests r WHERE r.insurer_number = $1 AND r.fiscal_year = $4 ORDER BY r.employer";

impl Store {
    /// Registers a checkup institution with the hash of its API token; audited
    /// (`add_organisation`) as `actor`. `Conflict` when it is registered already.
    pub async fn create_institution(
        &self,
        number: &InstitutionNumber,
        name: &str,
        token_hash: &str,
        at: OffsetDateTime,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let added = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "INSERT INTO institutions (number, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (number) DO NOTHING",
            )
            .bind(number.as_str())
            .bind(name)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                register_owner!(tx, "institution", number.to_string(), token_hash, at, actor);
            }
            n > 0
        });
        if added {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "institution {number} is already registered"
            )))
        }
    }

    /// Registers an employer of its insurer with the hash of its API token; audited as
    /// `actor`. `NotFound("insurer")` when the insurer is not registered, `Conflict` when the
    /// code is taken there.
    pub async fn create_employer(
        &self,
        employer: &Employer,
        token_hash: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let id = &employer.id;
        let at = employer.created_at;
        let added = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let (insurers,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM insurers WHERE number = $1")
                    .bind(id.insurer.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
            if insurers == 0 {
                return Err(StoreError::NotFound("insurer"));
            }
            let n = sqlx::query(
                "INSERT INTO employers (insurer_number, code, name, industry, prefecture, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (insurer_number, code) DO NOTHING",
            )
            .bind(id.insurer.as_str())
            .bind(id.code.as_str())
            .bind(&employer.name)
            .bind(employer.industry.letter().to_string())
            .bind(i32::from(employer.prefecture.number()))
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                // A new workplace's industry joins every year's industry averages.
                sqlx::query(crate::reports::BUMP_EVERY_GENERATION)
                    .execute(&mut *tx)
                    .await?;
                register_owner!(tx, "employer", id.to_string(), token_hash, at, actor);
            }
            n > 0
        });
        if added {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "employer {} is already registered by insurer {}",
                id.code, id.insurer
            )))
        }
    }

    /// An employer of an insurer.
    pub async fn employer(&self, id: &EmployerRef) -> Result<Option<Employer>, StoreError> {
        let row: Option<EmployerRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT insurer_number, code, name, industry, prefecture, created_at FROM employers \
             WHERE insurer_number = $1 AND code = $2"
        )
        .bind(id.insurer.as_str())
        .bind(id.code.as_str())
        .fetch_optional(p)
        .await?
        });
        row.map(Employer::try_from).transpose()
    }

    /// The employers an insurer registered, by code.
    pub async fn employers(&self, insurer: &InsurerNumber) -> Result<Vec<Employer>, StoreError> {
        let rows: Vec<EmployerRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT insurer_number, code, name, industry, prefecture, created_at FROM employers \
             WHERE insurer_number = $1 ORDER BY code"
        )
        .bind(insurer.as_str())
        .fetch_all(p)
        .await?
        });
        rows.into_iter().map(Employer::try_from).collect()
    }

    /// Every registered employer's industry (JSIC letter), keyed by insurer and code, for the
    /// reports' comparisons (no personal data).
    pub async fn employer_industries(
        &self,
    ) -> Result<std::collections::HashMap<(String, String), String>, StoreError> {
        let rows: Vec<(String, String, String)> = on_pool!(self, read, |p| {
            sqlx::query_as("SELECT insurer_number, code, industry FROM employers")
                .fetch_all(p)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(insurer, code, industry)| ((insurer, code), industry))
            .collect())
    }

    /// Sets `insurer`'s group `code` of merged workplaces (合算) to `employers`, named `name`,
    /// replacing its workplaces if it exists. Refused (`Conflict`, nothing written): a code that
    /// is not a registered employer of the insurer, or one already in another group.
    pub async fn set_workplace_group(
        &self,
        insurer: &InsurerNumber,
        code: &str,
        name: &str,
        employers: &[EmployerCode],
    ) -> Result<(), StoreError> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            for e in employers {
                let known: Option<(String,)> = sqlx::query_as(
                    "SELECT code FROM employers WHERE insurer_number = $1 AND code = $2",
                )
                .bind(insurer.as_str())
                .bind(e.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                if known.is_none() {
                    return Err(StoreError::Conflict(format!(
                        "employers: {} is not a registered employer of yours",
                        e.as_str()
                    )));
                }
                let other: Option<(String,)> = sqlx::query_as(
                    "SELECT group_code FROM workplace_group_members \
                     WHERE insurer_number = $1 AND employer = $2 AND group_code <> $3",
                )
                .bind(insurer.as_str())
                .bind(e.as_str())
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((g,)) = other {
                    return Err(StoreError::Conflict(format!(
                        "employers: {} is already in group {g}",
                        e.as_str()
                    )));
                }
            }
            sqlx::query(
                "INSERT INTO workplace_groups (insurer_number, code, name) VALUES ($1, $2, $3) \
                 ON CONFLICT (insurer_number, code) DO UPDATE SET name = excluded.name",
            )
            .bind(insurer.as_str())
            .bind(code)
            .bind(name)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM workplace_group_members WHERE insurer_number = $1 AND group_code = $2",
            )
            .bind(insurer.as_str())
            .bind(code)
            .execute(&mut *tx)
            .await?;
            for e in employers {
                sqlx::query(
                    "INSERT INTO workplace_group_members (insurer_number, group_code, employer) \
                     VALUES ($1, $2, $3)",
                )
                .bind(insurer.as_str())
                .bind(code)
                .bind(e.as_str())
                .execute(&mut *tx)
                .await?;
            }
            // Groups are masked with every year's figures.
            sqlx::query(crate::reports::BUMP_EVERY_GENERATION)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every insurer's groups of merged workplaces: (insurer, group code, its workplaces), in
    /// order.
    pub async fn workplace_groups(&self) -> Result<Vec<(String, String, Vec<String>)>, StoreError> {
        let rows: Vec<(String, String, String)> = on_pool!(self, read, |p| {
            sqlx::query_as(
                "SELECT insurer_number, group_code, employer FROM workplace_group_members \
                 ORDER BY insurer_number, group_code, employer",
            )
            .fetch_all(p)
            .await?
        });
        let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
        for (insurer, group, employer) in rows {
            match out.last_mut() {
                Some((i, g, list)) if *i == insurer && *g == group => list.push(employer),
                _ => out.push((insurer, group, vec![employer])),
            }
        }
        Ok(out)
    }

    /// The employer whose token hashes to `token_hash`, if the token is valid at `now`.
    pub async fn employer_by_token_hash(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<EmployerRef>, StoreError> {
        self.owner_by_token_hash("employer", token_hash, now)
            .await?
            .map(|id| EmployerRef::parse(&id).map_err(corrupt))
            .transpose()
    }

    /// The institution whose token hashes to `token_hash`, if the token is valid at `now`.
    pub async fn institution_by_token_hash(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<InstitutionNumber>, StoreError> {
        self.owner_by_token_hash("institution", token_hash, now)
            .await?
            .map(|id| InstitutionNumber::parse(&id).map_err(corrupt))
            .transpose()
    }

    /// Records that `employer` consigns `institution` for exams from `valid_from` to
    /// `valid_until`; audited (`consign`) as `actor`. `NotFound` when either is not registered.
    pub async fn add_consignment(
        &self,
        actor: &Actor,
        employer: &EmployerRef,
        institution: &InstitutionNumber,
        valid_from: Date,
        valid_until: Option<Date>,
        at: OffsetDateTime,
    ) -> Result<Consignment, StoreError> {
        let consignment = Consignment {
            id: crate::members::new_member_id(),
            employer: employer.clone(),
            institution: institution.clone(),
            valid_from,
            valid_until,
            created_at: at,
        };
        let c = &consignment;
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let (employers, institutions): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM employers WHERE insurer_number = $1 AND code = $2), \
                 (SELECT COUNT(*) FROM institutions WHERE number = $3)",
            )
            .bind(employer.insurer.as_str())
            .bind(employer.code.as_str())
            .bind(institution.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if employers == 0 {
                return Err(StoreError::NotFound("employer"));
            }
            if institutions == 0 {
                return Err(StoreError::NotFound("institution"));
            }
            sqlx::query(
                "INSERT INTO consignments (id, insurer_number, employer, institution, valid_from, valid_until, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&c.id)
            .bind(employer.insurer.as_str())
            .bind(employer.code.as_str())
            .bind(institution.as_str())
            .bind(valid_from)
            .bind(valid_until)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let detail = format!(
                "consignment {}: employer {employer} consigns institution {institution} from {valid_from} to {}",
                c.id,
                valid_until.map_or("open".to_owned(), |u| u.to_string())
            );
            audit!(
                &mut *tx,
                at,
                actor,
                AuditAction::Consign,
                &[],
                None,
                Some(detail)
            );
            tx.commit().await?;
        });
        Ok(consignment)
    }

    /// Ends an employer's consignment: the last exam date it covers becomes `last_day` (if
    /// earlier). Audited (`consign`). `NotFound` unless it is the employer's.
    pub async fn end_consignment(
        &self,
        actor: &Actor,
        employer: &EmployerRef,
        id: &str,
        last_day: Date,
        at: OffsetDateTime,
    ) -> Result<Consignment, StoreError> {
        let row: ConsignmentRow = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let sql = format!(
                "SELECT {CONSIGNMENT_COLUMNS} FROM consignments WHERE id = $1 AND insurer_number = $2 AND employer = $3"
            );
            let row: Option<ConsignmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(employer.insurer.as_str())
                .bind(employer.code.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(mut row) = row else {
                return Err(StoreError::NotFound("consignment"));
            };
            let until = row.valid_until.map_or(last_day, |u| u.min(last_day));
            sqlx::query("UPDATE consignments SET valid_until = $2 WHERE id = $1")
                .bind(id)
                .bind(until)
                .execute(&mut *tx)
                .await?;
            row.valid_until = Some(until);
            let detail = format!("consignment {id} of employer {employer} ends on {until}");
            audit!(
                &mut *tx,
                at,
                actor,
                AuditAction::Consign,
                &[],
                None,
                Some(detail)
            );
            tx.commit().await?;
            row
        });
        Consignment::try_from(row)
    }

    /// An employer's consignments, oldest first.
    pub async fn consignments(
        &self,
        employer: &EmployerRef,
    ) -> Result<Vec<Consignment>, StoreError> {
        let sql = format!(
            "SELECT {CONSIGNMENT_COLUMNS} FROM consignments WHERE insurer_number = $1 AND employer = $2 \
             ORDER BY created_at, id"
        );
        let rows: Vec<ConsignmentRow> =
            on_pool!(self, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(employer.insurer.as_str())
                .bind(employer.code.as_str())
                .fetch_all(p)
                .await?);
        rows.into_iter().map(Consignment::try_from).collect()
    }

    /// Requests (or moves the due date of a request for) an employer's results of a fiscal
    /// year; audited (`request_checkups`) as the insurer. `NotFound` unless the employer is the
    /// insurer's.
    pub async fn request_checkups(
        &self,
        employer: &EmployerRef,
        fiscal_year: i32,
        due_date: Date,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let actor = Actor::Insurer(employer.insurer.clone());
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM employers WHERE insurer_number = $1 AND code = $2",
            )
            .bind(employer.insurer.as_str())
            .bind(employer.code.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound("employer"));
            }
            sqlx::query(
                "INSERT INTO checkup_requests (insurer_number, employer, fiscal_year, due_date, requested_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (insurer_number, employer, fiscal_year) \
                 DO UPDATE SET due_date = excluded.due_date",
            )
            .bind(employer.insurer.as_str())
            .bind(employer.code.as_str())
            .bind(fiscal_year)
            .bind(due_date)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let detail =
                format!("employer {employer}: results of fiscal year {fiscal_year} due {due_date}");
            audit!(
                &mut *tx,
                at,
                &actor,
                AuditAction::RequestCheckups,
                &[],
                None,
                Some(detail)
            );
            tx.commit().await?;
        });
        Ok(())
    }

    /// An insurer's requests for fiscal year `fiscal_year`, each with who is covered and what
    /// has arrived, overdue when past its due date on `today` with results missing. With
    /// `employer`, only that employer's.
    pub async fn checkup_requests(
        &self,
        insurer: &InsurerNumber,
        employer: Option<&EmployerCode>,
        fiscal_year: i32,
        today: Date,
    ) -> Result<Vec<CheckupRequest>, StoreError> {
        let start = Date::from_calendar_date(fiscal_year, time::Month::April, 1)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let end = Date::from_calendar_date(fiscal_year + 1, time::Month::March, 31)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let rows: Vec<RequestRow> = on_pool!(self, read, |p| sqlx::query_as(REQUESTS)
            .bind(insurer.as_str())
            .bind(end)
            .bind(start)
            .bind(fiscal_year)
            .fetch_all(p)
            .await?);
        rows.into_iter()
            .filter(|r| employer.is_none_or(|e| e.as_str() == r.employer))
            .map(|r| {
                Ok(CheckupRequest {
                    employer: employer_ref(&r.insurer_number, &r.employer)?,
                    fiscal_year: r.fiscal_year,
                    due_date: r.due_date,
                    requested_at: r.requested_at,
                    covered: r.covered,
                    arrived: r.arrived,
                    overdue: today > r.due_date && r.arrived < r.covered,
                })
            })
            .collect()
    }
}
