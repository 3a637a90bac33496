//! The insurer's programme over HTTP: its counts and rates for a fiscal year, and the guidance
//! events it records.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use onshi_api::{
    GuidanceEventBody, ProgrammeListPage, ProgrammeListPerson, ProgrammeSummary, percent,
};
use onshi_checkup::grades::GradeRule;
use onshi_domain::{FieldError, InsurerNumber};
use onshi_store::{
    GuidanceEvent, GuidanceStatus, ProgrammeCounts, ProgrammeList, Store, StoreError,
};

use crate::AppState;
use crate::auth::AuthenticatedInsurer;
use crate::problem::{ApiJson, Problem};

/// The fiscal years the programme answers for.
const YEARS: std::ops::RangeInclusive<i32> = 2008..=2100;

/// The summary of `insurer`'s fiscal year `year`, from the store's counts.
pub async fn summary(
    store: &Store,
    insurer: &InsurerNumber,
    year: i32,
) -> Result<ProgrammeSummary, StoreError> {
    let c: ProgrammeCounts = store.programme_counts(insurer, year).await?;
    Ok(ProgrammeSummary {
        fiscal_year: year,
        rule_set: onshi_checkup::stratify::RuleSet::for_fiscal_year(year)
            .id()
            .to_owned(),
        eligible: c.eligible,
        examined: c.examined,
        examination_rate: percent(c.examined, c.eligible),
        active: c.active,
        motivational: c.motivational,
        undeterminable: c.undeterminable,
        referrals: c.referrals,
        metabolic: c.metabolic,
        metabolic_reserve: c.metabolic_reserve,
        started: c.started,
        completed: c.completed,
        dropped_out: c.dropped_out,
        guidance_rate: percent(c.completed, c.active + c.motivational),
    })
}

/// Your programme for a fiscal year: who should have been examined (members aged 40–74 at its
/// end, members for all of it), who was, the guidance targets by level, the people to refer to
/// a doctor, the guidance done, and the two national rates (特定健診実施率, 特定保健指導実施率).
/// Counts only: not audited.
#[utoipa::path(get, path = "/v1/programme/{fiscal_year}", tag = "checkups",
    params(("fiscal_year" = i32, Path, description = "年度 (April to March), 2008 or later")),
    responses(
        (status = 200, description = "the year's counts and rates", body = ProgrammeSummary),
        (status = 422, description = "not a fiscal year onshi answers for", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn get_summary(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(year): Path<String>,
) -> Result<Json<ProgrammeSummary>, Problem> {
    let year = fiscal_year(&year)?;
    Ok(Json(summary(&state.store, &insurer, year).await?))
}

/// A programme list member as the wire shows it.
pub fn list_person(p: &onshi_store::ProgrammePerson) -> ProgrammeListPerson {
    use onshi_checkup::stratify::GuidanceLevel;
    ProgrammeListPerson {
        member_id: p.member_id.clone(),
        symbol: p.symbol.clone(),
        number: p.number.clone(),
        branch: p.branch.clone(),
        name: p.name.clone(),
        name_kana: p.name_kana.clone(),
        birth_date: p.birth_date.to_string(),
        sex: u8::try_from(p.sex).unwrap_or(0),
        employer: p.employer.clone(),
        exam_date: p.exam_date.to_string(),
        guidance_level: p.guidance_level.clone(),
        guidance_level_name: p
            .guidance_level
            .as_deref()
            .and_then(GuidanceLevel::from_code)
            .map(|l| l.name().to_owned()),
        metabolic: p.metabolic.clone(),
        referral: p.referral.unwrap_or(false),
        first_interview: p.first_interview.map(|d| d.to_string()),
        completed: p.completed.map(|d| d.to_string()),
        dropped_out: p.dropped_out.map(|d| d.to_string()),
    }
}

/// The list a `list` query parameter names (`targets` without one) and the guidance status
/// `status` narrows it to (targets only), or the fields in error.
pub fn list_filter(
    query: &std::collections::HashMap<String, String>,
) -> Result<(ProgrammeList, Option<GuidanceStatus>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let list = match query.get("list") {
        None => Some(ProgrammeList::Targets),
        Some(l) => ProgrammeList::parse(l.trim()).or_else(|| {
            errors.push(FieldError::new("list", "must be targets or referrals"));
            None
        }),
    };
    let status = match query.get("status").map(|s| s.trim()) {
        None | Some("") => None,
        Some(s) => match GuidanceStatus::parse(s) {
            Some(_) if list == Some(ProgrammeList::Referrals) => {
                errors.push(FieldError::new(
                    "status",
                    "narrows the list of targets only (list=targets)",
                ));
                None
            }
            Some(status) => Some(status),
            None => {
                errors.push(FieldError::new(
                    "status",
                    "must be not_started, in_progress, completed or dropped_out",
                ));
                None
            }
        },
    };
    match (list, errors.is_empty()) {
        (Some(list), true) => Ok((list, status)),
        _ => Err(errors),
    }
}

/// A CSV field: quoted when it holds a comma, quote or line break, and led by `'` when a
/// spreadsheet would read it as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A programme list of fiscal year `year` as CSV (UTF-8 with a BOM, CRLF), one member a line.
pub fn people_csv(year: i32, people: &[ProgrammeListPerson]) -> String {
    let mut out = String::from(
        "\u{feff}年度,記号,番号,枝番,氏名,氏名カナ,生年月日,性別,事業所コード,受診日,保健指導レベル(9N506),メタボリックシンドローム判定(9N501),受診勧奨,初回面接,終了,脱落\r\n",
    );
    let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
    for p in people {
        let fields = [
            year.to_string(),
            p.symbol.clone(),
            p.number.clone(),
            p.branch.clone(),
            p.name.clone(),
            p.name_kana.clone(),
            p.birth_date.clone(),
            p.sex.to_string(),
            or_empty(&p.employer),
            p.exam_date.clone(),
            or_empty(&p.guidance_level),
            or_empty(&p.metabolic),
            if p.referral { "1" } else { "0" }.to_owned(),
            or_empty(&p.first_interview),
            or_empty(&p.completed),
            or_empty(&p.dropped_out),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Your programme's people for a fiscal year, a page at a time: the guidance targets
/// (`list=targets`: 積極的 and 動機付け支援, with the guidance recorded for each) or the people to
/// refer to a doctor (`list=referrals`: 受診勧奨), the same members the summary counts, in
/// card-key order. Each member read is audited.
#[utoipa::path(get, path = "/v1/programme/{fiscal_year}/people", tag = "checkups",
    params(
        ("fiscal_year" = i32, Path, description = "年度 (April to March), 2008 or later"),
        ("list" = Option<String>, Query, description = "`targets` (default) or `referrals`"),
        ("status" = Option<String>, Query, description = "targets only: `not_started` (nothing recorded), `in_progress` (a first interview, no end), `completed` or `dropped_out`"),
        ("after" = Option<String>, Query, description = "the `next_after` of the previous page"),
        ("limit" = Option<u32>, Query, description = "page size, 1–1000 (default 100)"),
    ),
    responses(
        (status = 200, description = "a page of the list", body = ProgrammeListPage),
        (status = 404, description = "`after` is not one of your members", body = onshi_api::Problem),
        (status = 422, description = "not a fiscal year onshi answers for, or a bad query", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn get_people(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(year): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<ProgrammeListPage>, Problem> {
    let year = fiscal_year(&year)?;
    let (mut errors, limit) = super::page_query(&query, &["list", "status", "after", "limit"]);
    let filter = list_filter(&query).map_err(|e| errors.extend(e)).ok();
    let (Some((list, status)), true) = (filter, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let page = state
        .store
        .programme_people(
            &state.actor(&insurer),
            &insurer,
            year,
            list,
            status,
            query.get("after").map(String::as_str),
            limit,
            state.clock.now(),
        )
        .await?;
    Ok(Json(ProgrammeListPage {
        fiscal_year: year,
        list: list.as_str().to_owned(),
        status: status.map(|s| s.as_str().to_owned()),
        items: page.items.iter().map(list_person).collect(),
        next_after: page.next_after,
    }))
}

fn fiscal_year(text: &str) -> Result<i32, Problem> {
    match text.trim().parse::<i32>() {
        Ok(y) if YEARS.contains(&y) => Ok(y),
        _ => Err(Problem::validation(vec![FieldError::new(
            "fiscal_year",
            format!("must be a year from {} to {}", YEARS.start(), YEARS.end()),
        )])),
    }
}

/// Record a step of your member's specific health guidance: its first interview (初回面接),
/// completion (終了) or drop-out (脱落), in the fiscal year whose checkup made them a target.
/// Recording a step again moves its date. Audited with the member.
#[utoipa::path(post, path = "/v1/guidance-events", tag = "checkups",
    request_body = GuidanceEventBody,
    responses(
        (status = 204, description = "recorded"),
        (status = 404, description = "no member of yours with this card", body = onshi_api::Problem),
        (status = 409, description = "a completion after a drop-out (or the reverse), or an end before the first interview", body = onshi_api::Problem),
        (status = 422, description = "a field is missing or malformed, or the date is outside the fiscal year and the next", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn record_event(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    ApiJson(body): ApiJson<GuidanceEventBody>,
) -> Result<StatusCode, Problem> {
    let mut fields: Vec<FieldError> = Vec::new();
    let year = YEARS
        .contains(&body.fiscal_year)
        .then_some(body.fiscal_year);
    if year.is_none() {
        fields.push(FieldError::new(
            "fiscal_year",
            format!("must be a year from {} to {}", YEARS.start(), YEARS.end()),
        ));
    }
    let event = GuidanceEvent::parse(body.event.trim());
    let date = onshi_domain::parse_date(body.date.trim());
    if event.is_none() {
        fields.push(FieldError::new(
            "event",
            "must be first_interview, completed or dropped_out",
        ));
    }
    if let Err(e) = &date {
        fields.push(FieldError::new("date", e.clone()));
    }
    let key = onshi_domain::MemberInput {
        insurer_number: insurer.as_str(),
        symbol: &body.symbol,
        number: &body.number,
        branch: &body.branch,
        ..Default::default()
    }
    .card_key();
    if let Err(list) = &key {
        fields.extend(list.iter().cloned());
    }
    let (Some(year), Some(event), Ok(date), Ok(key), true) =
        (year, event, date, key, fields.is_empty())
    else {
        return Err(Problem::validation(fields));
    };
    let first = time::Date::from_calendar_date(year, time::Month::April, 1);
    let last = time::Date::from_calendar_date(year + 2, time::Month::March, 31);
    if let (Ok(first), Ok(last)) = (first, last)
        && (date < first || date > last)
    {
        return Err(Problem::validation(vec![FieldError::new(
            "date",
            format!("must be within fiscal year {year} or the next ({first} to {last})"),
        )]));
    }
    state
        .store
        .record_guidance(
            &onshi_store::Actor::Insurer(insurer),
            &key,
            year,
            event,
            date,
            state.clock.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The text of a small CSV upload named `name` (UTF-8 with or without a BOM, or CP932), up
/// to `limit` bytes.
async fn csv_text(body: axum::body::Body, limit: usize, name: &str) -> Result<String, Problem> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Problem::too_large(limit))?;
    onshi_checkup::employer_csv::decode(&bytes).map_err(|e| refused(name, vec![e]))
}

/// The answer refusing file `name` for `errors` (each `line N, column: reason`).
fn refused(name: &str, errors: Vec<String>) -> Problem {
    Problem::validation(
        errors
            .into_iter()
            .map(|e| FieldError::new(name, e))
            .collect(),
    )
}

/// The largest guidance CSV taken (about 200,000 rows).
const GUIDANCE_CSV_LIMIT: usize = 16 * 1024 * 1024;

/// Record your members' guidance events from a CSV (for guidance whose contractor writes no
/// `hg08` archive), all or nothing: `fiscal_year,symbol,number,branch,event,date` with a header,
/// one event per row (`first_interview`, `completed`, `dropped_out`, or 初回面接, 終了, 脱落), in
/// order, each held to the rules of `POST /v1/guidance-events` and audited with its member.
/// UTF-8 (a BOM is allowed) or CP932; up to 16 MiB. `name` names the file in errors.
#[utoipa::path(post, path = "/v1/guidance-csv/{name}", tag = "checkups",
    params(("name" = String, Path, description = "the file's name, for the receipt and errors")),
    request_body(content = String, description = "the CSV", content_type = "text/csv"),
    responses(
        (status = 200, description = "every event recorded", body = onshi_api::CsvReceipt),
        (status = 413, description = "over 16 MiB; nothing was recorded", body = onshi_api::Problem),
        (status = 422, description = "refused, nothing recorded: each problem in `errors` as the file (`field`) and `line N, column: reason`", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn upload_guidance_csv(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(name): Path<String>,
    body: axum::body::Body,
) -> Result<Json<onshi_api::CsvReceipt>, Problem> {
    let text = csv_text(body, GUIDANCE_CSV_LIMIT, &name).await?;
    let refuse = |errors: Vec<String>| refused(&name, errors);
    let rows = onshi_checkup::guidance_csv::parse(&text).map_err(refuse)?;
    let mut records = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for row in &rows {
        let key = onshi_domain::MemberInput {
            insurer_number: insurer.as_str(),
            symbol: &row.symbol,
            number: &row.number,
            branch: &row.branch,
            ..Default::default()
        }
        .card_key();
        match (key, GuidanceEvent::parse(row.event)) {
            (Ok(key), Some(event)) => records.push(onshi_store::GuidanceRecord {
                key,
                year: Some(row.fiscal_year),
                event,
                on: row.date,
            }),
            (Err(fields), _) => errors.extend(
                fields
                    .into_iter()
                    .map(|f| format!("line {}, {}: {}", row.line, f.field, f.reason)),
            ),
            (_, None) => errors.push(format!("line {}, event: unknown", row.line)),
        }
    }
    if !errors.is_empty() {
        return Err(refuse(errors));
    }
    match state
        .store
        .record_guidance_all(
            &onshi_store::Actor::Insurer(insurer),
            &records,
            state.clock.now(),
        )
        .await
    {
        Ok(()) => Ok(Json(onshi_api::CsvReceipt {
            file: name.clone(),
            recorded: records.len(),
        })),
        Err((i, e)) => {
            let line = rows.get(i).map_or(0, |r| r.line);
            match e {
                StoreError::NotFound(_) => Err(refuse(vec![format!(
                    "line {line}, number: no member of yours with this card"
                )])),
                StoreError::Conflict(m) => Err(refuse(vec![format!("line {line}, {m}")])),
                other => Err(other.into()),
            }
        }
    }
}

/// `insurer`'s scoring report of fiscal year `year`: every insurer's cells of the year counted,
/// judged by the engine (which masks), and this insurer's published figures taken. An insurer
/// with no judged checkup that year gets a report of – only.
pub async fn scoring_report(
    store: &Store,
    published: &PublishedReports,
    insurer: &InsurerNumber,
    year: i32,
) -> Result<onshi_api::ScoringReport, StoreError> {
    use onshi_checkup::indicators::Indicator;
    use onshi_checkup::masking::Shown;
    let reports = published.year(store, year).await?;
    let own = reports.insurers.get(insurer.as_str());
    let rates = rate_rows(store, insurer, year).await?;
    let medical_cost = medical_cost_row(store, insurer, year).await?;
    Ok(onshi_api::ScoringReport {
        fiscal_year: year,
        insurer: insurer.as_str().to_owned(),
        kind: insurer.kind().japanese().to_owned(),
        people: own.map_or(0, |r| r.people),
        rule_set: onshi_checkup::stratify::RuleSet::for_fiscal_year(year)
            .id()
            .to_owned(),
        rows: Indicator::ALL
            .iter()
            .enumerate()
            .map(|(i, indicator)| {
                let row = own.and_then(|r| r.rows.get(i));
                onshi_api::ScoringRow {
                    indicator: indicator.name().to_owned(),
                    higher_is_better: indicator.higher_is_better(),
                    own: figure(row.map_or(Shown::NotComputable, |r| r.own)),
                    adjusted: row.and_then(|r| r.adjusted),
                    kind_average: figure(row.map_or(Shown::NotComputable, |r| r.kind_average)),
                    national: figure(row.map_or(Shown::NotComputable, |r| r.national)),
                    relative: row.and_then(|r| r.relative),
                }
            })
            .collect(),
        rates,
        grade_rule: GradeRule::CURRENT.id().to_owned(),
        medical_cost,
    })
}

/// `insurer`'s medical cost per member of fiscal year `year` against every insurer's, if it
/// imported one (see `onshi_checkup::cost`).
async fn medical_cost_row(
    store: &Store,
    insurer: &InsurerNumber,
    year: i32,
) -> Result<Option<onshi_api::MedicalCostRow>, StoreError> {
    use onshi_checkup::cost::{Amount, InsurerCost, standings};
    let costs: Vec<InsurerCost> = store
        .medical_costs(year)
        .await?
        .into_iter()
        .map(|(n, c)| {
            let kind =
                InsurerNumber::parse(&n).map_or(onshi_domain::InsurerKind::Other, |i| i.kind());
            (n, kind, c.members, c.cost_per_member)
        })
        .collect();
    let figure = |a: Amount| onshi_api::CostFigure {
        shown: a.text(),
        yen: a.yen(),
    };
    Ok(standings(&costs)
        .get(insurer.as_str())
        .map(|s| onshi_api::MedicalCostRow {
            own: figure(s.own),
            kind_average: figure(s.kind_average),
            national: figure(s.national),
            relative: s.relative,
        }))
}

/// Import your medical cost per member (1人当たり医療費) for the scoring report, all or nothing:
/// `fiscal_year,members,cost_per_member` with a header, one row per fiscal year (yen per
/// member, averaged over `members` members of every age); a year given again replaces the one
/// kept. UTF-8 (a BOM is allowed) or CP932; up to 1 MiB.
#[utoipa::path(post, path = "/v1/medical-cost-csv/{name}", tag = "checkups",
    params(("name" = String, Path, description = "the file's name, for the receipt and errors")),
    request_body(content = String, description = "the CSV", content_type = "text/csv"),
    responses(
        (status = 200, description = "every year recorded", body = onshi_api::CsvReceipt),
        (status = 413, description = "over 1 MiB; nothing was recorded", body = onshi_api::Problem),
        (status = 422, description = "refused, nothing recorded: each problem in `errors` as the file (`field`) and `line N, column: reason`", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn upload_medical_costs(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(name): Path<String>,
    body: axum::body::Body,
) -> Result<Json<onshi_api::CsvReceipt>, Problem> {
    let text = csv_text(body, 1024 * 1024, &name).await?;
    let rows = onshi_checkup::cost::parse(&text).map_err(|e| refused(&name, e))?;
    let costs: Vec<onshi_store::MedicalCost> = rows
        .iter()
        .map(|r| onshi_store::MedicalCost {
            fiscal_year: r.fiscal_year,
            members: r.members,
            cost_per_member: r.cost_per_member,
        })
        .collect();
    state.store.set_medical_costs(&insurer, &costs).await?;
    Ok(Json(onshi_api::CsvReceipt {
        file: name.clone(),
        recorded: costs.len(),
    }))
}

/// Merge your small workplaces (合算) so that together they get an employer scoring report:
/// each workplace's staff then see the group's report while their own has fewer than 50
/// eligible members. Sets the group `code` to exactly the workplaces listed (two or more of
/// your registered employers, none in another group).
#[utoipa::path(put, path = "/v1/workplace-groups/{code}", tag = "employers",
    params(("code" = String, Path, description = "the group's code: 1 to 16 letters, digits or -")),
    request_body = onshi_api::WorkplaceGroupBody,
    responses(
        (status = 204, description = "the group is as given"),
        (status = 409, description = "a workplace is not your registered employer, or is in another group", body = onshi_api::Problem),
        (status = 422, description = "a field is missing or malformed", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn put_workplace_group(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<onshi_api::WorkplaceGroupBody>,
) -> Result<StatusCode, Problem> {
    let mut fields = Vec::new();
    let code = code.trim().to_owned();
    if code.is_empty()
        || code.len() > 16
        || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        fields.push(FieldError::new(
            "code",
            "must be 1 to 16 letters, digits or -",
        ));
    }
    let name = body.name.trim();
    if name.is_empty() {
        fields.push(FieldError::new("name", "is required"));
    }
    let mut employers = Vec::new();
    for (i, e) in body.employers.iter().enumerate() {
        match onshi_domain::EmployerCode::parse(e) {
            Ok(c) if !employers.contains(&c) => employers.push(c),
            Ok(_) => fields.push(FieldError::new(
                format!("employers[{i}]"),
                "is listed twice",
            )),
            Err(reason) => fields.push(FieldError::new(format!("employers[{i}]"), reason)),
        }
    }
    if body.employers.len() < 2 {
        fields.push(FieldError::new(
            "employers",
            "must list two workplaces or more",
        ));
    }
    if !fields.is_empty() {
        return Err(Problem::validation(fields));
    }
    state
        .store
        .set_workplace_group(&insurer, &code, name, &employers)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The national aggregates of fiscal year `year` (the operator's page): every insurer kind's
/// and all insurers' published figures, from the same masking as the insurers' reports, and
/// the grades' spread.
pub async fn national_report(
    store: &Store,
    published: &PublishedReports,
    year: i32,
) -> Result<onshi_api::NationalReport, StoreError> {
    use onshi_checkup::grades::{InsurerRate, standings};
    use onshi_checkup::indicators::Indicator;
    use onshi_checkup::masking::{Count, Shown};
    use onshi_domain::InsurerKind;
    let reports = published.year(store, year).await?;
    // One insurer of each kind carries its kind's averages.
    let mut kinds: std::collections::BTreeMap<InsurerKind, &onshi_checkup::scoring::InsurerReport> =
        std::collections::BTreeMap::new();
    for r in reports.insurers.values() {
        kinds.entry(r.kind).or_insert(r);
    }
    let any = reports.insurers.values().next();
    let rows = Indicator::ALL
        .iter()
        .enumerate()
        .map(|(i, indicator)| onshi_api::NationalRow {
            indicator: indicator.name().to_owned(),
            by_kind: kinds
                .values()
                .map(|r| {
                    figure(
                        r.rows
                            .get(i)
                            .map_or(Shown::NotComputable, |row| row.kind_average),
                    )
                })
                .collect(),
            national: figure(
                any.and_then(|r| r.rows.get(i))
                    .map_or(Shown::NotComputable, |row| row.national),
            ),
        })
        .collect();
    let counts = store.rate_counts(year).await?;
    let kind_of = |n: &str| InsurerNumber::parse(n).map_or(InsurerKind::Other, |i| i.kind());
    let mut rates = Vec::new();
    let mut grades = Vec::new();
    for (name, pick) in [
        (
            "特定健診実施率",
            (|c: &onshi_store::RateCounts| Count {
                n: c.eligible,
                k: c.examined,
            }) as fn(&onshi_store::RateCounts) -> Count,
        ),
        (
            "特定保健指導実施率",
            |c: &onshi_store::RateCounts| Count {
                n: c.targets,
                k: c.completed,
            },
        ),
    ] {
        let list: Vec<InsurerRate> = counts
            .iter()
            .map(|(n, c)| InsurerRate {
                insurer: n.clone(),
                kind: kind_of(n),
                count: pick(c),
            })
            .collect();
        let all = standings(&list, GradeRule::CURRENT);
        let mut spread = [0usize; 5];
        for s in all.values() {
            if let Some(g) = s.grade {
                spread[usize::from(g.clamp(1, 5)) - 1] += 1;
            }
        }
        grades.push(spread);
        rates.push(onshi_api::NationalRow {
            indicator: name.to_owned(),
            by_kind: kinds
                .keys()
                .map(|k| {
                    figure(
                        list.iter()
                            .find(|r| r.kind == *k)
                            .and_then(|r| all.get(&r.insurer))
                            .map_or(Shown::NotComputable, |s| s.kind_average),
                    )
                })
                .collect(),
            national: figure(
                all.values()
                    .next()
                    .map_or(Shown::NotComputable, |s| s.national),
            ),
        });
    }
    Ok(onshi_api::NationalReport {
        fiscal_year: year,
        insurers: reports.insurers.len(),
        people: reports.insurers.values().map(|r| r.people).sum(),
        kinds: kinds.keys().map(|k| k.japanese().to_owned()).collect(),
        rates,
        grades,
        rows,
    })
}

/// The national aggregates as CSV (BOM, CRLF): one row per figure, a column per kind.
pub fn national_csv(report: &onshi_api::NationalReport) -> String {
    let mut out = format!("\u{feff}年度,指標,{},全保険者\r\n", report.kinds.join(","));
    for r in report.rates.iter().chain(&report.rows) {
        let cells: Vec<&str> = r.by_kind.iter().map(|f| f.shown.as_str()).collect();
        out.push_str(&format!(
            "{},{},{},{}\r\n",
            report.fiscal_year,
            r.indicator,
            cells.join(","),
            r.national.shown
        ));
    }
    out
}

/// `insurer`'s standing on the two implementation rates of fiscal year `year`, among every
/// insurer's (see `onshi_checkup::grades`).
async fn rate_rows(
    store: &Store,
    insurer: &InsurerNumber,
    year: i32,
) -> Result<Vec<onshi_api::RateRow>, StoreError> {
    use onshi_checkup::grades::{InsurerRate, Rank, standings};
    use onshi_checkup::masking::{Count, Shown};
    let counts = store.rate_counts(year).await?;
    let kind =
        |n: &str| InsurerNumber::parse(n).map_or(onshi_domain::InsurerKind::Other, |i| i.kind());
    let list = |pick: &dyn Fn(&onshi_store::RateCounts) -> Count| -> Vec<InsurerRate> {
        counts
            .iter()
            .map(|(n, c)| InsurerRate {
                insurer: n.clone(),
                kind: kind(n),
                count: pick(c),
            })
            .collect()
    };
    let rank = |r: Option<Rank>| {
        r.map(|r| onshi_api::RankFigure {
            position: r.position,
            of: r.of,
        })
    };
    let mut rows = Vec::new();
    for (name, rates) in [
        (
            "特定健診実施率",
            list(&|c| Count {
                n: c.eligible,
                k: c.examined,
            }),
        ),
        (
            "特定保健指導実施率",
            list(&|c| Count {
                n: c.targets,
                k: c.completed,
            }),
        ),
    ] {
        let all = standings(&rates, GradeRule::CURRENT);
        let row = match all.get(insurer.as_str()) {
            Some(s) => onshi_api::RateRow {
                rate: name.to_owned(),
                own: figure(s.own),
                kind_average: figure(s.kind_average),
                national: figure(s.national),
                relative: s.relative,
                rank_all: rank(s.rank_all),
                rank_kind: rank(s.rank_kind),
                grade: s.grade,
                to_next_grade: s.to_next_grade,
            },
            None => onshi_api::RateRow {
                rate: name.to_owned(),
                own: figure(Shown::NotComputable),
                kind_average: figure(Shown::NotComputable),
                national: figure(Shown::NotComputable),
                relative: None,
                rank_all: None,
                rank_kind: None,
                grade: None,
                to_next_grade: None,
            },
        };
        rows.push(row);
    }
    Ok(rows)
}

/// The published figures of `report` as CSV (UTF-8 with a byte-order mark, so that Japanese
/// spreadsheet software opens it as such): one row per indicator.
pub fn report_csv(report: &onshi_api::ScoringReport) -> String {
    let number = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"));
    let mut out = String::from(
        "\u{feff}年度,保険者,指標,自保険者,年齢調整,同種平均,全保険者平均,相対値,全保険者中の順位,同種中の順位,5段階評価,次の段階までの人数\r\n",
    );
    let rank = |r: Option<onshi_api::RankFigure>| {
        r.map_or_else(|| "–".to_owned(), |r| format!("{}/{}", r.position, r.of))
    };
    let whole = |v: Option<i64>| v.map_or_else(|| "–".to_owned(), |v| v.to_string());
    for r in &report.rates {
        out.push_str(&format!(
            "{},{},{},{},–,{},{},{},{},{},{},{}\r\n",
            report.fiscal_year,
            report.insurer,
            r.rate,
            r.own.shown,
            r.kind_average.shown,
            r.national.shown,
            number(r.relative),
            rank(r.rank_all),
            rank(r.rank_kind),
            whole(r.grade.map(i64::from)),
            whole(r.to_next_grade),
        ));
    }
    if let Some(c) = &report.medical_cost {
        out.push_str(&format!(
            "{},{},1人当たり医療費,{},–,{},{},{},–,–,–,–\r\n",
            report.fiscal_year,
            report.insurer,
            c.own.shown.replace(',', ""),
            c.kind_average.shown.replace(',', ""),
            c.national.shown.replace(',', ""),
            number(c.relative),
        ));
    }
    for r in &report.rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},–,–,–,–\r\n",
            report.fiscal_year,
            report.insurer,
            r.indicator,
            r.own.shown,
            r.adjusted
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.1}%")),
            r.kind_average.shown,
            r.national.shown,
            number(r.relative)
        ));
    }
    out
}

/// The reports each fiscal year published, kept until they would change: masking a national
/// year takes seconds (14 s on 2 cores; BENCHMARKS.md, "Reports"), so a year is computed once
/// per generation of what it is made from (`Store::report_generation`: its cells, the employers'
/// industries, the merged workplaces), not per request, and off the request: one computation
/// per year at a time runs in the background (the engine on a blocking thread), and goes on to
/// the next generation if the year moved while it ran. A request whose generation is newer than
/// the kept reports waits for them up to [`FRESH_WAIT`], then is answered with the year's
/// previous reports (one earlier generation, masked as one whole, never a mixture), so that at
/// national scale an import does not make every page wait for the masking.
pub struct PublishedReports {
    years: Years,
    fresh_wait: std::time::Duration,
}

/// How long a request waits for a year's reports of its generation when the year already has
/// earlier ones to show: long enough for any store but a national one.
pub const FRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Default for PublishedReports {
    fn default() -> Self {
        Self::waiting(FRESH_WAIT)
    }
}

/// A year's reports and the generation they were computed at.
#[derive(Clone)]
pub struct PublishedYear {
    /// The generation of what they were computed from.
    pub generation: i64,
    /// Every insurer's report and workplace's sheet.
    pub reports: std::sync::Arc<onshi_checkup::scoring::Reports>,
}

/// What a computation announces: the reports of a generation, or why there are none.
type Announced = Option<Result<PublishedYear, std::sync::Arc<StoreError>>>;

/// A year's kept reports and the computation under way, if any.
#[derive(Default)]
struct YearSlot {
    kept: Option<PublishedYear>,
    computing: Option<tokio::sync::watch::Receiver<Announced>>,
}

type Years = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i32, YearSlot>>>;

fn lock(years: &Years) -> std::sync::MutexGuard<'_, std::collections::HashMap<i32, YearSlot>> {
    // A panic while holding the lock leaves a map that is still whole (every change is one
    // assignment): go on with it.
    years
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The same failure for every request that waited on one computation.
fn failed(e: &StoreError) -> StoreError {
    match e {
        StoreError::Busy(what) => StoreError::Busy(what),
        StoreError::NotFound(what) => StoreError::NotFound(what),
        other => StoreError::Corrupt(format!("publishing the reports failed: {other}")),
    }
}

impl PublishedReports {
    /// Published reports whose requests wait up to `fresh_wait` for a new generation (tests
    /// use zero to see the previous reports served while the next are computed).
    pub fn waiting(fresh_wait: std::time::Duration) -> Self {
        Self {
            years: Default::default(),
            fresh_wait,
        }
    }

    /// Fiscal year `year`'s published reports: the kept ones while the year's generation is
    /// the one they were computed at; else those of the current generation if they are ready
    /// within the wait, else the kept ones (a year never computed waits for its first).
    pub async fn year(
        &self,
        store: &Store,
        year: i32,
    ) -> Result<std::sync::Arc<onshi_checkup::scoring::Reports>, StoreError> {
        Ok(self.year_at(store, year).await?.reports)
    }

    /// [`PublishedReports::year`] with the generation the reports were computed at.
    pub async fn year_at(&self, store: &Store, year: i32) -> Result<PublishedYear, StoreError> {
        let generation = store.report_generation(year).await?;
        let (kept, mut announced) = {
            let mut years = lock(&self.years);
            let slot = years.entry(year).or_default();
            if let Some(kept) = &slot.kept
                && kept.generation >= generation
            {
                return Ok(kept.clone());
            }
            let rx = match &slot.computing {
                // A computation that ended without clearing its slot (it panicked) is over.
                Some(rx) if rx.has_changed().is_ok() => rx.clone(),
                _ => {
                    let rx = compute(self.years.clone(), store.clone(), year, generation);
                    slot.computing = Some(rx.clone());
                    rx
                }
            };
            (slot.kept.clone(), rx)
        };
        let current = |a: &Announced| match a {
            Some(Ok(p)) => p.generation >= generation,
            Some(Err(_)) => true,
            None => false,
        };
        let waited = match &kept {
            // No wait means none: a computation that happens to have finished already (it can,
            // on another worker) is not looked at, so what is served does not depend on a race.
            Some(_) if self.fresh_wait.is_zero() => None,
            Some(_) => tokio::time::timeout(self.fresh_wait, announced.wait_for(current))
                .await
                .ok(),
            // Nothing to show meanwhile: wait for whatever the computation gives first.
            None => Some(announced.wait_for(|a| a.is_some()).await),
        };
        match (waited, kept) {
            (Some(Ok(a)), kept) => match &*a {
                Some(Ok(p)) => Ok(p.clone()),
                Some(Err(e)) => match kept {
                    Some(k) => {
                        tracing::warn!(year, error = %e, "reports not published; the previous ones are shown");
                        Ok(k)
                    }
                    None => Err(failed(e)),
                },
                None => Err(StoreError::Corrupt(
                    "a computation announced nothing".into(),
                )),
            },
            (_, Some(k)) => Ok(k),
            (Some(Err(_)), None) => Err(StoreError::Corrupt(
                "the computation of the reports ended without an answer".into(),
            )),
            (None, None) => Err(StoreError::Corrupt("no reports to show".into())),
        }
    }
}

/// Starts the background computation of `year`'s reports at `generation`; it keeps them in
/// `years`, announces them, and computes again while the year's generation has moved on.
fn compute(
    years: Years,
    store: Store,
    year: i32,
    generation: i64,
) -> tokio::sync::watch::Receiver<Announced> {
    let (tx, rx) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        let mut generation = generation;
        loop {
            let started = std::time::Instant::now();
            let outcome = year_reports(&store, year).await;
            let next = match outcome {
                Ok(reports) => {
                    let reports = std::sync::Arc::new(reports);
                    tracing::info!(
                        year,
                        generation,
                        insurers = reports.insurers.len(),
                        workplaces = reports.workplaces.len(),
                        seconds = started.elapsed().as_secs_f64(),
                        "reports published"
                    );
                    let published = PublishedYear {
                        generation,
                        reports,
                    };
                    {
                        let mut years = lock(&years);
                        let slot = years.entry(year).or_default();
                        if slot.kept.as_ref().is_none_or(|k| k.generation < generation) {
                            slot.kept = Some(published.clone());
                        }
                    }
                    tx.send_replace(Some(Ok(published)));
                    store.report_generation(year).await.ok()
                }
                Err(e) => {
                    tracing::warn!(year, generation, error = %e, "reports not published");
                    tx.send_replace(Some(Err(std::sync::Arc::new(e))));
                    None
                }
            };
            match next {
                Some(moved) if moved > generation => generation = moved,
                _ => break,
            }
        }
        lock(&years).entry(year).or_default().computing = None;
    });
    rx
}

/// Every insurer's report and workplace's sheet of fiscal year `year`, masked together.
async fn year_reports(
    store: &Store,
    year: i32,
) -> Result<onshi_checkup::scoring::Reports, StoreError> {
    use onshi_checkup::indicators::Indicator;
    use onshi_checkup::scoring::{Cell, WorkplaceGroup, reports_with_groups};
    let industries = store.employer_industries().await?;
    let groups: Vec<WorkplaceGroup> = store
        .workplace_groups()
        .await?
        .iter()
        .map(|(insurer, code, employers)| WorkplaceGroup {
            insurer: insurer.clone(),
            code: code.clone(),
            employers: employers.clone(),
        })
        .collect();
    let bits = u32::try_from(Indicator::ALL.len()).unwrap_or(31);
    let cells: Vec<Cell> = store.report_cells(year, bits).await?;
    // Seconds of work at national scale: off the runtime's threads.
    tokio::task::spawn_blocking(move || {
        reports_with_groups(
            year,
            &cells,
            |n| InsurerNumber::parse(n).map_or(onshi_domain::InsurerKind::Other, |i| i.kind()),
            |insurer, code| {
                industries
                    .get(&(insurer.to_owned(), code.to_owned()))
                    .cloned()
            },
            &groups,
        )
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("the report engine stopped: {e}")))
}

fn figure(s: onshi_checkup::masking::Shown) -> onshi_api::ReportFigure {
    onshi_api::ReportFigure {
        shown: s.text(),
        percent: s.percent(),
    }
}

/// The workplace `employer`'s sheet (事業所カルテ) over the three fiscal years ending with
/// `last`: each year's figures as the engine published them for all insurers and workplaces.
pub async fn workplace_sheet(
    store: &Store,
    published: &PublishedReports,
    employer: &onshi_domain::EmployerRef,
    last: i32,
) -> Result<onshi_api::WorkplaceSheet, StoreError> {
    use onshi_checkup::indicators::Indicator;
    use onshi_checkup::masking::Shown;
    let years: Vec<i32> = (last - 2..=last).collect();
    let key = (
        employer.insurer.as_str().to_owned(),
        employer.code.as_str().to_owned(),
    );
    let mut sheets = Vec::new();
    for year in &years {
        let reports = published.year(store, *year).await?;
        sheets.push(reports.workplaces.get(&key).cloned());
    }
    let industry = store
        .employer(employer)
        .await?
        .map(|e| e.industry.name().to_owned());
    let column = |i: usize, pick: &dyn Fn(&onshi_checkup::scoring::SheetRow) -> Shown| {
        sheets
            .iter()
            .map(|s| {
                figure(
                    s.as_ref()
                        .and_then(|s| s.rows.get(i))
                        .map_or(Shown::NotComputable, pick),
                )
            })
            .collect::<Vec<_>>()
    };
    Ok(onshi_api::WorkplaceSheet {
        insurer: key.0.clone(),
        employer: key.1.clone(),
        industry,
        people: sheets
            .iter()
            .map(|s| s.as_ref().map_or(0, |s| s.people))
            .collect(),
        years,
        rows: Indicator::ALL
            .iter()
            .enumerate()
            .map(|(i, indicator)| onshi_api::WorkplaceRow {
                indicator: indicator.name().to_owned(),
                higher_is_better: indicator.higher_is_better(),
                own: column(i, &|r| r.own),
                industry_average: column(i, &|r| r.industry_average),
                all_workplaces: column(i, &|r| r.all_workplaces),
            })
            .collect(),
    })
}

/// The least eligible members an employer needs for a scoring report of its own.
pub const EMPLOYER_REPORT_MIN: i64 = 50;

/// The workplace `employer`'s scoring report of fiscal year `year` (事業主単位), with its count
/// of eligible members: `None` under [`EMPLOYER_REPORT_MIN`]. Compared with its industry and
/// all workplaces; the figures are the engine's, masked with every report of the year.
pub async fn employer_report(
    store: &Store,
    published: &PublishedReports,
    employer: &onshi_domain::EmployerRef,
    year: i32,
) -> Result<(i64, Option<onshi_api::ScoringReport>), StoreError> {
    use onshi_checkup::indicators::Indicator;
    use onshi_checkup::masking::Shown;
    let key = (
        employer.insurer.as_str().to_owned(),
        employer.code.as_str().to_owned(),
    );
    let eligible = store
        .eligible_by_employer(year)
        .await?
        .get(&key)
        .copied()
        .unwrap_or(0);
    let mut eligible = eligible;
    let mut merged: Option<(String, usize)> = None;
    if eligible < EMPLOYER_REPORT_MIN {
        // Merged with other small workplaces by its insurer (合算)? Then the group's report.
        let groups = store.workplace_groups().await?;
        let Some((_, code, members)) = groups
            .iter()
            .find(|(i, _, members)| *i == key.0 && members.contains(&key.1))
        else {
            return Ok((eligible, None));
        };
        let by_employer = store.eligible_by_employer(year).await?;
        let total: i64 = members
            .iter()
            .map(|m| {
                by_employer
                    .get(&(key.0.clone(), m.clone()))
                    .copied()
                    .unwrap_or(0)
            })
            .sum();
        if total < EMPLOYER_REPORT_MIN {
            return Ok((eligible, None));
        }
        eligible = total;
        merged = Some((code.clone(), members.len()));
    }
    let reports = published.year(store, year).await?;
    let sheet = match &merged {
        Some((code, _)) => reports.groups.get(&(key.0.clone(), code.clone())),
        None => reports.workplaces.get(&key),
    };
    let industry = match &merged {
        Some((code, n)) => format!("{n} 事業所の合算（グループ {code}）"),
        None => store
            .employer(employer)
            .await?
            .map_or_else(|| "業態未登録".to_owned(), |e| e.industry.name().to_owned()),
    };
    let rows = Indicator::ALL
        .iter()
        .enumerate()
        .map(|(i, indicator)| {
            let row = sheet.and_then(|s| s.rows.get(i));
            let own = row.map_or(Shown::NotComputable, |r| r.own);
            let all = row.map_or(Shown::NotComputable, |r| r.all_workplaces);
            onshi_api::ScoringRow {
                indicator: indicator.name().to_owned(),
                higher_is_better: indicator.higher_is_better(),
                own: figure(own),
                adjusted: None,
                kind_average: figure(row.map_or(Shown::NotComputable, |r| r.industry_average)),
                national: figure(all),
                relative: match (own.percent(), all.percent()) {
                    (Some(o), Some(a)) if a > 0.0 => Some((o / a * 1000.0).round() / 10.0),
                    _ => None,
                },
            }
        })
        .collect();
    Ok((
        eligible,
        Some(onshi_api::ScoringReport {
            fiscal_year: year,
            insurer: employer.to_string(),
            kind: industry,
            people: sheet.map_or(0, |s| s.people),
            rule_set: onshi_checkup::stratify::RuleSet::for_fiscal_year(year)
                .id()
                .to_owned(),
            rows,
            rates: Vec::new(),
            grade_rule: GradeRule::CURRENT.id().to_owned(),
            medical_cost: None,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("試験 太郎"), "試験 太郎");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-2,3"), "\"'-2,3\"");
        assert_eq!(csv_field(""), "");
    }
}
